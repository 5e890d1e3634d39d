//! Account rules shared by the JSON API and the pages: register a citizen, log in (citizen
//! or staff), log out, change a password. Errors name the field so forms can show them.

use crate::audit;
use crate::crypto;
use crate::ctx::Ctx;
use crate::db::DbError;
use crate::error::ApiError;
use crate::identity::{self, Citizen, NewCitizen, SessionKind, Staff};
use crate::ids::{IdNumber, Phone};
use crate::phone_codes::{self, Purpose};
use crate::throttle;
use axum::http::StatusCode;
use serde_json::json;

pub struct Registration {
    pub name: String,
    pub id_number: String,
    pub phone: String,
    pub password: String,
    /// The code sent to `phone` (see [`crate::phone_codes`]).
    pub sms_code: String,
}

fn field_error(field: &str, code: &str, message: String) -> serde_json::Value {
    json!({"field": field, "code": code, "message": message})
}

type Problem = (&'static str, serde_json::Value);

/// Problems with the name, ID number and phone of a registration.
fn identity_problems(
    name: &str,
    id_number: &str,
    phone: &str,
) -> (
    Vec<Problem>,
    Result<IdNumber, String>,
    Result<Phone, String>,
) {
    let mut problems = Vec::new();
    if name.is_empty() || name.chars().count() > 50 {
        problems.push((
            "invalid_name",
            field_error(
                "name",
                "invalid_name",
                "name: give your real name (1-50 characters)".into(),
            ),
        ));
    }
    let id = IdNumber::parse(id_number);
    if let Err(m) = &id {
        problems.push((
            "invalid_id_number",
            field_error("id_number", "invalid_id_number", format!("id_number: {m}")),
        ));
    }
    let phone = Phone::parse(phone);
    if let Err(m) = &phone {
        problems.push((
            "invalid_phone",
            field_error("phone", "invalid_phone", format!("phone: {m}")),
        ));
    }
    (problems, id, phone)
}

fn refuse(problems: Vec<Problem>) -> ApiError {
    let code = problems.first().map_or("invalid_body", |p| p.0);
    let message = problems
        .iter()
        .filter_map(|p| p.1["message"].as_str().map(str::to_owned))
        .collect::<Vec<_>>()
        .join("; ");
    let fields = problems.into_iter().map(|p| p.1).collect::<Vec<_>>();
    ApiError::unprocessable(code, message).with_fields(json!(fields))
}

/// Check a registration's name, ID number and phone before a code is texted, so that the
/// form's first step reports them.
pub fn check_identity(name: &str, id_number: &str, phone: &str) -> Result<(), ApiError> {
    let (problems, _, _) = identity_problems(name.trim(), id_number, phone);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(refuse(problems))
    }
}

/// Register a citizen. Every field problem is reported at once.
pub async fn register(ctx: &Ctx, r: Registration) -> Result<Citizen, ApiError> {
    let name = r.name.trim().to_owned();
    let (mut problems, id, phone) = identity_problems(&name, &r.id_number, &r.phone);
    if let Err(m) = crypto::check_password_policy(&r.password) {
        problems.push((
            "weak_password",
            field_error("password", "weak_password", format!("password: {m}")),
        ));
    }
    let sms_code = r.sms_code.trim().to_owned();
    if sms_code.len() != 6 || !sms_code.bytes().all(|b| b.is_ascii_digit()) {
        problems.push((
            "sms_code_required",
            field_error(
                "sms_code",
                "sms_code_required",
                "sms_code: enter the 6-digit code sent to your phone (ask for one first)".into(),
            ),
        ));
    }
    let (Ok(id), Ok(phone), true) = (id, phone, problems.is_empty()) else {
        return Err(refuse(problems));
    };
    crate::throttle::limit(
        &ctx.db,
        format!("rate:register:{}", crate::audit::current_source()),
        ctx.config.rate_per_hour,
        3_600_000,
        "registrations",
    )
    .await?;
    let hash = hash_off_thread(r.password).await?;
    let (idn, ph) = (id.as_str().to_owned(), phone.as_str().to_owned());
    let code_id = phone_codes::check_now(&ctx.db, &ph, Purpose::Register, &sms_code).await?;
    let now = crate::time::now_millis();
    ctx.db
        .transact(move |c| {
            // The code is spent with the account, in one transaction.
            if !phone_codes::spend(c, code_id, now)? {
                return Err(phone_codes::Refused::NoCode.into_error());
            }
            identity::insert_citizen(
                c,
                &NewCitizen {
                    name: &name,
                    id_number: &idn,
                    phone: &ph,
                    password_hash: &hash,
                    phone_verified_at: Some(now),
                },
            )
            .map_err(|e| match e {
                // The same answer whichever identifier is taken; only someone holding the
                // phone gets this far (a code was texted to it).
                DbError::Unique(_) => ApiError::conflict(
                    "already_registered",
                    "these details cannot register a new account; if you have one, log in",
                ),
                e => e.into(),
            })
        })
        .await
}

