//! Drafts (暂存): an application saved unfinished and resumed later, on the page or through
//! the API. A draft is not checked as a submission is (it may lack anything); its fields
//! must still be the matter's, its values plain and bounded, and its files pass the checks
//! every upload passes. Submitting the matter forgets the draft.

use super::*;
use crate::store::drafts::{self as stored, DRAFT_FOR_MS};
use materials::hold_until;
use serde::Serialize;
use std::collections::BTreeMap;
use tongban_catalog::form::FieldError;

/// Longest text a draft keeps in one field when the field sets no limit.
const MAX_DRAFT_TEXT: usize = 10_000;

/// A draft as its owner sees it.
#[derive(Debug, Clone, Serialize)]
pub struct Draft {
    pub matter_code: String,
    pub matter_name: String,
    pub form: Map<String, Value>,
    /// Files kept with the draft, by material key (send back as `pending`).
    pub files: BTreeMap<String, Kept>,
    /// Earlier uploads chosen, by material key (send back as `reuse`).
    pub reuse: BTreeMap<String, i64>,
    pub saved_at: String,
    /// When it is forgotten unless saved again.
    pub keep_until: String,
}

/// A line of the list of drafts.
#[derive(Debug, Clone, Serialize)]
pub struct DraftSummary {
    pub matter_code: String,
    pub matter_name: String,
    pub saved_at: String,
    pub keep_until: String,
}

#[derive(serde::Deserialize, Serialize, Default)]
struct GivenJson {
    #[serde(default)]
    reuse: BTreeMap<String, i64>,
    #[serde(default)]
    pending: BTreeMap<String, i64>,
}

fn draft_not_found(code: &str) -> CaseError {
    CaseError::DraftNotFound(code.to_owned())
}

