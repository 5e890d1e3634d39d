//! Materials as a checklist: every required material of the matter comes with a submission,
//! as a file uploaded with it or as one of the applicant's earlier uploads of the same
//! material, reused (the ID card scanned for the last application).

use super::*;
use crate::store::earlier::{self, Earlier};
use serde::Serialize;
use std::collections::BTreeMap;
use tongban_catalog::form::FieldError;

/// The required materials of `matter` that neither an upload nor a reused upload gives.
pub(super) fn missing(
    matter: &Matter,
    uploads: &[Upload],
    reuse: &BTreeMap<String, i64>,
) -> Vec<FieldError> {
    matter
        .materials
        .iter()
        .filter(|m| m.required)
        .filter(|m| !uploads.iter().any(|u| u.key == m.key) && !reuse.contains_key(&m.key))
        .map(|m| FieldError {
            field: m.key.clone(),
            code: "missing_material",
            message: format!("{} ({})", m.name, m.key),
            limit: None,
        })
        .collect()
}

/// The earlier uploads named in `reuse` (material key → upload id), each checked to be a
/// material of this matter and the applicant's own upload of that material.
pub(super) async fn reused(
    ctx: &Ctx,
    account_id: i64,
    matter: &Matter,
    reuse: BTreeMap<String, i64>,
) -> Result<Vec<MaterialRecord>, CaseError> {
    if reuse.is_empty() {
        return Ok(Vec::new());
    }
    for key in reuse.keys() {
        if !matter.materials.iter().any(|m| &m.key == key) {
            return Err(CaseError::UnknownMaterial {
                key: key.clone(),
                allowed: matter.materials.iter().map(|m| m.key.clone()).collect(),
            });
        }
    }
    let held = ctx.db.local::<HeldUploads>();
    let mut out = Vec::with_capacity(reuse.len());
    for (key, id) in reuse {
        let found = held
            .0
            .through(&ctx.db, (account_id, id), || {
                ctx.db
                    .read_single(move |c| earlier::owned(c, account_id, id))
            })
            .await?;
        match found {
            Some(e) if e.material.key == key => out.push(e.material),
            _ => return Err(CaseError::ReuseNotFound { key, id }),
        }
    }
    Ok(out)
}

/// Earlier uploads read for reuse, by (owner, upload id), held under the announced-change
/// generation: an upload never changes once stored, and a citizen reusing the same ID card
/// for application after application costs no read.
struct HeldUploads(tongban_platform::db::Held<(i64, i64), Earlier>);

impl Default for HeldUploads {
    fn default() -> Self {
        HeldUploads(tongban_platform::db::Held::new(10_000))
    }
}

/// One earlier upload as the applicant sees it.
#[derive(Debug, Clone, Serialize)]
pub struct EarlierUpload {
    /// What `reuse` names.
    pub id: i64,
    pub case_no: String,
    pub material_key: String,
    pub filename: String,
    pub size: i64,
    /// Milliseconds since the epoch.
    pub uploaded_at: i64,
}

impl From<Earlier> for EarlierUpload {
    fn from(e: Earlier) -> Self {
        EarlierUpload {
            id: e.id,
            case_no: e.case_no,
            material_key: e.material.key,
            filename: e.material.filename,
            size: e.material.size,
            uploaded_at: e.material.uploaded_at,
        }
    }
}

/// The applicant's earlier uploads, newest first (of one material if `key` is given), a page
/// of them and the total.
pub async fn earlier_uploads(
    ctx: &Ctx,
    account_id: i64,
    key: Option<String>,
    page: i64,
    per_page: i64,
) -> Result<(Vec<EarlierUpload>, i64), CaseError> {
    let (rows, total) = ctx
        .db
        .read(move |c| {
            earlier::of_applicant(
                c,
                account_id,
                key.as_deref(),
                per_page,
                (page - 1) * per_page,
            )
        })
        .await?;
    Ok((rows.into_iter().map(EarlierUpload::from).collect(), total))
}
