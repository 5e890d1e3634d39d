//! The rules of managing data sharing, for the department administrator: registering
//! services, asking for access, granting, refusing and revoking, loading base registries.
//! Each step is audited, each refusal too.

use crate::grants::{self, AccessRequest, Grant};
use crate::model::Service;
use crate::{log, registry, store, ExchangeError};
use serde_json::Value;
use tongban_platform::audit;
use tongban_platform::identity::{Role, Staff};
use tongban_platform::Ctx;

/// The administrator of the staff member's department, or a refusal written to the audit log.
pub async fn admin(
    ctx: &Ctx,
    staff: &Staff,
    action: &str,
    object: &str,
) -> Result<(), ExchangeError> {
    if staff.has(Role::Admin) {
        return Ok(());
    }
    audit::record(
        &ctx.db,
        audit::Entry::staff(staff, action, object, "denied"),
    )
    .await;
    Err(ExchangeError::Forbidden(
        "only a department administrator manages its department's data sharing".into(),
    ))
}

/// Register or change service `code` of the administrator's department from its JSON
/// definition; the service and whether it is new.
pub async fn save_service(
    ctx: &Ctx,
    staff: &Staff,
    code: &str,
    v: Value,
) -> Result<(Service, bool), ExchangeError> {
    admin(ctx, staff, "exchange.service", code).await?;
    let mut s: Service = serde_json::from_value(v).map_err(|e| {
        ExchangeError::Invalid(format!(
            "a service gives version, name, request_schema, response_schema, sharing and backend: {e}"
        ))
    })?;
    s.code = code.to_owned();
    s.provider = staff.department.code.clone();
    s.check()?;
    let now = tongban_platform::time::now_millis();
    let entry = audit::Entry::staff(
        staff,
        "exchange.service",
        &format!("{}/{}", s.provider, s.code),
        "ok",
    )
    .with_detail(format!("version {}, {}", s.version, s.sharing));
    let saved = s.clone();
    let created = ctx
        .db
        .write(move |c| {
            let created = store::save(c, &saved, now)?;
            audit::append(c, &entry)?;
            Ok(created)
        })
        .await?;
    Ok((s, created))
}

/// A service that may be granted: registered, and not 不予共享.
fn shareable(s: Option<Service>, what: &str) -> Result<Service, ExchangeError> {
    let s = s.ok_or_else(|| {
        ExchangeError::ServiceNotFound(format!("{what} is not a registered service"))
    })?;
    if s.sharing == "none" {
        return Err(ExchangeError::NotShareable(format!(
            "{what} is 不予共享 (not shared): it is never granted"
        )));
    }
    Ok(s)
}

/// Ask, as the administrator's department, for access to a service for a purpose; the
/// request's id.
pub async fn ask(
    ctx: &Ctx,
    staff: &Staff,
    provider: &str,
    service: &str,
    purpose: &str,
    reason: &str,
) -> Result<i64, ExchangeError> {
    let object = format!("{provider}/{service}");
    admin(ctx, staff, "exchange.ask", &object).await?;
    let purpose = grants::check_purpose(purpose)?;
    let (p, c2) = (provider.to_owned(), service.to_owned());
    let s = shareable(ctx.db.read(move |c| store::get(c, &p, &c2)).await?, &object)?;
    let now = tongban_platform::time::now_millis();
    let (consumer, by) = (staff.department.code.clone(), staff.username.clone());
    let reason = reason.trim().chars().take(500).collect::<String>();
    let entry =
        audit::Entry::staff(staff, "exchange.ask", &object, "ok").with_detail(purpose.clone());
    Ok(ctx
        .db
        .write(move |c| {
            let id = grants::request(
                c,
                &s.provider,
                &s.code,
                &consumer,
                &purpose,
                &reason,
                &by,
                now,
            )?;
            audit::append(c, &entry)?;
            Ok(id)
        })
        .await?)
}

/// The end of a grant: the last moment of day `YYYY-MM-DD` in the deployment's time zone.
pub fn valid_until(ctx: &Ctx, day: &str, now: i64) -> Result<i64, ExchangeError> {
    let bad = || {
        ExchangeError::Invalid(format!(
            "valid_until must be a day (YYYY-MM-DD) from today on, got {day:?}"
        ))
    };
    let d = chrono::NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d").map_err(|_| bad())?;
    let next = d.succ_opt().ok_or_else(bad)?.format("%Y-%m-%d").to_string();
    let end = tongban_platform::time::day_start(&next, ctx.tz).ok_or_else(bad)?;
    if end <= now {
        return Err(bad());
    }
    Ok(end)
}

