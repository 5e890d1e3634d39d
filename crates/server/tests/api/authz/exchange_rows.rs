//! The authorization matrix's rows for data sharing and e-certificates (and the case checks
//! that use them), and for the search's synonym list.

use super::*;

pub(super) fn rows() -> Vec<Row> {
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
    vec![
        Row {
            fresh_case: true,
            ..r(
                Method::POST,
                "/api/v1/staff/cases/{case_no}/checks",
                Body::Json(r#"{"provider":"wx-gaj","service":"no-such"}"#),
                |w| match w {
                    Who::Anonymous => 401,
                    // Past the case's checks, the exchange knows no such service.
                    Who::Own(Role::Clerk | Role::Reviewer | Role::Approver) => 404,
                    _ => 403,
                },
            )
        },
        Row {
            fresh_case: true,
            ..r(
                Method::POST,
                "/console/cases/{case_no}/checks",
                Body::Form(&[("csrf", ""), ("target", "wx-gaj/no-such/办件核验")]),
                |w| match w {
                    Who::Anonymous => 303,
                    // The case page again, saying the service does not exist.
                    Who::Own(Role::Clerk | Role::Reviewer | Role::Approver) => 404,
                    _ => 403,
                },
            )
        },
        r(
            Method::PUT,
            "/api/v1/staff/certificate-types/{code}",
            Body::Json(r#"{"name":"测试证","fields":[{"key":"child_order","label":"孩次"}]}"#),
            // The first administrator's department issues it; another may not change it.
            |w| match w {
                Who::Anonymous => 401,
                Who::Own(Role::Admin) => 200,
                _ => 403,
            },
        ),
        r(
            Method::POST,
            "/api/v1/staff/certificates/{number}/revoke",
            Body::Json(r#"{"reason":"测试撤销"}"#),
            |w| match exchange_admin(w) {
                200 => 404,
                s => s,
            },
        ),
        // Data sharing: the call answers only to its signature; the staff API to department
        // administrators (the message log also to auditors).
        r(
            Method::POST,
            "/exchange/v1/{provider}/{service}",
            Body::Json("{}"),
            |_| 400,
        ),
        r(
            Method::GET,
            "/api/v1/staff/exchange/services",
            Body::None,
            |w| if w == Who::Anonymous { 401 } else { 200 },
        ),
        r(
            Method::PUT,
            "/api/v1/staff/exchange/services/{service}",
            Body::Json(
                r#"{"version":"1.0","name":"户籍信息","request_schema":{"type":"object"},"response_schema":{"type":"object"},"sharing":"conditional","backend":"registry","registry":"population"}"#,
            ),
            exchange_admin,
        ),
        r(
            Method::POST,
            "/api/v1/staff/exchange/requests",
            Body::Json(r#"{"provider":"wx-gaj","service":"hukou","purpose":"办件核验"}"#),
            exchange_admin,
        ),
        r(
            Method::GET,
            "/api/v1/staff/exchange/requests",
            Body::None,
            exchange_admin,
        ),
        r(
            Method::POST,
            "/api/v1/staff/exchange/requests/{id}/decision",
            Body::Json(r#"{"grant":false}"#),
            |w| match exchange_admin(w) {
                200 => 404,
                s => s,
            },
        ),
        r(
            Method::POST,
            "/api/v1/staff/exchange/grants",
            Body::Json(
                r#"{"service":"hukou","consumer":"wx-wjw","purpose":"办件核验","valid_until":"2099-12-31"}"#,
            ),
            exchange_admin,
        ),
        r(
            Method::GET,
            "/api/v1/staff/exchange/grants",
            Body::None,
            exchange_admin,
        ),
        r(
            Method::POST,
            "/api/v1/staff/exchange/grants/{id}/revoke",
            Body::None,
            |w| match exchange_admin(w) {
                200 => 404,
                s => s,
            },
        ),
        r(
            Method::GET,
            "/api/v1/staff/exchange/log",
            Body::None,
            |w| match w {
                Who::Anonymous => 401,
                Who::Own(r) | Who::Other(r) if matches!(r, Role::Admin | Role::Auditor) => 200,
                _ => 403,
            },
        ),
        Row {
            query: "?key_field=id_number",
            ..r(
                Method::PUT,
                "/api/v1/staff/exchange/registries/{name}",
                Body::None,
                |w| match exchange_admin(w) {
                    // An empty file.
                    200 => 422,
                    s => s,
                },
            )
        },
        r(
            Method::GET,
            "/api/v1/staff/exchange/verify",
            Body::None,
            |w| match w {
                Who::Anonymous => 401,
                Who::Own(Role::Auditor) | Who::Other(Role::Auditor) => 200,
                _ => 403,
            },
        ),
        r(
            Method::GET,
            "/console/exchange",
            Body::None,
            |w| match exchange_admin(w) {
                401 => 303,
                s => s,
            },
        ),
        r(
            Method::POST,
            "/console/exchange/requests",
            Body::Form(&[
                ("csrf", ""),
                ("target", "wx-gaj:no-such"),
                ("purpose", "办件核验"),
            ]),
            // The page again, saying the service does not exist.
            |w| match exchange_admin(w) {
                401 => 303,
                200 => 404,
                s => s,
            },
        ),
        r(
            Method::POST,
            "/console/exchange/requests/{id}/decision",
            Body::Form(&[("csrf", ""), ("decision", "refuse")]),
            |w| match exchange_admin(w) {
                401 => 303,
                200 => 404,
                s => s,
            },
        ),
        r(
            Method::POST,
            "/console/exchange/grants/{id}/revoke",
            Body::Form(&[("csrf", "")]),
            |w| match exchange_admin(w) {
                401 => 303,
                200 => 404,
                s => s,
            },
        ),
        // The search's synonym list: read by any staff member, edited by administrators.
        r(
            Method::GET,
            "/api/v1/staff/search/synonyms",
            Body::None,
            |w| match w {
                Who::Anonymous => 401,
                _ => 200,
            },
        ),
        r(
            Method::PUT,
            "/api/v1/staff/search/synonyms",
            Body::Json(r#""医保 = 医疗保险""#),
            exchange_admin,
        ),
        r(
            Method::GET,
            "/console/search",
            Body::None,
            |w| match exchange_admin(w) {
                401 => 303,
                s => s,
            },
        ),
        r(
            Method::POST,
            "/console/search",
            Body::Form(&[("csrf", ""), ("list", "医保 = 医疗保险")]),
            |w| match exchange_admin(w) {
                401 => 303,
                s => s,
            },
        ),
    ]
}

/// Data sharing is managed by each department's administrator, for its own department.
fn exchange_admin(w: Who) -> u16 {
    match w {
        Who::Anonymous => 401,
        Who::Own(Role::Admin) | Who::Other(Role::Admin) => 200,
        _ => 403,
    }
}
