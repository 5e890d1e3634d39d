//! The installable citizen site (issue 18.6): the manifest and icons, the service worker's
//! headers, an offline page that names no one, and none of it on the internal listener.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_site_installs_and_has_an_offline_page() {
    let app = spawn_app(Engine::Sqlite).await.expect("app");
    let r = app
        .client
        .get(app.url("/manifest.webmanifest"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/manifest+json");
    let m: Value = r.json().await.unwrap();
    assert_eq!(m["display"], "standalone");
    assert_eq!(m["start_url"], "/");
    assert_eq!(m["lang"], "zh-CN");
    assert_eq!(m["short_name"], "通办");
    for icon in m["icons"].as_array().unwrap() {
        let r = app
            .client
            .get(app.url(icon["src"].as_str().unwrap()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], icon["type"].as_str().unwrap());
        if icon["type"] == "image/png" {
            let img = image::load_from_memory(&r.bytes().await.unwrap()).unwrap();
            let side: u32 = icon["sizes"]
                .as_str()
                .unwrap()
                .split('x')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!((img.width(), img.height()), (side, side));
        }
    }
    // English when asked.
    let m: Value = app
        .client
        .get(app.url("/manifest.webmanifest"))
        .header("cookie", "tongban_lang=en")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(m["lang"], "en");

    // The worker is looked for afresh on each visit, and names its cache by version.
    let r = app.client.get(app.url("/sw.js")).send().await.unwrap();
    assert_eq!(r.headers()["cache-control"], "no-cache");
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    let sw = r.text().await.unwrap();
    assert!(sw.contains("const CACHE = 'tongban-") && !sw.contains("__VERSION__"));

    // Pages link the manifest and the one script; the offline page names no one.
    let citizen = app.citizen().await;
    let home = app
        .client
        .get(app.url("/"))
        .header("cookie", format!("tongban_session={}", citizen.token))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains(r#"<link rel="manifest" href="/manifest.webmanifest">"#));
    assert!(home.contains(r#"<script src="/static/app.js" defer></script>"#));
    assert!(
        home.contains("李四"),
        "the home page names the signed-in citizen"
    );
    let offline = app
        .client
        .get(app.url("/offline"))
        .header("cookie", format!("tongban_session={}", citizen.token))
        .send()
        .await
        .unwrap();
    assert_eq!(offline.status(), StatusCode::OK);
    let offline = offline.text().await.unwrap();
    assert!(offline.contains("网络未连接"));
    assert!(
        !offline.contains("李四"),
        "the kept offline page names no one"
    );

    // Not on the internal listener, and the console does not link it.
    for path in ["/manifest.webmanifest", "/sw.js", "/offline"] {
        let r = app.client.get(app.iurl(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let login = app
        .client
        .get(app.iurl("/console/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!login.contains("manifest"));
}
