//! A supplement (补正): the applicant answers the department's request. A request that names
//! its items (一次性告知: these fields, these materials) is answered with exactly those: each
//! named field given, each named material uploaded or reused, nothing else changed.

use super::*;
use tongban_catalog::form::FieldError;

/// The items a supplement request may name: fields and materials of the matter (fields
/// filled from the applicant's identity excepted), each once, in the order given.
pub(super) fn asked_items(m: &Matter, items: &[String]) -> Result<Vec<String>, CaseError> {
    let mut out: Vec<String> = Vec::new();
    for key in items {
        let key = key.trim();
        if key.is_empty() || out.iter().any(|k| k == key) {
            continue;
        }
        let field = m.fields.iter().find(|f| f.key == key);
        if field.is_some_and(|f| f.prefill.is_some()) {
            return Err(CaseError::BadItems(format!(
                "item {key:?} is filled from the applicant's identity and cannot be asked for"
            )));
        }
        if field.is_none() && !m.materials.iter().any(|x| x.key == key) {
            let allowed: Vec<&str> = m
                .fields
                .iter()
                .filter(|f| f.prefill.is_none())
                .map(|f| f.key.as_str())
                .chain(m.materials.iter().map(|x| x.key.as_str()))
                .collect();
            return Err(CaseError::BadItems(format!(
                "item {key:?} is not a field or material of matter {}; use some of: {}",
                m.code,
                allowed.join(", ")
            )));
        }
        out.push(key.to_owned());
    }
    Ok(out)
}

/// An answer to a request that named items: every named field given (not blank), every
/// named material given, and nothing else changed; every problem at once. Fields sent
/// unchanged that were not asked for (pages send what they show) are dropped.
fn check_asked(
    matter: &Matter,
    rec: &CaseRecord,
    form: &mut Map<String, Value>,
    uploads: &[Upload],
    given: &Given,
) -> Result<(), CaseError> {
    let asked = &rec.supplement_items;
    let mut errors = Vec::new();
    let not_asked = |key: &str| FieldError {
        field: key.to_owned(),
        code: "not_requested",
        message: format!("{key} was not asked for; send only: {}", asked.join(", ")),
        limit: None,
    };
    let mut extra = Vec::new();
    for (k, v) in form.iter() {
        if !asked.contains(k) {
            if rec.form.get(k) == Some(v) || (v.as_str() == Some("") && !rec.form.contains_key(k)) {
                extra.push(k.clone());
            } else {
                errors.push(not_asked(k));
            }
        }
    }
    for k in extra {
        form.remove(&k);
    }
    for key in uploads
        .iter()
        .map(|u| &u.key)
        .chain(given.reuse.keys())
        .chain(given.pending.keys())
    {
        if !asked.contains(key) && !errors.iter().any(|e| &e.field == key) {
            errors.push(not_asked(key));
        }
    }
    for f in matter.fields.iter().filter(|f| asked.contains(&f.key)) {
        let blank = match form.get(&f.key) {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.trim().is_empty(),
            Some(_) => false,
        };
        if blank && f.kind != "file" {
            errors.push(FieldError {
                field: f.key.clone(),
                code: "required",
                message: format!("{} was asked for", f.label_zh),
                limit: None,
            });
        }
    }
    let missing: Vec<FieldError> = matter
        .materials
        .iter()
        .filter(|x| asked.contains(&x.key))
        .filter(|x| {
            !uploads.iter().any(|u| u.key == x.key)
                && !given.reuse.contains_key(&x.key)
                && !given.pending.contains_key(&x.key)
        })
        .map(|x| FieldError {
            field: x.key.clone(),
            code: "missing_material",
            message: format!("{} ({})", x.name, x.key),
            limit: None,
        })
        .collect();
    match (errors.is_empty(), missing.is_empty()) {
        (true, true) => Ok(()),
        (true, false) => Err(CaseError::MissingMaterials(missing)),
        _ => {
            errors.extend(missing);
            Err(CaseError::InvalidForm(errors))
        }
    }
}

pub async fn supplement(
    ctx: &Ctx,
    account_id: i64,
    case_no: &str,
    form: Map<String, Value>,
    uploads: Vec<Upload>,
    given: Given,
) -> Result<CaseView, CaseError> {
    let source = audit::current_source();
    let no = case_no.to_owned();
    let rec = ctx
        .db
        .read_single(move |c| store::get(c, &no, false))
        .await?;
    let Some(rec) = rec.filter(|r| r.applicant_id == account_id) else {
        return Err(case_not_found(case_no));
    };
    if rec.status != Status::NeedsSupplement {
        return Err(CaseError::IllegalTransition(format!(
            "case {case_no} is {} ({}); supplements are only taken when the department asks for them",
            rec.status.as_str(),
            rec.status.label_zh()
        )));
    }
    let matter = {
        tongban_catalog::matters(&ctx.db)
            .fetch(&rec.matter_code)
            .await?
            .ok_or_else(|| {
                CaseError::Db(DbError::Decode(format!(
                    "case {case_no} names a missing matter"
                )))
            })?
    };
    let files: Vec<String> = uploads.iter().map(|u| u.key.clone()).collect();
    // Identity fields are locked: what is sent for them is not a correction.
    let mut form = form;
    form.retain(|k, _| {
        !matter
            .fields
            .iter()
            .any(|f| &f.key == k && f.prefill.is_some())
    });
    // A request that named its items takes those and only those.
    if !rec.supplement_items.is_empty() {
        check_asked(&matter, &rec, &mut form, &uploads, &given)?;
    }
    // A value sent again unchanged is not a correction (pages send the whole form).
    let changes: Map<String, Value> = validate(&matter.fields, &form, &files, true)
        .map_err(CaseError::InvalidForm)?
        .into_iter()
        .filter(|(k, v)| rec.form.get(k) != Some(v))
        .collect();
    if changes.is_empty() && uploads.is_empty() && given.is_empty() {
        return Err(CaseError::EmptySupplement);
    }
    check_uploads(ctx, &matter, &uploads)?;
    let (reused, pending_ids) = materials::given(ctx, account_id, &matter, given).await?;
    let mut mats = store_uploads(ctx, uploads)?;
    mats.extend(reused);
    let cal = ctx.calendar();
    let today = ctx.today();
    let no = case_no.to_owned();
    ctx.db
        .transact(move |c| {
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
                    rec.supplement_items = Vec::new();
                    for m in &mats {
                        store::add_material(c, rec.id, m)?;
                    }
                    store::earlier::drop_pending(c, account_id, &pending_ids)?;
                    Ok(())
                },
            )
        })
        .await?;
    citizen_case(ctx, account_id, case_no).await
}
