//! Catalogue administration from the console: edit with preview, publish and withdraw,
//! XLSX export and import with row-numbered errors, own department only.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::redirect::Policy;
use reqwest::StatusCode;
use tongban_platform::identity::Role;

on_both_engines!(
    department_admin_edits_previews_publishes_and_imports,
    |app: TestApp| async move {
        let client = reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .unwrap();
        let admin = app.staff("a-admin", "wx-wjw", &[Role::Admin]).await;
        let clerk = app.staff("a-clerk", "wx-wjw", &[Role::Clerk]).await;
        let cookie = format!("tongban_staff={admin}");
        let get = |path: &str, cookie: &str| {
            client
                .get(app.iurl(path))
                .header("cookie", cookie.to_owned())
                .send()
        };

        // Only administrators, only their own department.
        let r = get("/console/matters", &format!("tongban_staff={clerk}"))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = get("/console/matters/WX-GA-001", &cookie).await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let html = get("/console/matters", &cookie)
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("WX-WJ-001") && !html.contains("WX-GA-001"));

        // Preview renders the edited form without saving; save stores it.
        let page = get("/console/matters/WX-WJ-002", &cookie)
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("表单预览"));
        let matter = app
            .db()
            .read(|c| tongban_catalog::store::get(c, "WX-WJ-002"))
            .await
            .unwrap()
            .unwrap();
        let mut fields = matter.fields.clone();
        fields.push(tongban_catalog::Field {
            key: "note_extra".into(),
            label_zh: "补充说明".into(),
            label_en: "Extra note".into(),
            kind: "textarea".into(),
            required: false,
            options: vec![],
            min_length: None,
            max_length: Some(300),
            min: None,
            max: None,
            pattern: None,
            hint: None,
            personal: false,
            prefill: None,
        });
        let form = |op: &str, promised: &str, fields_json: &str| {
            vec![
                ("op".to_owned(), op.to_owned()),
                ("name".to_owned(), matter.name.clone()),
                ("kind".to_owned(), matter.kind.clone()),
                ("legal_days".to_owned(), matter.legal_days.to_string()),
                ("promised_days".to_owned(), promised.to_owned()),
                ("online_depth".to_owned(), matter.online_depth.to_string()),
                ("max_visits".to_owned(), matter.max_visits.to_string()),
                ("fee".to_owned(), matter.fee.clone()),
                ("conditions".to_owned(), matter.conditions.clone()),
                ("legal_basis".to_owned(), matter.legal_basis.clone()),
                (
                    "materials".to_owned(),
                    serde_json::to_string(&matter.materials).unwrap(),
                ),
                ("fields".to_owned(), fields_json.to_owned()),
                ("csrf".to_owned(), csrf_for(&with_csrf(&cookie))),
            ]
        };
        let fields_json = serde_json::to_string(&fields).unwrap();
        let post = |body: Vec<(String, String)>| {
            client
                .post(app.iurl("/console/matters/WX-WJ-002"))
                .header("cookie", with_csrf(&cookie))
                .form(&body)
                .send()
        };
        let r = post(form("preview", "5", &fields_json)).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(
            r.text().await.unwrap().contains("id=\"p-note_extra\""),
            "the preview shows the new field"
        );
        let unchanged = app
            .db()
            .read(|c| tongban_catalog::store::get(c, "WX-WJ-002"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(unchanged, matter, "a preview saves nothing");

        // Refused edits keep what was typed and say why.
        let r = post(form("save", "999", &fields_json)).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("promised_days"));
        let r = post(form("save", "5", "[{broken")).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("[{broken"));

        let r = post(form("save", "5", &fields_json)).await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let saved = app
            .db()
            .read(|c| tongban_catalog::store::get(c, "WX-WJ-002"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(saved.promised_days, 5);
        assert_eq!(saved.fields.last().unwrap().key, "note_extra");

        // Withdraw: the public guide disappears; publish brings it back.
        let publish = |v: &str| {
            client
                .post(app.iurl("/console/matters/WX-WJ-002/publish"))
                .header("cookie", with_csrf(&cookie))
                .form(&[
                    ("published", v),
                    ("csrf", csrf_for(&with_csrf(&cookie)).as_str()),
                ])
                .send()
        };
        publish("false").await.unwrap();
        assert_eq!(
            app.client
                .get(app.url("/matters/WX-WJ-002"))
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::NOT_FOUND
        );
        publish("true").await.unwrap();
        assert_eq!(
            app.client
                .get(app.url("/matters/WX-WJ-002"))
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::OK
        );

        // Export, then import the same file back; a bad or foreign row stops the whole import.
        let r = get("/console/matters/export.xlsx", &cookie).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let xlsx = r.bytes().await.unwrap().to_vec();
        let upload = |data: Vec<u8>| {
            let part = reqwest::multipart::Part::bytes(data).file_name("m.xlsx");
            client
                .post(app.iurl("/console/matters/import"))
                .header("cookie", with_csrf(&cookie))
                .multipart(
                    reqwest::multipart::Form::new()
                        .text("csrf", csrf_for(&with_csrf(&cookie)))
                        .part("file", part),
                )
                .send()
        };
        let r = upload(xlsx.clone()).await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()["location"], "/console/matters?imported=4");
        let mut ms = tongban_catalog::exchange::import_xlsx_bytes(xlsx).unwrap();
        ms[1].legal_days = 0;
        ms.push(
            app.db()
                .read(|c| tongban_catalog::store::get(c, "WX-GA-001"))
                .await
                .unwrap()
                .unwrap(),
        );
        let r = upload(tongban_catalog::exchange::export_xlsx_bytes(&ms).unwrap())
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = r.text().await.unwrap();
        assert!(
            html.contains("row 3") && html.contains("legal_days"),
            "{html}"
        );
        let r = upload(b"not a workbook".to_vec()).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        // Issue 11, attack 5: a 2 KB workbook with cells A1 and XFD1048576 once aborted the
        // process. It is refused with 422 and both listeners stay up.
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        ws.write(0, 0, "事项").unwrap();
        ws.write(1_048_575, 16_383, 1).unwrap();
        let bomb = wb.save_to_buffer().unwrap();
        assert!(bomb.len() < 16 * 1024, "{}", bomb.len());
        let r = upload(bomb).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("cells"));
        // A zip bomb: a sheet of zeros that unpacks to 80 MiB from well under a megabyte.
        let mut buf = std::io::Cursor::new(Vec::new());
        {
            use std::io::Write;
            let mut z = zip::ZipWriter::new(&mut buf);
            let opt = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated)
                .large_file(true);
            z.start_file("xl/worksheets/sheet1.xml", opt).unwrap();
            let zeros = vec![0u8; 1 << 20];
            for _ in 0..80 {
                z.write_all(&zeros).unwrap();
            }
            z.finish().unwrap();
        }
        let bomb = buf.into_inner();
        assert!(bomb.len() < 1 << 20, "{}", bomb.len());
        let r = upload(bomb).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("MiB"));
        for base in [app.url("/healthz"), app.iurl("/healthz")] {
            assert_eq!(
                client.get(base).send().await.unwrap().status(),
                StatusCode::OK
            );
        }
        let still = app
            .db()
            .read(|c| tongban_catalog::store::get(c, "WX-WJ-002"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(still.legal_days, saved.legal_days);
    }
);