async fn hash_off_thread(p: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || crypto::hash_password(&p))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|e| {
            tracing::error!(error = %e, "password hashing failed");
            ApiError::internal()
        })
}

async fn verify_off_thread(p: String, hash: String) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || crypto::verify_password(&p, &hash))
        .await
        .map_err(|_| ApiError::internal())
}

/// A hash to verify against when the account does not exist, so both cases take as long.
fn dummy_hash() -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| crypto::hash_password("no-such-account-0").unwrap_or_default())
        .clone()
}

fn bad_credentials() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "bad_credentials",
        "the account or password is wrong",
    )
}

/// Log a citizen in by ID number or phone (one of them, as typed); returns the session token.
/// The audit entry of a login attempt; `who` identifies the account tried.
fn login_entry(kind: &str, who: &str) -> audit::Entry {
    audit::Entry {
        actor_kind: kind.into(),
        actor: who.into(),
        action: "login".into(),
        result: "ok".into(),
        source: audit::current_source(),
        ..audit::Entry::default()
    }
}

/// Refuse the attempt while the account is locked or the address is paused.
async fn check_throttle(
    ctx: &Ctx,
    keys: &(String, String),
    entry: &audit::Entry,
) -> Result<(), ApiError> {
    let (ak, adk) = keys.clone();
    let limits = ctx.config.login_limits();
    let now = crate::time::now_millis();
    match ctx
        .db
        .write(move |c| throttle::admit(c, &ak, &adk, &limits, now))
        .await?
    {
        Some(wait) => {
            audit::record(
                &ctx.db,
                audit::Entry {
                    result: "throttled".into(),
                    ..entry.clone()
                },
            )
            .await;
            Err(too_many(wait))
        }
        None => Ok(()),
    }
}

fn too_many(wait_ms: i64) -> ApiError {
    let minutes = (wait_ms + 59_999) / 60_000;
    ApiError::too_many(
        "too_many_attempts",
        format!("too many failed logins; try again in {minutes} minute(s)"),
        wait_ms,
    )
}

/// Count the failure (and audit it); the answer is 429 if it has just locked the account.
async fn failed(ctx: &Ctx, keys: (String, String), entry: audit::Entry) -> ApiError {
    let limits = ctx.config.login_limits();
    let now = crate::time::now_millis();
    let (ak, adk) = keys;
    let e = audit::Entry {
        result: "failed".into(),
        ..entry
    };
    let res = ctx
        .db
        .write(move |c| {
            let locked = throttle::record_failure(c, &ak, &adk, &limits, now)?;
            audit::append(c, &e)?;
            Ok(locked)
        })
        .await;
    match res {
        Ok(Some(lock)) => too_many(lock),
        Ok(None) => bad_credentials(),
        Err(e) => e.into(),
    }
}

