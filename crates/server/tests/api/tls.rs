//! Optional TLS (rustls) on a listener from certificate and key paths; session and
//! anti-forgery cookies are `Secure` when served over TLS.

use crate::helpers::*;
use std::process::{Command, Stdio};

#[test]
fn public_listener_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let ok = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(ok.success(), "openssl makes a test certificate");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let iport = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_tongban"))
        .args(["demo", "--history-days", "0"])
        .current_dir(dir.path())
        .env(
            "TONGBAN_DATABASE_URL",
            format!("sqlite://{}", dir.path().join("tls.db").display()),
        )
        .env("TONGBAN_PUBLIC_ADDR", format!("127.0.0.1:{port}"))
        .env("TONGBAN_INTERNAL_ADDR", format!("127.0.0.1:{iport}"))
        .env("TONGBAN_PUBLIC_TLS_CERT", &cert)
        .env("TONGBAN_PUBLIC_TLS_KEY", &key)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let curl = |url: &str| {
        Command::new("curl")
            .args(["-sk", "-D", "-", "-o", "/dev/null", "--max-time", "5", url])
            .output()
            .unwrap()
    };
    let mut up = false;
    for _ in 0..100 {
        if String::from_utf8_lossy(&curl(&format!("https://127.0.0.1:{port}/healthz")).stdout)
            .starts_with("HTTP/")
        {
            up = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let login = String::from_utf8_lossy(&curl(&format!("https://127.0.0.1:{port}/login")).stdout)
        .to_string();
    let plain = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "5",
            &format!("http://127.0.0.1:{port}/healthz"),
        ])
        .output()
        .unwrap();
    let internal =
        String::from_utf8_lossy(&curl(&format!("http://127.0.0.1:{iport}/healthz")).stdout)
            .to_string();
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(up, "the TLS listener answers");
    assert!(
        login.starts_with("HTTP/2 200") || login.starts_with("HTTP/1.1 200"),
        "{login}"
    );
    let cookie = login
        .lines()
        .find(|l| {
            l.to_ascii_lowercase()
                .starts_with("set-cookie: tongban_csrf=")
        })
        .unwrap_or_default();
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly"),
        "{login}"
    );
    assert_ne!(
        String::from_utf8_lossy(&plain.stdout),
        "200",
        "no plain HTTP on the TLS port"
    );
    assert!(
        internal.starts_with("HTTP/1.1 200"),
        "the other listener stays plain: {internal}"
    );
    let _ = PASSWORD;
}