/// Grant (until `valid_until`) or refuse request `id` to the administrator's department; the
/// grant's id when granted.
pub async fn decide(
    ctx: &Ctx,
    staff: &Staff,
    id: i64,
    grant: bool,
    until: &str,
    note: &str,
) -> Result<Option<i64>, ExchangeError> {
    admin(ctx, staff, "exchange.decide", &id.to_string()).await?;
    let dept = staff.department.code.clone();
    let r: AccessRequest = ctx
        .db
        .read(move |c| grants::get_request(c, id))
        .await?
        .filter(|r| r.provider == dept)
        .ok_or_else(|| {
            ExchangeError::NotFound(format!("no access request {id} to your department"))
        })?;
    if r.state != "pending" {
        return Err(ExchangeError::AlreadyDecided(format!(
            "request {id} was already {}",
            r.state
        )));
    }
    let now = tongban_platform::time::now_millis();
    let until = if grant {
        Some(valid_until(ctx, until, now)?)
    } else {
        None
    };
    let by = staff.username.clone();
    let note = note.trim().chars().take(500).collect::<String>();
    let action = if grant {
        "exchange.grant"
    } else {
        "exchange.refuse"
    };
    let entry = audit::Entry::staff(
        staff,
        action,
        &format!("{}/{} → {}", r.provider, r.service, r.consumer),
        "ok",
    )
    .with_detail(r.purpose.clone());
    ctx.db
        .transact(move |c| {
            if !grants::decide(c, id, grant, &by, &note, now)? {
                return Err(ExchangeError::AlreadyDecided(format!(
                    "request {id} was decided meanwhile"
                )));
            }
            let g = match until {
                Some(u) => Some(grants::grant(
                    c,
                    &r.provider,
                    &r.service,
                    &r.consumer,
                    &r.purpose,
                    u,
                    &by,
                    now,
                )?),
                None => None,
            };
            audit::append(c, &entry)?;
            Ok(g)
        })
        .await
}

/// Grant a service of the administrator's department to `consumer` for `purpose` until a
/// day; the grant's id and its end.
pub async fn give(
    ctx: &Ctx,
    staff: &Staff,
    service: &str,
    consumer: &str,
    purpose: &str,
    until: &str,
) -> Result<(i64, i64), ExchangeError> {
    let provider = staff.department.code.clone();
    let object = format!("{provider}/{service} → {consumer}");
    admin(ctx, staff, "exchange.grant", &object).await?;
    let purpose = grants::check_purpose(purpose)?;
    let now = tongban_platform::time::now_millis();
    let until = valid_until(ctx, until, now)?;
    let (p2, s2, c2) = (provider.clone(), service.to_owned(), consumer.to_owned());
    let (s, known) = ctx
        .db
        .read(move |c| {
            Ok((
                store::get(c, &p2, &s2)?,
                match crate::peers::split(&c2) {
                    // A department of a peer deployment: the peer must be known here.
                    Some((peer, _)) => crate::peers::get(c, peer)?.is_some(),
                    None => tongban_platform::identity::get_department(c, &c2)?.is_some(),
                },
            ))
        })
        .await?;
    let s = shareable(s, &format!("{provider}/{service}"))?;
    if !known {
        return Err(ExchangeError::Invalid(format!(
            "consumer {consumer} is not a department here, nor {{peer}}/{{department}} of a peer added with `tongban exchange peer add`"
        )));
    }
    let (by, consumer) = (staff.username.clone(), consumer.to_owned());
    let entry =
        audit::Entry::staff(staff, "exchange.grant", &object, "ok").with_detail(purpose.clone());
    let id = ctx
        .db
        .write(move |c| {
            let id = grants::grant(
                c,
                &s.provider,
                &s.code,
                &consumer,
                &purpose,
                until,
                &by,
                now,
            )?;
            audit::append(c, &entry)?;
            Ok(id)
        })
        .await?;
    Ok((id, until))
}

/// Revoke grant `id` of the administrator's department: effective on the next call on every
/// node (each call reads the grants).
pub async fn revoke(ctx: &Ctx, staff: &Staff, id: i64) -> Result<(), ExchangeError> {
    admin(ctx, staff, "exchange.revoke", &id.to_string()).await?;
    let dept = staff.department.code.clone();
    let entry = audit::Entry::staff(staff, "exchange.revoke", &id.to_string(), "ok");
    let now = tongban_platform::time::now_millis();
    ctx.db
        .transact(move |c| {
            if grants::get_grant(c, id)?
                .filter(|g: &Grant| g.provider == dept)
                .is_none()
            {
                return Err(ExchangeError::NotFound(format!(
                    "your department gave no grant {id}"
                )));
            }
            if !grants::revoke(c, id, now)? {
                return Err(ExchangeError::AlreadyRevoked(format!(
                    "grant {id} was already revoked"
                )));
            }
            audit::append(c, &entry)?;
            Ok(())
        })
        .await
}

/// Whose exchanges a staff member may read: an administrator its department's, an auditor
/// all (`None`).
pub async fn log_scope(ctx: &Ctx, staff: &Staff) -> Result<Option<String>, ExchangeError> {
    if staff.has(Role::Auditor) {
        return Ok(None);
    }
    admin(ctx, staff, "exchange.log", "").await?;
    Ok(Some(staff.department.code.clone()))
}

