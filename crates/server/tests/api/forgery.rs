//! Forged requests (issue 11, attack 4): another site made a victim's browser log into the
//! attacker's account, withdraw a case with a `text/plain` POST, and file a work order and
//! submit a case with multipart requests, all on the strength of the session cookie; and a
//! console form took a token the attacker chose. Now the cookie never authenticates the
//! JSON API, every form (login included) needs the token derived from the session, and a
//! foreign `Origin` is refused.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::redirect::Policy;
use reqwest::StatusCode;

on_both_engines!(forged_requests_do_no_harm, |app: TestApp| async move {
    let victim = app.citizen().await;
    let case_no = app.submit_birth(&victim).await;
    let cookie = format!("tongban_session={}", victim.token);
    let before = app.row_counts().await;
    // The cookie alone does not authenticate the JSON API, whatever the content type.
    let r = app
        .client
        .post(app.url(&format!("/api/v1/cases/{case_no}/withdraw")))
        .header("cookie", &cookie)
        .header("origin", "http://evil.example")
        .header("content-type", "text/plain")
        .body(r#"{"note":"x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let form =
        reqwest::multipart::Form::new().text("form", birth_registration_form(&victim).to_string());
    let r = app
        .client
        .post(app.url("/api/v1/cases"))
        .header("cookie", &cookie)
        .multipart(form.text("matter_code", "WX-WJ-001"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // A work order posted with the cookie is not the victim's (it is anonymous and needs a
    // phone of its own).
    let order = serde_json::json!({"type": "complaint", "category": "city.noise", "district": "梁溪区",
        "street": "x", "title": "伪造", "content": "伪造的诉求"});
    let r = app
        .client
        .post(app.url("/api/v1/workorders"))
        .header("cookie", &cookie)
        .multipart(reqwest::multipart::Form::new().text("order", order.to_string()))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
    assert_eq!(app.row_counts().await, before, "nothing changed");
    // Login without the token (login CSRF) is refused; so is a token from another site.
    let attacker = app.citizen().await;
    let client = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    let r = client
        .post(app.url("/login"))
        .form(&[("account", attacker.phone.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r
        .headers()
        .get("set-cookie")
        .is_none_or(|c| !c.to_str().unwrap().contains("tongban_session")));
    let seed = with_csrf("");
    let token = csrf_for(&seed);
    let r = client
        .post(app.url("/login"))
        .header("cookie", &seed)
        .header("origin", "http://evil.example")
        .form(&[
            ("account", attacker.phone.as_str()),
            ("password", PASSWORD),
            ("csrf", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "foreign Origin");
    // From our own page it works.
    let host = app.url("").trim_end_matches('/').to_owned();
    let r = client
        .post(app.url("/login"))
        .header("cookie", &seed)
        .header("origin", &host)
        .form(&[
            ("account", attacker.phone.as_str()),
            ("password", PASSWORD),
            ("csrf", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // Paths after login stay on this site (a tab is dropped by browsers).
    let r = client
        .get(app.url("/lang/en?next=%2F%09%2Fevil.example"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/");
    let r = client
        .get(app.url("/lang/en?next=%2F%0D%0ASet-Cookie:%20x=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "not a 500");
    assert_eq!(r.headers()["location"], "/");
});

// An upload whose first part is not the token is refused before any file is read, and a
// form read by the one extractor refuses a missing, foreign or stale token alike.
on_both_engines!(
    uploads_and_forms_need_the_token_first,
    |app: TestApp| async move {
        let citizen = app.citizen().await;
        let cookie = with_csrf(&format!("tongban_session={}", citizen.token));
        let before = app.row_counts().await;
        let send = |form: reqwest::multipart::Form| {
            app.client
                .post(app.url("/matters/WX-WJ-001/apply"))
                .header("cookie", cookie.clone())
                .multipart(form)
                .send()
        };
        let late = reqwest::multipart::Form::new()
            .text("applicant_name", "李四")
            .text("csrf", csrf_for(&cookie));
        assert_eq!(send(late).await.unwrap().status(), StatusCode::FORBIDDEN);
        let wrong = reqwest::multipart::Form::new()
            .text("csrf", "0".repeat(64))
            .text("applicant_name", "李四");
        assert_eq!(send(wrong).await.unwrap().status(), StatusCode::FORBIDDEN);
        assert_eq!(app.row_counts().await, before, "nothing stored");
        // A urlencoded form: withdraw needs the token bound to this session.
        let case_no = app.submit_birth(&citizen).await;
        for body in [
            "note=x".to_owned(),
            format!("note=x&csrf={}", "0".repeat(64)),
        ] {
            let r = app
                .client
                .post(app.url(&format!("/my/cases/{case_no}/withdraw")))
                .header("cookie", cookie.clone())
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::FORBIDDEN);
        }
        let r = app
            .get(
                &app.url(&format!("/api/v1/cases/{case_no}")),
                &citizen.token,
            )
            .await;
        assert_eq!(
            r.json::<serde_json::Value>().await.unwrap()["status"],
            "submitted",
            "not withdrawn"
        );
    }
);
