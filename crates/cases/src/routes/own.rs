//! The applicant's own things beside a case: drafts (暂存) and the documents of a case
//! (receipt, result notice).

use super::*;
use crate::documents::{self, Kind};
use tongban_web::i18n::Lang;

pub(super) async fn my_drafts(
    State(ctx): State<Ctx>,
    who: CitizenAuth,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Page<service::DraftSummary>>, ApiError> {
    let (page, per_page) = paging(&q)?;
    let (items, total) = service::drafts(&ctx, who.account_id, page, per_page).await?;
    Ok(Json(Page {
        items,
        total,
        page,
        per_page,
    }))
}

pub(super) async fn my_draft(
    State(ctx): State<Ctx>,
    who: CitizenAuth,
    Path(code): Path<String>,
) -> Result<Json<service::Draft>, ApiError> {
    Ok(Json(service::draft(&ctx, who.account_id, &code).await?))
}

/// Save a draft: JSON `{"form", "reuse", "pending"}` or multipart with files, as a submission.
pub(super) async fn save_draft(
    State(ctx): State<Ctx>,
    who: CitizenAuth,
    Path(code): Path<String>,
    sub: Submission,
) -> Result<Json<service::Draft>, ApiError> {
    let d = service::save_draft(
        &ctx,
        who.account_id,
        &code,
        sub.form,
        sub.uploads,
        sub.given,
    )
    .await?;
    Ok(Json(d))
}

pub(super) async fn discard_draft(
    State(ctx): State<Ctx>,
    who: CitizenAuth,
    Path(code): Path<String>,
) -> Result<StatusCode, ApiError> {
    service::discard_draft(&ctx, who.account_id, &code).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn receipt_pdf(
    State(ctx): State<Ctx>,
    who: CitizenAuth,
    headers: HeaderMap,
    Path(case_no): Path<String>,
) -> Result<Response, ApiError> {
    api_document(&ctx, who.account_id, &headers, &case_no, Kind::Receipt).await
}

pub(super) async fn result_pdf(
    State(ctx): State<Ctx>,
    who: CitizenAuth,
    headers: HeaderMap,
    Path(case_no): Path<String>,
) -> Result<Response, ApiError> {
    api_document(&ctx, who.account_id, &headers, &case_no, Kind::Result).await
}

/// A document in the language the client asks for (`Accept-Language`; Chinese by default).
async fn api_document(
    ctx: &Ctx,
    account_id: i64,
    headers: &HeaderMap,
    case_no: &str,
    kind: Kind,
) -> Result<Response, ApiError> {
    let lang = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map_or(Lang::Zh, Lang::from_accept);
    let base = documents::base_url(ctx, headers);
    let pdf = documents::document(ctx, account_id, case_no, kind, lang, &base).await?;
    Ok(pdf_response(&kind.filename(case_no), pdf))
}
