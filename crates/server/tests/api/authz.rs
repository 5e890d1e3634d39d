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

const ROLES: [Role; 13] = [
    Role::Clerk,
    Role::Reviewer,
    Role::Approver,
    Role::Admin,
    Role::Auditor,
    Role::PiiReader,
    Role::Dispatcher,
    Role::Handler,
    Role::Supervisor,
    Role::Editor,
    Role::SiteEditor,
    Role::SiteReviewer,
    Role::DataPublisher,
];

fn hotline_role(r: Role) -> bool {
    matches!(
        r,
        Role::Dispatcher | Role::Handler | Role::Supervisor | Role::Editor
    )
}

/// Dispatchers, supervisors and editors (of a public order) see every order; handlers
/// their department's.
fn order_file(w: Who) -> u16 {
    match w {
        Who::Anonymous => 401,
        Who::Own(Role::Handler) => 200,
        Who::Own(r) | Who::Other(r)
            if matches!(r, Role::Dispatcher | Role::Supervisor | Role::Editor) =>
        {
            200
        }
        _ => 403,
    }
}

/// The page form of an API expectation: a login redirect instead of 401.
fn page_of(api: u16) -> u16 {
    if api == 401 {
        303
    } else {
        api
    }
}

fn rectification_worker(r: Role) -> bool {
    matches!(
        r,
        Role::Handler | Role::Clerk | Role::Reviewer | Role::Approver | Role::Admin
    )
}

