//! The staff side of applications: the department's queue, the case file, the actions of
//! clerks, reviewers and approvers, and materials for download.

use super::*;

pub struct StaffQuery {
    pub status: Option<String>,
    pub matter_code: Option<String>,
    pub overdue: bool,
    /// The applicant's exact name (found through its blind index; names are sealed).
    pub applicant: Option<String>,
    pub page: i64,
    pub per_page: i64,
}

pub struct Queue {
    pub items: Vec<CaseSummary>,
    pub total: i64,
    pub counts: Vec<(String, i64)>,
}

pub async fn staff_queue(ctx: &Ctx, staff: &Staff, q: StaffQuery) -> Result<Queue, CaseError> {
    if let Err(e) = require_case_role(staff) {
        audit::record(
            &ctx.db,
            audit::Entry::staff(staff, "case.view", "", "denied"),
        )
        .await;
        return Err(e);
    }
    let statuses = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => OPEN_STATUSES.to_vec(),
        Some("all") => vec![],
        Some(list) => list
            .split(',')
            .map(|s| Status::parse(s.trim()).ok_or_else(|| CaseError::BadStatus(s.to_owned())))
            .collect::<Result<_, _>>()?,
    };
    let (cal, today) = env(ctx);
    let tz = ctx.tz;
    let filter = QueueFilter {
        statuses,
        matter_code: q.matter_code.filter(|m| !m.is_empty()),
        overdue_before: q.overdue.then(|| today.format("%Y-%m-%d").to_string()),
        applicants: None,
        limit: q.per_page,
        offset: (q.page - 1) * q.per_page,
    };
    let applicant = q
        .applicant
        .map(|a| a.trim().to_owned())
        .filter(|a| !a.is_empty());
    if applicant.as_ref().is_some_and(|a| a.chars().count() > 50) {
        return Err(CaseError::BadApplicant);
    }
    let dept = staff.department.code.clone();
    Ok(ctx
        .db
        .read(move |c| {
            let mut filter = filter;
            if let Some(a) = &applicant {
                filter.applicants = Some(identity::citizens_named(c, a, 100)?);
            }
            let (recs, total) = store::queue(c, &dept, &filter)?;
            let items = summaries(
                c,
                recs,
                &Env {
                    cal: &cal,
                    tz,
                    today,
                },
            )?;
            let counts = store::count_by_status(c, Some(&dept))?;
            Ok(Queue {
                items,
                total,
                counts,
            })
        })
        .await?)
}

/// Case queues and case files are for the roles that handle cases.
pub(super) fn require_case_role(staff: &Staff) -> Result<(), CaseError> {
    use identity::Role;
    if [Role::Clerk, Role::Reviewer, Role::Approver]
        .iter()
        .any(|r| staff.has(*r))
    {
        Ok(())
    } else {
        Err(CaseError::NotCaseStaff)
    }
}

pub(super) fn same_department(staff: &Staff, rec: &CaseRecord) -> Result<(), CaseError> {
    if rec.department_code == staff.department.code {
        Ok(())
    } else {
        Err(CaseError::OtherDepartment {
            case_no: rec.case_no.clone(),
            department: staff.department.name.clone(),
        })
    }
}

/// A case for its department's staff. With a `purpose`, a staff member holding `pii:read`
/// sees ID numbers and phones unmasked, and the view is audited with that purpose.
pub async fn staff_case(
    ctx: &Ctx,
    staff: &Staff,
    case_no: &str,
    purpose: Option<&str>,
) -> Result<CaseView, CaseError> {
    if let Err(e) = require_case_role(staff) {
        audit::record(
            &ctx.db,
            audit::Entry::staff(staff, "case.view", case_no, "denied"),
        )
        .await;
        return Err(e);
    }
    let purpose = purpose.map(str::trim).filter(|p| !p.is_empty());
    let unmask = purpose.is_some();
    if unmask && !staff.has(identity::Role::PiiReader) {
        audit::record(
            &ctx.db,
            audit::Entry::staff(staff, "pii.read", case_no, "denied"),
        )
        .await;
        return Err(CaseError::PiiDenied);
    }
    if purpose.is_some_and(|p| p.chars().count() > 500) {
        return Err(CaseError::PurposeTooLong);
    }
    let (cal, today) = env(ctx);
    let tz = ctx.tz;
    let no = case_no.to_owned();
    let s = staff.clone();
    let matters = tongban_catalog::matters(&ctx.db);
    let out: Result<CaseView, CaseError> = ctx
        .db
        .view(move |c| {
            let env = Env {
                cal: &cal,
                tz,
                today,
            };
            let Some(whole) = store::whole(c, &no)? else {
                return Err(case_not_found(&no));
            };
            same_department(&s, &whole.rec)?;
            Ok(load_view(c, &matters, whole, &s, unmask, &env)?)
        })
        .await;
    match (&out, purpose) {
        (Err(e), _) if e.is_denial() => {
            audit::record(
                &ctx.db,
                audit::Entry::staff(staff, "case.view", case_no, "denied"),
            )
            .await;
        }
        (Ok(_), Some(p)) => {
            audit::record(
                &ctx.db,
                audit::Entry::staff(staff, "pii.read", case_no, "ok").with_detail(p),
            )
            .await;
        }
        _ => {}
    }
    out
}

