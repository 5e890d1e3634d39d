//! E-certificates end to end: approving a case whose matter has a certificate type issues a
//! signed certificate to the applicant; the citizen lists it; anyone with its code checks
//! it; its signature verifies with OpenSSL (not Tongban's code) against `GET /api/v1/keys`;
//! a revocation and a forged signature are seen at the next check.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::process::Command;
use tongban_platform::identity::Role;

/// The SubjectPublicKeyInfo prefix of an SM2 public key (id-ecPublicKey, curve
/// 1.2.156.10197.1.301), before its 65-byte uncompressed point.
const SM2_SPKI: &str = "3059301306072a8648ce3d020106082a811ccf5501822d034200";

/// r‖s (hex) as the DER SEQUENCE of two INTEGERs OpenSSL reads.
fn der_signature(rs: &str) -> Vec<u8> {
    let b = hex::decode(rs).unwrap();
    let int = |x: &[u8]| {
        let mut v: Vec<u8> = x.iter().copied().skip_while(|b| *b == 0).collect();
        if v.first().is_some_and(|b| b & 0x80 != 0) {
            v.insert(0, 0);
        }
        let mut out = vec![0x02, v.len() as u8];
        out.extend(v);
        out
    };
    let (r, s) = (int(&b[..32]), int(&b[32..]));
    let mut out = vec![0x30, (r.len() + s.len()) as u8];
    out.extend(r);
    out.extend(s);
    out
}

fn pem(public_key: &str) -> String {
    use base64::Engine as _;
    let der = hex::decode(format!("{SM2_SPKI}{public_key}")).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    format!("-----BEGIN PUBLIC KEY-----\n{b64}\n-----END PUBLIC KEY-----\n")
}

/// OpenSSL's verdict on `signature` over the SM3 digest of `signed`.
fn openssl_verifies(
    dir: &std::path::Path,
    public_key: &str,
    signed: &[u8],
    signature: &str,
) -> bool {
    std::fs::write(dir.join("pub.pem"), pem(public_key)).unwrap();
    std::fs::write(dir.join("signed.txt"), signed).unwrap();
    std::fs::write(dir.join("sig.der"), der_signature(signature)).unwrap();
    let digest = Command::new("openssl")
        .args(["dgst", "-sm3", "-binary", "signed.txt"])
        .current_dir(dir)
        .output()
        .expect("openssl");
    assert!(
        digest.status.success(),
        "{}",
        String::from_utf8_lossy(&digest.stderr)
    );
    std::fs::write(dir.join("digest.bin"), &digest.stdout).unwrap();
    let out = Command::new("openssl")
        .args([
            "dgst",
            "-sm3",
            "-verify",
            "pub.pem",
            "-sigopt",
            "distid:1234567812345678",
            "-signature",
            "sig.der",
            "digest.bin",
        ])
        .current_dir(dir)
        .output()
        .expect("openssl");
    String::from_utf8_lossy(&out.stdout).contains("Verified OK")
}

