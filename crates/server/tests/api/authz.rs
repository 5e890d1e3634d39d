//! The authorization matrix: every internal endpoint, called as every staff role of the
//! case's own department and of another, and anonymously, answers the expected status.
//! An internal path without rows here fails the test.

use crate::helpers::*;
use reqwest::redirect::Policy;
use reqwest::{Method, StatusCode};
use tongban_platform::identity::{self, Role, SessionKind};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    Anonymous,
    Own(Role),
    Other(Role),
}

const ROLES: [Role; 6] = [
    Role::Clerk,
    Role::Reviewer,
    Role::Approver,
    Role::Admin,
    Role::Auditor,
    Role::PiiReader,
];

fn handles(r: Role) -> bool {
    matches!(r, Role::Clerk | Role::Reviewer | Role::Approver)
}

/// What each row sends.
#[derive(Clone, Copy)]
enum Body {
    None,
    Json(&'static str),
    Form(&'static [(&'static str, &'static str)]),
    Import,
}

struct Row {
    method: Method,
    path: &'static str,
    body: Body,
    /// A fresh submitted case for this call (its state must not leak between rows).
    fresh_case: bool,
    /// A fresh session for this call (the call ends it).
    fresh_session: bool,
    expect: fn(Who) -> u16,
}

fn api_case_file(w: Who) -> u16 {
    match w {
        Who::Anonymous => 401,
        Who::Own(r) if handles(r) => 200,
        _ => 403,
    }
}
fn api_accept(w: Who) -> u16 {
    match w {
        Who::Anonymous => 401,
        Who::Own(Role::Clerk) => 200,
        _ => 403,
    }
}
fn page_case_file(w: Who) -> u16 {
    match w {
        Who::Anonymous => 303,
        Who::Own(r) if handles(r) => 200,
        _ => 403,
    }
}
fn page_accept(w: Who) -> u16 {
    match w {
        Who::Anonymous => 303,
        Who::Own(Role::Clerk) => 303,
        _ => 403,
    }
}
fn page_queue(w: Who) -> u16 {
    match w {
        Who::Anonymous => 303,
        Who::Own(r) | Who::Other(r) if handles(r) => 200,
        _ => 303,
    }
}
fn any_staff(ok: u16) -> impl Fn(Who) -> u16 {
    move |w| if w == Who::Anonymous { 401 } else { ok }
}
fn admin_own(ok: u16) -> impl Fn(Who) -> u16 {
    move |w| match w {
        Who::Anonymous => 303,
        Who::Own(Role::Admin) => ok,
        _ => 403,
    }
}
fn admin_any_dept(w: Who) -> u16 {
    match w {
        Who::Anonymous => 303,
        Who::Own(Role::Admin) | Who::Other(Role::Admin) => 200,
        _ => 403,
    }
}
fn auditor(w: Who) -> u16 {
    match w {
        Who::Anonymous => 303,
        Who::Own(Role::Auditor) | Who::Other(Role::Auditor) => 200,
        _ => 403,
    }
}

const ACCEPT_FORM: &[(&str, &str)] = &[("action", "accept"), ("note", "受理"), ("csrf", CSRF)];
const PUBLISH_FORM: &[(&str, &str)] = &[("published", "true"), ("csrf", CSRF)];
const LOGOUT_FORM: &[(&str, &str)] = &[("csrf", CSRF)];
const NO_CSRF_FORM: &[(&str, &str)] = &[("username", "x"), ("password", "y")];

fn rows() -> Vec<Row> {
    let r = |method: Method, path: &'static str, body: Body, expect: fn(Who) -> u16| Row {
        method,
        path,
        body,
        fresh_case: false,
        fresh_session: false,
        expect,
    };
    vec![
        r(Method::GET, "/metrics", Body::None, |_| 200),
        r(
            Method::POST,
            "/api/v1/staff/sessions",
            Body::Json(r#"{"username":"nobody","password":"Wrong-password-1"}"#),
            |_| 401,
        ),
        Row {
            fresh_session: true,
            ..r(Method::DELETE, "/api/v1/staff/sessions", Body::None, |w| {
                any_staff(204)(w)
            })
        },
        r(Method::GET, "/api/v1/staff/me", Body::None, |w| {
            any_staff(200)(w)
        }),
        // Every staff member may change their own password; here the old one is wrong.
        r(
            Method::POST,
            "/api/v1/staff/me/password",
            Body::Json(r#"{"old_password":"Wrong-password-1","new_password":"New-password-77"}"#),
            |_| 401,
        ),
        r(
            Method::GET,
            "/api/v1/staff/cases",
            Body::None,
            |w| match w {
                Who::Anonymous => 401,
                Who::Own(r) | Who::Other(r) if handles(r) => 200,
                _ => 403,
            },
        ),
        r(
            Method::GET,
            "/api/v1/staff/cases/{case_no}",
            Body::None,
            api_case_file,
        ),
        Row {
            fresh_case: true,
            ..r(
                Method::POST,
                "/api/v1/staff/cases/{case_no}/actions",
                Body::Json(r#"{"action":"accept","note":"受理"}"#),
                api_accept,
            )
        },
        r(
            Method::GET,
            "/api/v1/staff/cases/{case_no}/materials/{key}",
            Body::None,
            api_case_file,
        ),
        r(Method::GET, "/console/login", Body::None, |_| 200),
        r(
            Method::POST,
            "/console/login",
            Body::Form(NO_CSRF_FORM),
            |_| 403,
        ),
        Row {
            fresh_session: true,
            ..r(
                Method::POST,
                "/console/logout",
                Body::Form(LOGOUT_FORM),
                |_| 303,
            )
        },
        r(Method::GET, "/console/audit", Body::None, auditor),
        r(Method::GET, "/console/matters", Body::None, admin_any_dept),
        r(
            Method::GET,
            "/console/matters/export.xlsx",
            Body::None,
            admin_any_dept,
        ),
        r(Method::POST, "/console/matters/import", Body::Import, |w| {
            admin_own(303)(w)
        }),
        r(Method::GET, "/console/matters/{code}", Body::None, |w| {
            admin_own(200)(w)
        }),
        r(
            Method::POST,
            "/console/matters/{code}",
            Body::Form(&[("op", "preview"), ("csrf", CSRF)]),
            |w| match w {
                Who::Anonymous => 303,
                // Authorized, and the empty form is refused as invalid input.
                Who::Own(Role::Admin) => 422,
                _ => 403,
            },
        ),
        r(
            Method::POST,
            "/console/matters/{code}/publish",
            Body::Form(PUBLISH_FORM),
            |w| admin_own(303)(w),
        ),
        r(Method::GET, "/console", Body::None, page_queue),
        r(
            Method::GET,
            "/console/cases/{case_no}",
            Body::None,
            page_case_file,
        ),
        Row {
            fresh_case: true,
            ..r(
                Method::POST,
                "/console/cases/{case_no}/actions",
                Body::Form(ACCEPT_FORM),
                page_accept,
            )
        },
    ]
}

async fn session(app: &TestApp, id: i64) -> String {
    app.db()
        .write(move |c| identity::create_session(c, SessionKind::Staff, id, 30))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_internal_endpoint_as_every_role_sqlite() {
    matrix(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_internal_endpoint_as_every_role_postgres() {
    matrix(Engine::Postgres).await;
}

async fn matrix(engine: Engine) {
    // The login row is called many times; lockout is tested elsewhere.
    let Some(app) = spawn_app_with(engine, |c| {
        c.lockout_failures = 1000;
        c.address_failures = 1000;
    })
    .await
    else {
        return;
    };
    let client = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    let table = rows();

    // Every internal path has rows; every row names an internal path.
    let paths = tongban_server::internal_paths();
    for p in &paths {
        assert!(
            table.iter().any(|r| r.path == *p),
            "internal path {p} has no rows in the authorization matrix"
        );
    }
    for r in &table {
        assert!(
            paths.contains(&r.path),
            "{} is not an internal path",
            r.path
        );
    }

    // One account per role in the case's department (wx-wjw) and in another (wx-gaj).
    let mut who: Vec<(Who, Option<i64>)> = vec![(Who::Anonymous, None)];
    for (i, role) in ROLES.iter().enumerate() {
        for (dept, w) in [("wx-wjw", Who::Own(*role)), ("wx-gaj", Who::Other(*role))] {
            let name = format!("m{i}-{dept}");
            let hash = tongban_platform::crypto::hash_password(PASSWORD).unwrap();
            let (n, d, r) = (name.clone(), dept.to_owned(), *role);
            let id = app
                .db()
                .write(move |c| {
                    identity::insert_staff(
                        c,
                        &identity::NewStaff {
                            username: &n,
                            name: &n,
                            department_code: &d,
                            roles: &[r],
                            password_hash: &hash,
                            totp_secret: Some("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"),
                        },
                    )
                })
                .await
                .unwrap();
            who.push((w, Some(id)));
        }
    }
    let mut tokens = std::collections::HashMap::new();
    for (w, id) in &who {
        if let Some(id) = id {
            tokens.insert(format!("{w:?}"), session(&app, *id).await);
        }
    }

    // A case of wx-wjw with a material, and that department's catalogue as a workbook.
    let citizen = app.citizen().await;
    let mp = reqwest::multipart::Form::new()
        .text("matter_code", "WX-WJ-001")
        .text("form", birth_registration_form(&citizen).to_string())
        .part(
            "marriage_cert",
            reqwest::multipart::Part::bytes(b"%PDF-1.4 m".to_vec()).file_name("m.pdf"),
        );
    let r = app
        .client
        .post(app.url("/api/v1/cases"))
        .bearer_auth(&citizen.token)
        .multipart(mp)
        .send()
        .await
        .unwrap();
    let shared_case = r.json::<serde_json::Value>().await.unwrap()["case_no"]
        .as_str()
        .unwrap()
        .to_owned();
    let ms = app
        .db()
        .read(|c| tongban_catalog::store::list_department(c, "wx-wjw"))
        .await
        .unwrap();
    let xlsx = tongban_catalog::exchange::export_xlsx_bytes(&ms).unwrap();

    let mut failures = Vec::new();
    let mut calls = 0;
    for row in &table {
        for (w, id) in &who {
            let case_no = if row.fresh_case {
                app.submit_birth(&citizen).await
            } else {
                shared_case.clone()
            };
            let path = row
                .path
                .replace("{case_no}", &case_no)
                .replace("{key}", "marriage_cert")
                .replace("{code}", "WX-WJ-001");
            let token = match (id, row.fresh_session) {
                (Some(id), true) => Some(session(&app, *id).await),
                (Some(_), false) => tokens.get(&format!("{w:?}")).cloned(),
                (None, _) => None,
            };
            let mut req = client.request(row.method.clone(), app.iurl(&path));
            let mut cookie = format!("tongban_csrf={CSRF}");
            if let Some(t) = &token {
                req = req.bearer_auth(t);
                cookie.push_str(&format!("; tongban_staff={t}"));
            }
            req = req.header("cookie", cookie);
            req = match row.body {
                Body::None => req,
                Body::Json(j) => req.header("content-type", "application/json").body(j),
                Body::Form(f) => req.form(f),
                Body::Import => {
                    req.multipart(reqwest::multipart::Form::new().text("csrf", CSRF).part(
                        "file",
                        reqwest::multipart::Part::bytes(xlsx.clone()).file_name("m.xlsx"),
                    ))
                }
            };
            let got = req.send().await.unwrap().status().as_u16();
            calls += 1;
            let want = (row.expect)(*w);
            if got != want {
                failures.push(format!(
                    "{} {} as {w:?}: got {got}, want {want}",
                    row.method, row.path
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {calls} calls differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(calls, table.len() * who.len());
    let _ = StatusCode::OK;
}
