//! The rows of the authorization matrix: every internal path, what it is sent, and what
//! each caller gets.

use super::*;

pub(super) fn rows(settings: &'static str) -> Vec<Row> {
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
    let mut v = vec![
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
        // Without a period the page sends those who may see it on to the last seven days.
        r(Method::GET, "/console/insight", Body::None, |w| match w {
            Who::Anonymous => 303,
            Who::Own(r) | Who::Other(r) if hotline_role(r) => 303,
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
        // The workbook is a document (a ZIP container), so it is taken as the sample; the
        // next row then removes it.
        r(
            Method::POST,
            "/console/matters/{code}/samples/{key}",
            Body::Import,
            |w| admin_own(303)(w),
        ),
        r(
            Method::POST,
            "/console/matters/{code}/samples/{key}/delete",
            Body::Form(&[("csrf", CSRF)]),
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
        r(
            Method::GET,
            "/console/cases/{case_no}/materials/{key}/preview",
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
    ];
    v.extend(super::exchange_rows::rows());
    v.extend(super::site_rows::rows());
    v.extend(super::opendata_rows::rows());
    v.extend(super::identity_rows::rows());
    v
}
