//! The console's 搜索同义词 page: administrators read and replace the synonym list the one
//! search widens queries with (the rules are in [`crate::search::save_synonyms`]).

use crate::search;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use minijinja::context;
use serde::Deserialize;
use tongban_platform::{ApiError, Ctx};
use tongban_web::{Page, SafeForm, StaffPage};

pub const CONSOLE_PATHS: [&str; 1] = ["/console/search"];

pub fn console_router() -> Router<Ctx> {
    Router::new().route(CONSOLE_PATHS[0], get(show).post(save))
}

async fn render(
    ctx: &Ctx,
    page: &Page,
    status: StatusCode,
    list: Option<String>,
    flash: Option<String>,
    error: Option<String>,
) -> Response {
    let (saved, at) = match ctx.db.read(search::synonym_list).await {
        Ok(x) => x,
        Err(e) => return page.error(&e.into()),
    };
    let saved_at = (at > 0).then(|| tongban_platform::time::rfc3339(at, ctx.tz));
    page.render(
        status,
        "console_search.html",
        context! { list => list.unwrap_or(saved), saved_at, flash, error },
    )
}

/// `GET /console/search`.
async fn show(State(ctx): State<Ctx>, StaffPage(page, staff): StaffPage) -> Response {
    if !staff.has(tongban_platform::identity::Role::Admin) {
        return page.error(&ApiError::forbidden(
            "only an administrator edits the synonym list",
        ));
    }
    render(&ctx, &page, StatusCode::OK, None, None, None).await
}

#[derive(Deserialize)]
struct ListForm {
    #[serde(default)]
    list: String,
}

/// `POST /console/search`: the list saved whole, or the page again naming its bad lines
/// (with the text as typed, to correct).
async fn save(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    SafeForm(f): SafeForm<ListForm>,
) -> Response {
    // Browsers send CRLF line ends.
    let list = f.list.replace("\r\n", "\n");
    match search::save_synonyms(&ctx, &staff, &list).await {
        Ok(n) => {
            let flash = page
                .t("console_search.saved")
                .replacen("{}", &n.to_string(), 1);
            render(&ctx, &page, StatusCode::OK, None, Some(flash), None).await
        }
        Err(search::SynonymsError::Forbidden) => page.error(&ApiError::forbidden(
            "only an administrator edits the synonym list",
        )),
        Err(e) => {
            let e = ApiError::from(e);
            let text = e.message.clone();
            render(&ctx, &page, e.status, Some(list), None, Some(text)).await
        }
    }
}
