//! Samples (样表): the department administrator uploads a filled-in example of a material
//! from the console; applicants download it beside the material on the guide, on the apply
//! page and through the API. Checked by content, own department only, audited, kept across a
//! re-import of the catalogue, and gone when removed.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::redirect::Policy;
use reqwest::StatusCode;
use tongban_platform::audit;
use tongban_platform::identity::Role;

const SAMPLE_URL: &str = "/matters/WX-WJ-001/materials/id_card/sample";

on_both_engines!(
    administrators_upload_samples_applicants_download_them,
    |app: TestApp| async move {
        let client = reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .unwrap();
        let admin = app.staff("s-admin", "wx-wjw", &[Role::Admin]).await;
        let other = app.staff("s-other", "wx-gaj", &[Role::Admin]).await;
        let clerk = app.staff("s-clerk", "wx-wjw", &[Role::Clerk]).await;
        let upload = |token: &str, path: &str, name: &str, data: Vec<u8>| {
            let cookie = with_csrf(&format!("tongban_staff={token}"));
            let form = reqwest::multipart::Form::new()
                .text("csrf", csrf_for(&cookie))
                .part(
                    "file",
                    reqwest::multipart::Part::bytes(data).file_name(name.to_owned()),
                );
            client
                .post(app.iurl(path))
                .header("cookie", cookie)
                .multipart(form)
                .send()
        };
        let path = "/console/matters/WX-WJ-001/samples/id_card";
        let pdf = b"%PDF-1.4 a filled-in example".to_vec();

        // Nobody but the matter's own administrator; no file that is not a document.
        for t in [&other, &clerk] {
            let r = upload(t, path, "x.pdf", pdf.clone()).await.unwrap();
            assert_eq!(r.status(), StatusCode::FORBIDDEN);
        }
        let r = upload(&admin, path, "x.html", b"<html><script>".to_vec())
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("样表文件不可用"));
        let r = upload(
            &admin,
            "/console/matters/WX-WJ-001/samples/no_such",
            "x.pdf",
            pdf.clone(),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            app.client
                .get(app.url(SAMPLE_URL))
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::NOT_FOUND,
            "nothing was kept from refused uploads"
        );

        let r = upload(&admin, path, "身份证样表.pdf", pdf.clone())
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            r.headers()["location"],
            "/console/matters/WX-WJ-001?sample_saved=1"
        );

        // Applicants find it on the guide, on the apply page and in the API.
        let guide = app
            .client
            .get(app.url("/matters/WX-WJ-001"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(guide.contains(SAMPLE_URL), "the guide links the sample");
        let api: serde_json::Value = app
            .client
            .get(app.url("/api/v1/matters/WX-WJ-001"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(api["samples"][0]["material_key"], "id_card");
        assert_eq!(api["samples"][0]["filename"], "身份证样表.pdf");
        assert_eq!(api["samples"][0]["url"], SAMPLE_URL);
        assert_eq!(api["materials"][0]["copies"], 1);
        let citizen = app.citizen().await;
        let apply = app
            .client
            .get(app.url("/matters/WX-WJ-001/apply"))
            .header("cookie", format!("tongban_session={}", citizen.token))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            apply.contains(SAMPLE_URL),
            "the apply page links the sample"
        );
        let r = app.client.get(app.url(SAMPLE_URL)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "application/pdf");
        assert!(r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment"));
        assert_eq!(r.bytes().await.unwrap().to_vec(), pdf);

        // A re-import of the catalogue keeps it; a new upload replaces it.
        let cookie = format!("tongban_staff={admin}");
        let xlsx = client
            .get(app.iurl("/console/matters/export.xlsx"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .to_vec();
        let r = upload(&admin, "/console/matters/import", "m.xlsx", xlsx)
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let png = b"\x89PNG\r\n\x1a\n a picture".to_vec();
        let r = upload(&admin, path, "sample.png", png.clone())
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let r = app.client.get(app.url(SAMPLE_URL)).send().await.unwrap();
        assert_eq!(r.headers()["content-type"], "image/png");
        assert_eq!(r.bytes().await.unwrap().to_vec(), png);
        let console = client
            .get(app.iurl("/console/matters/WX-WJ-001"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(console.contains("sample.png") && console.contains("替换样表"));

        // Removed, it is gone everywhere.
        let cookie = with_csrf(&cookie);
        let r = client
            .post(app.iurl(&format!("{path}/delete")))
            .header("cookie", &cookie)
            .form(&[("csrf", csrf_for(&cookie))])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let r = app.client.get(app.url(SAMPLE_URL)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let guide = app
            .client
            .get(app.url("/matters/WX-WJ-001"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!guide.contains(SAMPLE_URL));

        // Every change is in the audit log, with the refusals.
        audit::settle(app.db()).await.unwrap();
        let log = app
            .db()
            .read(|c| audit::since(c, 0, 10_000, 0))
            .await
            .unwrap();
        let count = |action: &str, result: &str| {
            log.iter()
                .filter(|s| s.entry.action == action && s.entry.result == result)
                .count()
        };
        assert_eq!(count("matter.sample", "ok"), 2);
        assert_eq!(count("matter.sample_remove", "ok"), 1);
        assert!(count("matter.edit", "denied") >= 2);
    }
);
