//! The story of an application, as capability functions: submit, read, list, supplement,
//! withdraw (a submission in `service/submit.rs`), and (in `service/staff.rs`) the staff's
//! queue and actions. Rules come from `rules`, rows from `store`;
//! these functions only put them together and say what went wrong in words a person can act on.

use crate::error::CaseError;
use crate::rules::{self, next_status, Action, Status, OPEN_STATUSES};
use crate::store::{self, Actor, CaseRecord, MaterialRecord, QueueFilter};
use crate::view::{self, CaseSummary, CaseView, Env, Viewer};
use serde_json::{Map, Value};
use tongban_catalog::form::validate;
use tongban_catalog::Matter;
use tongban_platform::db::{Conn, DbError};
use tongban_platform::identity::{self, Staff};
use tongban_platform::{audit, blobs, Ctx};

mod checks;
mod drafts;
mod materials;
pub mod once;
mod prefill;
mod staff;
mod submit;
mod supplement;
pub use checks::{staff_check, CheckOutcome, DEFAULT_PURPOSE};
pub use drafts::{discard_draft, draft, drafts, save_draft, Draft, DraftSummary};
pub use materials::{
    applicant_material, earlier_uploads, hold_uploads, pending_kept, EarlierUpload, Given, Kept,
};
pub use prefill::{locked_values, prefilled};
pub use staff::*;
pub use submit::{check_submission, submit};
pub use supplement::supplement;

