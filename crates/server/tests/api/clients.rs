//! Real client libraries, unmodified, against the running server: `ckanapi` (Python) lists,
//! searches, shows and creates datasets, makes and queries DataStore tables, uploads a file
//! and asks SQL through the CKAN Action API, and meets its errors as its own exceptions;
//! rdflib reads the DCAT writings and pyshacl validates them against the DCAT-AP 3 shapes.
//! The pinned libraries (`clients/requirements.txt`) are installed into `clients/.venv` on
//! first use; a test that cannot install them fails, it is never skipped.

use crate::helpers::*;
use crate::on_both_engines;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::OnceLock;
use tongban_platform::identity::Role;

pub(crate) fn clients_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../clients")
}

/// The virtual environment's Python, made once per test run.
pub(crate) fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let dir = clients_dir();
            let py = dir.join(".venv/bin/python");
            let ok = |mut c: std::process::Command| {
                let out = c.output().expect("run python3");
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            };
            if !py.exists() {
                let mut c = std::process::Command::new("python3");
                c.args(["-m", "venv"]).arg(dir.join(".venv"));
                ok(c);
            }
            let mut c = std::process::Command::new(&py);
            c.args([
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(dir.join("requirements.txt"));
            ok(c);
            py
        })
        .clone()
}

on_both_engines!(ckanapi_works_untouched, |app: TestApp| async move {
    let publisher = app.staff("xck1", "wx-zjj", &[Role::DataPublisher]).await;
    let r = app
        .post(
            &app.iurl("/api/v1/staff/opendata/tokens"),
            &publisher,
            json!({"name": "ckanapi"}),
        )
        .await;
    let token = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let base = app.url("");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python())
            .arg(clients_dir().join("ckan_client.py"))
            .arg(base.trim_end_matches('/'))
            .arg(token)
            .output()
            .expect("run the ckanapi script")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "ckanapi: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        seen,
        json!({
            "created": "air-quality",
            "created_resources": 1,
            "list": ["air-quality"],
            "search_count": 1,
            "search_first": "air-quality",
            "facet_tags": {"空气": 1, "环境": 1},
            "show_title": "空气质量日报",
            "orgs": true,
            "groups": true,
            "resource_format": "CSV",
            "not_found": true,
            "not_authorized": true,
            "validation": ["name"],
            "get_only_count": 1,
            "datastore_total": 2,
            "datastore_aqi": [48, 52],
            "upload": ["upload", "CSV", true, "stations.csv"],
            "sql_top": 71,
            "sql_refused": true,
        })
    );
});

// The DCAT writings read by rdflib (Turtle, RDF/XML and JSON-LD give one graph) and
// validated by pyshacl against the DCAT-AP 3.0.0 shapes; Hydra pages.
on_both_engines!(dcat_conforms_to_dcat_ap_3, |app: TestApp| async move {
    use crate::opendata::{action, token_for};
    let publisher = app.staff("xdc1", "wx-zjj", &[Role::DataPublisher]).await;
    let token = token_for(&app, &publisher).await;
    for i in 0..101 {
        let (s, v) = action(
            &app,
            "package_create",
            Some(&token),
            json!({"name": format!("set-{i:03}"), "title": format!("数据集 {i}")}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
    }
    let (s, v) = action(
        &app,
        "package_create",
        Some(&token),
        json!({"name": "building-permits", "title": "建筑工程施工许可", "notes": "按月发布的施工许可",
               "tags": [{"name": "住建"}, {"name": "许可"}], "groups": [{"name": "housing"}],
               "frequency": "monthly", "maintainer": "数据科", "maintainer_email": "data@zjj.example.cn",
               "resources": [{"name": "说明", "url": "https://zjj.example.cn/permits.pdf"}]}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let id = v["result"]["id"].as_str().unwrap().to_owned();
    let (s, v) = action(
        &app,
        "datastore_create",
        Some(&token),
        json!({"resource": {"package_id": id, "name": "许可表"},
               "fields": [{"id": "n", "type": "int"}], "records": [{"n": 1}]}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let base = app.url("");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python())
            .arg(clients_dir().join("dcat_validate.py"))
            .arg(base.trim_end_matches('/'))
            .arg(id)
            .output()
            .expect("run the DCAT validation")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "dcat: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    for doc in [
        "catalog_ttl",
        "catalog_rdf",
        "catalog_jsonld",
        "dataset_ttl",
        "dataset_rdf",
        "dataset_jsonld",
    ] {
        assert_eq!(
            seen[doc]["conforms"], true,
            "{doc}: {}",
            seen[doc]["report"]
        );
    }
    assert_eq!(seen["catalog_ttl"]["type"], "text/turtle");
    assert_eq!(seen["catalog_rdf"]["type"], "application/rdf+xml");
    assert_eq!(seen["catalog_jsonld"]["type"], "application/ld+json");
    assert_eq!(
        seen["catalog_differences"],
        json!([]),
        "one graph in three writings"
    );
    assert_eq!(
        seen["dataset_differences"],
        json!([]),
        "one graph in three writings"
    );
    assert_eq!(seen["datasets_on_page"], 100);
    assert_eq!(seen["total_items"], json!([102]));
    let next = seen["next_page"][0].as_str().unwrap();
    assert!(next.ends_with("/catalog.ttl?page=2"), "{next}");
    assert_eq!(seen["page2_datasets"], 2);
    assert_eq!(seen["distributions"], 2);
    assert_eq!(seen["download_urls"].as_array().unwrap().len(), 1);
});
