//! The authorization matrix's rows for open data: publishers' API tokens and the dataset
//! requests they answer.

use super::*;

fn publishers(ok: u16) -> impl Fn(Who) -> u16 {
    move |w| match w {
        Who::Anonymous => 401,
        Who::Own(Role::DataPublisher) | Who::Other(Role::DataPublisher) => ok,
        _ => 403,
    }
}

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
        r(
            Method::GET,
            "/api/v1/staff/opendata/tokens",
            Body::None,
            |w| publishers(200)(w),
        ),
        r(
            Method::POST,
            "/api/v1/staff/opendata/tokens",
            Body::Json(r#"{"name":"matrix","days":1}"#),
            |w| publishers(200)(w),
        ),
        // `{id}` is a rectification's id here: no token of the caller's.
        r(
            Method::GET,
            "/api/v1/staff/opendata/tokens/{id}",
            Body::None,
            |w| publishers(404)(w),
        ),
        r(
            Method::DELETE,
            "/api/v1/staff/opendata/tokens/{id}",
            Body::None,
            |w| publishers(404)(w),
        ),
        r(
            Method::GET,
            "/api/v1/staff/opendata/requests",
            Body::None,
            |w| publishers(200)(w),
        ),
        // `{id}` names no dataset request.
        r(
            Method::POST,
            "/api/v1/staff/opendata/requests/{id}",
            Body::Json(r#"{"status":"planned","reply":"matrix"}"#),
            |w| publishers(404)(w),
        ),
    ]
}