/// The fields of a draft: the matter's own, plain values within their limits; identity
/// fields are left out (they are filled in when the application is submitted).
fn draft_form(matter: &Matter, form: Map<String, Value>) -> Result<Map<String, Value>, CaseError> {
    let mut errors = Vec::new();
    let mut out = Map::new();
    for (key, value) in form {
        let Some(f) = matter.fields.iter().find(|f| f.key == key) else {
            errors.push(FieldError {
                field: key.clone(),
                code: "not_a_field",
                message: format!("{key} is not a field of {}", matter.code),
                limit: None,
            });
            continue;
        };
        if f.prefill.is_some() {
            continue;
        }
        let limit = f.max_length.map_or(MAX_DRAFT_TEXT, |n| n as usize);
        match &value {
            Value::String(s) if s.chars().count() > limit => errors.push(FieldError {
                field: key.clone(),
                code: "too_long",
                message: format!("{} is longer than {limit} characters", f.label_zh),
                limit: Some(limit.to_string()),
            }),
            Value::String(_) | Value::Bool(_) | Value::Number(_) | Value::Null => {
                out.insert(key, value);
            }
            _ => errors.push(FieldError {
                field: key.clone(),
                code: "bad_type",
                message: format!("{} takes text, a number or true/false", f.label_zh),
                limit: None,
            }),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(CaseError::InvalidForm(errors))
    }
}

/// Save `account_id`'s draft of `matter_code`: the form as typed so far, files uploaded now
/// (kept with the draft) and files given (earlier uploads, files kept before). Replaces the
/// draft before; what it returns is what resuming shows.
pub async fn save_draft(
    ctx: &Ctx,
    account_id: i64,
    matter_code: &str,
    form: Map<String, Value>,
    uploads: Vec<Upload>,
    given: Given,
) -> Result<Draft, CaseError> {
    let matter = published_matter(ctx, matter_code).await?;
    let form = draft_form(&matter, form)?;
    check_uploads(ctx, &matter, &uploads)?;
    // The files named must be the applicant's own, of this matter's materials.
    materials::given(ctx, account_id, &matter, given.clone()).await?;
    let now = tongban_platform::time::now_millis();
    let until = now + DRAFT_FOR_MS;
    let mut pending = given.pending.clone();
    let fresh = hold_until(ctx, account_id, &matter, uploads, until).await?;
    for (key, kept) in &fresh {
        pending.insert(key.clone(), kept.id);
    }
    let mut reuse = given.reuse;
    reuse.retain(|k, _| !pending.contains_key(k));
    let given_json = serde_json::to_string(&GivenJson {
        reuse: reuse.clone(),
        pending: pending.clone(),
    })
    .map_err(|e| DbError::Decode(e.to_string()))?;
    let sealed = store::seal_form(&form)?;
    let code = matter.code.clone();
    let ids: Vec<i64> = pending.values().copied().collect();
    ctx.db
        .write(move |c| {
            // The files of the draft this one replaces that it no longer names go.
            let before: Vec<i64> = match stored::get(c, account_id, &code, now)? {
                Some(d) => serde_json::from_str::<GivenJson>(&d.given)
                    .map(|g| g.pending.into_values().collect())
                    .unwrap_or_default(),
                None => Vec::new(),
            };
            stored::save(
                c,
                account_id,
                &code,
                &sealed,
                &given_json,
                &ids,
                &before,
                now,
            )
        })
        .await?;
    let files = pending_kept(ctx, account_id, pending).await;
    Ok(Draft {
        matter_code: matter.code,
        matter_name: matter.name,
        form,
        files,
        reuse,
        saved_at: tongban_platform::time::rfc3339(now, ctx.tz),
        keep_until: tongban_platform::time::rfc3339(until, ctx.tz),
    })
}

/// `account_id`'s draft of `matter_code`, if one is kept.
pub async fn draft(ctx: &Ctx, account_id: i64, matter_code: &str) -> Result<Draft, CaseError> {
    let now = tongban_platform::time::now_millis();
    let code = matter_code.to_owned();
    let found = ctx
        .db
        .read_single(move |c| stored::get(c, account_id, &code, now))
        .await?
        .ok_or_else(|| draft_not_found(matter_code))?;
    let matter = tongban_catalog::matters(&ctx.db)
        .fetch(&found.matter_code)
        .await?
        .ok_or_else(|| draft_not_found(matter_code))?;
    let form = store::open_form(&found.form)?;
    let given: GivenJson = serde_json::from_str(&found.given).unwrap_or_default();
    let files = pending_kept(ctx, account_id, given.pending).await;
    Ok(Draft {
        matter_code: matter.code,
        matter_name: matter.name,
        form,
        files,
        reuse: given.reuse,
        saved_at: tongban_platform::time::rfc3339(found.saved_at, ctx.tz),
        keep_until: tongban_platform::time::rfc3339(found.saved_at + DRAFT_FOR_MS, ctx.tz),
    })
}

/// `account_id`'s drafts, newest first, paged; with the total.
pub async fn drafts(
    ctx: &Ctx,
    account_id: i64,
    page: i64,
    per_page: i64,
) -> Result<(Vec<DraftSummary>, i64), CaseError> {
    let now = tongban_platform::time::now_millis();
    let (rows, total) = ctx
        .db
        .read(move |c| stored::list(c, account_id, now, per_page, (page - 1) * per_page))
        .await?;
    let matters = tongban_catalog::matters(&ctx.db);
    let mut out = Vec::with_capacity(rows.len());
    for (code, saved_at) in rows {
        let name = matters
            .fetch(&code)
            .await?
            .map_or_else(|| code.clone(), |m| m.name);
        out.push(DraftSummary {
            matter_code: code,
            matter_name: name,
            saved_at: tongban_platform::time::rfc3339(saved_at, ctx.tz),
            keep_until: tongban_platform::time::rfc3339(saved_at + DRAFT_FOR_MS, ctx.tz),
        });
    }
    Ok((out, total))
}

/// Forget `account_id`'s draft of `matter_code` and the files kept only for it.
pub async fn discard_draft(ctx: &Ctx, account_id: i64, matter_code: &str) -> Result<(), CaseError> {
    let code = matter_code.to_owned();
    let now = tongban_platform::time::now_millis();
    let found = ctx
        .db
        .write(move |c| {
            let Some(d) = stored::get(c, account_id, &code, now)? else {
                return Ok(false);
            };
            let given: GivenJson = serde_json::from_str(&d.given).unwrap_or_default();
            let ids: Vec<i64> = given.pending.into_values().collect();
            store::earlier::drop_pending(c, account_id, &ids)?;
            stored::delete(c, account_id, &code)
        })
        .await?;
    if found {
        Ok(())
    } else {
        Err(draft_not_found(matter_code))
    }
}
