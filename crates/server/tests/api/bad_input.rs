//! Bad input of every kind gets a 4xx that says what to fix, and stored data stays as it was.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tongban_platform::identity::Role;

on_both_engines!(
    bad_requests_are_refused_cleanly,
    |app: TestApp| async move {
        let citizen = app.citizen().await;
        let clerk = app.staff("b-clerk", "wx-wjw", &[Role::Clerk]).await;
        let case_no = app.submit_birth(&citizen).await;
        let before = app.row_counts().await;
        let cases_url = app.url("/api/v1/cases");

        let raw = |url: String, body: &'static str, ct: &'static str| {
            app.client
                .post(url)
                .bearer_auth(&citizen.token)
                .header("content-type", ct)
                .body(body)
                .send()
        };
        let expect = |r: reqwest::Response, status: StatusCode, code: &'static str| async move {
            let (s, c, m) = error_code(r).await;
            assert_eq!((s, c.as_str()), (status, code), "{m}");
        };

        // Malformed body, wrong type, missing field, unknown field, unknown matter.
        expect(
            raw(cases_url.clone(), "{not json", "application/json")
                .await
                .unwrap(),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        )
        .await;
        expect(
            raw(cases_url.clone(), "{}", "text/plain").await.unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content_type",
        )
        .await;
        expect(
            app.post(
                &cases_url,
                &citizen.token,
                json!({"matter_code": 5, "form": {}}),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        )
        .await;
        expect(
            app.post(&cases_url, &citizen.token, json!({"form": {}}))
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing_matter_code",
        )
        .await;
        expect(
            app.post(
                &cases_url,
                &citizen.token,
                json!({"matter_code": "WX-WJ-001", "form": {}, "x": 1}),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        )
        .await;
        expect(
            app.post(
                &cases_url,
                &citizen.token,
                json!({"matter_code": "NOPE", "form": {}}),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_matter",
        )
        .await;
        expect(
            app.post(
                &cases_url,
                &citizen.token,
                json!({"matter_code": "WX-GA-002", "form": {}}),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_online",
        )
        .await;
        let mut form = birth_registration_form(&citizen);
        form["due_date"] = json!("2027-02-30");
        form["applicant_phone"] = json!("12345");
        form["child_order"] = json!(["一孩"]);
        let r = app
            .post(
                &cases_url,
                &citizen.token,
                json!({"matter_code": "WX-WJ-001", "form": form}),
            )
            .await;
        let v: Value = r.json().await.unwrap();
        let fields: Vec<&str> = v["error"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap())
            .collect();
        // Every problem at once: the form's fields, then the required material not given
        // (the phone sent wrong is replaced by the applicant's own: an identity field).
        assert_eq!(fields, vec!["child_order", "due_date", "id_card"]);

        // Unknown case, someone else's case, actions out of order or unknown.
        expect(
            app.get(&app.url("/api/v1/cases/320200000000000000"), &citizen.token)
                .await,
            StatusCode::NOT_FOUND,
            "case_not_found",
        )
        .await;
        expect(
            app.get(&app.iurl("/api/v1/staff/cases/nope"), &clerk).await,
            StatusCode::NOT_FOUND,
            "case_not_found",
        )
        .await;
        expect(
            app.act(&clerk, &case_no, "approve", "").await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
        expect(
            app.act(&clerk, &case_no, "teleport", "").await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_action",
        )
        .await;
        expect(
            app.act(&clerk, &case_no, "not_accept", " ").await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "note_required",
        )
        .await;
        expect(
            app.post(
                &app.url(&format!("/api/v1/cases/{case_no}/supplement")),
                &citizen.token,
                json!({"form": {"due_date": "2027-01-01"}}),
            )
            .await,
            StatusCode::CONFLICT,
            "illegal_transition",
        )
        .await;
        expect(
            app.client
                .post(app.iurl(&format!("/api/v1/staff/cases/{case_no}/actions")))
                .bearer_auth(&clerk)
                .header("content-type", "application/json")
                .body(r#"{"note": "x"}"#)
                .send()
                .await
                .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        )
        .await;

        // No session, a made-up token, an expired session, a citizen token on staff routes.
        expect(
            app.client
                .get(app.url("/api/v1/cases"))
                .send()
                .await
                .unwrap(),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        )
        .await;
        expect(
            app.get(&app.url("/api/v1/cases"), "made-up").await,
            StatusCode::UNAUTHORIZED,
            "invalid_token",
        )
        .await;
        expect(
            app.get(&app.iurl("/api/v1/staff/cases"), &citizen.token)
                .await,
            StatusCode::UNAUTHORIZED,
            "invalid_token",
        )
        .await;
        let expired = app.citizen().await;
        app.db()
            .write(|c| {
                c.execute(
                    "UPDATE sessions SET last_seen_at = 0 WHERE kind = 'citizen'",
                    &[],
                )
            })
            .await
            .unwrap();
        expect(
            app.get(&app.url("/api/v1/cases"), &expired.token).await,
            StatusCode::UNAUTHORIZED,
            "session_expired",
        )
        .await;

        // Registration and login mistakes.
        let acc = app.url("/api/v1/accounts");
        let reg = |id: &str, phone: &str, pw: &str| json!({"name": "赵六", "id_number": id, "phone": phone, "password": pw});
        expect(
            app.client
                .post(&acc)
                .json(&reg("110105194912310021", &random_phone(), PASSWORD))
                .send()
                .await
                .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_id_number",
        )
        .await;
        expect(
            app.client
                .post(&acc)
                .json(&reg(&random_id_number(), "123", PASSWORD))
                .send()
                .await
                .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_phone",
        )
        .await;
        expect(
            app.client
                .post(&acc)
                .json(&reg(&random_id_number(), &random_phone(), "short"))
                .send()
                .await
                .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "weak_password",
        )
        .await;
        expect(
            app.client
                .post(&acc)
                .json(&reg(&random_id_number(), &random_phone(), PASSWORD))
                .send()
                .await
                .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "sms_code_required",
        )
        .await;
        expect(
            register(
                &app.client,
                &app.public,
                reg(&citizen.id_number, &random_phone(), PASSWORD),
            )
            .await,
            StatusCode::CONFLICT,
            "already_registered",
        )
        .await;
        expect(
            app.client
                .post(app.url("/api/v1/sessions"))
                .json(&json!({"phone": citizen.phone, "password": "Wrong-password-1"}))
                .send()
                .await
                .unwrap(),
            StatusCode::UNAUTHORIZED,
            "bad_credentials",
        )
        .await;
        expect(
            app.client
                .post(app.iurl("/api/v1/staff/sessions"))
                .json(&json!({"username": "nobody", "password": PASSWORD}))
                .send()
                .await
                .unwrap(),
            StatusCode::UNAUTHORIZED,
            "bad_credentials",
        )
        .await;

        let after = app.row_counts().await;
        assert_eq!(
            (after.0, after.1, after.2),
            (before.0, before.1, before.2),
            "no case data changed"
        );
        assert_eq!(
            after.3,
            before.3 + 1,
            "only the one valid registration (the expired-session citizen) added an account"
        );
        let still: Value = app
            .get(&app.iurl(&format!("/api/v1/staff/cases/{case_no}")), &clerk)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(still["status"], "submitted");
    }
);

on_both_engines!(logout_ends_the_session, |app: TestApp| async move {
    let citizen = app.citizen().await;
    let r = app
        .client
        .delete(app.url("/api/v1/sessions"))
        .bearer_auth(&citizen.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (s, code, _) = error_code(app.get(&app.url("/api/v1/me"), &citizen.token).await).await;
    assert_eq!(
        (s, code.as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );
});