/// Log a citizen in by ID number or phone (one of them, as typed) from `source` (the peer
/// address); returns the session token.
pub async fn login_citizen(
    ctx: &Ctx,
    account: &str,
    password: String,
    source: &str,
) -> Result<String, ApiError> {
    let account = account.trim();
    let (idn, ph) = if let Ok(p) = Phone::parse(account) {
        (None, Some(p.as_str().to_owned()))
    } else if let Ok(i) = IdNumber::parse(account) {
        (Some(i.as_str().to_owned()), None)
    } else {
        return Err(ApiError::unprocessable(
            "invalid_account",
            "give the ID number or mobile number you registered with",
        ));
    };
    let typed = idn
        .as_deref()
        .or(ph.as_deref())
        .unwrap_or(account)
        .to_owned();
    // The account first, so that its one counter is used whichever identifier was typed.
    let found = ctx
        .db
        .read(move |c| identity::citizen_credentials(c, idn.as_deref(), ph.as_deref()))
        .await?;
    let keys = throttle::keys("citizen", found.as_ref().map(|f| f.0), &typed, source);
    // What was typed is personal data: the audit keeps only the throttle key until it is known.
    let entry = login_entry("citizen", &keys.0);
    check_throttle(ctx, &keys, &entry).await?;
    let (id, hash) = found.unwrap_or_else(|| (-1, dummy_hash()));
    if !verify_off_thread(password, hash).await? || id < 0 {
        return Err(failed(ctx, keys, entry).await);
    }
    let minutes = ctx.config.citizen_session_minutes;
    let ak = keys.0;
    let e = audit::Entry {
        actor: id.to_string(),
        role: "applicant".into(),
        ..entry
    };
    Ok(ctx
        .db
        .write(move |c| {
            throttle::record_success(c, &ak)?;
            audit::append(c, &e)?;
            identity::create_session(c, SessionKind::Citizen, id, minutes)
        })
        .await?)
}

/// Log a staff member in with password and, where enrolled (always for admin roles), a TOTP
/// code. Without a needed code the answer is 401 `totp_required`.
pub async fn login_staff(
    ctx: &Ctx,
    username: &str,
    password: String,
    totp: Option<&str>,
    source: &str,
) -> Result<(String, Staff), ApiError> {
    let user = username.trim().to_owned();
    let u2 = user.clone();
    let found = ctx
        .db
        .read(move |c| identity::staff_credentials(c, &u2))
        .await?;
    let keys = throttle::keys("staff", found.as_ref().map(|f| f.staff.id), &user, source);
    let entry = login_entry("staff", &user);
    check_throttle(ctx, &keys, &entry).await?;
    let hash = found
        .as_ref()
        .map_or_else(dummy_hash, |f| f.password_hash.clone());
    let ok = verify_off_thread(password, hash).await?;
    let Some(cred) = found.filter(|_| ok) else {
        return Err(failed(ctx, keys, entry).await);
    };
    let staff = cred.staff;
    let step = match (&cred.totp_secret, totp.map(str::trim).filter(|t| !t.is_empty())) {
        (None, _) if staff.has(identity::Role::Admin) => {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "totp_not_enrolled",
                "administrator accounts need a second factor; ask the operator to re-create the account with --totp",
            ))
        }
        (None, _) => None,
        (Some(_), None) => {
            return Err(ApiError::new(StatusCode::UNAUTHORIZED, "totp_required", "enter the 6-digit code from your authenticator app"))
        }
        (Some(secret), Some(code)) => match crate::totp::verify(secret, code, crate::time::now_millis() / 1000) {
            Some(step) if step > cred.totp_last_step => Some(step),
            _ => return Err(failed(ctx, keys, audit::Entry { detail: "totp".into(), ..entry }).await),
        },
    };
    let minutes = ctx.config.staff_session_minutes;
    let id = staff.id;
    let ak = keys.0;
    let e = audit::Entry::staff(&staff, "login", "", "ok");
    let token = ctx
        .db
        .write(move |c| {
            if let Some(step) = step {
                if !identity::use_totp_step(c, id, step)? {
                    return Ok(None);
                }
            }
            throttle::record_success(c, &ak)?;
            audit::append(c, &e)?;
            identity::create_session(c, SessionKind::Staff, id, minutes).map(Some)
        })
        .await?;
    match token {
        Some(t) => Ok((t, staff)),
        // The same code was just used by another login: a replay.
        None => Err(bad_credentials()),
    }
}

