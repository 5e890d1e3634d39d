//! Notifications through the outbox to a local SMTP server: citizens hear of their order by
//! e-mail; several workers deliver each event at most once; a refused delivery is retried.

use crate::helpers::*;
use crate::participation::staff_act;
use serde_json::json;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tongban_platform::identity::Role;

#[derive(Clone, Default)]
pub struct Mailbox {
    /// (recipient, whole message) per accepted message.
    pub messages: Arc<Mutex<Vec<(String, String)>>>,
    /// Answer `451` to this many MAIL commands first.
    pub refuse: Arc<Mutex<usize>>,
}

impl Mailbox {
    pub fn count(&self) -> usize {
        self.messages.lock().unwrap().len()
    }
    pub fn to(&self, addr: &str) -> Vec<String> {
        self.messages
            .lock()
            .unwrap()
            .iter()
            .filter(|(r, _)| r == addr)
            .map(|(_, m)| m.clone())
            .collect()
    }
}

/// A small SMTP server (RFC 5321 subset: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT).
pub async fn smtp_server() -> (String, Mailbox) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("smtp://{}", l.local_addr().unwrap());
    let mb = Mailbox::default();
    let mb2 = mb.clone();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = l.accept().await else {
                return;
            };
            let mb = mb2.clone();
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut r = BufReader::new(r);
                let _ = w.write_all(b"220 test ESMTP\r\n").await;
                let mut rcpt = String::new();
                let mut line = String::new();
                loop {
                    line.clear();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let cmd = line.trim_end().to_ascii_uppercase();
                    let reply: &[u8] = if cmd.starts_with("EHLO") || cmd.starts_with("HELO") {
                        b"250 test\r\n"
                    } else if cmd.starts_with("MAIL") {
                        let mut n = mb.refuse.lock().unwrap();
                        if *n > 0 {
                            *n -= 1;
                            b"451 try again later\r\n"
                        } else {
                            b"250 ok\r\n"
                        }
                    } else if cmd.starts_with("RCPT") {
                        rcpt = line.trim_end()[8..]
                            .trim()
                            .trim_start_matches('<')
                            .trim_end_matches('>')
                            .to_owned();
                        b"250 ok\r\n"
                    } else if cmd == "DATA" {
                        let _ = w.write_all(b"354 go on\r\n").await;
                        let mut data = String::new();
                        loop {
                            line.clear();
                            if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                                return;
                            }
                            if line == ".\r\n" {
                                break;
                            }
                            data.push_str(&line);
                        }
                        mb.messages.lock().unwrap().push((rcpt.clone(), data));
                        b"250 queued\r\n"
                    } else if cmd == "QUIT" {
                        let _ = w.write_all(b"221 bye\r\n").await;
                        return;
                    } else {
                        b"250 ok\r\n"
                    };
                    let _ = w.write_all(reply).await;
                }
            });
        }
    });
    (url, mb)
}

async fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    for _ in 0..200 {
        if ok() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn spawn_with_smtp(engine: Engine) -> Option<(TestApp, Mailbox)> {
    let (url, mb) = smtp_server().await;
    let app = spawn_app_with(engine, move |c| {
        c.smtp_url = Some(url);
        c.worker_interval_ms = 100;
    })
    .await?;
    Some((app, mb))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn citizens_hear_by_mail_sqlite() {
    let (app, mb) = spawn_with_smtp(Engine::Sqlite).await.unwrap();
    citizens_hear_by_mail(app, mb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(tongban_pg), ignore = "PostgreSQL: set TONGBAN_TEST_DATABASE_URL")]
async fn citizens_hear_by_mail_postgres() {
    if let Some((app, mb)) = spawn_with_smtp(Engine::Postgres).await {
        citizens_hear_by_mail(app, mb).await;
    }
}

async fn citizens_hear_by_mail(app: TestApp, mb: Mailbox) {
    let r = app
        .client
        .post(app.url("/api/v1/workorders"))
        .json(&json!({"type": "help", "category": "utility.gas", "district": "滨湖区", "street": "太湖大道",
            "title": "燃气表故障", "content": "燃气表不走字", "phone": "13900005555", "email": "wang@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let no = r.json::<serde_json::Value>().await.unwrap()["order_no"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_for("the acknowledgement", || {
        mb.to("wang@example.com").len() == 1
    })
    .await;
    let ack = &mb.to("wang@example.com")[0];
    assert!(ack.contains("Subject: "), "{ack}");
    assert!(ack.contains("noreply@tongban.localhost"));
    let handler = app.staff("h-rq", "wx-rq", &[Role::Handler]).await;
    assert_eq!(
        staff_act(&app, &handler, &no, json!({"action": "sign"}))
            .await
            .status(),
        200
    );
    assert_eq!(
        staff_act(
            &app,
            &handler,
            &no,
            json!({"action": "reply", "note": "已上门更换燃气表"})
        )
        .await
        .status(),
        200
    );
    wait_for("the reply", || mb.to("wang@example.com").len() == 2).await;
    // The texts went to the SMS provider (the log), and every event is done exactly once.
    let mut pending = 1;
    for _ in 0..200 {
        pending = app
            .db()
            .read(|c| {
                c.query_one(
                    "SELECT COUNT(*) AS n FROM outbox WHERE done_at IS NULL",
                    &[],
                )?
                .get_i64("n")
            })
            .await
            .unwrap();
        if pending == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(pending, 0, "every event delivered");
    let metrics = app
        .client
        .get(app.iurl("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("tongban_outbox_pending 0")
            && metrics.contains("tongban_outbox_abandoned 0"),
        "{metrics}"
    );
    let (sms, errors) = app
        .db()
        .read(|c| {
            let r = c.query_one(
                "SELECT COALESCE(SUM(CASE WHEN kind = 'sms' THEN 1 ELSE 0 END), 0) AS sms,
                        COALESCE(SUM(CASE WHEN last_error IS NOT NULL THEN 1 ELSE 0 END), 0) AS errors FROM outbox",
                &[],
            )?;
            Ok((r.get_i64("sms")?, r.get_i64("errors")?))
        })
        .await
        .unwrap();
    assert_eq!((sms, errors), (2, 0));
    // Contact details are sealed in the outbox.
    let raw = app
        .db()
        .read(|c| {
            c.query("SELECT payload FROM outbox", &[])?
                .iter()
                .map(|r| r.get_str("payload"))
                .collect::<Result<Vec<_>, _>>()
        })
        .await
        .unwrap();
    assert!(raw
        .iter()
        .all(|p| !p.contains("wang@") && !p.contains("13900005555")));
}

/// An app whose own worker stays idle, so the test's notifiers are the only ones.
async fn quiet_app(engine: Engine) -> Option<TestApp> {
    spawn_app_with(engine, |c| c.worker_interval_ms = 3_600_000).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_event_once_with_three_workers_sqlite() {
    each_event_once(quiet_app(Engine::Sqlite).await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(tongban_pg), ignore = "PostgreSQL: set TONGBAN_TEST_DATABASE_URL")]
async fn each_event_once_with_three_workers_postgres() {
    if let Some(app) = quiet_app(Engine::Postgres).await {
        each_event_once(app).await;
    }
}

async fn each_event_once(app: TestApp) {
    let (url, mb) = smtp_server().await;
    let mut cfg = app.ctx.config.clone();
    cfg.smtp_url = Some(url);
    let n1 = tongban_platform::notify::Notifier::from_config(
        &cfg,
        Arc::new(tongban_platform::notify::LogSms),
    )
    .unwrap();
    let (n2, n3) = (n1.clone(), n1.clone());
    let now = tongban_platform::time::now_millis();
    app.db()
        .write(move |c| {
            for i in 0..60 {
                tongban_platform::notify::email(
                    c,
                    &format!("p{i}@example.com"),
                    &format!("event {i}"),
                    "text",
                    now,
                )?;
            }
            Ok(())
        })
        .await
        .unwrap();
    let run = |n: tongban_platform::notify::Notifier, db: tongban_platform::db::Db| async move {
        let mut total = 0;
        loop {
            match n.run_once(&db).await.unwrap() {
                0 => return total,
                k => total += k,
            }
        }
    };
    let (a, b, c) = tokio::join!(
        tokio::spawn(run(n1, app.db().clone())),
        tokio::spawn(run(n2, app.db().clone())),
        tokio::spawn(run(n3, app.db().clone()))
    );
    let (a, b, c) = (a.unwrap(), b.unwrap(), c.unwrap());
    assert_eq!(a + b + c, 60, "claims: {a} + {b} + {c}");
    let mut seen: Vec<String> = mb
        .messages
        .lock()
        .unwrap()
        .iter()
        .map(|(r, _)| r.clone())
        .collect();
    assert_eq!(seen.len(), 60);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 60, "an event was mailed twice");
    let done = app
        .db()
        .read(|c| {
            c.query_one(
                "SELECT COUNT(*) AS n FROM outbox WHERE done_at IS NOT NULL AND last_error IS NULL",
                &[],
            )?
            .get_i64("n")
        })
        .await
        .unwrap();
    assert_eq!(done, 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_mail_is_retried_later_sqlite() {
    refused_mail_is_retried_later(quiet_app(Engine::Sqlite).await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(tongban_pg), ignore = "PostgreSQL: set TONGBAN_TEST_DATABASE_URL")]
async fn refused_mail_is_retried_later_postgres() {
    if let Some(app) = quiet_app(Engine::Postgres).await {
        refused_mail_is_retried_later(app).await;
    }
}

async fn refused_mail_is_retried_later(app: TestApp) {
    let (url, mb) = smtp_server().await;
    *mb.refuse.lock().unwrap() = 1;
    let mut cfg = app.ctx.config.clone();
    cfg.smtp_url = Some(url);
    let n = tongban_platform::notify::Notifier::from_config(
        &cfg,
        Arc::new(tongban_platform::notify::LogSms),
    )
    .unwrap();
    let now = tongban_platform::time::now_millis();
    let id = app
        .db()
        .write(move |c| {
            tongban_platform::notify::email(c, "retry@example.com", "重试", "text", now)?;
            c.query_one("SELECT MAX(id) AS n FROM outbox", &[])?
                .get_i64("n")
        })
        .await
        .unwrap();
    assert_eq!(n.run_once(app.db()).await.unwrap(), 1);
    let (attempts, next_at, err, done) = app
        .db()
        .read(move |c| {
            let r = c.query_one(
                "SELECT attempts, next_at, last_error, done_at FROM outbox WHERE id = $1",
                tongban_platform::params![id],
            )?;
            Ok((
                r.get_i64("attempts")?,
                r.get_i64("next_at")?,
                r.get_opt_str("last_error")?,
                r.get_opt_i64("done_at")?,
            ))
        })
        .await
        .unwrap();
    assert_eq!((attempts, done), (1, None));
    assert!(next_at > now + 10_000, "backed off");
    assert!(err.unwrap().contains("451"));
    assert_eq!(mb.count(), 0);
    // Not due yet: nothing to claim. Once due again it is delivered, once.
    assert_eq!(n.run_once(app.db()).await.unwrap(), 0);
    app.db()
        .write(move |c| {
            c.execute(
                "UPDATE outbox SET next_at = 0 WHERE id = $1",
                tongban_platform::params![id],
            )
        })
        .await
        .unwrap();
    assert_eq!(n.run_once(app.db()).await.unwrap(), 1);
    assert_eq!(mb.to("retry@example.com").len(), 1);
}
