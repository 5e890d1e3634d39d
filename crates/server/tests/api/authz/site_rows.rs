//! The authorization matrix's rows for the website group: sites, articles and their review,
//! and disclosure requests (依申请公开). The own department (wx-wjw) owns the site `wjw`.

use super::*;

fn web_staff(r: Role) -> bool {
    matches!(r, Role::SiteEditor | Role::SiteReviewer)
}

/// Authenticated staff get `ok` (the object does not exist); anonymous callers are sent to
/// log in (`anon`).
fn all_staff(anon: u16, ok: u16) -> impl Fn(Who) -> u16 {
    move |w| if w == Who::Anonymous { anon } else { ok }
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
        r(Method::GET, "/api/v1/staff/sites", Body::None, |w| {
            all_staff(401, 200)(w)
        }),
        r(
            Method::PUT,
            "/api/v1/staff/sites/{code}",
            Body::Json(
                r#"{"code":"x","kind":"department","name":"测试","department":"wx-wjw","index_scheme":"X/{year}-{seq}","columns":[{"code":"news","name":"动态"}]}"#,
            ),
            // The owner's administrator gets past the check, to a code that is no site code.
            |w| match w {
                Who::Anonymous => 401,
                Who::Own(Role::Admin) => 422,
                _ => 403,
            },
        ),
        r(
            Method::PUT,
            "/api/v1/staff/sites/{code}/logo",
            Body::None,
            |w| all_staff(401, 404)(w),
        ),
        r(
            Method::GET,
            "/api/v1/staff/articles",
            Body::None,
            |w| match w {
                Who::Anonymous => 401,
                Who::Own(r) | Who::Other(r) if web_staff(r) => 200,
                _ => 403,
            },
        ),
        r(
            Method::POST,
            "/api/v1/staff/articles",
            Body::Json(r#"{"site":"wjw","column":"news","title":"测试文章"}"#),
            |w| match w {
                Who::Anonymous => 401,
                Who::Own(Role::SiteEditor) => 201,
                _ => 403,
            },
        ),
        r(
            Method::GET,
            "/api/v1/staff/articles/{id}",
            Body::None,
            |w| all_staff(401, 404)(w),
        ),
        r(
            Method::PUT,
            "/api/v1/staff/articles/{id}",
            Body::Json(r#"{"site":"wjw","column":"news","title":"测试文章"}"#),
            |w| all_staff(401, 404)(w),
        ),
        r(
            Method::POST,
            "/api/v1/staff/articles/{id}/files",
            Body::None,
            |w| all_staff(401, 404)(w),
        ),
        r(
            Method::POST,
            "/api/v1/staff/articles/{id}/{action}",
            Body::None,
            |w| all_staff(401, 404)(w),
        ),
        r(
            Method::GET,
            "/api/v1/staff/disclosure-requests",
            Body::None,
            |w| match w {
                Who::Anonymous => 401,
                Who::Own(Role::SiteReviewer) | Who::Other(Role::SiteReviewer) => 200,
                _ => 403,
            },
        ),
        r(
            Method::GET,
            "/api/v1/staff/disclosure-requests/{no}",
            Body::None,
            |w| all_staff(401, 404)(w),
        ),
        r(
            Method::POST,
            "/api/v1/staff/disclosure-requests/{no}/{action}",
            Body::None,
            |w| all_staff(401, 404)(w),
        ),
        r(Method::GET, "/console/articles", Body::None, |w| match w {
            Who::Anonymous => 303,
            Who::Own(r) | Who::Other(r) if web_staff(r) => 200,
            _ => 403,
        }),
        r(
            Method::POST,
            "/console/articles",
            Body::Form(&[
                ("csrf", ""),
                ("site", "wjw"),
                ("column", "news"),
                ("title", "测试文章"),
            ]),
            |w| match w {
                Who::Anonymous => 303,
                // To the new draft's page.
                Who::Own(Role::SiteEditor) => 303,
                _ => 403,
            },
        ),
        r(Method::GET, "/console/articles/{id}", Body::None, |w| {
            all_staff(303, 404)(w)
        }),
        r(
            Method::POST,
            "/console/articles/{id}",
            Body::Form(&[("csrf", ""), ("action", "submit")]),
            |w| all_staff(303, 404)(w),
        ),
        r(
            Method::POST,
            "/console/articles/{id}/files",
            Body::Import,
            |w| all_staff(303, 404)(w),
        ),
        r(
            Method::GET,
            "/console/disclosure",
            Body::None,
            |w| match w {
                Who::Anonymous => 303,
                Who::Own(Role::SiteReviewer) | Who::Other(Role::SiteReviewer) => 200,
                _ => 403,
            },
        ),
        r(Method::GET, "/console/disclosure/{no}", Body::None, |w| {
            all_staff(303, 404)(w)
        }),
        r(
            Method::POST,
            "/console/disclosure/{no}",
            Body::Form(&[("csrf", ""), ("action", "answer"), ("outcome", "public")]),
            |w| all_staff(303, 404)(w),
        ),
    ]
}
