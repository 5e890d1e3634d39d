//! Server-rendered pages over HTTP: structure snapshots (insta), login redirects that bring
//! the user back, refused input shown on the page, designed 404s, language switching.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::redirect::Policy;
use reqwest::StatusCode;

/// The element structure of a page: tags with their id, class, role, name, type and aria
/// attributes, one per line and indented by depth; text is left out so data changes do not
/// churn the snapshot, while any change of the markup shows in review.
fn structure(html: &str) -> String {
    let tag = regex_lite(html);
    tag.join("\n")
}

fn regex_lite(html: &str) -> Vec<String> {
    const VOID: [&str; 8] = ["meta", "link", "input", "br", "img", "hr", "source", "wbr"];
    const KEEP: [&str; 8] = [
        "id", "class", "role", "name", "type", "for", "href", "method",
    ];
    let mut out = Vec::new();
    let mut depth: usize = 0;
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        rest = &rest[start + 1..];
        let Some(end) = rest.find('>') else { break };
        let inner = &rest[..end];
        rest = &rest[end + 1..];
        if inner.starts_with('!') {
            continue;
        }
        if let Some(name) = inner.strip_prefix('/') {
            depth = depth.saturating_sub(1);
            let _ = name;
            continue;
        }
        let name: String = inner
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let mut attrs = Vec::new();
        for part in inner.split_whitespace().skip(1) {
            let key = part.split('=').next().unwrap_or("");
            if KEEP.contains(&key) || key.starts_with("aria-") {
                // Case numbers and dates inside hrefs vary; keep the path shape only.
                let v = part.trim_end_matches('/');
                let v: String = v
                    .chars()
                    .map(|c| if c.is_ascii_digit() { '9' } else { c })
                    .collect();
                attrs.push(v);
            }
        }
        out.push(
            format!("{}{} {}", "  ".repeat(depth), name, attrs.join(" "))
                .trim_end()
                .to_owned(),
        );
        if !VOID.contains(&name.as_str()) && !inner.ends_with('/') {
            depth += 1;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_structure_snapshots() {
    let app = spawn_app(Engine::Sqlite).await.unwrap();
    let get = |p: &str| {
        let url = app.url(p);
        let c = app.client.clone();
        async move {
            c.get(url)
                .header("accept-language", "zh-CN")
                .send()
                .await
                .unwrap()
        }
    };
    for (name, path, status) in [
        ("matters", "/matters?department=wx-wjw", 200),
        ("guide", "/matters/WX-WJ-001", 200),
        ("login", "/login", 200),
        ("register", "/register", 200),
        ("not_found", "/no/such/page", 404),
    ] {
        let r = get(path).await;
        assert_eq!(r.status().as_u16(), status, "{path}");
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let html = r.text().await.unwrap();
        insta::assert_snapshot!(format!("page_{name}"), structure(&html));
    }
    let citizen = app.citizen().await;
    let r = app
        .client
        .get(app.url("/matters/WX-SJ-001/apply"))
        .header("cookie", format!("tongban_session={}", citizen.token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    insta::assert_snapshot!("page_apply_form", structure(&r.text().await.unwrap()));
}

on_both_engines!(
    expired_session_goes_to_login_and_back,
    |app: TestApp| async move {
        let client = reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .unwrap();
        let citizen = app.citizen().await;
        app.db()
            .write(|c| c.execute("UPDATE sessions SET last_seen_at = 0", &[]))
            .await
            .unwrap();
        let r = client
            .get(app.url("/my/cases?page=2"))
            .header("cookie", format!("tongban_session={}", citizen.token))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let to = r.headers()["location"].to_str().unwrap().to_owned();
        assert_eq!(to, "/login?next=%2Fmy%2Fcases%3Fpage%3D2&expired=1");
        let page = client
            .get(app.url(&to))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("长时间未操作已自动退出"));
        let r = client
            .post(app.url("/login"))
            .header("cookie", with_csrf(""))
            .form(&[
                ("account", citizen.phone.as_str()),
                ("password", PASSWORD),
                ("next", "/my/cases?page=2"),
                ("csrf", csrf_for(&with_csrf("")).as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()["location"], "/my/cases?page=2");
        let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
        // Never sent to another site after login.
        let r = client
            .post(app.url("/login"))
            .header("cookie", with_csrf(""))
            .form(&[
                ("account", citizen.phone.as_str()),
                ("password", PASSWORD),
                ("next", "//evil.example/x"),
                ("csrf", csrf_for(&with_csrf("")).as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["location"], "/my/cases");
    }
);

on_both_engines!(
    refused_input_is_shown_on_the_page,
    |app: TestApp| async move {
        let citizen = app.citizen().await;
        let before = app.row_counts().await;
        // The token first, as the page's form sends it.
        let form = reqwest::multipart::Form::new()
            .text(
                "csrf",
                csrf_for(&with_csrf(&format!("tongban_session={}", citizen.token))),
            )
            .text("applicant_name", "李四")
            .text("spouse_name", "王五")
            .text("spouse_id", "110105194912310021")
            .text("applicant_phone", citizen.phone.clone());
        let r = app
            .client
            .post(app.url("/matters/WX-WJ-001/apply"))
            .header(
                "cookie",
                with_csrf(&format!("tongban_session={}", citizen.token)),
            )
            .header("accept-language", "en")
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = r.text().await.unwrap();
        assert!(
            html.contains("class=\"error-summary\""),
            "summary at the top"
        );
        assert!(
            html.contains("id=\"f-spouse_id-error\""),
            "message next to the field"
        );
        assert!(
            html.contains("This ID number is not valid"),
            "in the user's language"
        );
        assert!(html.contains("This field is required"));
        assert!(html.contains("value=\"李四\""), "values kept");
        assert!(!html.contains("{\"error\""), "never a raw JSON error");
        assert_eq!(app.row_counts().await, before);

        // Registration problems come back on the page, per field.
        let r = app
            .client
            .post(app.url("/register"))
            .header("cookie", with_csrf(""))
            .form(&[
                ("csrf", csrf_for(&with_csrf("")).as_str()),
                ("name", ""),
                ("id_number", "123"),
                ("phone", "1"),
                ("password", "x"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = r.text().await.unwrap();
        for id in [
            "r-name-error",
            "r-id_number-error",
            "r-phone-error",
            "r-password-error",
        ] {
            assert!(html.contains(id), "{id}");
        }
    }
);

on_both_engines!(
    staff_pages_need_a_staff_session_and_respect_departments,
    |app: TestApp| async move {
        let client = reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .unwrap();
        let r = client.get(app.iurl("/console")).send().await.unwrap();
        assert_eq!(r.headers()["location"], "/console/login?next=%2Fconsole");
        let citizen = app.citizen().await;
        let case_no = app.submit_birth(&citizen).await;
        let other = app
            .staff(
                "p-other",
                "wx-gaj",
                &[tongban_platform::identity::Role::Clerk],
            )
            .await;
        let r = client
            .get(app.iurl(&format!("/console/cases/{case_no}")))
            .header("cookie", format!("tongban_staff={other}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(r.text().await.unwrap().contains("没有权限"));
        // A citizen's cookie is not a staff session.
        let r = client
            .get(app.iurl("/console"))
            .header("cookie", format!("tongban_staff={}", citizen.token))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
);

on_both_engines!(
    forms_without_the_anti_forgery_token_change_nothing,
    |app: TestApp| async move {
        let citizen = app.citizen().await;
        let case_no = app.submit_birth(&citizen).await;
        let session = format!("tongban_session={}", citizen.token);
        let other = app.citizen().await;
        let before = app.row_counts().await;
        // No token, a token without its cookie, a token that does not match the cookie, the
        // attack of issue 11 (cookie and field set to one value of the attacker's choosing),
        // and another session's token.
        let others_token = csrf_for(&with_csrf(&format!("tongban_session={}", other.token)));
        for (cookie, token) in [
            (session.clone(), None),
            (session.clone(), Some(CSRF)),
            (with_csrf(&session), Some(CSRF)),
            (with_csrf(&session), Some(others_token.as_str())),
            (
                with_csrf(&session),
                Some("0000000000000000000000000000000000000000000000000000000000000000"),
            ),
        ] {
            let mut form = vec![("note", "改主意了")];
            if let Some(t) = token {
                form.push(("csrf", t));
            }
            let r = app
                .client
                .post(app.url(&format!("/my/cases/{case_no}/withdraw")))
                .header("cookie", cookie)
                .form(&form)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::FORBIDDEN);
            assert!(r.text().await.unwrap().contains("页面已过期"));
        }
        assert_eq!(app.row_counts().await, before);
        let case: serde_json::Value = app
            .get(
                &app.url(&format!("/api/v1/cases/{case_no}")),
                &citizen.token,
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(case["status"], "submitted");
        // With the token the same form works.
        let r = app
            .client
            .post(app.url(&format!("/my/cases/{case_no}/withdraw")))
            .header("cookie", with_csrf(&session))
            .form(&[
                ("note", "改主意了"),
                ("csrf", csrf_for(&with_csrf(&session)).as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "followed the redirect to the case page"
        );
        let case: serde_json::Value = app
            .get(
                &app.url(&format!("/api/v1/cases/{case_no}")),
                &citizen.token,
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(case["status"], "withdrawn");
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_headers_on_every_response() {
    let app = spawn_app(Engine::Sqlite).await.unwrap();
    for url in [
        app.url("/"),
        app.url("/matters"),
        app.url("/api/v1/matters"),
        app.url("/nope"),
        app.iurl("/console/login"),
    ] {
        let r = app.client.get(&url).send().await.unwrap();
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'")
                && csp.contains("script-src 'self'")
                && !csp.contains("unsafe-inline"),
            "{url}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "same-origin");
    }
    let r = app.client.get(app.url("/login")).send().await.unwrap();
    let set = r.headers()["set-cookie"].to_str().unwrap();
    assert!(
        set.starts_with("tongban_csrf=")
            && set.contains("HttpOnly")
            && set.contains("SameSite=Lax")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_text_is_rendered_escaped() {
    let app = spawn_app(Engine::Sqlite).await.unwrap();
    let citizen = app.citizen().await;
    let mut form = birth_registration_form(&citizen);
    // In a field the applicant types (the applicant's own name comes from the identity).
    form["spouse_name"] =
        serde_json::json!("<script>alert(1)</script>\"><img src=x onerror=alert(1)>");
    let r = app
        .submit_case(
            &citizen.token,
            serde_json::json!({"matter_code": "WX-WJ-001", "form": form}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let case_no = r.json::<serde_json::Value>().await.unwrap()["case_no"]
        .as_str()
        .unwrap()
        .to_owned();
    let html = app
        .client
        .get(app.url(&format!("/my/cases/{case_no}")))
        .header("cookie", format!("tongban_session={}", citizen.token))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !html.contains("<script>alert(1)</script>") && !html.contains("<img src=x"),
        "rendered raw"
    );
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
        "rendered escaped"
    );
}