pub async fn logout(ctx: &Ctx, token: String) -> Result<(), ApiError> {
    let source = audit::current_source();
    ctx.db
        .write(move |c| {
            if let Some((kind, subject)) = identity::delete_session(c, &token)? {
                let e = audit::Entry {
                    actor_kind: kind,
                    actor: subject.to_string(),
                    action: "logout".into(),
                    result: "ok".into(),
                    source,
                    ..audit::Entry::default()
                };
                audit::append(c, &e)?;
            }
            Ok(())
        })
        .await?;
    Ok(())
}

/// Change a citizen's password; every other session of the account ends.
/// Change a citizen's password; every other session of the account ends.
pub async fn change_password(
    ctx: &Ctx,
    account_id: i64,
    keep_token: String,
    old: String,
    new: String,
) -> Result<(), ApiError> {
    let e = audit::Entry::citizen(account_id, "password.change", "", "ok");
    change_any_password(
        ctx,
        SessionKind::Citizen,
        account_id,
        e,
        keep_token,
        old,
        new,
    )
    .await
}

/// Change a staff member's password; every other session of theirs ends.
/// A staff member sets (or, with an empty value, clears) the address their notices go to.
pub async fn set_own_email(
    ctx: &Ctx,
    staff: &Staff,
    email: Option<String>,
) -> Result<(), ApiError> {
    let email = email.map(|e| e.trim().to_owned()).filter(|e| !e.is_empty());
    if let Some(e) = &email {
        if e.chars().count() > 254 || !crate::notify::valid_email(e) {
            return Err(ApiError::unprocessable(
                "invalid_email",
                format!("{e:?} is not an e-mail address; write it like name@example.gov.cn, or leave it empty"),
            )
            .with_fields(json!([field_error("email", "invalid_email", "not an e-mail address".into())])));
        }
    }
    let (id, entry) = (
        staff.id,
        audit::Entry::staff(
            staff,
            "staff.email",
            &staff.username,
            if email.is_some() { "set" } else { "cleared" },
        ),
    );
    ctx.db
        .write(move |c| {
            identity::set_staff_email(c, id, email.as_deref())?;
            audit::append(c, &entry)?;
            Ok(())
        })
        .await?;
    Ok(())
}

pub async fn change_staff_password(
    ctx: &Ctx,
    staff: &Staff,
    keep_token: String,
    old: String,
    new: String,
) -> Result<(), ApiError> {
    let e = audit::Entry::staff(staff, "password.change", "", "ok");
    change_any_password(ctx, SessionKind::Staff, staff.id, e, keep_token, old, new).await
}

async fn change_any_password(
    ctx: &Ctx,
    kind: SessionKind,
    account_id: i64,
    e: audit::Entry,
    keep_token: String,
    old: String,
    new: String,
) -> Result<(), ApiError> {
    if let Err(m) = crypto::check_password_policy(&new) {
        return Err(
            ApiError::unprocessable("weak_password", format!("new password: {m}"))
                .with_fields(json!([field_error("new_password", "weak_password", m)])),
        );
    }
    check_password(ctx, kind, account_id, old, "old_password").await?;
    let new_hash = hash_off_thread(new).await?;
    ctx.db
        .write(move |c| {
            identity::set_password(c, kind, account_id, &new_hash, &keep_token)?;
            audit::append(c, &e).map(|_| ())
        })
        .await?;
    Ok(())
}

/// A citizen's current password, asked again before a change to the account (field `password`).
pub async fn check_own_password(
    ctx: &Ctx,
    account_id: i64,
    password: String,
) -> Result<(), ApiError> {
    check_password(ctx, SessionKind::Citizen, account_id, password, "password").await
}

async fn check_password(
    ctx: &Ctx,
    kind: SessionKind,
    account_id: i64,
    password: String,
    field: &str,
) -> Result<(), ApiError> {
    let hash = ctx
        .db
        .read(move |c| identity::password_hash(c, kind, account_id))
        .await?
        .ok_or_else(|| ApiError::unauthorized("this account no longer exists"))?;
    if verify_off_thread(password, hash).await? {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::UNAUTHORIZED,
        "bad_credentials",
        "the current password is wrong",
    )
    .with_fields(json!([field_error(
        field,
        "bad_credentials",
        "the current password is wrong".into()
    )])))
}
