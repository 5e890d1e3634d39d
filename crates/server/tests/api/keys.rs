//! Key files bound to the database (issue 11, attack 2): from another folder with the same
//! database URL, `tongban workorders import` created a new key file with the same key id,
//! sealed orders under it and exited 0; the server then failed on those orders for ever.
//! Now every process checks its key file against the fingerprints the database holds before
//! it writes anything, and only an empty database creates a key file.

use crate::cli::tongban;
use crate::helpers::*;
use crate::on_both_engines;
use std::path::Path;

async fn orders(app: &TestApp) -> i64 {
    app.db()
        .read(|c| {
            c.query_one("SELECT COUNT(*) AS n FROM work_orders", &[])?
                .get_i64("n")
        })
        .await
        .unwrap()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Run `workorders import` from `dir` and expect it to be refused naming the key file.
fn refused(app: &TestApp, dir: &Path, why: &str) {
    let file = dir.join("orders.jsonl");
    std::fs::write(&file, crate::import::GOOD).unwrap();
    let out = tongban(
        &app.ctx.config.database_url,
        dir,
        &["workorders", "import", file.to_str().unwrap()],
        None,
    );
    let err = stderr(&out);
    assert!(!out.status.success(), "{why}: accepted; {err}");
    assert!(
        err.contains("TONGBAN_KEY_FILE") && err.contains("t1"),
        "{why}: the message names the setting and the expected key id: {err}"
    );
    assert!(err.contains(why), "{why}: {err}");
}

on_both_engines!(a_stray_key_file_is_refused, |app: TestApp| async move {
    let before = orders(&app).await;
    // No key file in another folder: refused, and none is created.
    let other = tempfile::tempdir().unwrap();
    refused(&app, other.path(), "does not exist");
    assert!(
        !other.path().join("tongban-keys.toml").exists(),
        "no key file is created for a database that holds keys"
    );
    // A file with the same key id and another key.
    let forged = "current = \"t1\"\nindex_key = \"0909090909090909090909090909090909090909090909090909090909090909\"\n\
                  [keys]\nt1 = \"0808080808080808080808080808080808080808080808080808080808080808\"\n";
    std::fs::write(other.path().join("tongban-keys.toml"), forged).unwrap();
    refused(&app, other.path(), "another key under the same id");
    // The right data keys with another SM2 signing key: it would sign what nobody can check.
    let other_signer = "current = \"t1\"\nindex_key = \"0909090909090909090909090909090909090909090909090909090909090909\"\n\
                  [keys]\nt1 = \"0707070707070707070707070707070707070707070707070707070707070707\"\n\
                  [signing]\nid = \"s1\"\nsm2_secret = \"0606060606060606060606060606060606060606060606060606060606060606\"\n";
    std::fs::write(other.path().join("tongban-keys.toml"), other_signer).unwrap();
    refused(&app, other.path(), "its SM2 signing key is another one");
    // A fresh key set of its own.
    tongban_platform::vault::Keys::generate()
        .save(&other.path().join("tongban-keys.toml"))
        .unwrap();
    refused(&app, other.path(), "lacks key t1");
    assert_eq!(orders(&app).await, before, "nothing was imported");
    // A database sealed before keys were registered (an upgrade): a file that cannot open
    // its data is refused, and the deployment's file is registered at the next start.
    app.db()
        .write(|c| c.execute("DELETE FROM data_keys", &[]))
        .await
        .unwrap();
    let file = other.path().join("orders.jsonl");
    let out = tongban(
        &app.ctx.config.database_url,
        other.path(),
        &["workorders", "import", file.to_str().unwrap()],
        None,
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cannot open this database's sealed data"),
        "{}",
        stderr(&out)
    );
    assert_eq!(orders(&app).await, before, "nothing was imported");
    // The deployment's own file works.
    let file = app.dir.path().join("orders.jsonl");
    std::fs::write(&file, crate::import::GOOD).unwrap();
    let out = tongban(
        &app.ctx.config.database_url,
        app.dir.path(),
        &["workorders", "import", file.to_str().unwrap()],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(orders(&app).await, before + 3);
    let registered = app
        .db()
        .read(|c| {
            c.query_one("SELECT COUNT(*) AS n FROM data_keys", &[])?
                .get_i64("n")
        })
        .await
        .unwrap();
    assert_eq!(
        registered, 3,
        "the data key, the index key and the SM2 signing key are registered again"
    );
});

async fn only_an_empty_database_creates_a_key_file(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let (url, _schema) = match engine {
        Engine::Sqlite => (
            format!("sqlite://{}", dir.path().join("fresh.db").display()),
            None,
        ),
        Engine::Postgres => {
            let Some((base, schema, url)) = fresh_pg_schema() else {
                println!("skipped: TONGBAN_TEST_DATABASE_URL is not set");
                return;
            };
            (url, Some(DropSchema(base, schema)))
        }
    };
    let out = tongban(&url, dir.path(), &["migrate"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let file = dir.path().join("tongban-keys.toml");
    let keys = tongban_platform::vault::Keys::load(&file).unwrap();
    assert!(
        keys.current.len() == 9 && keys.current.starts_with('k') && keys.current != "k1",
        "random key ids: {}",
        keys.current
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // The same file again: fine. Without it: refused, although no personal data is stored
    // yet, because the database has registered its keys.
    assert!(tongban(&url, dir.path(), &["migrate"], None)
        .status
        .success());
    std::fs::remove_file(&file).unwrap();
    let out = tongban(&url, dir.path(), &["migrate"], None);
    assert!(!out.status.success());
    assert!(stderr(&out).contains(&keys.current), "{}", stderr(&out));
    assert!(!file.exists());
}

/// Drops a test's PostgreSQL schema when the test ends.
struct DropSchema(String, String);

impl Drop for DropSchema {
    fn drop(&mut self) {
        drop_pg_schema(self.0.clone(), self.1.clone());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_an_empty_database_creates_a_key_file_sqlite() {
    only_an_empty_database_creates_a_key_file(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(tongban_pg), ignore = "PostgreSQL: set TONGBAN_TEST_DATABASE_URL")]
async fn only_an_empty_database_creates_a_key_file_postgres() {
    only_an_empty_database_creates_a_key_file(Engine::Postgres).await;
}
