//! Slow and idle connections (issue 11, attack 6) were never closed, and one address could
//! hold any number. Now headers must arrive within the header timeout, an idle keep-alive
//! connection is closed after it, and one address holds at most its share of connections.

use crate::helpers::*;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn addr(url: &str) -> String {
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned()
}

/// Read until the peer closes; the bytes read, or `None` if it stayed open past `within`.
async fn closed_within(s: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(out),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_idle_and_crowding_connections_are_closed_sqlite() {
    slow_idle_and_crowding(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(tongban_pg), ignore = "PostgreSQL: set TONGBAN_TEST_DATABASE_URL")]
async fn slow_idle_and_crowding_connections_are_closed_postgres() {
    slow_idle_and_crowding(Engine::Postgres).await;
}

async fn slow_idle_and_crowding(engine: Engine) {
    let Some(app) = spawn_app_with(engine, |c| {
        c.header_timeout_secs = 1;
        c.connections_per_address = 4;
    })
    .await
    else {
        return;
    };
    for base in [app.url(""), app.iurl("")] {
        let a = addr(&base);
        // Nothing sent: closed after the header timeout.
        let mut s = TcpStream::connect(&a).await.unwrap();
        let t = Instant::now();
        assert!(
            closed_within(&mut s, Duration::from_secs(5))
                .await
                .is_some(),
            "{a}: silent connection kept"
        );
        assert!(
            t.elapsed() >= Duration::from_millis(800),
            "not before the timeout"
        );
        // Headers trickling in (slowloris): closed, never answered.
        let mut s = TcpStream::connect(&a).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        let got = closed_within(&mut s, Duration::from_secs(5)).await;
        assert!(
            got.is_some_and(|b| !b.starts_with(b"HTTP/1.1 200")),
            "{a}: slow headers answered"
        );
        // An answered keep-alive connection left idle: closed.
        let mut s = TcpStream::connect(&a).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 1024];
        let n = s.read(&mut buf).await.unwrap();
        assert!(
            buf[..n].starts_with(b"HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(&buf[..n])
        );
        assert!(
            closed_within(&mut s, Duration::from_secs(5))
                .await
                .is_some(),
            "{a}: idle connection kept"
        );
        // Crowding: four held open; the fifth is closed at once; a freed place works again.
        let mut held = Vec::new();
        for _ in 0..4 {
            let mut s = TcpStream::connect(&a).await.unwrap();
            // A request in progress keeps each one busy but within the timeout.
            s.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
            held.push(s);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut extra = TcpStream::connect(&a).await.unwrap();
        let _ = extra
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await;
        let got = closed_within(&mut extra, Duration::from_millis(700)).await;
        assert!(
            got.is_some_and(|b| b.is_empty()),
            "{a}: a fifth connection from one address was served"
        );
        drop(held);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let r = reqwest::Client::new()
            .get(format!("http://{a}/healthz"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
}