on_both_engines!(
    citizen_changes_password_on_the_page,
    |app: TestApp| async move {
        let c = app.citizen().await;
        let other_session = app.citizen_login(&c.phone, PASSWORD).await.unwrap();
        let cookie = format!("tongban_session={}", c.token);
        let post = |pairs: &[(&str, &str)]| {
            let mut pairs: Vec<(String, String)> = pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect();
            pairs.push(("csrf".into(), csrf_for(&with_csrf(&cookie))));
            app.client
                .post(app.url("/account/password"))
                .header("cookie", with_csrf(&cookie))
                .form(&pairs)
                .send()
        };
        let r = post(&[
            ("old_password", PASSWORD),
            ("new_password", "New-password-22"),
            ("confirm_password", "New-password-23"),
        ])
        .await
        .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("两次输入的新密码不一致"));
        let r = post(&[
            ("old_password", "Wrong-password-0"),
            ("new_password", "New-password-22"),
            ("confirm_password", "New-password-22"),
        ])
        .await
        .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let r = post(&[
            ("old_password", PASSWORD),
            ("new_password", "New-password-22"),
            ("confirm_password", "New-password-22"),
        ])
        .await
        .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.text().await.unwrap().contains("密码已修改"));
        // The other session ended; this one goes on; the new password works, the old does not.
        assert_eq!(
            app.get(&app.url("/api/v1/me"), &other_session)
                .await
                .status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            app.get(&app.url("/api/v1/me"), &c.token).await.status(),
            StatusCode::OK
        );
        assert!(app
            .citizen_login(&c.phone, "New-password-22")
            .await
            .is_some());
        assert!(app.citizen_login(&c.phone, PASSWORD).await.is_none());
    }
);
