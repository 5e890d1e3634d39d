//! A citizen's submission: validated, numbered, sealed and written in one job that waits
//! for nothing, its answer built from what was written.

use super::*;
use tongban_exchange::certificates::Certificate;

/// Submit an application; `channel` is `web` or `mobile` (the device class of the sender).
pub async fn submit(
    ctx: &Ctx,
    account_id: i64,
    channel: &'static str,
    matter_code: &str,
    form: Map<String, Value>,
    uploads: Vec<Upload>,
    given: Given,
) -> Result<CaseView, CaseError> {
    let source = audit::current_source();
    let (matter, form, stand_ins) =
        checked(ctx, account_id, matter_code, form, &uploads, &given).await?;
    let (reused, pending_ids) = materials::given(ctx, account_id, &matter, given).await?;
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
    let mut mats = store_uploads(ctx, uploads)?;
    mats.extend(reused);
    for (key, cert) in &stand_ins.certificates {
        mats.push(once::as_material(ctx, key, cert)?);
    }
    for (key, a) in &stand_ins.answers {
        mats.push(once::answer_material(ctx, key, a)?);
    }
    let now = tongban_platform::time::now_millis();
    let day = tongban_platform::time::date_of(now, ctx.tz)
        .format("%Y%m%d")
        .to_string();
    let region = tongban_platform::region::current(&ctx.db)
        .await?
        .number_code(&ctx.config)
        .to_owned();
    let (code, dept) = (matter.code.clone(), matter.department.code.clone());
    let series = format!("case:{day}");
    let taken = take_numbers(ctx, account_id).await?;
    // Sealed here, not in the writer: the form, and the timeline entry's name and note.
    let sealed_form = store::seal_form(&form)?;
    let who = applicant(account_id, taken.name.unwrap_or_default(), &source);
    let sealed_entry = store::seal_entry(&who, "")?;
    // The answer is the case as the applicant will see it, built from what was just written
    // (the record, its one timeline entry, its materials): nothing is read back.
    let stored = mats.clone();
    let (rec, event) = ctx
        .db
        .write(move |c| {
            let seq = match taken.number {
                Some(n) => n,
                None => identity::next_number(c, &series)?,
            };
            let case_no = format!("{region}{day}{seq:06}");
            let (rec, event) = store::insert_submitted(
                c,
                taken.id,
                &store::NewCase {
                    case_no: &case_no,
                    matter_code: &code,
                    department_code: &dept,
                    applicant_id: account_id,
                    form: &form,
                    sealed_form: &sealed_form,
                    now,
                    channel,
                },
                &who,
                &sealed_entry,
            )?;
            audit::append(c, &audit_entry(&who, "case.submit", &case_no, "ok"))?;
            for m in &mats {
                store::add_material(c, rec.id, m)?;
            }
            store::earlier::drop_pending(c, account_id, &pending_ids)?;
            Ok((rec, event))
        })
        .await?;
    Ok(applicant_view(ctx, rec, &matter, vec![event], stored))
}

/// What stands for materials the applicant did not hand in: certificates held, and signed
/// data-sharing answers, by material key.
struct StandIns {
    certificates: Vec<(String, Certificate)>,
    answers: Vec<(String, once::Answered)>,
}

/// Everything a submission is checked for before anything is stored: the matter is
/// published, the identity fields are the applicant's, the files are of allowed types and
/// sizes, every field is valid and every required material comes (all problems at once). The
/// form as it would be stored, and what stands for materials not handed in (免提交).
async fn checked(
    ctx: &Ctx,
    account_id: i64,
    matter_code: &str,
    mut form: Map<String, Value>,
    uploads: &[Upload],
    given: &Given,
) -> Result<(Matter, Map<String, Value>, StandIns), CaseError> {
    let matter = published_matter(ctx, matter_code).await?;
    prefill::fill(ctx, account_id, &matter, &mut form).await?;
    check_uploads(ctx, &matter, uploads)?;
    let files: Vec<String> = uploads.iter().map(|u| u.key.clone()).collect();
    let certified = once::standing_in(
        once::held_for(ctx, account_id, &matter).await?,
        uploads,
        given,
    );
    let mut keys: Vec<String> = certified.iter().map(|(k, _)| k.clone()).collect();
    let answers = once::answered(ctx, account_id, &matter, uploads, given, &keys).await?;
    keys.extend(answers.iter().map(|(k, _)| k.clone()));
    let stand_ins = StandIns {
        certificates: certified,
        answers,
    };
    // Every problem at once: the form's fields, then the required materials not given.
    let missing = materials::missing(&matter, uploads, given, &keys);
    match validate(&matter.fields, &form, &files, false) {
        Ok(form) if missing.is_empty() => Ok((matter, form, stand_ins)),
        Ok(_) => Err(CaseError::MissingMaterials(missing)),
        Err(mut errors) => {
            errors.extend(missing);
            Err(CaseError::InvalidForm(errors))
        }
    }
}

/// Check a submission as [`submit`] would, storing nothing: for the review step before the
/// applicant confirms. The given files are checked to be the applicant's own.
pub async fn check_submission(
    ctx: &Ctx,
    account_id: i64,
    matter_code: &str,
    form: Map<String, Value>,
    uploads: &[Upload],
    given: &Given,
) -> Result<Map<String, Value>, CaseError> {
    let (matter, form, _) = checked(ctx, account_id, matter_code, form, uploads, given).await?;
    materials::given(ctx, account_id, &matter, given.clone()).await?;
    Ok(form)
}

/// What a submission takes before its write, so that the write waits for no answer and a
/// group of them commits in one round trip: its applicant's name (the writer neither reads
/// nor unseals nor seals it), and on PostgreSQL its serial number and its id (sequences,
/// which belong to no transaction). Both usually come from memory ([`identity::take_number`],
/// [`identity::citizen_name_held`]). On SQLite the day's series is a row of the write and the
/// id comes with the insert.
struct Taken {
    number: Option<i64>,
    name: Option<String>,
    id: Option<i64>,
}

async fn take_numbers(ctx: &Ctx, account_id: i64) -> Result<Taken, DbError> {
    let name = identity::citizen_name_held(&ctx.db, account_id).await?;
    let taken = identity::take_number(&ctx.db, store::NEXT_ID).await?;
    Ok(Taken {
        number: taken.map(|t| t.number),
        name,
        id: taken.map(|t| t.id),
    })
}