/// An uploaded file, before it is stored.
#[derive(Clone)]
pub struct Upload {
    pub key: String,
    pub filename: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

/// Formats accepted by a `file` field of the form (materials list their own).
const FILE_FIELD_FORMATS: [&str; 6] = ["pdf", "jpg", "jpeg", "png", "ofd", "doc"];

type Outcome<T> = Result<T, CaseError>;

fn env(
    ctx: &Ctx,
) -> (
    std::sync::Arc<tongban_platform::calendar::Calendar>,
    chrono::NaiveDate,
) {
    (ctx.calendar(), ctx.today())
}

fn case_not_found(case_no: &str) -> CaseError {
    CaseError::NotFound(case_no.to_owned())
}

/// The matter, if citizens can apply for it online now.
pub async fn published_matter(ctx: &Ctx, code: &str) -> Result<Matter, CaseError> {
    match tongban_catalog::matters(&ctx.db).fetch(code).await? {
        Some(m) if m.published && m.applies_online() => Ok(m),
        Some(m) if m.published => Err(CaseError::NotOnline {
            code: code.to_owned(),
            depth: m.online_depth,
        }),
        _ => Err(CaseError::UnknownMatter(code.to_owned())),
    }
}

/// Files one material (or file field) may carry in one submission.
pub const MAX_FILES_PER_MATERIAL: usize = 5;

/// Check uploads against the matter (count, size, type by content) without storing any.
fn check_uploads(ctx: &Ctx, matter: &Matter, uploads: &[Upload]) -> Result<(), CaseError> {
    let total: usize = uploads.iter().map(|u| u.data.len()).sum();
    if total > ctx.config.max_case_upload_bytes {
        return Err(CaseError::UploadTooLarge {
            total,
            limit: ctx.config.max_case_upload_bytes,
        });
    }
    // At most a few files per declared material: 5,000 file parts in one submission were
    // once stored.
    let mut per_key: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for u in uploads {
        let n = per_key.entry(u.key.as_str()).or_default();
        *n += 1;
        if *n > MAX_FILES_PER_MATERIAL {
            return Err(CaseError::TooManyFiles {
                key: u.key.clone(),
                max: MAX_FILES_PER_MATERIAL,
            });
        }
    }
    for u in uploads {
        let formats: Vec<String> = if let Some(m) = matter.materials.iter().find(|m| m.key == u.key)
        {
            m.formats.clone()
        } else if matter
            .fields
            .iter()
            .any(|f| f.key == u.key && f.kind == "file")
        {
            FILE_FIELD_FORMATS.iter().map(|s| s.to_string()).collect()
        } else {
            return Err(CaseError::UnknownMaterial {
                key: u.key.clone(),
                allowed: matter.materials.iter().map(|m| m.key.clone()).collect(),
            });
        };
        if u.data.is_empty() {
            return Err(CaseError::EmptyFile(u.key.clone()));
        }
        if u.data.len() > ctx.config.max_upload_bytes {
            return Err(CaseError::FileTooLarge {
                key: u.key.clone(),
                filename: u.filename.clone(),
                size: u.data.len(),
                limit: ctx.config.max_upload_bytes,
            });
        }
        // The content decides the type; the name only has to agree with it.
        let sniffed = blobs::sniff(&u.data).unwrap_or(&[]);
        if !sniffed.iter().any(|t| formats.iter().any(|f| f == t)) {
            return Err(CaseError::FileType {
                key: u.key.clone(),
                filename: u.filename.clone(),
                formats,
            });
        }
    }
    Ok(())
}

/// Store checked uploads ([`check_uploads`]) by content hash, and describe them.
fn store_uploads(ctx: &Ctx, uploads: Vec<Upload>) -> Result<Vec<MaterialRecord>, CaseError> {
    let now = tongban_platform::time::now_millis();
    let mut out = Vec::with_capacity(uploads.len());
    for u in uploads {
        let sha = blobs::put(&ctx.config.upload_dir, &u.data).map_err(|e| {
            tracing::error!(error = %e, "cannot store upload");
            CaseError::Storage(e.to_string())
        })?;
        out.push(MaterialRecord {
            filename: blobs::clean_name(&u.filename),
            key: u.key,
            content_type: u.content_type,
            size: u.data.len() as i64,
            sha,
            uploaded_at: now,
            certificate: None,
            exchange_message: None,
        });
    }
    Ok(out)
}

fn citizen_actor(c: &mut dyn Conn, account_id: i64, source: &str) -> Result<Actor, DbError> {
    let name = identity::citizen_name(c, account_id)?.unwrap_or_default();
    Ok(applicant(account_id, name, source))
}

/// The applicant `account_id`, named `name`, as the actor of a step.
fn applicant(account_id: i64, name: String, source: &str) -> Actor {
    Actor {
        kind: "citizen",
        id: account_id,
        name,
        role: "applicant".into(),
        department_code: None,
        login: account_id.to_string(),
        source: source.to_owned(),
    }
}

/// The audit entry for what `who` did to case `case_no`.
fn audit_entry(who: &Actor, action: &str, case_no: &str, result: &str) -> audit::Entry {
    audit::Entry {
        actor_kind: who.kind.into(),
        actor: who.login.clone(),
        role: who.role.clone(),
        department: who.department_code.clone().unwrap_or_default(),
        action: action.into(),
        object: case_no.into(),
        result: result.into(),
        source: who.source.clone(),
        detail: String::new(),
    }
}

/// Citizens see only their own cases; another's is "not found", not "forbidden".
fn own_case(rec: &CaseRecord, account_id: i64) -> Result<(), CaseError> {
    if rec.applicant_id == account_id {
        Ok(())
    } else {
        Err(case_not_found(&rec.case_no))
    }
}

fn staff_actor(s: &Staff, role: &str, source: &str) -> Actor {
    Actor {
        kind: "staff",
        id: s.id,
        name: s.name.clone(),
        role: role.to_owned(),
        department_code: Some(s.department.code.clone()),
        login: s.username.clone(),
        source: source.to_owned(),
    }
}

/// The view of a case as its applicant sees it.
fn applicant_view(
    ctx: &Ctx,
    rec: CaseRecord,
    matter: &Matter,
    events: Vec<store::Event>,
    mats: Vec<MaterialRecord>,
) -> CaseView {
    let (cal, today) = env(ctx);
    let env = Env {
        cal: &cal,
        tz: ctx.tz,
        today,
    };
    view::full(rec, matter, events, mats, Viewer::Applicant, &env)
}

/// Load the whole view of a case for a staff member (`unmasked`: personal data shown).
fn load_view(
    c: &mut dyn Conn,
    matters: &tongban_catalog::Matters,
    whole: store::Whole,
    staff: &Staff,
    unmasked: bool,
    env: &Env,
) -> Result<CaseView, DbError> {
    let (rec, events, mats) = whole.open()?;
    let matter = matters
        .get(c, &rec.matter_code)?
        .ok_or_else(|| DbError::Decode(format!("case {} names a missing matter", rec.case_no)))?;
    let applicant = identity::get_citizen(c, rec.applicant_id)?
        .ok_or_else(|| DbError::Decode("case without applicant".into()))?;
    Ok(view::full(
        rec,
        &matter,
        events,
        mats,
        Viewer::Staff(staff, &applicant, unmasked),
        env,
    ))
}

pub async fn citizen_case(
    ctx: &Ctx,
    account_id: i64,
    case_no: &str,
) -> Result<CaseView, CaseError> {
    // The case, its timeline and materials from memory or in one flight; the matter from
    // memory.
    let Some(story) = store::fetch_story(&ctx.db, case_no)
        .await?
        .filter(|s| s.rec.applicant_id == account_id)
    else {
        return Err(case_not_found(case_no));
    };
    let store::Story { rec, events, mats } = story.as_ref().clone();
    let matter = tongban_catalog::matters(&ctx.db)
        .fetch(&rec.matter_code)
        .await?
        .ok_or_else(|| DbError::Decode(format!("case {} names a missing matter", rec.case_no)))?;
    Ok(applicant_view(ctx, rec, &matter, events, mats))
}

pub async fn citizen_cases(
    ctx: &Ctx,
    account_id: i64,
    page: i64,
    per_page: i64,
) -> Result<(Vec<CaseSummary>, i64), CaseError> {
    let (cal, today) = env(ctx);
    let tz = ctx.tz;
    Ok(ctx
        .db
        .read(move |c| {
            let (recs, total) =
                store::list_for_applicant(c, account_id, per_page, (page - 1) * per_page)?;
            summaries(
                c,
                recs,
                &Env {
                    cal: &cal,
                    tz,
                    today,
                },
            )
            .map(|s| (s, total))
        })
        .await?)
}

fn summaries(
    c: &mut dyn Conn,
    recs: Vec<CaseRecord>,
    env: &Env,
) -> Result<Vec<CaseSummary>, DbError> {
    let mut codes: Vec<String> = recs.iter().map(|r| r.matter_code.clone()).collect();
    codes.sort();
    codes.dedup();
    let names = tongban_catalog::store::names_and_accept_days(c, &codes)?;
    Ok(recs
        .iter()
        .map(|r| {
            let (name, accept_days) = names.get(&r.matter_code).cloned().unwrap_or_default();
            view::summary(r, name, accept_days, env)
        })
        .collect())
}

/// Apply `action` to the case inside a write transaction; `check` sees the case first and
/// may refuse (not yours, wrong department), `change` adjusts fields beyond the status.
fn transition(
    c: &mut dyn Conn,
    case_no: &str,
    action: Action,
    who: &Actor,
    note: &str,
    check: &dyn Fn(&CaseRecord) -> Result<(), CaseError>,
    change: &mut dyn FnMut(&mut dyn Conn, &mut CaseRecord, Status) -> Outcome<()>,
) -> Outcome<()> {
    let Some(mut rec) = store::get(c, case_no, true)? else {
        return Err(case_not_found(case_no));
    };
    // A denial rolls this transaction back; the caller audits it on its own.
    check(&rec)?;
    let from = rec.status;
    let to = next_status(from, rec.resume_status, action).map_err(CaseError::IllegalTransition)?;
    change(c, &mut rec, to)?;
    rec.status = to;
    let now = tongban_platform::time::now_millis();
    if to.is_final() {
        rec.concluded_at = Some(now);
    }
    if !store::update(c, &rec, now)? {
        return Err(CaseError::ChangedMeanwhile);
    }
    store::add_event(
        c,
        rec.id,
        now,
        store::Step {
            action,
            from: Some(from),
            to,
        },
        who,
        note,
    )?;
    audit::append(
        c,
        &audit_entry(who, &format!("case.{}", action.as_str()), case_no, "ok"),
    )?;
    Ok(())
}

pub async fn withdraw(
    ctx: &Ctx,
    account_id: i64,
    case_no: &str,
    note: String,
) -> Result<CaseView, CaseError> {
    let source = audit::current_source();
    check_note(&note, false)?;
    let no = case_no.to_owned();
    ctx.db
        .transact(move |c| {
            let who = citizen_actor(c, account_id, &source)?;
            transition(
                c,
                &no,
                Action::Withdraw,
                &who,
                &note,
                &|r| own_case(r, account_id),
                &mut |_, _, _| Ok(()),
            )
        })
        .await?;
    citizen_case(ctx, account_id, case_no).await
}

fn check_note(note: &str, required: bool) -> Result<(), CaseError> {
    if required && note.trim().is_empty() {
        return Err(CaseError::NoteRequired);
    }
    if note.chars().count() > 2000 {
        return Err(CaseError::NoteTooLong);
    }
    Ok(())
}
