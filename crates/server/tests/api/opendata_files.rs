//! Files into the DataStore: CSV (GBK too), XLSX and JSON uploads read into typed tables
//! with their headers as labels, served back as the original file (an attachment, never a
//! page) and as CSV/JSON/XLSX dumps; upserts by primary key.

use crate::helpers::*;
use crate::on_both_engines;
use crate::opendata::{action, token_for};
use calamine::{Data, Reader, Xlsx};
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};
use tongban_platform::identity::Role;

/// `action` as ckanapi sends a file: multipart, text fields and the `upload` part.
async fn with_file(
    app: &TestApp,
    name: &str,
    token: &str,
    fields: &[(&str, &str)],
    file: (&str, Vec<u8>),
) -> (u16, Value) {
    let mut form = Form::new();
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    form = form.part("upload", Part::bytes(file.1).file_name(file.0.to_owned()));
    let r = app
        .client
        .post(app.url(&format!("/api/3/action/{name}")))
        .header("Authorization", token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

fn labels_and_kinds(v: &Value) -> Vec<(String, String, String)> {
    v["result"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .skip(1)
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_owned(),
                f["type"].as_str().unwrap().to_owned(),
                f["info"]["label"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

on_both_engines!(uploads_become_tables, |app: TestApp| async move {
    let publisher = app.staff("xfu1", "wx-zjj", &[Role::DataPublisher]).await;
    let token = token_for(&app, &publisher).await;
    let (s, v) = action(
        &app,
        "package_create",
        Some(&token),
        json!({"name": "permits", "title": "施工许可"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");

    // A CSV saved by a Chinese spreadsheet (GBK): labels kept, ids safe, types inferred.
    let csv = "区县,许可数,面积,发证日期,项目编号\r\n甲区,12,1500.5,2026/01/05,0012\r\n乙区,3,80,2026-02-01,0100\r\n";
    let (gbk, _, _) = encoding_rs::GBK.encode(csv);
    let (s, v) = with_file(
        &app,
        "resource_create",
        &token,
        &[("package_id", "permits"), ("name", "2026年许可")],
        ("许可 2026.csv", gbk.to_vec()),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let r = &v["result"];
    assert_eq!(
        (&r["url_type"], &r["format"], &r["datastore_active"]),
        (&json!("upload"), &json!("CSV"), &json!(true)),
        "{r}"
    );
    assert_eq!(r["size"], gbk.len());
    let rid = r["id"].as_str().unwrap().to_owned();
    let url = r["url"].as_str().unwrap().to_owned();
    assert!(
        url.ends_with("/download/%E8%AE%B8%E5%8F%AF%202026.csv"),
        "{url}"
    );
    let (_, v) = action(&app, "datastore_search", None, json!({"resource_id": rid})).await;
    assert_eq!(
        labels_and_kinds(&v),
        [
            ("field_1", "text", "区县"),
            ("field_2", "int", "许可数"),
            ("field_3", "float", "面积"),
            ("field_4", "date", "发证日期"),
            ("field_5", "text", "项目编号"),
        ]
        .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()))
    );
    assert_eq!(
        v["result"]["records"][0],
        json!({"_id": 1, "field_1": "甲区", "field_2": 12, "field_3": 1500.5,
               "field_4": "2026-01-05", "field_5": "0012"})
    );
    // The original file, as uploaded, as an attachment.
    let got = app.client.get(app.url(&url)).send().await.unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["content-type"], "text/csv");
    assert_eq!(got.headers()["x-content-type-options"], "nosniff");
    assert!(got.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    assert_eq!(got.bytes().await.unwrap().to_vec(), gbk.to_vec());

    // A new file for the resource (XLSX): its table replaces the old one.
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    for (col, h) in ["District", "件数"].iter().enumerate() {
        ws.write_string(0, col as u16, *h).unwrap();
    }
    ws.write_string(1, 0, "丙区").unwrap();
    ws.write_number(1, 1, 7.0).unwrap();
    let (s, v) = with_file(
        &app,
        "resource_patch",
        &token,
        &[("id", &rid)],
        ("new.xlsx", book.save_to_buffer().unwrap()),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["result"]["format"], "XLSX");
    assert_eq!(v["result"]["name"], "2026年许可", "a patch keeps the rest");
    let (_, v) = action(&app, "datastore_search", None, json!({"resource_id": rid})).await;
    assert_eq!(
        v["result"]["records"],
        json!([{"_id": 1, "district": "丙区", "field_2": 7}])
    );
    // A JSON file in a new resource; its table as a workbook.
    let (s, v) = with_file(
        &app,
        "resource_create",
        &token,
        &[("package_id", "permits")],
        (
            "list.json",
            br#"[{"name": "a", "n": 1.5, "ok": true}, {"name": "b", "n": 2, "ok": false}]"#
                .to_vec(),
        ),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let json_rid = v["result"]["id"].as_str().unwrap().to_owned();
    let bytes = app
        .client
        .get(app.url(&format!(
            "/datastore/dump/{json_rid}?format=xlsx&labels=true"
        )))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let mut book = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let sheet = book.worksheet_range_at(0).unwrap().unwrap();
    let rows: Vec<Vec<Data>> = sheet.rows().map(|r| r.to_vec()).collect();
    assert_eq!(rows[0][1], Data::String("name".into()));
    assert_eq!(rows[2][2], Data::Float(1.5));
    assert_eq!(rows[3][3], Data::Bool(false));

    // Refused, nothing kept: a broken CSV, a file where no file goes.
    let (s, v) = with_file(
        &app,
        "resource_create",
        &token,
        &[("package_id", "permits")],
        ("bad.csv", b"a,b\n1,2\n3,4,5\n".to_vec()),
    )
    .await;
    assert_eq!(s, 409, "{v}");
    assert!(
        v["error"]["upload"][0].as_str().unwrap().contains("line 3"),
        "{v}"
    );
    let (s, v) = with_file(
        &app,
        "package_create",
        &token,
        &[("name", "x")],
        ("a.csv", b"a\n1\n".to_vec()),
    )
    .await;
    assert_eq!(s, 409, "{v}");
    let (_, v) = action(&app, "package_show", None, json!({"id": "permits"})).await;
    assert_eq!(v["result"]["num_resources"], 2, "{v}");
    // A page uploaded is only ever a download.
    let (s, v) = with_file(
        &app,
        "resource_create",
        &token,
        &[("package_id", "permits")],
        ("x.html", b"<script>alert(1)</script>".to_vec()),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["result"]["datastore_active"], false);
    let got = app
        .client
        .get(app.url(v["result"]["url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(got.headers()["content-type"], "application/octet-stream");
    // A draft's file is not served to the public.
    action(
        &app,
        "package_patch",
        Some(&token),
        json!({"id": "permits", "private": true}),
    )
    .await;
    let got = app.client.get(app.url(&url)).send().await.unwrap();
    assert_eq!(got.status(), 404);
});

on_both_engines!(upserts_by_primary_key, |app: TestApp| async move {
    let publisher = app.staff("xfu2", "wx-zjj", &[Role::DataPublisher]).await;
    let token = token_for(&app, &publisher).await;
    action(
        &app,
        "package_create",
        Some(&token),
        json!({"name": "prices", "title": "价格"}),
    )
    .await;
    let (s, v) = action(
        &app,
        "datastore_create",
        Some(&token),
        json!({"resource": {"package_id": "prices"},
               "fields": [{"id": "code", "type": "text"}, {"id": "price", "type": "float"},
                          {"id": "unit", "type": "text"}],
               "primary_key": ["code"],
               "records": [{"code": "A1", "price": 1.5, "unit": "斤"}]}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["result"]["primary_key"], json!(["code"]));
    let rid = v["result"]["resource_id"].as_str().unwrap().to_owned();
    let upsert = |records: Value, method: &str| json!({"resource_id": rid, "records": records, "method": method});
    // One matched (its unit kept), one new.
    let (s, v) = action(
        &app,
        "datastore_upsert",
        Some(&token),
        upsert(
            json!([{"code": "A1", "price": 2.0}, {"code": "B2", "price": 9.5}]),
            "upsert",
        ),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (
            &v["result"]["records_updated"],
            &v["result"]["records_inserted"]
        ),
        (&json!(1), &json!(1))
    );
    // Refused as a whole: a record without its key; update of a missing row; a duplicate
    // insert.
    for (records, method, words) in [
        (
            json!([{"code": "A1", "price": 3.0}, {"price": 1.0}]),
            "upsert",
            "primary key",
        ),
        (
            json!([{"code": "A1", "price": 3.0}, {"code": "ZZ", "price": 1.0}]),
            "update",
            "no row",
        ),
        (json!([{"code": "A1", "price": 3.0}]), "merge", "one of"),
    ] {
        let (s, v) = action(
            &app,
            "datastore_upsert",
            Some(&token),
            upsert(records, method),
        )
        .await;
        assert_eq!(s, 409, "{method}: {v}");
        assert!(v["error"].to_string().contains(words), "{method}: {v}");
    }
    let (s, _) = action(
        &app,
        "datastore_upsert",
        Some(&token),
        upsert(json!([{"code": "B2"}]), "insert"),
    )
    .await;
    assert_ne!(s, 200, "the key is unique");
    let (_, v) = action(
        &app,
        "datastore_search",
        None,
        json!({"resource_id": rid, "sort": "code", "fields": ["code", "price", "unit"]}),
    )
    .await;
    assert_eq!(
        v["result"]["records"],
        json!([{"_id": 1, "code": "A1", "price": 2.0, "unit": "斤"},
               {"_id": 2, "code": "B2", "price": 9.5, "unit": null}])
    );
});
