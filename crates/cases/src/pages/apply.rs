//! The application form: rendered from the matter's schema, the applicant's identity filled
//! in and locked, the materials as a checklist (each with the applicant's earlier uploads to
//! choose from), and after a refusal the values typed and the files kept.

use super::*;

/// The matter to apply for; anything else is a designed "not found" page.
async fn applicable_matter(ctx: &Ctx, code: &str) -> Result<Matter, ApiError> {
    service::published_matter(ctx, code)
        .await
        .map_err(ApiError::from)
        .map_err(|e| {
            if e.status.is_client_error() {
                ApiError::not_found("matter_not_found", "no such matter to apply for online")
            } else {
                e
            }
        })
}

/// Earlier uploads offered per material.
const EARLIER_PER_MATERIAL: usize = 5;

/// The applicant's earlier uploads of each material of `m` (the newest few), to reuse: one
/// read of their newest uploads, grouped by material.
async fn earlier_by_material(
    ctx: &Ctx,
    account_id: i64,
    m: &Matter,
) -> BTreeMap<String, Vec<service::EarlierUpload>> {
    let mut out: BTreeMap<String, Vec<service::EarlierUpload>> = BTreeMap::new();
    // A failed read only hides the choice; the upload field stays.
    let newest = (m.materials.len() * EARLIER_PER_MATERIAL) as i64;
    if let Ok((items, _)) = service::earlier_uploads(ctx, account_id, None, 1, newest).await {
        for e in items {
            if !m.materials.iter().any(|x| x.key == e.material_key) {
                continue;
            }
            let list = out.entry(e.material_key.clone()).or_default();
            if list.len() < EARLIER_PER_MATERIAL {
                list.push(e);
            }
        }
    }
    out
}

/// The certificates that stand for materials of `m` (免提交), by material key: each
/// certificate's type name and number (a failed read only shows the upload field).
async fn certificates_held(
    ctx: &Ctx,
    account_id: i64,
    m: &Matter,
) -> BTreeMap<String, (String, String)> {
    service::once::held_for(ctx, account_id, m)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|(k, c)| {
            let name = c.content["type_name"].as_str().unwrap_or("").to_owned();
            (k, (name, c.number))
        })
        .collect()
}

/// What an attempt brought back to the page: the values typed, the earlier uploads chosen,
/// the files kept for the next attempt (sent back as `pending.<key>`).
#[derive(Default)]
struct Attempt {
    values: Map<String, Value>,
    chosen: BTreeMap<String, i64>,
    kept: BTreeMap<String, service::Kept>,
    /// When the draft shown was saved (resumed, or saved just now with `flash`).
    draft_saved: Option<String>,
    flash: Option<String>,
}

async fn apply_page(
    ctx: &Ctx,
    page: &Page,
    account_id: i64,
    status: StatusCode,
    m: &Matter,
    attempt: Attempt,
    e: Option<&ApiError>,
) -> Response {
    let Attempt {
        mut values,
        chosen,
        kept,
        draft_saved,
        flash,
    } = attempt;
    let earlier = earlier_by_material(ctx, account_id, m).await;
    let held = certificates_held(ctx, account_id, m).await;
    // The applicant's identity in the fields filled from it, shown locked.
    let locked = service::locked_values(ctx, account_id, m)
        .await
        .unwrap_or_default();
    let locked: Vec<String> = locked
        .into_iter()
        .map(|(k, v)| {
            values.insert(k.clone(), v);
            k
        })
        .collect();
    // The materials' samples (a failed read only hides the links).
    let m2 = m.clone();
    let samples: BTreeMap<String, tongban_catalog::samples::Sample> = ctx
        .db
        .read(move |c| tongban_catalog::samples::by_key(c, &m2))
        .await
        .unwrap_or_default();
    let errors = e.map(|e| field_errors(page, e)).unwrap_or_default();
    let error = e.filter(|_| errors.is_empty()).map(|e| page.error_text(e));
    page.render(
        status,
        "apply.html",
        context! {
            m, values, errors, error, earlier, chosen, kept, locked, draft_saved, flash, samples,
            held, action => format!("/matters/{}/apply", urlencode(&m.code)),
        },
    )
}

pub(super) async fn apply_form(
    State(ctx): State<Ctx>,
    CitizenPage(page, id): CitizenPage,
    Path(code): Path<String>,
) -> Response {
    let m = match applicable_matter(&ctx, &code).await {
        Ok(m) => m,
        Err(e) => return page.error(&e),
    };
    // A draft of this matter is resumed where it was left.
    let attempt = match service::draft(&ctx, id, &m.code).await {
        Ok(d) => Attempt {
            values: d.form,
            chosen: d.reuse,
            kept: d.files,
            draft_saved: Some(d.saved_at),
            flash: None,
        },
        Err(_) => Attempt::default(),
    };
    apply_page(&ctx, &page, id, StatusCode::OK, &m, attempt, None).await
}