on_both_engines!(issued_on_approval_and_checked, |app: TestApp| async move {
    let admin = app.staff("xc-admin", "wx-wjw", &[Role::Admin]).await;
    let clerk = app.staff("xc-clerk", "wx-wjw", &[Role::Clerk]).await;
    let approver = app.staff("xc-approver", "wx-wjw", &[Role::Approver]).await;
    let r = app
        .client
        .put(app.iurl("/api/v1/staff/certificate-types/SYDJ"))
        .bearer_auth(&admin)
        .json(&json!({"name": "生育登记服务证", "matter_code": "WX-WJ-001", "validity_days": 365,
            "fields": [{"key": "applicant_name", "label": "申请人"}, {"key": "spouse_name", "label": "配偶"},
                       {"key": "child_order", "label": "孩次"}, {"key": "due_date", "label": "预产期"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // Approval issues it.
    let citizen = app.citizen().await;
    let case_no = app.submit_birth(&citizen).await;
    assert_eq!(
        app.act(&clerk, &case_no, "accept", "受理").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.act(&approver, &case_no, "approve", "准予")
            .await
            .status(),
        StatusCode::OK
    );
    let mine: Value = app
        .get(&app.url("/api/v1/me/certificates"), &citizen.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["total"], 1, "{mine}");
    let cert = &mine["items"][0];
    assert_eq!(cert["case_no"], case_no.as_str());
    assert_eq!(cert["content"]["type_name"], "生育登记服务证");
    assert_eq!(cert["content"]["issuer_name"], "无锡市卫生健康委员会");
    assert_eq!(cert["content"]["fields"]["孩次"], "一孩");
    let code = cert["verify_code"].as_str().unwrap().to_owned();
    let number = cert["number"].as_str().unwrap().to_owned();
    // Nobody else has it.
    let other = app.citizen().await;
    let theirs: Value = app
        .get(&app.url("/api/v1/me/certificates"), &other.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["total"], 0);

    // 我的证照: the list, the certificate with its QR drawn by the server, its PDF.
    let cookie = format!("tongban_session={}", citizen.token);
    let page_of = |path: String| {
        let (client, cookie) = (app.client.clone(), cookie.clone());
        async move {
            client
                .get(path)
                .header("cookie", cookie)
                .send()
                .await
                .unwrap()
        }
    };
    let list = page_of(app.url("/my/certificates"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        list.contains("生育登记服务证") && list.contains(&number),
        "{list}"
    );
    let one = page_of(app.url(&format!("/my/certificates/{number}")))
        .await
        .text()
        .await
        .unwrap();
    // The QR leads to the check at the deployment's public address.
    let check_path = format!("/api/v1/certificates/verify?code={code}");
    let check_url = format!("{}{check_path}", app.ctx.config.public_base());
    assert!(one.contains("<svg") && one.contains("一孩"), "{one}");
    assert!(one.contains(&format!("href=\"{check_path}\"")), "{one}");
    let r = page_of(app.url(&format!("/my/certificates/{number}/certificate.pdf"))).await;
    assert_eq!(r.status(), StatusCode::OK);
    let pdf = r.bytes().await.unwrap().to_vec();
    assert!(pdf.starts_with(b"%PDF-"));
    assert_eq!(
        crate::documents::codes_in_images(&pdf),
        vec![check_url.clone()]
    );
    if let Some(p) = crate::documents::poppler(&pdf) {
        assert_eq!(p.codes, vec![check_url.clone()], "the drawn page's code");
        assert!(
            p.text.contains("生育登记服务证") && p.text.contains("一孩"),
            "{}",
            p.text
        );
        if tongban_web::pdf::font::current().is_some() {
            assert!(
                p.fonts.contains("Identity-H       yes yes yes"),
                "{}",
                p.fonts
            );
        }
    }
    // Not another citizen's.
    let r = app
        .client
        .get(app.url(&format!("/my/certificates/{number}")))
        .header(
            "cookie",
            format!("tongban_session={}", other_token(&app).await),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // A phone that scans the QR gets a page.
    let html = app
        .client
        .get(app.url(&check_path))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("真实有效"), "{html}");

    // Anyone with the code checks it, without signing in.
    let check = |code: String| {
        let (client, url) = (app.client.clone(), app.url("/api/v1/certificates/verify"));
        async move {
            client
                .get(url)
                .query(&[("code", code)])
                .send()
                .await
                .unwrap()
        }
    };
    let v: Value = check(code.clone()).await.json().await.unwrap();
    assert_eq!(v["status"], "valid", "{v}");
    assert!(
        v["certificate"]["verify_code"].is_null(),
        "the check does not repeat the code"
    );
    assert_eq!(check("nope".into()).await.status(), StatusCode::NOT_FOUND);

    // OpenSSL verifies the signature against the published key; a changed text fails.
    let keys: Value = app
        .client
        .get(app.url("/api/v1/keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == v["certificate"]["key_id"])
        .expect("the key the certificate names is published");
    let pk = key["public_key"].as_str().unwrap();
    let signed = v["signed"].as_str().unwrap();
    let sig = v["certificate"]["signature"].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    assert!(openssl_verifies(dir.path(), pk, signed.as_bytes(), sig));
    let forged = signed.replace("一孩", "二孩");
    assert!(!openssl_verifies(dir.path(), pk, forged.as_bytes(), sig));
    // The holder digest binds the applicant's ID number (SM3 of "number:ID", by OpenSSL).
    std::fs::write(
        dir.path().join("holder.txt"),
        format!("{number}:{}", citizen.id_number),
    )
    .unwrap();
    let h = Command::new("openssl")
        .args(["dgst", "-sm3", "-r", "holder.txt"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let holder = String::from_utf8_lossy(&h.stdout);
    assert!(
        holder.starts_with(
            v["certificate"]["content"]["holder_digest"]
                .as_str()
                .unwrap()
        ),
        "{holder}"
    );
    assert!(
        !signed.contains(&citizen.id_number),
        "no ID number in what is signed"
    );

    // A signature changed in the database is caught.
    let n2 = number.clone();
    let saved: String = app
        .db()
        .write(move |c| {
            let s = c
                .query_one(
                    "SELECT signature FROM certificates WHERE number = $1",
                    tongban_platform::params![n2.as_str()],
                )?
                .get_str("signature")?;
            c.execute(
                "UPDATE certificates SET signature = $1 WHERE number = $2",
                tongban_platform::params!["00".repeat(64), n2.as_str()],
            )?;
            Ok(s)
        })
        .await
        .unwrap();
    let v: Value = check(code.clone()).await.json().await.unwrap();
    assert_eq!(v["status"], "bad_signature");
    let n2 = number.clone();
    app.db()
        .write(move |c| {
            c.execute(
                "UPDATE certificates SET signature = $1 WHERE number = $2",
                tongban_platform::params![saved.as_str(), n2.as_str()],
            )
            .map(|_| ())
        })
        .await
        .unwrap();

    // Past its validity (365 days) it is expired.
    let (c2, today) = (code.clone(), app.ctx.today());
    let later = app
        .db()
        .read(move |c| {
            tongban_exchange::certificates::verify(c, &c2, today + chrono::Duration::days(366))
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(later.status, "expired");

    // Revoked by its issuer (audited), seen at the next check; not by another department.
    let gaj = app.staff("xc-gaj", "wx-gaj", &[Role::Admin]).await;
    let revoke = |token: String, reason: &'static str| {
        let (app, number) = (&app, number.clone());
        async move {
            app.post(
                &app.iurl(&format!("/api/v1/staff/certificates/{number}/revoke")),
                &token,
                json!({"reason": reason}),
            )
            .await
            .status()
        }
    };
    assert_eq!(revoke(gaj, "误发").await, StatusCode::NOT_FOUND);
    assert_eq!(
        revoke(admin.clone(), "").await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        revoke(admin.clone(), "信息有误，已重新核发").await,
        StatusCode::OK
    );
    let v: Value = check(code).await.json().await.unwrap();
    assert_eq!(v["status"], "revoked");
    assert_eq!(v["certificate"]["revoked_reason"], "信息有误，已重新核发");
    tongban_platform::audit::settle(app.db()).await.unwrap();
    let audited = app
        .db()
        .read(|c| {
            c.query_one(
                "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'certificate.revoke' AND result = 'ok'",
                &[],
            )?
            .get_i64("n")
        })
        .await
        .unwrap();
    assert_eq!(audited, 1);

    // The data-centre board counts the certificate and its five checks (the page, valid,
    // an unknown code, the forged signature, revoked).
    tongban_exchange::checks::flush(&app.ctx).await.unwrap();
    let board: Value = app
        .get(&app.iurl("/api/v1/staff/dashboards/data"), &admin)
        .await
        .json()
        .await
        .unwrap();
    let fig = |id: &str| {
        board["figures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == id)
            .map(|f| f["value"].clone())
            .unwrap_or_default()
    };
    assert_eq!(
        (fig("certificates_issued"), fig("certificates_checked")),
        (json!(1.0), json!(5.0)),
        "{board}"
    );
});

async fn other_token(app: &TestApp) -> String {
    app.citizen().await.token
}
