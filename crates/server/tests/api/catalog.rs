//! Catalogue browsing: filters, paging, details, and their bad input.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::Value;

on_both_engines!(matters_filter_and_page, |app: TestApp| async move {
    let get = |q: &str| {
        app.client
            .get(app.url(&format!("/api/v1/matters{q}")))
            .send()
    };
    let all: Value = get("?per_page=100").await.unwrap().json().await.unwrap();
    assert!(all["total"].as_i64().unwrap() >= 30);
    let depts: std::collections::BTreeSet<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["department"]["code"].as_str().unwrap())
        .collect();
    assert!(depts.len() >= 8);

    let p1: Value = get("?per_page=10&page=1")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let p2: Value = get("?per_page=10&page=2")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(p1["items"].as_array().unwrap().len(), 10);
    assert_ne!(p1["items"][0]["code"], p2["items"][0]["code"]);
    assert_eq!(p1["total"], all["total"]);

    let gaj: Value = get("?department=wx-gaj")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(gaj["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["department"]["code"] == "wx-gaj"));
    assert_eq!(gaj["total"], 4);
    let lic: Value = get("?kind=行政许可").await.unwrap().json().await.unwrap();
    assert!(lic["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["kind"] == "行政许可"));
    // Words are found by the one search (built here, as each node builds it on start): the
    // three 住房公积金 matters first, then those that mention it.
    tongban_portal::search::build(&app.ctx).await.unwrap();
    let q: Value = get("?q=公积金").await.unwrap().json().await.unwrap();
    assert!(q["total"].as_i64().unwrap() >= 3, "{q}");
    let first: Vec<&str> = q["items"].as_array().unwrap()[..3]
        .iter()
        .map(|m| m["code"].as_str().unwrap())
        .collect();
    assert!(first.iter().all(|c| c.starts_with("WX-GJ-")), "{first:?}");
    let q: Value = get("?q=100%25").await.unwrap().json().await.unwrap();
    assert_eq!(q["total"], 0, "% is matched literally");
    let q: Value = get("?q=wx-sj").await.unwrap().json().await.unwrap();
    assert_eq!(q["total"], 4, "codes match case-insensitively");

    for (query, code) in [
        ("?page=0", "invalid_paging"),
        ("?per_page=1000", "invalid_paging"),
        ("?page=9223372036854775807", "invalid_paging"),
        ("?page=1000001", "invalid_paging"),
        ("?kind=魔法", "bad_kind"),
        ("?online_depth=9", "bad_online_depth"),
    ] {
        let (s, c, _) = error_code(get(query).await.unwrap()).await;
        assert_eq!((s, c.as_str()), (StatusCode::BAD_REQUEST, code), "{query}");
    }
    let (s, c, _) = error_code(
        app.client
            .get(app.url("/api/v1/matters/NOPE"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((s, c.as_str()), (StatusCode::NOT_FOUND, "matter_not_found"));
    let m: Value = app
        .client
        .get(app.url("/api/v1/matters/WX-SJ-001"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(m["fields"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["type"] == "textarea"));
    assert!(m["materials"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["formats"].as_array().is_some()));
    assert!(!m["legal_basis"].as_str().unwrap().is_empty());
});

// English readers get the catalogue's English texts (matters, materials) where it has them,
// and the Chinese marked lang="zh-CN" where it has not; English names are searched too.
on_both_engines!(english_catalogue_texts, |app: TestApp| async move {
    let m: serde_json::Value = app
        .client
        .get(app.url("/api/v1/matters/WX-WJ-001"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(m["name_en"], "Birth registration (family planning)");
    assert_eq!(m["materials"][0]["name_en"], "Applicant's resident ID card");
    assert_eq!(m["department"]["name_en"], "Wuxi Health Commission");
    // A matter whose conditions have no English text (the demo's all have one).
    app.db()
        .write(|c| {
            let mut m = tongban_catalog::store::get(c, "WX-WJ-001")?.unwrap();
            m.conditions_en.clear();
            tongban_catalog::store::save(c, &[m])
        })
        .await
        .unwrap();
    let html = app
        .client
        .get(app.url("/matters/WX-WJ-001"))
        .header("cookie", "tongban_lang=en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("<h1>Birth registration (family planning)</h1>"),
        "{html}"
    );
    assert!(
        html.contains("Applicant&#x27;s resident ID card")
            || html.contains("Applicant's resident ID card")
    );
    assert!(
        html.contains("<p><span lang=\"zh-CN\">"),
        "conditions without English are marked Chinese"
    );
    assert!(
        html.contains("Wuxi Health Commission"),
        "the department in English"
    );
    assert!(
        !html.contains("无锡市卫生健康委员会"),
        "and nowhere in Chinese"
    );
    let zh = app
        .client
        .get(app.url("/matters/WX-WJ-001"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(zh.contains("<h1>生育登记</h1>") && !zh.contains("Birth registration"));
    let found: serde_json::Value = app
        .client
        .get(app.url("/api/v1/matters?q=birth%20registration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let codes: Vec<&str> = found["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"WX-WJ-001"), "{codes:?}");
});
