//! The public calendar endpoints.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calendar_days_and_deadlines() {
    let app = spawn_app(Engine::Sqlite).await.unwrap();
    let get = |p: &str| app.client.get(app.url(p)).send();
    let v: Value = get("/api/v1/calendar/2026-10-01")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            v["date"].as_str(),
            v["workday"].as_bool(),
            v["name"].as_str()
        ),
        (Some("2026-10-01"), Some(false), Some("国庆节"))
    );
    let v: Value = get("/api/v1/calendar/2026-09-20")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        v["workday"], true,
        "Sunday 2026-09-20 is a make-up working day"
    );
    let v: Value = get("/api/v1/calendar/2026-11-28")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (v["workday"].as_bool(), v["name"].as_str()),
        (Some(false), Some("周末"))
    );
    let v: Value = get("/api/v1/calendar/deadline?start=2026-09-30&days=1")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["deadline"], "2026-10-08");
    let v: Value = get("/api/v1/calendar/deadline?start=2026-02-13&days=2")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["deadline"], "2026-02-24");
    for (p, code) in [
        ("/api/v1/calendar/2026-13-01", "bad_date"),
        ("/api/v1/calendar/deadline?start=2026-01-01", "missing_days"),
        ("/api/v1/calendar/deadline?days=3", "missing_start"),
        (
            "/api/v1/calendar/deadline?start=2026-01-01&days=-1",
            "bad_days",
        ),
        (
            "/api/v1/calendar/deadline?start=2026-01-01&days=999999",
            "bad_days",
        ),
    ] {
        let (s, c, _) = error_code(get(p).await.unwrap()).await;
        assert_eq!((s, c.as_str()), (StatusCode::BAD_REQUEST, code), "{p}");
    }
}
