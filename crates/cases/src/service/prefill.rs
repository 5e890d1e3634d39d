//! Identity first: the fields a matter fills from the applicant's real-name identity (name,
//! ID number, phone) are filled in and locked; a value sent for one is replaced, not trusted.

use super::*;
use tongban_platform::identity::Citizen;

/// The values of `matter`'s identity fields for `who`, by field key.
pub fn prefilled(matter: &Matter, who: &Citizen) -> Map<String, Value> {
    matter
        .fields
        .iter()
        .filter_map(|f| {
            let v = match f.prefill.as_deref()? {
                "name" => &who.name,
                "id_number" => &who.id_number,
                "phone" => &who.phone,
                _ => return None,
            };
            (!v.is_empty()).then(|| (f.key.clone(), Value::String(v.clone())))
        })
        .collect()
}

/// Set `form`'s identity fields to the applicant's identity (held in memory once read).
pub(super) async fn fill(
    ctx: &Ctx,
    account_id: i64,
    matter: &Matter,
    form: &mut Map<String, Value>,
) -> Result<(), CaseError> {
    if !matter.fields.iter().any(|f| f.prefill.is_some()) {
        return Ok(());
    }
    if let Some(who) = identity::citizen_held(&ctx.db, account_id).await? {
        form.extend(prefilled(matter, &who));
    }
    Ok(())
}

/// The applicant's identity values for `matter`'s locked fields (for the apply page).
pub async fn locked_values(
    ctx: &Ctx,
    account_id: i64,
    matter: &Matter,
) -> Result<Map<String, Value>, CaseError> {
    Ok(identity::citizen_held(&ctx.db, account_id)
        .await?
        .map(|who| prefilled(matter, &who))
        .unwrap_or_default())
}