pub(super) async fn apply(
    State(ctx): State<Ctx>,
    CitizenPage(page, id): CitizenPage,
    Path(code): Path<String>,
    Device(device): Device,
    SafeMultipart(mp): SafeMultipart,
) -> Response {
    let m = match applicable_matter(&ctx, &code).await {
        Ok(m) => m,
        Err(e) => return page.error(&e),
    };
    let sub = match read_multipart(mp).await {
        Ok(s) => s,
        Err(e) => {
            return apply_page(&ctx, &page, id, e.status, &m, Attempt::default(), Some(&e)).await
        }
    };
    let mut sub = sub;
    // Which button: `review` (check, then show everything to confirm), `edit` (back to the
    // form from the review), or submit (`confirm`, and forms that name no step).
    let step = sub
        .form
        .remove("step")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let values = sub.form.clone();
    let chosen = sub.given.reuse.clone();
    let kept_before = sub.given.pending.clone();
    // The files sent, to keep for the corrected form if this attempt is refused.
    let files = sub.uploads.clone();
    if step == "discard" {
        return match service::discard_draft(&ctx, id, &m.code).await {
            Ok(()) | Err(crate::error::CaseError::DraftNotFound(_)) => {
                Redirect::to(&format!("/matters/{}/apply", urlencode(&m.code))).into_response()
            }
            Err(e) => page.error(&ApiError::from(e)),
        };
    }
    if step == "draft" {
        return match service::save_draft(&ctx, id, &m.code, sub.form, sub.uploads, sub.given)
            .await
            .map_err(ApiError::from)
        {
            Ok(d) => {
                let attempt = Attempt {
                    values: d.form,
                    chosen: d.reuse,
                    kept: d.files,
                    draft_saved: Some(d.saved_at),
                    flash: Some(page.t("apply.draft_saved")),
                };
                apply_page(&ctx, &page, id, StatusCode::OK, &m, attempt, None).await
            }
            Err(e) => {
                let mut kept = service::pending_kept(&ctx, id, kept_before).await;
                kept.extend(
                    service::hold_uploads(&ctx, id, &m, files)
                        .await
                        .unwrap_or_default(),
                );
                let attempt = Attempt {
                    values,
                    chosen,
                    kept,
                    ..Attempt::default()
                };
                apply_page(&ctx, &page, id, e.status, &m, attempt, Some(&e)).await
            }
        };
    }
    if step == "edit" {
        let kept = service::pending_kept(&ctx, id, kept_before).await;
        let attempt = Attempt {
            values,
            chosen,
            kept,
            ..Attempt::default()
        };
        return apply_page(&ctx, &page, id, StatusCode::OK, &m, attempt, None).await;
    }
    if step == "review" {
        let checked =
            service::check_submission(&ctx, id, &m.code, sub.form, &sub.uploads, &sub.given)
                .await
                .map_err(ApiError::from);
        let mut kept = service::pending_kept(&ctx, id, kept_before).await;
        let held = service::hold_uploads(&ctx, id, &m, files).await;
        return match (checked, held) {
            (Ok(shown), Ok(more)) => {
                kept.extend(more);
                review_page(&ctx, &page, id, &m, values, shown, chosen, kept).await
            }
            (Err(e), held) => {
                kept.extend(held.unwrap_or_default());
                let attempt = Attempt {
                    values,
                    chosen,
                    kept,
                    ..Attempt::default()
                };
                apply_page(&ctx, &page, id, e.status, &m, attempt, Some(&e)).await
            }
            (Ok(_), Err(e)) => page.error(&ApiError::from(e)),
        };
    }
    match service::submit(
        &ctx,
        id,
        crate::routes::web_or_mobile(device),
        &m.code,
        sub.form,
        sub.uploads,
        sub.given,
    )
    .await
    .map_err(ApiError::from)
    {
        Ok(view) => Redirect::to(&format!("/my/cases/{}/submitted", view.case_no)).into_response(),
        Err(e) => {
            let mut kept = service::pending_kept(&ctx, id, kept_before).await;
            match service::hold_uploads(&ctx, id, &m, files).await {
                Ok(more) => kept.extend(more),
                // Not kept: the page asks for the files again, as before.
                Err(err) => {
                    tracing::warn!(error = %err, "cannot keep the files of a refused application")
                }
            }
            let attempt = Attempt {
                values,
                chosen,
                kept,
                ..Attempt::default()
            };
            apply_page(&ctx, &page, id, e.status, &m, attempt, Some(&e)).await
        }
    }
}

/// The review before submitting: every value as it will be stored and every material with
/// the file that goes with it, and a form that sends the same back to submit (the files kept
/// as pending uploads, so nothing is chosen twice) or to edit.
#[allow(clippy::too_many_arguments)]
async fn review_page(
    ctx: &Ctx,
    page: &Page,
    account_id: i64,
    m: &Matter,
    values: Map<String, Value>,
    shown: Map<String, Value>,
    chosen: BTreeMap<String, i64>,
    kept: BTreeMap<String, service::Kept>,
) -> Response {
    let earlier = earlier_by_material(ctx, account_id, m).await;
    // Each material's file: kept (uploaded now or before), an earlier upload reused, or a
    // certificate held.
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    for (key, (name, number)) in certificates_held(ctx, account_id, m).await {
        files.insert(
            key,
            page.t("apply.certificate_held")
                .replacen("{}", &name, 1)
                .replacen("{}", &number, 1),
        );
    }
    for (key, k) in &kept {
        files.insert(
            key.clone(),
            page.t("apply.file_new").replacen("{}", &k.filename, 1),
        );
    }
    for (key, id) in &chosen {
        if kept.contains_key(key) {
            continue;
        }
        let name = earlier
            .get(key)
            .and_then(|l| l.iter().find(|e| e.id == *id))
            .map(|e| e.filename.clone())
            .unwrap_or_else(|| format!("#{id}"));
        files.insert(
            key.clone(),
            page.t("apply.file_reused").replacen("{}", &name, 1),
        );
    }
    page.render(
        StatusCode::OK,
        "apply_review.html",
        context! {
            m, values, shown, chosen, kept, files,
            action => format!("/matters/{}/apply", urlencode(&m.code)),
        },
    )
}
