//! The `tongban` binary's subcommands, run as an operator would, on both engines.

use crate::helpers::*;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

pub fn tongban(db_url: &str, dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tongban"));
    cmd.args(args)
        .current_dir(dir)
        .env("TONGBAN_DATABASE_URL", db_url)
        .env("TONGBAN_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run tongban");
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // The command may refuse its arguments and exit before reading: a broken pipe is fine.
        let _ = pipe.write_all(input.as_bytes());
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn fails(o: &Output) -> String {
    assert!(
        !o.status.success(),
        "expected failure, got: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn help_on_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("h.db").display());
    let top = ok(&tongban(&url, dir.path(), &["--help"], None));
    for sub in ["serve", "demo", "migrate", "staff", "matters", "calendar"] {
        assert!(top.contains(sub), "{sub} missing from --help");
    }
    for args in [
        vec!["serve", "--help"],
        vec!["demo", "--help"],
        vec!["migrate", "--help"],
        vec!["staff", "add", "--help"],
        vec!["matters", "import", "--help"],
        vec!["matters", "export", "--help"],
        vec!["calendar", "import", "--help"],
    ] {
        let out = ok(&tongban(&url, dir.path(), &args, None));
        assert!(out.contains("Usage"), "{args:?}");
    }
    let err = fails(&tongban("mysql://x", dir.path(), &["migrate"], None));
    assert!(
        err.contains("sqlite://") && err.contains("postgres://"),
        "{err}"
    );
}

fn operator_scenario(url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&tongban(url, d, &["migrate"], None));

    let err = fails(&tongban(
        url,
        d,
        &[
            "staff",
            "add",
            "--username",
            "a1",
            "--department",
            "wx-gaj",
            "--roles",
            "clerk",
            "--password-stdin",
        ],
        Some("Good-password-1\n"),
    ));
    assert!(err.contains("does not exist"), "{err}");

    std::fs::write(d.join("demo.json"), tongban_catalog::exchange::DEMO_JSON).unwrap();
    let out = ok(&tongban(url, d, &["matters", "import", "demo.json"], None));
    assert!(out.contains("imported 37 matters"), "{out}");

    ok(&tongban(
        url,
        d,
        &[
            "staff",
            "add",
            "--username",
            "a1",
            "--department",
            "wx-gaj",
            "--roles",
            "clerk,reviewer",
            "--password-stdin",
        ],
        Some("Good-password-1\n"),
    ));
    let err = fails(&tongban(
        url,
        d,
        &[
            "staff",
            "add",
            "--username",
            "a1",
            "--department",
            "wx-gaj",
            "--roles",
            "clerk",
            "--password-stdin",
        ],
        Some("Good-password-1\n"),
    ));
    assert!(err.contains("taken"), "{err}");
    let err = fails(&tongban(
        url,
        d,
        &[
            "staff",
            "add",
            "--username",
            "a2",
            "--department",
            "wx-gaj",
            "--roles",
            "janitor",
            "--password-stdin",
        ],
        Some("Good-password-1\n"),
    ));
    assert!(err.contains("unknown role"), "{err}");
    let err = fails(&tongban(
        url,
        d,
        &[
            "staff",
            "add",
            "--username",
            "a3",
            "--department",
            "wx-gaj",
            "--roles",
            "clerk",
            "--password-stdin",
        ],
        Some("short\n"),
    ));
    assert!(err.contains("10 characters"), "{err}");

    // XLSX round trip: export, import, export again gives the same catalogue.
    ok(&tongban(url, d, &["matters", "export", "c.xlsx"], None));
    ok(&tongban(
        url,
        d,
        &["matters", "export", "before.json"],
        None,
    ));
    ok(&tongban(url, d, &["matters", "import", "c.xlsx"], None));
    ok(&tongban(url, d, &["matters", "export", "after.json"], None));
    let before = std::fs::read_to_string(d.join("before.json")).unwrap();
    assert_eq!(
        before,
        std::fs::read_to_string(d.join("after.json")).unwrap()
    );
    assert_eq!(
        tongban_catalog::exchange::read_file(&d.join("c.xlsx"))
            .unwrap()
            .len(),
        37
    );

    // A bad workbook: every bad row reported by number; nothing imported.
    let mut ms = tongban_catalog::exchange::read_file(&d.join("c.xlsx")).unwrap();
    ms[0].name = "改名但不应生效".into();
    ms[9].legal_days = 0;
    tongban_catalog::exchange::export_xlsx(&ms, &d.join("bad.xlsx")).unwrap();
    let err = fails(&tongban(url, d, &["matters", "import", "bad.xlsx"], None));
    assert!(
        err.contains("row 11") && err.contains("legal_days"),
        "{err}"
    );
    assert!(err.contains("nothing imported"), "{err}");
    ok(&tongban(
        url,
        d,
        &["matters", "export", "after-bad.json"],
        None,
    ));
    assert_eq!(
        before,
        std::fs::read_to_string(d.join("after-bad.json")).unwrap(),
        "a failed import changes nothing"
    );

    // A new year's calendar without a rebuild.
    std::fs::write(d.join("2027.csv"), "date,kind,name,year\n2027-01-01,holiday,元旦,2027\n2027-01-04,holiday,测试假日,2027\n2027-01-09,workday,测试调休上班,2027\n").unwrap();
    let out = ok(&tongban(url, d, &["calendar", "import", "2027.csv"], None));
    assert!(out.contains("2027"), "{out}");
    std::fs::write(
        d.join("bad.csv"),
        "2028-01-01,holiday,元旦\n2028-02-31,holiday,x\n",
    )
    .unwrap();
    let err = fails(&tongban(url, d, &["calendar", "import", "bad.csv"], None));
    assert!(err.contains("line 2"), "{err}");
    let db = tongban_platform::db::Db::open(url).unwrap();
    let cal = db.write_blocking(tongban_platform::calendar::load).unwrap();
    let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    assert!(!cal.is_workday(day("2027-01-04")));
    assert!(cal.is_workday(day("2027-01-09")));
    assert!(!cal.years().contains(&2028));
}

#[test]
fn operator_commands_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    operator_scenario(&format!("sqlite://{}", dir.path().join("op.db").display()));
}

#[test]
#[cfg_attr(not(tongban_pg), ignore = "PostgreSQL: set TONGBAN_TEST_DATABASE_URL")]
fn operator_commands_on_postgres() {
    match fresh_pg_schema() {
        Some((base, schema, url)) => {
            operator_scenario(&url);
            if let Ok(mut c) = postgres::Client::connect(&base, postgres::NoTls) {
                let _ = c.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"));
            }
        }
        None => println!("skipped: TONGBAN_TEST_DATABASE_URL is not set"),
    }
}
