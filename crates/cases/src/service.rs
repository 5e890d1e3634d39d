//! The story of an application, as capability functions: submit, read, list, supplement,
//! withdraw, and (in `service/staff.rs`) the staff's queue and actions. Rules come from `rules`, rows from `store`;
//! these functions only put them together and say what went wrong in words a person can act on.

use crate::rules::{self, next_status, Action, Status, OPEN_STATUSES};
use crate::store::{self, Actor, CaseRecord, MaterialRecord, QueueFilter};
use crate::view::{self, CaseSummary, CaseView, Env, Viewer};
use serde_json::{Map, Value};
use tongban_catalog::form::validate;
use tongban_catalog::Matter;
use tongban_platform::db::{Conn, DbError};
use tongban_platform::identity::{self, Staff};
use tongban_platform::{audit, blobs, ApiError, Ctx};

mod staff;
pub use staff::*;

/// An uploaded file, before it is stored.
pub struct Upload {
    pub key: String,
    pub filename: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

/// Formats accepted by a `file` field of the form (materials list their own).
const FILE_FIELD_FORMATS: [&str; 6] = ["pdf", "jpg", "jpeg", "png", "ofd", "doc"];

type Outcome<T> = Result<Result<T, ApiError>, DbError>;

fn env(
    ctx: &Ctx,
) -> (
    std::sync::Arc<tongban_platform::calendar::Calendar>,
    chrono::NaiveDate,
) {
    (ctx.calendar(), ctx.today())
}

fn case_not_found(case_no: &str) -> ApiError {
    ApiError::not_found(
        "case_not_found",
        format!("no case {case_no:?} is visible to you; check the case number"),
    )
}

fn invalid_form(errors: Vec<tongban_catalog::form::FieldError>) -> ApiError {
    let msg = errors
        .iter()
        .map(|e| e.message.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    ApiError::unprocessable(
        "invalid_form",
        format!("the form has {} problem(s): {msg}", errors.len()),
    )
    .with_fields(serde_json::to_value(&errors).unwrap_or(Value::Null))
}

/// The matter, if citizens can apply for it online now.
pub async fn published_matter(ctx: &Ctx, code: &str) -> Result<Matter, ApiError> {
    let c2 = code.to_owned();
    match ctx
        .db
        .read(move |c| tongban_catalog::get_matter(c, &c2))
        .await?
    {
        Some(m) if m.published && m.applies_online() => Ok(m),
        Some(m) if m.published => Err(ApiError::unprocessable(
            "not_online",
            format!("matter {code} is not applied for online (online depth {}); the guide says where to go", m.online_depth),
        )),
        _ => Err(ApiError::unprocessable(
            "unknown_matter",
            format!("matter_code {code:?} is not a published matter; see GET /api/v1/matters"),
        )),
    }
}

/// Files one material (or file field) may carry in one submission.
pub const MAX_FILES_PER_MATERIAL: usize = 5;

/// Check uploads against the matter, store them by content hash, and describe them.
fn store_uploads(
    ctx: &Ctx,
    matter: &Matter,
    uploads: Vec<Upload>,
) -> Result<Vec<MaterialRecord>, ApiError> {
    let total: usize = uploads.iter().map(|u| u.data.len()).sum();
    if total > ctx.config.max_case_upload_bytes {
        return Err(ApiError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "the files together are {total} bytes; at most {} bytes go with one application",
                ctx.config.max_case_upload_bytes
            ),
        ));
    }
    // At most a few files per declared material: 5,000 file parts in one submission were
    // once stored.
    let mut per_key: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for u in &uploads {
        let n = per_key.entry(u.key.as_str()).or_default();
        *n += 1;
        if *n > MAX_FILES_PER_MATERIAL {
            return Err(ApiError::unprocessable(
                "too_many_files",
                format!(
                    "at most {MAX_FILES_PER_MATERIAL} files go with one material; {:?} has more",
                    u.key
                ),
            ));
        }
    }
    let mut out = Vec::with_capacity(uploads.len());
    let now = tongban_platform::time::now_millis();
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
            let keys: Vec<&str> = matter.materials.iter().map(|m| m.key.as_str()).collect();
            return Err(ApiError::unprocessable(
                "unknown_material",
                format!(
                    "file part {:?} is not a material of this matter; use one of: {}",
                    u.key,
                    keys.join(", ")
                ),
            ));
        };
        if u.data.is_empty() {
            return Err(ApiError::unprocessable(
                "empty_file",
                format!("the file for {:?} is empty", u.key),
            )
            .with_fields(serde_json::json!([{"field": u.key, "code": "empty_file", "message": "empty file"}])));
        }
        if u.data.len() > ctx.config.max_upload_bytes {
            return Err(ApiError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "file_too_large",
                format!(
                    "{:?} is {} bytes; the limit is {} bytes per file",
                    u.filename,
                    u.data.len(),
                    ctx.config.max_upload_bytes
                ),
            )
            .with_fields(serde_json::json!([{
                "field": u.key, "code": "file_too_large", "message": "file too large",
                "limit": format!("{} KB", ctx.config.max_upload_bytes / 1024)
            }])));
        }
        // The content decides the type; the name only has to agree with it.
        let sniffed = blobs::sniff(&u.data).unwrap_or(&[]);
        if !sniffed.iter().any(|t| formats.iter().any(|f| f == t)) {
            return Err(ApiError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "file_type",
                format!(
                    "{:?} is not accepted for {:?}; accepted formats: {}",
                    u.filename,
                    u.key,
                    formats.join(", ")
                ),
            )
            .with_fields(serde_json::json!([{
                "field": u.key, "code": "file_type", "message": "file type", "limit": formats.join(", ").to_uppercase()
            }])));
        }
        let sha = blobs::put(&ctx.config.upload_dir, &u.data).map_err(|e| {
            tracing::error!(error = %e, "cannot store upload");
            ApiError::internal()
        })?;
        let filename = blobs::clean_name(&u.filename);
        out.push(MaterialRecord {
            key: u.key,
            filename,
            content_type: u.content_type,
            size: u.data.len() as i64,
            sha,
            uploaded_at: now,
        });
    }
    Ok(out)
}

