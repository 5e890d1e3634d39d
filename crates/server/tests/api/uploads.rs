//! Materials uploaded as multipart files: stored by SM3 content hash, type and size limits,
//! downloadable by the department's staff.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::Value;
use tongban_platform::identity::Role;

fn form_with(c: &Citizen, file: Option<(&str, &str, Vec<u8>)>) -> Form {
    let f = birth_registration_form(c);
    let mut form = Form::new()
        .text("matter_code", "WX-WJ-001")
        .text("form", f.to_string());
    if let Some((key, name, data)) = file {
        form = form.part(
            key.to_owned(),
            Part::bytes(data)
                .file_name(name.to_owned())
                .mime_str("application/pdf")
                .unwrap(),
        );
    }
    // The ID card the matter requires, after the file under test.
    form.part(
        "id_card",
        Part::bytes(b"%PDF-1.4 id card".to_vec()).file_name("id.pdf"),
    )
}

on_both_engines!(multipart_materials, |app: TestApp| async move {
    let citizen = app.citizen().await;
    let pdf = b"%PDF-1.4 marriage certificate scan".to_vec();
    let send = |form: Form| {
        app.client
            .post(app.url("/api/v1/cases"))
            .bearer_auth(&citizen.token)
            .multipart(form)
            .send()
    };

    let before = app.row_counts().await;
    let r = send(form_with(
        &citizen,
        Some((
            "marriage_cert",
            "cert.pdf",
            b"MZ\x90\x00 a program named as a PDF".to_vec(),
        )),
    ))
    .await
    .unwrap();
    let (status, code, _) = error_code(r).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "file_type")
    );
    let r = send(form_with(
        &citizen,
        Some(("marriage_cert", "big.pdf", vec![b'x'; 65 * 1024])),
    ))
    .await
    .unwrap();
    assert_eq!(error_code(r).await.0, StatusCode::PAYLOAD_TOO_LARGE);
    let r = send(form_with(
        &citizen,
        Some(("no_such_material", "a.pdf", pdf.clone())),
    ))
    .await
    .unwrap();
    assert_eq!(error_code(r).await.1, "unknown_material");
    assert_eq!(
        app.row_counts().await,
        before,
        "refused uploads store nothing"
    );

    let r = send(form_with(
        &citizen,
        Some(("marriage_cert", "结婚证.pdf", pdf.clone())),
    ))
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let case: Value = r.json().await.unwrap();
    let m = &case["materials"][0];
    assert_eq!(m["key"], "marriage_cert");
    assert_eq!(m["name"], "结婚证");
    assert_eq!(m["size"], pdf.len());
    let sha = tongban_platform::crypto::sm3_hex(&pdf);
    assert_eq!(m["sm3"], sha);
    let stored = app.dir.path().join("uploads").join(&sha[..2]).join(&sha);
    let bytes = std::fs::read(&stored).unwrap();
    assert_ne!(
        bytes, pdf,
        "sealed at rest (issue 11: ID-card copies lay in clear)"
    );
    assert!(bytes.starts_with(b"TBS1"));
    assert!(
        !bytes.windows(5).any(|w| w == b"%PDF-"),
        "no plaintext header"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&stored), 0o600, "file owner-only");
        assert_eq!(mode(stored.parent().unwrap()), 0o700, "folder owner-only");
    }

    let clerk = app.staff("u-clerk", "wx-wjw", &[Role::Clerk]).await;
    let no = case["case_no"].as_str().unwrap();
    let r = app
        .get(
            &app.iurl(&format!("/api/v1/staff/cases/{no}/materials/marriage_cert")),
            &clerk,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    assert_eq!(r.bytes().await.unwrap().to_vec(), pdf);
    // The console's download link (the JSON API takes only a bearer token) serves it too.
    let r = app
        .client
        .get(app.iurl(&format!("/console/cases/{no}/materials/marriage_cert")))
        .header("cookie", format!("tongban_staff={clerk}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.unwrap().to_vec(), pdf);
    // A PDF/HTML polyglot declared as text/html is served as what its content is, as an
    // attachment (issue 11: it came back as text/html).
    let c2 = app.citizen().await;
    let poly = b"%PDF-1.4\n<html><script>alert(document.cookie)</script></html>".to_vec();
    let mut form = Form::new()
        .text("matter_code", "WX-WJ-001")
        .text("form", birth_registration_form(&c2).to_string());
    form = form.part(
        "marriage_cert",
        Part::bytes(poly.clone())
            .file_name("x.html")
            .mime_str("text/html")
            .unwrap(),
    );
    form = form.part(
        "id_card",
        Part::bytes(b"%PDF-1.4 id card".to_vec()).file_name("id.pdf"),
    );
    let r = app
        .client
        .post(app.url("/api/v1/cases"))
        .bearer_auth(&c2.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let st = r.status();
    let v: Value = r.json().await.unwrap();
    assert_eq!(st, StatusCode::CREATED, "its content is a PDF: {v}");
    let no2 = v["case_no"].as_str().unwrap();
    let r = app
        .get(
            &app.iurl(&format!(
                "/api/v1/staff/cases/{no2}/materials/marriage_cert"
            )),
            &clerk,
        )
        .await;
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let r = app
        .get(
            &app.iurl(&format!("/api/v1/staff/cases/{no}/materials/nothing")),
            &clerk,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let other = app.staff("u-other", "wx-gaj", &[Role::Clerk]).await;
    let r = app
        .get(
            &app.iurl(&format!("/api/v1/staff/cases/{no}/materials/marriage_cert")),
            &other,
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
});
