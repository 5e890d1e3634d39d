//! Sample pages: applicants download a material's sample; the department administrator
//! uploads and removes samples from the matter's console page.

use super::*;

/// `GET /matters/{code}/materials/{key}/sample`: the sample, as a download.
pub(super) async fn download(
    State(ctx): State<Ctx>,
    page: Page,
    Path((code, key)): Path<(String, String)>,
) -> Response {
    match crate::samples::content(&ctx, &code, &key).await {
        Ok((filename, data)) => tongban_web::files::download(&filename, data),
        Err(e) => page.error(&e),
    }
}

fn back(code: &str, flash: &str) -> Response {
    Redirect::to(&format!("/console/matters/{}?{flash}=1", urlencode(code))).into_response()
}

/// The console page again with the refusal above it (nothing changed).
async fn refused(ctx: &Ctx, page: &Page, staff: &Staff, code: &str, e: CatalogError) -> Response {
    if e.is_denial() || matches!(e, CatalogError::NotFound(_)) {
        return page.error(&ApiError::from(e));
    }
    let e = ApiError::from(e);
    match admin::own_matter(ctx, staff, code).await {
        Ok(m) => {
            edit_page(
                ctx,
                page,
                e.status,
                &m,
                context! { error => page.error_text(&e) },
            )
            .await
        }
        Err(_) => page.error(&e),
    }
}

/// `POST /console/matters/{code}/samples/{key}` (multipart: `csrf`, then `file`).
pub(super) async fn upload(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Path((code, key)): Path<(String, String)>,
    SafeMultipart(mut mp): SafeMultipart,
) -> Response {
    let mut file = None;
    while let Ok(Some(field)) = mp.next_field().await {
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or("").to_owned();
            file = field.bytes().await.ok().map(|b| (name, b.to_vec()));
        }
    }
    let Some((name, data)) = file else {
        let e = CatalogError::BadSample(page.t("field_error.file_required"));
        return refused(&ctx, &page, &staff, &code, e).await;
    };
    match crate::samples::put(&ctx, &staff, &code, &key, &name, data).await {
        Ok(()) => back(&code, "sample_saved"),
        Err(e) => refused(&ctx, &page, &staff, &code, e).await,
    }
}

/// `POST /console/matters/{code}/samples/{key}/delete`.
pub(super) async fn remove(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Path((code, key)): Path<(String, String)>,
    SafeForm(_): SafeForm<tongban_web::form::NoFields>,
) -> Response {
    match crate::samples::remove(&ctx, &staff, &code, &key).await {
        Ok(()) => back(&code, "sample_removed"),
        Err(e) => refused(&ctx, &page, &staff, &code, e).await,
    }
}