fn citizen_actor(c: &mut dyn Conn, account_id: i64, source: &str) -> Result<Actor, DbError> {
    let name = identity::citizen_name(c, account_id)?.unwrap_or_default();
    Ok(Actor {
        kind: "citizen",
        id: account_id,
        name,
        role: "applicant".into(),
        department_code: None,
        login: account_id.to_string(),
        source: source.to_owned(),
    })
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
fn own_case(rec: &CaseRecord, account_id: i64) -> Result<(), ApiError> {
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

/// Submit an application; `channel` is `web` or `mobile` (the device class of the sender).
pub async fn submit(
    ctx: &Ctx,
    account_id: i64,
    channel: &'static str,
    matter_code: &str,
    form: Map<String, Value>,
    uploads: Vec<Upload>,
) -> Result<CaseView, ApiError> {
    let source = audit::current_source();
    let matter = published_matter(ctx, matter_code).await?;
    let files: Vec<String> = uploads.iter().map(|u| u.key.clone()).collect();
    let form = validate(&matter.fields, &form, &files, false).map_err(invalid_form)?;
    if !uploads.is_empty() {
        tongban_platform::throttle::limit(
            &ctx.db,
            format!("rate:upload:{account_id}"),
            ctx.config.rate_per_hour,
            3_600_000,
            "submissions with files",
        )
        .await?;
    }
    let mats = store_uploads(ctx, &matter, uploads)?;
    let now = tongban_platform::time::now_millis();
    let day = tongban_platform::time::date_of(now, ctx.tz)
        .format("%Y%m%d")
        .to_string();
    let region = ctx.config.region_code.clone();
    let (code, dept) = (matter.code.clone(), matter.department.code.clone());
    let case_no = ctx
        .db
        .write(move |c| {
            let seq = identity::next_counter(c, &format!("case:{day}"))?;
            let case_no = format!("{region}{day}{seq:06}");
            let id = store::insert(
                c,
                &store::NewCase {
                    case_no: &case_no,
                    matter_code: &code,
                    department_code: &dept,
                    applicant_id: account_id,
                    form: &form,
                    now,
                    channel,
                },
            )?;
            let who = citizen_actor(c, account_id, &source)?;
            store::add_event(
                c,
                id,
                now,
                store::Step {
                    action: Action::Submit,
                    from: None,
                    to: Status::Submitted,
                },
                &who,
                "",
            )?;
            audit::append(c, &audit_entry(&who, "case.submit", &case_no, "ok"))?;
            for m in &mats {
                store::add_material(c, id, m)?;
            }
            Ok(case_no)
        })
        .await?;
    citizen_case(ctx, account_id, &case_no).await
}

/// Load the whole view of a case the reader may see.
fn load_view(
    c: &mut dyn Conn,
    rec: CaseRecord,
    viewer_staff: Option<(&Staff, bool)>,
    env: &Env,
) -> Result<CaseView, DbError> {
    let matter = tongban_catalog::get_matter(c, &rec.matter_code)?
        .ok_or_else(|| DbError::Decode(format!("case {} names a missing matter", rec.case_no)))?;
    let events = store::events(c, rec.id)?;
    let mats = store::materials(c, rec.id)?;
    match viewer_staff {
        None => Ok(view::full(
            rec,
            &matter,
            events,
            mats,
            Viewer::Applicant,
            env,
        )),
        Some((s, unmasked)) => {
            let applicant = identity::get_citizen(c, rec.applicant_id)?
                .ok_or_else(|| DbError::Decode("case without applicant".into()))?;
            Ok(view::full(
                rec,
                &matter,
                events,
                mats,
                Viewer::Staff(s, &applicant, unmasked),
                env,
            ))
        }
    }
}

pub async fn citizen_case(ctx: &Ctx, account_id: i64, case_no: &str) -> Result<CaseView, ApiError> {
    let (cal, today) = env(ctx);
    let tz = ctx.tz;
    let no = case_no.to_owned();
    let out: Option<CaseView> = ctx
        .db
        .read(move |c| {
            let env = Env {
                cal: &cal,
                tz,
                today,
            };
            match store::get(c, &no, false)? {
                Some(rec) if rec.applicant_id == account_id => {
                    load_view(c, rec, None, &env).map(Some)
                }
                _ => Ok(None),
            }
        })
        .await?;
    out.ok_or_else(|| case_not_found(case_no))
}

pub async fn citizen_cases(
    ctx: &Ctx,
    account_id: i64,
    page: i64,
    per_page: i64,
) -> Result<(Vec<CaseSummary>, i64), ApiError> {
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
    let names = tongban_catalog::store::names(c, &codes)?;
    Ok(recs
        .iter()
        .map(|r| {
            view::summary(
                r,
                names.get(&r.matter_code).cloned().unwrap_or_default(),
                env,
            )
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
    check: &dyn Fn(&CaseRecord) -> Result<(), ApiError>,
    change: &mut dyn FnMut(&mut dyn Conn, &mut CaseRecord, Status) -> Outcome<()>,
) -> Outcome<()> {
    let Some(mut rec) = store::get(c, case_no, true)? else {
        return Ok(Err(case_not_found(case_no)));
    };
    if let Err(e) = check(&rec) {
        if e.status == axum::http::StatusCode::FORBIDDEN {
            audit::append(
                c,
                &audit_entry(who, &format!("case.{}", action.as_str()), case_no, "denied"),
            )?;
        }
        return Ok(Err(e));
    }
    let from = rec.status;
    let to = match next_status(from, rec.resume_status, action) {
        Ok(s) => s,
        Err(msg) => return Ok(Err(ApiError::conflict("illegal_transition", msg))),
    };
    if let Err(e) = change(c, &mut rec, to)? {
        return Ok(Err(e));
    }
    rec.status = to;
    let now = tongban_platform::time::now_millis();
    if to.is_final() {
        rec.concluded_at = Some(now);
    }
    if !store::update(c, &rec, now)? {
        return Ok(Err(ApiError::conflict(
            "changed_meanwhile",
            "someone else changed this case just now; reload and try again",
        )));
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
    Ok(Ok(()))
}

pub async fn supplement(
    ctx: &Ctx,
    account_id: i64,
    case_no: &str,
    form: Map<String, Value>,
    uploads: Vec<Upload>,
) -> Result<CaseView, ApiError> {
    let source = audit::current_source();
    let no = case_no.to_owned();
    let rec = ctx.db.read(move |c| store::get(c, &no, false)).await?;
    let Some(rec) = rec.filter(|r| r.applicant_id == account_id) else {
        return Err(case_not_found(case_no));
    };
    if rec.status != Status::NeedsSupplement {
        return Err(ApiError::conflict(
            "illegal_transition",
            format!("case {case_no} is {} ({}); supplements are only taken when the department asks for them", rec.status.as_str(), rec.status.label_zh()),
        ));
    }
    let matter = {
        let code = rec.matter_code.clone();
        ctx.db
            .read(move |c| tongban_catalog::get_matter(c, &code))
            .await?
            .ok_or_else(ApiError::internal)?
    };
    let files: Vec<String> = uploads.iter().map(|u| u.key.clone()).collect();
    // A value sent again unchanged is not a correction (pages send the whole form).
    let changes: Map<String, Value> = validate(&matter.fields, &form, &files, true)
        .map_err(invalid_form)?
        .into_iter()
        .filter(|(k, v)| rec.form.get(k) != Some(v))
        .collect();
    if changes.is_empty() && uploads.is_empty() {
        return Err(ApiError::unprocessable(
            "empty_supplement",
            "send the corrected form fields or the missing files",
        ));
    }
    let mats = store_uploads(ctx, &matter, uploads)?;
    let cal = ctx.calendar();
    let today = ctx.today();
    let no = case_no.to_owned();
    ctx.db
        .write(move |c| {
            let who = citizen_actor(c, account_id, &source)?;
            let label = |k: &str| {
                matter
                    .fields
                    .iter()
                    .find(|f| f.key == k)
                    .map(|f| f.label_zh.clone())
                    .or_else(|| {
                        matter
                            .materials
                            .iter()
                            .find(|m| m.key == k)
                            .map(|m| m.name.clone())
                    })
                    .unwrap_or_else(|| k.to_owned())
            };
            let keys: Vec<String> = changes
                .keys()
                .map(|k| label(k))
                .chain(mats.iter().map(|m| label(&m.key)))
                .collect();
            let note = format!("补正：{}", keys.join("、"));
            transition(
                c,
                &no,
                Action::Supplement,
                &who,
                &note,
                &|r| own_case(r, account_id),
                &mut |c, rec, to| {
                    for (k, v) in &changes {
                        rec.form.insert(k.clone(), v.clone());
                    }
                    if to == Status::Accepted {
                        if let (Some(deadline), Some(paused)) = (
                            view::parse_date(&rec.deadline),
                            view::parse_date(&rec.paused_on),
                        ) {
                            let d = rules::deadline_after_pause(&cal, deadline, paused, today);
                            rec.deadline = Some(d.format("%Y-%m-%d").to_string());
                        }
                    }
                    rec.resume_status = None;
                    rec.paused_on = None;
                    rec.supplement_note = None;
                    for m in &mats {
                        store::add_material(c, rec.id, m)?;
                    }
                    Ok(Ok(()))
                },
            )
        })
        .await??;
    citizen_case(ctx, account_id, case_no).await
}

pub async fn withdraw(
    ctx: &Ctx,
    account_id: i64,
    case_no: &str,
    note: String,
) -> Result<CaseView, ApiError> {
    let source = audit::current_source();
    check_note(&note, false)?;
    let no = case_no.to_owned();
    ctx.db
        .write(move |c| {
            let who = citizen_actor(c, account_id, &source)?;
            transition(
                c,
                &no,
                Action::Withdraw,
                &who,
                &note,
                &|r| own_case(r, account_id),
                &mut |_, _, _| Ok(Ok(())),
            )
        })
        .await??;
    citizen_case(ctx, account_id, case_no).await
}

fn check_note(note: &str, required: bool) -> Result<(), ApiError> {
    if required && note.trim().is_empty() {
        return Err(ApiError::unprocessable(
            "note_required",
            "this action needs a note that explains it to the applicant",
        ));
    }
    if note.chars().count() > 2000 {
        return Err(ApiError::unprocessable(
            "note_too_long",
            "the note is longer than 2000 characters",
        ));
    }
    Ok(())
}