fn supervisor_only(ok: u16) -> impl Fn(Who) -> u16 {
    move |w| match w {
        Who::Anonymous => 401,
        Who::Own(Role::Supervisor) | Who::Other(Role::Supervisor) => ok,
        _ => 403,
    }
}

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
    /// A fresh work order of wx-wjw for this call.
    fresh_order: bool,
    /// A fresh rectification of wx-wjw for this call.
    fresh_rect: bool,
    /// Query string appended to the path.
    query: &'static str,
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
/// Pages for leaders: supervisors, administrators and auditors of any department.
fn leader_page(w: Who) -> u16 {
    match w {
        Who::Anonymous => 303,
        Who::Own(r) | Who::Other(r)
            if matches!(r, Role::Supervisor | Role::Admin | Role::Auditor) =>
        {
            200
        }
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

mod exchange_rows;
mod identity_rows;
mod opendata_rows;
mod rows;
mod site_rows;
use rows::rows;

/// A 1x1 PNG.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 0, 0, 0,
    1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89, 0, 0, 0, 0x0d, 0x49, 0x44, 0x41, 0x54,
    0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0, 0x1f, 0, 0x05, 0, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d,
    0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// A work order of wx-wjw (hospital service) filed by the citizen; public ones carry a photo.
async fn file_order(app: &TestApp, citizen: &Citizen, public: bool) -> String {
    let order = serde_json::json!({"type": "complaint", "category": "health.hospital", "district": "梁溪区",
        "street": "清扬路", "title": "挂号排队太久", "content": "周一上午挂号排队两小时", "public": public});
    let mp = reqwest::multipart::Form::new()
        .text("order", order.to_string())
        .part(
            "photo",
            reqwest::multipart::Part::bytes(PNG.to_vec()).file_name("p.png"),
        );
    let r = app
        .client
        .post(app.url("/api/v1/workorders"))
        .bearer_auth(&citizen.token)
        .multipart(mp)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json::<serde_json::Value>().await.unwrap()["order_no"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// An order signed and answered by the handler, rated 非常不满意 by the citizen: one open
/// rectification of wx-wjw. Returns its id.
async fn fresh_rectification(app: &TestApp, citizen: &Citizen, handler: &str) -> i64 {
    let no = file_order(app, citizen, false).await;
    for body in [
        serde_json::json!({"action": "sign"}),
        serde_json::json!({"action": "reply", "note": "已协调医院增加窗口"}),
    ] {
        let r = app
            .client
            .post(app.iurl(&format!("/api/v1/staff/workorders/{no}/actions")))
            .bearer_auth(handler)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }
    let r = app
        .client
        .post(app.url(&format!("/api/v1/workorders/{no}/rating")))
        .bearer_auth(&citizen.token)
        .json(&serde_json::json!({"level": 1, "comment": "没有解决"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let no2 = no.clone();
    app.db()
        .read(move |c| {
            c.query_one(
                "SELECT x.id FROM rectifications x JOIN ratings r ON r.id = x.rating_id WHERE r.subject_no = $1",
                tongban_platform::params![no2.as_str()],
            )?
            .get_i64("id")
        })
        .await
        .unwrap()
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
#[cfg_attr(not(tongban_pg), ignore = "PostgreSQL: set TONGBAN_TEST_DATABASE_URL")]
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
    // Settings sent back as they are (the region's routing rules among them).
    let settings = app
        .db()
        .read(tongban_hotline::settings::load)
        .await
        .unwrap();
    let table = rows(Box::leak(
        serde_json::to_string(&settings).unwrap().into_boxed_str(),
    ));

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
            "id_card",
            reqwest::multipart::Part::bytes(b"%PDF-1.4 i".to_vec()).file_name("i.pdf"),
        )
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
    // A public work order of wx-wjw with a photo, and a handler of wx-wjw to move orders on.
    let shared_order = file_order(&app, &citizen, true).await;
    let handler = tokens[&format!("{:?}", Who::Own(Role::Handler))].clone();

    let mut failures = Vec::new();
    let mut calls = 0;
    for row in &table {
        for (w, id) in &who {
            let case_no = if row.fresh_case {
                app.submit_birth(&citizen).await
            } else {
                shared_case.clone()
            };
            let order_no = if row.fresh_order {
                file_order(&app, &citizen, false).await
            } else {
                shared_order.clone()
            };
            let rect = if row.fresh_rect {
                fresh_rectification(&app, &citizen, &handler).await
            } else {
                0
            };
            let path = row
                .path
                .replace("{case_no}", &case_no)
                .replace("{order_no}", &order_no)
                .replace("{id}", &rect.to_string())
                .replace("{key}", "marriage_cert")
                .replace("{code}", "WX-WJ-001")
                .replace("{board}", "city")
                .replace("{provider}", "wx-gaj")
                .replace("{service}", "hukou")
                .replace("{name}", "population")
                .replace("{number}", "NO-SUCH-1");
            let token = match (id, row.fresh_session) {
                (Some(id), true) => Some(session(&app, *id).await),
                (Some(_), false) => tokens.get(&format!("{w:?}")).cloned(),
                (None, _) => None,
            };
            let mut req = client.request(
                row.method.clone(),
                app.iurl(&format!("{path}{}", row.query)),
            );
            let mut cookie = format!("tongban_csrf={CSRF}");
            if let Some(t) = &token {
                req = req.bearer_auth(t);
                cookie.push_str(&format!("; tongban_staff={t}"));
            }
            let token_field = csrf_for(&cookie);
            req = req.header("cookie", cookie);
            req = match row.body {
                Body::None => req,
                Body::Json(j) => req.header("content-type", "application/json").body(j),
                Body::Form(f) => {
                    // The form's token is the one the server derives for this session.
                    let f: Vec<(&str, &str)> = f
                        .iter()
                        .map(|(k, v)| {
                            if *k == "csrf" {
                                (*k, token_field.as_str())
                            } else {
                                (*k, *v)
                            }
                        })
                        .collect();
                    req.form(&f)
                }
                Body::Import => req.multipart(
                    reqwest::multipart::Form::new()
                        .text("csrf", token_field.clone())
                        .part(
                            "file",
                            reqwest::multipart::Part::bytes(xlsx.clone()).file_name("m.xlsx"),
                        ),
                ),
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