pub async fn staff_act(
    ctx: &Ctx,
    staff: &Staff,
    case_no: &str,
    action: &str,
    note: String,
    items: Vec<String>,
) -> Result<CaseView, CaseError> {
    let source = audit::current_source();
    let Some(action) = Action::parse_staff(action) else {
        return Err(CaseError::UnknownAction(action.to_owned()));
    };
    check_note(&note, action.needs_note())?;
    if !items.is_empty() && action != Action::RequestSupplement {
        return Err(CaseError::BadItems(format!(
            "items go only with request_supplement, not with {}",
            action.as_str()
        )));
    }
    let Some(role) = action.role() else {
        return Err(CaseError::UnknownAction(action.as_str().to_owned()));
    };
    let action_name = format!("case.{}", action.as_str());
    let denied = || audit::Entry::staff(staff, &action_name, case_no, "denied");
    if !staff.has(role) {
        audit::record(&ctx.db, denied()).await;
        return Err(CaseError::RoleNeeded {
            action: action.as_str(),
            label: action.label_zh(),
            role: role.as_str(),
            have: staff
                .roles
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let cal = ctx.calendar();
    let today = ctx.today();
    let s = staff.clone();
    let no = case_no.to_owned();
    let done = ctx
        .db
        .transact(move |c| {
            let who = staff_actor(&s, role.as_str(), &source);
            let note2 = note.clone();
            transition(
                c,
                &no,
                action,
                &who,
                &note,
                &|r| same_department(&s, r),
                &mut |c, rec, to| {
                    match action {
                        Action::Accept => {
                            let Some(m) = tongban_catalog::get_matter(c, &rec.matter_code)? else {
                                return Err(CaseError::Db(DbError::Decode(format!(
                                    "case {} names a missing matter",
                                    rec.case_no
                                ))));
                            };
                            rec.accepted_on = Some(today.format("%Y-%m-%d").to_string());
                            rec.deadline = Some(
                                rules::deadline_on_accept(&cal, today, m.promised_days)
                                    .format("%Y-%m-%d")
                                    .to_string(),
                            );
                        }
                        Action::Approve => issue_certificate(c, rec, today)?,
                        Action::RequestSupplement => {
                            let Some(m) = tongban_catalog::get_matter(c, &rec.matter_code)? else {
                                return Err(CaseError::Db(DbError::Decode(format!(
                                    "case {} names a missing matter",
                                    rec.case_no
                                ))));
                            };
                            rec.supplement_items = super::supplement::asked_items(&m, &items)?;
                            rec.resume_status = Some(rec.status);
                            rec.paused_on = Some(today.format("%Y-%m-%d").to_string());
                            rec.supplement_note = Some(note2.clone());
                        }
                        _ => {}
                    }
                    // The applicant hears of every step that changes what they see.
                    if action != Action::Review {
                        if let Some(phone) = identity::citizen_phone(c, rec.applicant_id)? {
                            let extra = if action == Action::RequestSupplement {
                                format!("：{note2}。请登录补正材料")
                            } else {
                                String::new()
                            };
                            let text = format!(
                                "您的办件 {} 已更新为「{}」{extra}。",
                                rec.case_no,
                                to.label_zh()
                            );
                            tongban_platform::notify::sms(
                                c,
                                &phone,
                                &format!("办件 {}", rec.case_no),
                                &text,
                                tongban_platform::time::now_millis(),
                            )?;
                        }
                    }
                    Ok(())
                },
            )
        })
        .await;
    if let Err(e) = done {
        if e.is_denial() {
            audit::record(&ctx.db, denied()).await;
        }
        return Err(e);
    }
    staff_case(ctx, staff, case_no, None).await
}

/// A stored material of a case, for staff to download: (filename, content type, bytes).
pub async fn staff_material(
    ctx: &Ctx,
    staff: &Staff,
    case_no: &str,
    key: &str,
) -> Result<(String, String, Vec<u8>), CaseError> {
    if let Err(e) = require_case_role(staff) {
        audit::record(
            &ctx.db,
            audit::Entry::staff(staff, "case.view", "", "denied"),
        )
        .await;
        return Err(e);
    }
    let no = case_no.to_owned();
    let k = key.to_owned();
    let s = staff.clone();
    let m: MaterialRecord = ctx
        .db
        .view(move |c| {
            let Some(rec) = store::get(c, &no, false)? else {
                return Err(case_not_found(&no));
            };
            same_department(&s, &rec)?;
            super::materials::newest_material(c, &rec, &k)
        })
        .await?;
    let data = super::materials::stored_file(ctx, &m)?;
    Ok((m.filename, m.content_type, data))
}

pub async fn counts_by_status(ctx: &Ctx) -> Result<Vec<(String, i64)>, CaseError> {
    Ok(ctx.db.read(|c| store::count_by_status(c, None)).await?)
}

/// On approval, the e-certificate the matter's result is, if a certificate type names the
/// matter: issued to the applicant from the application's fields, signed, in the same
/// transaction as the approval.
fn issue_certificate(
    c: &mut dyn Conn,
    rec: &CaseRecord,
    today: chrono::NaiveDate,
) -> Result<(), CaseError> {
    use tongban_exchange::certificates;
    let Some(t) = certificates::type_for_matter(c, &rec.matter_code)? else {
        return Ok(());
    };
    let Some(applicant) = identity::get_citizen(c, rec.applicant_id)? else {
        return Ok(());
    };
    let issuer =
        identity::get_department(c, &t.issuer)?.map_or_else(|| t.issuer.clone(), |d| d.name);
    let holder = certificates::Holder {
        id_number: &applicant.id_number,
        name: &applicant.name,
        case_no: &rec.case_no,
        issuer_name: &issuer,
    };
    certificates::issue(
        c,
        &t,
        &holder,
        &rec.form,
        today,
        tongban_platform::time::now_millis(),
    )?;
    Ok(())
}