/// Walk the message log's chain (auditors).
pub async fn verify(ctx: &Ctx, staff: &Staff) -> Result<log::Chain, ExchangeError> {
    if !staff.has(Role::Auditor) {
        audit::record(
            &ctx.db,
            audit::Entry::staff(staff, "exchange.verify", "", "denied"),
        )
        .await;
        return Err(ExchangeError::Forbidden(
            "verifying the message log is for auditors".into(),
        ));
    }
    Ok(ctx.db.read(log::verify).await?)
}

/// Load registry `name` (a CSV or XLSX file) as the administrator's department's, whole;
/// how many records it holds.
pub async fn load_registry(
    ctx: &Ctx,
    staff: &Staff,
    name: &str,
    key_field: &str,
    filename: &str,
    bytes: &[u8],
) -> Result<usize, ExchangeError> {
    admin(ctx, staff, "exchange.registry", name).await?;
    let entry = audit::Entry::staff(staff, "exchange.registry", name, "ok");
    store_registry(
        &ctx.db,
        &staff.department.code,
        name,
        key_field,
        filename,
        bytes,
        entry,
    )
    .await
}

/// Check, seal and store registry `name` of department `provider` whole, auditing `entry`
/// (its detail the count) in the same transaction: for the staff API and `tongban exchange
/// load`. How many records it holds.
pub async fn store_registry(
    db: &tongban_platform::db::Db,
    provider: &str,
    name: &str,
    key_field: &str,
    filename: &str,
    bytes: &[u8],
    entry: audit::Entry,
) -> Result<usize, ExchangeError> {
    if key_field.is_empty() {
        return Err(ExchangeError::Invalid(
            "give key_field: the column records are found by (for example id_number)".into(),
        ));
    }
    let table = registry::read_table(filename, bytes)?;
    let n = registry::check(&table, key_field)?;
    let sealed = registry::seal(name, &table, key_field)?;
    let (name, key_field, provider) = (name.to_owned(), key_field.to_owned(), provider.to_owned());
    let entry = entry.with_detail(format!("{n} records"));
    let now = tongban_platform::time::now_millis();
    db.transact(move |c| {
        registry::replace(c, &name, &provider, &key_field, &table.header, &sealed, now)?;
        audit::append(c, &entry)?;
        Ok::<_, ExchangeError>(())
    })
    .await?;
    Ok(n)
}

/// Register or change certificate type `code`, issued by the administrator's department.
pub async fn save_certificate_type(
    ctx: &Ctx,
    staff: &Staff,
    code: &str,
    v: Value,
) -> Result<crate::certificates::CertType, ExchangeError> {
    admin(ctx, staff, "certificate.type", code).await?;
    let mut t: crate::certificates::CertType = serde_json::from_value(v).map_err(|e| {
        ExchangeError::Invalid(format!(
            "a certificate type gives name, fields ([{{key, label}}]), and optionally matter_code and validity_days: {e}"
        ))
    })?;
    t.code = code.to_owned();
    t.issuer = staff.department.code.clone();
    t.check()?;
    let (t2, now) = (t.clone(), tongban_platform::time::now_millis());
    let entry = audit::Entry::staff(staff, "certificate.type", code, "ok");
    ctx.db
        .transact(move |c| {
            if let Some(old) = crate::certificates::get_type(c, &t2.code)? {
                if old.issuer != t2.issuer {
                    return Err(ExchangeError::Forbidden(format!(
                        "certificate type {} is issued by {}",
                        t2.code, old.issuer
                    )));
                }
            }
            crate::certificates::save_type(c, &t2, now)?;
            audit::append(c, &entry)?;
            Ok(())
        })
        .await?;
    Ok(t)
}

/// Revoke certificate `number`, issued by the administrator's department, for `reason`:
/// every node's next check of it says `revoked` (checks read the database).
pub async fn revoke_certificate(
    ctx: &Ctx,
    staff: &Staff,
    number: &str,
    reason: &str,
) -> Result<(), ExchangeError> {
    admin(ctx, staff, "certificate.revoke", number).await?;
    let reason = reason.trim().chars().take(500).collect::<String>();
    if reason.chars().count() < 2 {
        return Err(ExchangeError::Invalid(
            "give the reason for the revocation (2-500 characters)".into(),
        ));
    }
    let (n, issuer, now) = (
        number.to_owned(),
        staff.department.code.clone(),
        tongban_platform::time::now_millis(),
    );
    let entry =
        audit::Entry::staff(staff, "certificate.revoke", number, "ok").with_detail(reason.clone());
    ctx.db
        .transact(move |c| {
            if !crate::certificates::revoke(c, &n, &issuer, &reason, now)? {
                return Err(ExchangeError::NotFound(format!(
                    "your department has no certificate {n} in force"
                )));
            }
            audit::append(c, &entry)?;
            Ok(())
        })
        .await
}
