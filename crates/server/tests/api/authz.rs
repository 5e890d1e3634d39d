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

const ROLES: [Role; 10] = [
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

fn rows() -> Vec<Row> {
    let r = |method: Method, path: &'static str, body: Body, expect: fn(Who) -> u16| Row {
        method,
        path,
        body,
        fresh_case: false,
        fresh_session: false,
        fresh_order: false,
        fresh_rect: false,
        query: "",
        expect,
    };
    let settings: &'static str = Box::leak(
        serde_json::to_string(&tongban_hotline::settings::Settings::default())
            .unwrap()
            .into_boxed_str(),
    );
    vec![
        r(Method::GET, "/metrics", Body::None, |_| 200),
        r(
            Method::GET,
            "/console/evaluation",
            Body::None,
            |w| match w {
                Who::Anonymous => 303,
                Who::Own(r) | Who::Other(r)
                    if matches!(r, Role::Supervisor | Role::Admin | Role::Auditor) =>
                {
                    200
                }
                _ => 403,
            },
        ),
        r(
            Method::GET,
            "/console/dashboards",
            Body::None,
            |w| match w {
                Who::Anonymous => 303,
                // A redirect to the first board, which checks the role.
                _ => 303,
            },
        ),
        r(
            Method::GET,
            "/console/dashboards/{board}",
            Body::None,
            leader_page,
        ),
        r(
            Method::GET,
            "/console/dashboards/{board}/xlsx",
            Body::None,
            leader_page,
        ),
        r(
            Method::GET,
            "/api/v1/staff/dashboards/{board}",
            Body::None,
            |w| match w {
                Who::Anonymous => 401,
                Who::Own(r) | Who::Other(r)
                    if matches!(r, Role::Supervisor | Role::Admin | Role::Auditor) =>
                {
                    200
                }
                _ => 403,
            },
        ),
        r(
            Method::GET,
            "/console/evaluation.xlsx",
            Body::None,
            |w| match w {
                Who::Anonymous => 303,
                Who::Own(r) | Who::Other(r)
                    if matches!(r, Role::Supervisor | Role::Admin | Role::Auditor) =>
                {
                    200
                }
                _ => 403,
            },
        ),
        r(
            Method::GET,
            "/api/v1/staff/evaluation",
            Body::None,
            |w| match w {
                Who::Anonymous => 401,
                Who::Own(r) | Who::Other(r)
                    if matches!(r, Role::Supervisor | Role::Admin | Role::Auditor) =>
                {
                    200
                }
                _ => 403,
            },
        ),
        r(
            Method::GET,
            "/api/openapi-internal.json",
            Body::None,
            |_| 200,
        ),
        r(
            Method::GET,
            "/api/v1/staff/workorders",
            Body::None,
            |w| match w {
                Who::Anonymous => 401,
                Who::Own(r) | Who::Other(r) if hotline_role(r) => 200,
                _ => 403,
            },
        ),
        Row {
            // An operator enters a call: dispatchers only.
            ..r(
                Method::POST,
                "/api/v1/staff/workorders",
                Body::Json(
                    r#"{"type":"consult","category":"social.pension","district":"梁溪区","street":"中山路","title":"来电咨询","content":"养老金何时发放","phone":"13800001111"}"#,
                ),
                |w| match w {
                    Who::Anonymous => 401,
                    Who::Own(Role::Dispatcher) | Who::Other(Role::Dispatcher) => 201,
                    _ => 403,
                },
            )
        },
        r(
            Method::GET,
            "/api/v1/staff/workorders/{order_no}",
            Body::None,
            order_file,
        ),
        Row {
            fresh_order: true,
            ..r(
                Method::POST,
                "/api/v1/staff/workorders/{order_no}/actions",
                Body::Json(r#"{"action":"sign"}"#),
                |w| match w {
                    Who::Anonymous => 401,
                    Who::Own(Role::Handler) => 200,
                    _ => 403,
                },
            )
        },
        r(
            Method::GET,
            "/api/v1/staff/workorders/{order_no}/photo",
            Body::None,
            order_file,
        ),
        r(
            Method::GET,
            "/api/v1/staff/rectifications",
            Body::None,
            |w| match w {
                Who::Anonymous => 401,
                Who::Own(r) | Who::Other(r) if rectification_worker(r) => 200,
                Who::Own(Role::Supervisor) | Who::Other(Role::Supervisor) => 200,
                _ => 403,
            },
        ),
        Row {
            fresh_rect: true,
            ..r(
                Method::POST,
                "/api/v1/staff/rectifications/{id}/actions",
                Body::Json(r#"{"action":"callback","note":"已电话回访申请人"}"#),
                |w| match w {
                    Who::Anonymous => 401,
                    Who::Own(r) if rectification_worker(r) => 200,
                    _ => 403,
                },
            )
        },
        r(
            Method::GET,
            "/api/v1/staff/hotline/settings",
            Body::None,
            |w| match w {
                Who::Anonymous => 401,
                Who::Own(r) | Who::Other(r) if hotline_role(r) => 200,
                _ => 403,
            },
        ),
        r(
            Method::PUT,
            "/api/v1/staff/hotline/settings",
            Body::Json(settings),
            |w| supervisor_only(200)(w),
        ),
        Row {
            query: "?text=%E5%81%9C%E6%B0%B4",
            ..r(
                Method::GET,
                "/api/v1/staff/hotline/suggest",
                Body::None,
                |w| match w {
                    Who::Anonymous => 401,
                    Who::Own(r) | Who::Other(r) if hotline_role(r) => 200,
                    _ => 403,
                },
            )
        },
        r(Method::GET, "/api/v1/staff/apikeys", Body::None, |w| {
            supervisor_only(200)(w)
        }),
        r(
            Method::GET,
            "/api/v1/staff/ratings",
            Body::None,
            |w| match w {
                Who::Anonymous => 401,
                Who::Own(r) | Who::Other(r) if rectification_worker(r) => 200,
                Who::Own(Role::Supervisor) | Who::Other(Role::Supervisor) => 200,
                _ => 403,
            },
        ),
        r(
            Method::GET,
            "/api/v1/staff/audit",
            Body::None,
            |w| match w {
                Who::Anonymous => 401,
                Who::Own(Role::Auditor) | Who::Other(Role::Auditor) => 200,
                _ => 403,
            },
        ),
        r(
            Method::GET,
            "/api/v1/staff/accounts",
            Body::None,
            |w| match w {
                Who::Anonymous => 401,
                Who::Own(r) | Who::Other(r) if matches!(r, Role::Auditor | Role::Admin) => 200,
                _ => 403,
            },
        ),
        r(
            Method::POST,
            "/api/v1/staff/apikeys",
            Body::Json(r#"{"name":"随手拍伙伴"}"#),
            |w| supervisor_only(201)(w),
        ),
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
        r(Method::GET, "/api/v1/staff/me/email", Body::None, |w| {
            any_staff(200)(w)
        }),
        r(
            Method::PUT,
            "/api/v1/staff/me/email",
            Body::Json(r#"{"email":"me@example.gov.cn"}"#),
            |w| any_staff(204)(w),
        ),
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
        r(
            Method::GET,
            "/console/workorders",
            Body::None,
            |w| match w {
                Who::Anonymous => 303,
                Who::Own(r) | Who::Other(r) if hotline_role(r) => 200,
                _ => 403,
            },
        ),
        r(
            Method::GET,
            "/console/workorders/new",
            Body::None,
            |w| match w {
                Who::Anonymous => 303,
                Who::Own(Role::Dispatcher) | Who::Other(Role::Dispatcher) => 200,
                _ => 403,
            },
        ),
        r(
            Method::POST,
            "/console/workorders/new",
            Body::Form(&[("csrf", CSRF), ("op", "suggest"), ("title", "停水")]),
            |w| match w {
                Who::Anonymous => 303,
                Who::Own(Role::Dispatcher) | Who::Other(Role::Dispatcher) => 200,
                _ => 403,
            },
        ),
        r(
            Method::GET,
            "/console/workorders/{order_no}",
            Body::None,
            |w| page_of(order_file(w)),
        ),
        Row {
            fresh_order: true,
            ..r(
                Method::POST,
                "/console/workorders/{order_no}/actions",
                Body::Form(&[("csrf", CSRF), ("action", "sign")]),
                |w| match w {
                    Who::Anonymous => 303,
                    Who::Own(Role::Handler) => 303,
                    _ => 403,
                },
            )
        },
        r(
            Method::GET,
            "/console/workorders/{order_no}/photo",
            Body::None,
            |w| page_of(order_file(w)),
        ),
        r(
            Method::GET,
            "/console/rectifications",
            Body::None,
            |w| match w {
                Who::Anonymous => 303,
                Who::Own(r) | Who::Other(r) if rectification_worker(r) || r == Role::Supervisor => {
                    200
                }
                _ => 403,
            },
        ),
        Row {
            fresh_rect: true,
            ..r(
                Method::POST,
                "/console/rectifications/{id}/actions",
                Body::Form(&[("csrf", CSRF), ("action", "callback"), ("note", "已回访")]),
                |w| match w {
                    Who::Anonymous => 303,
                    Who::Own(r) if rectification_worker(r) => 303,
                    _ => 403,
                },
            )
        },
        r(Method::GET, "/console/apikeys", Body::None, |w| match w {
            Who::Anonymous => 303,
            Who::Own(Role::Supervisor) | Who::Other(Role::Supervisor) => 200,
            _ => 403,
        }),
        r(
            Method::POST,
            "/console/apikeys",
            Body::Form(&[("csrf", CSRF), ("name", "随手拍")]),
            |w| match w {
                Who::Anonymous => 303,
                Who::Own(Role::Supervisor) | Who::Other(Role::Supervisor) => 201,
                _ => 403,
            },
        ),
        r(
            Method::POST,
            "/console/apikeys/{id}/revoke",
            Body::Form(&[("csrf", CSRF)]),
            |w| match w {
                Who::Anonymous => 303,
                // The matrix has no key with this id: authorized callers get a 404.
                Who::Own(Role::Supervisor) | Who::Other(Role::Supervisor) => 404,
                _ => 403,
            },
        ),
        r(
            Method::GET,
            "/api/v1/staff/topics",
            Body::None,
            |w| match w {
                Who::Anonymous => 401,
                Who::Own(r) | Who::Other(r) if hotline_role(r) => 200,
                _ => 403,
            },
        ),
        Row {
            query: "?terms=%E5%81%9C%E6%B0%B4",
            ..r(
                Method::GET,
                "/api/v1/staff/topics/messages",
                Body::None,
                |w| match w {
                    Who::Anonymous => 401,
                    Who::Own(r) | Who::Other(r) if hotline_role(r) => 200,
                    _ => 403,
                },
            )
        },
        r(
            Method::GET,
            "/api/v1/staff/warnings",
            Body::None,
            |w| match w {
                Who::Anonymous => 401,
                Who::Own(r) | Who::Other(r) if hotline_role(r) => 200,
                _ => 403,
            },
        ),
        r(
            Method::POST,
            "/api/v1/staff/warnings/{id}/actions",
            Body::Json(r#"{"action":"acknowledge"}"#),
            // The matrix has no warning with this id: 404 once the role may act.
            |w| match w {
                Who::Anonymous => 401,
                Who::Own(r) | Who::Other(r) if matches!(r, Role::Supervisor | Role::Handler) => 404,
                _ => 403,
            },
        ),
        r(Method::GET, "/console/insight", Body::None, |w| match w {
            Who::Anonymous => 303,
            Who::Own(r) | Who::Other(r) if hotline_role(r) => 200,
            _ => 403,
        }),
        r(
            Method::POST,
            "/console/insight/warnings/{id}",
            Body::Form(&[("csrf", CSRF), ("action", "acknowledge")]),
            |w| match w {
                Who::Anonymous => 303,
                Who::Own(r) | Who::Other(r) if matches!(r, Role::Supervisor | Role::Handler) => 404,
                _ => 403,
            },
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
        r(Method::GET, "/console/followers", Body::None, |w| match w {
            Who::Anonymous => 303,
            Who::Own(r) | Who::Other(r)
                if matches!(r, Role::Supervisor | Role::Admin | Role::Auditor) =>
            {
                200
            }
            _ => 403,
        }),
        // Every staff member's own account page: the e-mail is theirs to set.
        r(Method::GET, "/console/account", Body::None, |w| {
            if w == Who::Anonymous {
                303
            } else {
                200
            }
        }),
        r(
            Method::POST,
            "/console/account/email",
            Body::Form(&[("csrf", CSRF), ("email", "me@example.gov.cn")]),
            |w| if w == Who::Anonymous { 303 } else { 200 },
        ),
        r(
            Method::POST,
            "/console/account/password",
            Body::Form(&[
                ("csrf", CSRF),
                ("old_password", "Wrong-password-1"),
                ("new_password", "New-password-77"),
                ("confirm_password", "New-password-77"),
            ]),
            |w| if w == Who::Anonymous { 303 } else { 401 },
        ),
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
        r(
            Method::GET,
            "/console/cases/{case_no}/materials/{key}",
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
                .replace("{board}", "city");
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
