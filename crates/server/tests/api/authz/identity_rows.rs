//! The authorization matrix's rows for the identity room: the apps registered to sign
//! citizens in (administrators only).

use super::*;

fn admins(ok: u16) -> impl Fn(Who) -> u16 {
    move |w| match w {
        Who::Anonymous => 401,
        Who::Own(Role::Admin) | Who::Other(Role::Admin) => ok,
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
            "/api/v1/staff/identity/clients",
            Body::None,
            |w| admins(200)(w),
        ),
        r(
            Method::POST,
            "/api/v1/staff/identity/clients",
            Body::Json(
                r#"{"name":"matrix","redirect_uris":["https://m.example.cn/cb"],"scopes":["openid"]}"#,
            ),
            |w| admins(201)(w),
        ),
        // `{client_id}` stays literal: no such client, so an administrator gets 404.
        r(
            Method::GET,
            "/api/v1/staff/identity/clients/{client_id}",
            Body::None,
            |w| admins(404)(w),
        ),
        r(
            Method::DELETE,
            "/api/v1/staff/identity/clients/{client_id}",
            Body::None,
            |w| admins(404)(w),
        ),
    ]
}
