//! Materials as a checklist: every required material of the matter comes with a submission,
//! as a file uploaded with it or as one of the applicant's earlier uploads of the same
//! material, reused (the ID card scanned for the last application).

use super::*;
use crate::store::earlier::{self, Earlier};
use serde::Serialize;
use std::collections::BTreeMap;
use tongban_catalog::form::FieldError;

/// What comes with a submission besides its uploads: earlier uploads used again (material
/// key → upload id, `GET /api/v1/me/materials`) and files kept from an attempt refused moments
/// ago (material key → pending upload id; pages send them back as `pending.<key>`).
#[derive(Debug, Clone, Default)]
pub struct Given {
    pub reuse: BTreeMap<String, i64>,
    pub pending: BTreeMap<String, i64>,
}

impl Given {
    pub fn is_empty(&self) -> bool {
        self.reuse.is_empty() && self.pending.is_empty()
    }

    fn has(&self, key: &str) -> bool {
        self.reuse.contains_key(key) || self.pending.contains_key(key)
    }
}

/// The required materials of `matter` that neither an upload, a given file nor a held
/// certificate (`certified`, by material key) provides.
pub(super) fn missing(
    matter: &Matter,
    uploads: &[Upload],
    given: &Given,
    certified: &[String],
) -> Vec<FieldError> {
    matter
        .materials
        .iter()
        .filter(|m| m.required)
        .filter(|m| {
            !uploads.iter().any(|u| u.key == m.key)
                && !given.has(&m.key)
                && !certified.contains(&m.key)
        })
        .map(|m| FieldError {
            field: m.key.clone(),
            code: "missing_material",
            message: format!("{} ({})", m.name, m.key),
            limit: None,
        })
        .collect()
}

/// The files `given` names, each checked to be a material of this matter and the applicant's
/// own earlier or pending upload of that material; with the pending ids, which the write
/// forgets once they went with the case.
pub(super) async fn given(
    ctx: &Ctx,
    account_id: i64,
    matter: &Matter,
    given: Given,
) -> Result<(Vec<MaterialRecord>, Vec<i64>), CaseError> {
    if given.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    for key in given.reuse.keys().chain(given.pending.keys()) {
        if !matter.materials.iter().any(|m| &m.key == key) {
            return Err(CaseError::UnknownMaterial {
                key: key.clone(),
                allowed: matter.materials.iter().map(|m| m.key.clone()).collect(),
            });
        }
    }
    let now = tongban_platform::time::now_millis();
    let mut out = Vec::new();
    let mut pending_ids = Vec::new();
    for (key, id) in given.pending {
        let found = ctx
            .db
            .read_single(move |c| earlier::pending(c, account_id, id, now))
            .await?;
        match found {
            Some(m) if m.key == key => {
                out.push(m);
                pending_ids.push(id);
            }
            _ => return Err(CaseError::ReuseNotFound { key, id }),
        }
    }
    let held = ctx.db.local::<HeldUploads>();
    for (key, id) in given.reuse {
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
    Ok((out, pending_ids))
}

/// A file kept for its owner after a refused attempt: what the page shows and sends back.
#[derive(Debug, Clone, Serialize)]
pub struct Kept {
    pub id: i64,
    pub filename: String,
}

/// Keep the uploads of a refused attempt that pass their own checks (a file refused for its
/// type or size is not kept), as pending uploads of `account_id` for a day; by material key.
pub async fn hold_uploads(
    ctx: &Ctx,
    account_id: i64,
    matter: &Matter,
    uploads: Vec<Upload>,
) -> Result<BTreeMap<String, Kept>, CaseError> {
    let until = tongban_platform::time::now_millis() + earlier::PENDING_FOR_MS;
    hold_until(ctx, account_id, matter, uploads, until).await
}

/// [`hold_uploads`], kept until `until` (milliseconds).
pub(super) async fn hold_until(
    ctx: &Ctx,
    account_id: i64,
    matter: &Matter,
    uploads: Vec<Upload>,
    until: i64,
) -> Result<BTreeMap<String, Kept>, CaseError> {
    let good: Vec<Upload> = uploads
        .into_iter()
        .filter(|u| check_uploads(ctx, matter, std::slice::from_ref(u)).is_ok())
        .collect();
    if good.is_empty() {
        return Ok(BTreeMap::new());
    }
    // Kept files count against the same hourly limit as submitted ones: refused attempts
    // must not become a way to fill the disk. Past it, nothing is kept (the page asks for
    // the files again).
    if tongban_platform::throttle::limit(
        &ctx.db,
        format!("rate:upload:{account_id}"),
        ctx.config.rate_per_hour,
        3_600_000,
        "uploads",
    )
    .await
    .is_err()
    {
        return Ok(BTreeMap::new());
    }
    let files = store_uploads(ctx, good)?;
    let now = tongban_platform::time::now_millis();
    let kept = files.clone();
    let ids = ctx
        .db
        .write(move |c| earlier::hold_pending(c, account_id, &kept, now, until))
        .await?;
    Ok(files
        .into_iter()
        .zip(ids)
        .map(|(m, id)| {
            (
                m.key,
                Kept {
                    id,
                    filename: m.filename,
                },
            )
        })
        .collect())
}

/// The pending uploads of `account_id` among `pending` (key → id) still kept, by key.
pub async fn pending_kept(
    ctx: &Ctx,
    account_id: i64,
    pending: BTreeMap<String, i64>,
) -> BTreeMap<String, Kept> {
    let now = tongban_platform::time::now_millis();
    let mut out = BTreeMap::new();
    for (key, id) in pending {
        let found = ctx
            .db
            .read_single(move |c| earlier::pending(c, account_id, id, now))
            .await;
        if let Ok(Some(m)) = found {
            if m.key == key {
                out.insert(
                    key,
                    Kept {
                        id,
                        filename: m.filename,
                    },
                );
            }
        }
    }
    out
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

/// The applicant's own file of material `key` on their case (the newest, when several), for
/// download: another's case is "not found".
pub async fn applicant_material(
    ctx: &Ctx,
    account_id: i64,
    case_no: &str,
    key: &str,
) -> Result<(String, Vec<u8>), CaseError> {
    let (no, k) = (case_no.to_owned(), key.to_owned());
    let m: MaterialRecord = ctx
        .db
        .view(move |c| {
            let Some(rec) = store::get(c, &no, false)?.filter(|r| r.applicant_id == account_id)
            else {
                return Err(case_not_found(&no));
            };
            newest_material(c, &rec, &k)
        })
        .await?;
    Ok((m.filename.clone(), stored_file(ctx, &m)?))
}

/// The newest file of material `key` of case `rec`.
pub(super) fn newest_material(
    c: &mut dyn Conn,
    rec: &CaseRecord,
    key: &str,
) -> Result<MaterialRecord, CaseError> {
    store::materials(c, rec.id)?
        .into_iter()
        .rev()
        .find(|m| m.key == key)
        .ok_or_else(|| CaseError::MaterialNotFound {
            case_no: rec.case_no.clone(),
            key: key.to_owned(),
        })
}

/// The content of a stored material.
pub(super) fn stored_file(ctx: &Ctx, m: &MaterialRecord) -> Result<Vec<u8>, CaseError> {
    blobs::get(&ctx.config.upload_dir, &m.sha).map_err(|e| {
        tracing::error!(error = %e, sha = %m.sha, "stored material is missing");
        CaseError::Storage(e.to_string())
    })
}
