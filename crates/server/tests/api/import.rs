//! `tongban workorders import`: history from an old hotline system, all or nothing, on both
//! engines; imported orders are served like live ones.

use crate::helpers::*;
use crate::on_both_engines;
use serde_json::Value;

pub const GOOD: &str = r#"{"order_no":"WX2025-000001","received_at":"2025-03-03T09:30:00+08:00","channel":"phone","type":"complaint","category":"utility.water","district":"梁溪区","street":"中山路","title":"停水","content":"中山路一带停水两天，没有通知。","status":"closed","closed_at":"2025-03-05T16:00:00+08:00"}
{"order_no":"WX2025-000002","received_at":"2025-03-04T20:15:00+08:00","channel":"web","type":"suggestion","category":"traffic.bus","district":"新吴区","street":"长江路","title":"增开夜班公交","content":"建议增开长江路夜班公交。","status":"signed","department":"wx-zjj"}

{"order_no":"WX2025-000003","received_at":"2025-03-05T08:00:00+08:00","channel":"mobile","type":"consult","category":"city.noise","district":"新吴区","street":"旺庄路","title":"噪音投诉电话","content":"夜间施工噪音找哪个部门？","status":"received"}
"#;

on_both_engines!(
    history_is_imported_all_or_nothing,
    |app: TestApp| async move {
        let url = app.ctx.config.database_url.clone();
        let key = app.ctx.config.key_file.display().to_string();
        let run = |file: &std::path::Path| {
            let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tongban"));
            cmd.args(["workorders", "import", file.to_str().unwrap()])
                .env("TONGBAN_DATABASE_URL", &url)
                .env("TONGBAN_KEY_FILE", &key)
                .env("TONGBAN_LOG", "warn");
            cmd.output().unwrap()
        };
        let count = || async {
            app.db()
                .read(|c| {
                    c.query_one("SELECT COUNT(*) AS n FROM work_orders", &[])?
                        .get_i64("n")
                })
                .await
                .unwrap()
        };
        // A bad file: every bad line named by number, nothing imported.
        let bad = GOOD.replace(
            "\"新吴区\",\"street\":\"长江路\"",
            "\"火星区\",\"street\":\"长江路\"",
        ) + "not json\n"
            + GOOD.lines().next().unwrap()
            + "\n";
        let path = app.dir.path().join("bad.jsonl");
        std::fs::write(&path, bad).unwrap();
        let before = count().await;
        let out = run(&path);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("line 2:") && err.contains("火星区"), "{err}");
        assert!(err.contains("line 5: not a work order"), "{err}");
        assert!(
            err.contains("line 6: order_no WX2025-000001 appears twice"),
            "{err}"
        );
        assert!(err.contains("nothing was imported"), "{err}");
        assert_eq!(count().await, before);

        // The good file.
        let path = app.dir.path().join("good.jsonl");
        std::fs::write(&path, GOOD).unwrap();
        let out = run(&path);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("imported 3 work orders"));
        assert_eq!(count().await, before + 3);
        let sup = app
            .staff(
                "imp-sup",
                "wx-12345",
                &[tongban_platform::identity::Role::Supervisor],
            )
            .await;
        let v: Value = app
            .get(&app.iurl("/api/v1/staff/workorders/WX2025-000001"), &sup)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            (
                v["status"].as_str(),
                v["department"].as_str(),
                v["channel"].as_str()
            ),
            (Some("closed"), Some("wx-sw"), Some("phone"))
        );
        assert_eq!(
            v["received_at"], "2025-03-03T09:30:00+08:00",
            "event time is kept"
        );
        let steps: Vec<&str> = v["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(steps, ["receive", "dispatch", "close"]);
        // Deadlines counted in working days from the day it was received (Mon 2025-03-03).
        assert_eq!(v["answer_by"], "2025-03-10");
        let v: Value = app
            .client
            .get(app.url("/api/v1/workorders/WX2025-000003"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            (v["status"].as_str(), v["department"].as_str()),
            (Some("received"), None)
        );
        // Importing it again is refused: the numbers are taken.
        let out = run(&path);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("already stored"));
        assert_eq!(count().await, before + 3);
    }
);
