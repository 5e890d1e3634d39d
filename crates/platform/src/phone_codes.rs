//! Verified phones: a 6-digit code sent by text message proves that the person registering,
//! or changing their number, holds the phone. A code lives 5 minutes and takes 5 tries; a
//! newer code for the same phone and purpose retires the older. Codes are sent through the
//! SMS gateway's outbox as secret notes (the log gateway withholds their text), kept only as
//! an SM3-HMAC, and never written to the audit log or an error.

use crate::db::{Conn, DbError};
use crate::error::ApiError;
use crate::params;
use rand::Rng;
use serde_json::json;

/// How long a code is good for.
pub const LIFETIME_MS: i64 = 5 * 60_000;
/// Wrong codes allowed before the code is dead.
pub const TRIES: i64 = 5;
/// The least time between two codes to one phone.
pub const RESEND_MS: i64 = 60_000;

/// What a code proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Register,
    ChangePhone,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Register => "register",
            Purpose::ChangePhone => "change_phone",
        }
    }
    fn text(self, code: &str) -> String {
        match self {
            Purpose::Register => format!(
                "【通办】您的注册验证码为 {code}，5分钟内有效。请勿告诉他人。Your Tongban registration code is {code}."
            ),
            Purpose::ChangePhone => format!(
                "【通办】您正在更换绑定手机，验证码为 {code}，5分钟内有效。请勿告诉他人。Your Tongban code to change your phone is {code}."
            ),
        }
    }
}

fn mac(purpose: Purpose, phone: &str, code: &str) -> Result<String, DbError> {
    let keys = crate::vault::keys().map_err(DbError::from)?;
    Ok(keys.blind(
        "phone_code",
        &format!("{}:{phone}:{code}", purpose.as_str()),
    ))
}

fn phone_bidx(phone: &str) -> Result<String, DbError> {
    let keys = crate::vault::keys().map_err(DbError::from)?;
    Ok(keys.blind("phone", phone))
}

/// Make a new code for `phone` (already checked), retire the older ones and queue the text
/// message, in the caller's transaction. Returns the code (shown only by the demo gateway).
pub fn issue(c: &mut dyn Conn, phone: &str, purpose: Purpose, now: i64) -> Result<String, DbError> {
    let code = format!("{:06}", rand::rng().random_range(0..1_000_000));
    let bidx = phone_bidx(phone)?;
    c.execute(
        "UPDATE phone_codes SET used_at = $1 WHERE phone_bidx = $2 AND purpose = $3 AND used_at IS NULL",
        params![now, bidx.clone(), purpose.as_str()],
    )?;
    c.execute(
        "INSERT INTO phone_codes (phone_bidx, purpose, code_mac, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        params![bidx, purpose.as_str(), mac(purpose, phone, &code)?, now, now + LIFETIME_MS],
    )?;
    crate::notify::sms_secret(c, phone, "verification code", &purpose.text(&code), now)?;
    Ok(code)
}

/// Why a code was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// No live code for this phone (never sent, used, retired or out of tries).
    NoCode,
    Expired,
    /// Wrong; this many tries remain.
    Wrong(i64),
}

impl Refused {
    /// The field error a form shows under `sms_code`.
    pub fn into_error(self) -> ApiError {
        let left = match &self {
            Refused::Wrong(n) => *n,
            _ => 0,
        };
        let (code, message) = match self {
            Refused::NoCode => (
                "sms_code_missing",
                "sms_code: there is no code waiting for this phone; ask for a new one".to_owned(),
            ),
            Refused::Expired => (
                "sms_code_expired",
                "sms_code: the code has expired (codes last 5 minutes); ask for a new one"
                    .to_owned(),
            ),
            Refused::Wrong(0) => (
                "sms_code_spent",
                "sms_code: the code was wrong too many times; ask for a new one".to_owned(),
            ),
            Refused::Wrong(left) => (
                "sms_code_wrong",
                format!("sms_code: the code is wrong; {left} tries left"),
            ),
        };
        ApiError::unprocessable(code, message.clone()).with_fields(json!([
            {"field": "sms_code", "code": code, "message": message, "limit": left.to_string()}
        ]))
    }
}

/// What a check of a code found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// Right: spend code `id` ([`spend`]) in the transaction of what it allows.
    Right(i64),
    Refused(Refused),
}

/// Check `code` for `phone`; a wrong try is counted, so commit the transaction whatever it
/// found. A right code is spent afterwards with what it allows ([`spend`]).
pub fn check(
    c: &mut dyn Conn,
    phone: &str,
    purpose: Purpose,
    code: &str,
    now: i64,
) -> Result<Checked, DbError> {
    let bidx = phone_bidx(phone)?;
    let row = c.query_opt(
        "SELECT id, code_mac, expires_at, tries FROM phone_codes
         WHERE phone_bidx = $1 AND purpose = $2 AND used_at IS NULL ORDER BY id DESC LIMIT 1",
        params![bidx, purpose.as_str()],
    )?;
    let Some(row) = row else {
        return Ok(Checked::Refused(Refused::NoCode));
    };
    let id = row.get_i64("id")?;
    if row.get_i64("expires_at")? <= now {
        return Ok(Checked::Refused(Refused::Expired));
    }
    let tries = row.get_i64("tries")?;
    if tries >= TRIES {
        return Ok(Checked::Refused(Refused::NoCode));
    }
    let code = code.trim();
    let right = code.len() == 6
        && code.bytes().all(|b| b.is_ascii_digit())
        && crate::crypto::constant_time_eq(
            row.get_str("code_mac")?.as_bytes(),
            mac(purpose, phone, code)?.as_bytes(),
        );
    if right {
        return Ok(Checked::Right(id));
    }
    let tries = tries + 1;
    if tries >= TRIES {
        c.execute(
            "UPDATE phone_codes SET tries = $1, used_at = $2 WHERE id = $3",
            params![tries, now, id],
        )?;
    } else {
        c.execute(
            "UPDATE phone_codes SET tries = $1 WHERE id = $2",
            params![tries, id],
        )?;
    }
    Ok(Checked::Refused(Refused::Wrong(TRIES - tries)))
}

/// Spend a right code in the transaction of what it allows; false when it was spent
/// meanwhile (two tabs at once), so the caller refuses.
pub fn spend(c: &mut dyn Conn, id: i64, now: i64) -> Result<bool, DbError> {
    Ok(c.execute(
        "UPDATE phone_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL",
        params![now, id],
    )? == 1)
}

/// Check a code in its own transaction (tries count even when refused): the id to spend.
pub async fn check_now(
    db: &crate::db::Db,
    phone: &str,
    purpose: Purpose,
    code: &str,
) -> Result<i64, ApiError> {
    let (phone, code) = (phone.to_owned(), code.to_owned());
    let now = crate::time::now_millis();
    match db
        .write(move |c| check(c, &phone, purpose, &code, now))
        .await?
    {
        Checked::Right(id) => Ok(id),
        Checked::Refused(r) => Err(r.into_error()),
    }
}

/// Delete codes that can no longer be used (the worker calls this now and then).
pub fn sweep(c: &mut dyn Conn, now: i64) -> Result<u64, DbError> {
    c.execute(
        "DELETE FROM phone_codes WHERE expires_at < $1",
        params![now - 24 * 3_600_000],
    )
}

/// What a code request answers: how long the code lasts, when another may be asked for, and
/// (only with the demo gateway) the code itself.
pub struct Sent {
    pub expires_in: i64,
    pub resend_after: i64,
    pub demo_code: Option<String>,
}

/// Send a code to `phone` for `purpose`, limited per phone (one a minute, `rate_per_phone_day`
/// a day) and per address (`rate_per_hour` an hour). The answer is the same whether or not
/// the phone has an account, so this cannot be used to learn who is registered.
pub async fn request(
    ctx: &crate::Ctx,
    phone: &str,
    purpose: Purpose,
    source: &str,
) -> Result<Sent, ApiError> {
    let phone = crate::ids::Phone::parse(phone).map_err(|m| {
        ApiError::unprocessable("invalid_phone", format!("phone: {m}")).with_fields(json!([
            {"field": "phone", "code": "invalid_phone", "message": format!("phone: {m}")}
        ]))
    })?;
    let phone = phone.as_str().to_owned();
    let bidx = phone_bidx(&phone)?;
    let now = crate::time::now_millis();
    let (gap_key, day_key, addr_key) = (
        format!("rate:smscode-gap:{bidx}"),
        format!("rate:smscode-day:{bidx}"),
        format!("rate:smscode-addr:{source}"),
    );
    let (per_day, per_hour) = (ctx.config.rate_per_phone_day, ctx.config.rate_per_hour);
    let waits = ctx
        .db
        .write(move |c| {
            Ok([
                crate::throttle::hit(c, &addr_key, per_hour, 3_600_000, now)?
                    .map(|w| (w, "from this address")),
                crate::throttle::hit(c, &gap_key, 1, RESEND_MS, now)?
                    .map(|w| (w, "to this phone (one a minute)")),
                crate::throttle::hit(c, &day_key, per_day, 86_400_000, now)?
                    .map(|w| (w, "to this phone today")),
            ])
        })
        .await?;
    if let Some((wait, what)) = waits.into_iter().flatten().next() {
        let seconds = (wait + 999) / 1000;
        return Err(ApiError::too_many(
            "sms_code_rate_limited",
            format!("too many codes {what}; try again in {seconds} seconds"),
            wait,
        ));
    }
    let code = ctx
        .db
        .write(move |c| issue(c, &phone, purpose, now))
        .await?;
    Ok(Sent {
        expires_in: LIFETIME_MS / 1000,
        resend_after: RESEND_MS / 1000,
        demo_code: ctx.config.sms_demo().then_some(code),
    })
}

/// Move a citizen's account to a new phone, proved by a code sent to it and by the password.
/// The old number is told. Every other session of theirs stays (the password did not change).
pub async fn change_phone(
    ctx: &crate::Ctx,
    account_id: i64,
    phone: &str,
    code: &str,
    password: String,
) -> Result<(), ApiError> {
    let phone = crate::ids::Phone::parse(phone)
        .map_err(|m| {
            ApiError::unprocessable("invalid_phone", format!("phone: {m}")).with_fields(json!([
                {"field": "phone", "code": "invalid_phone", "message": format!("phone: {m}")}
            ]))
        })?
        .as_str()
        .to_owned();
    crate::accounts::check_own_password(ctx, account_id, password).await?;
    let id = check_now(&ctx.db, &phone, Purpose::ChangePhone, code).await?;
    let now = crate::time::now_millis();
    ctx.db
        .transact(move |c| {
            if !spend(c, id, now)? {
                return Err(Refused::NoCode.into_error());
            }
            let old = crate::identity::citizen_phone(c, account_id)?;
            crate::identity::set_citizen_phone(c, account_id, &phone, now).map_err(|e| match e {
                DbError::Unique(_) => ApiError::conflict(
                    "phone_taken",
                    "phone: this number belongs to another account",
                ),
                e => e.into(),
            })?;
            if let Some(old) = old.filter(|o| *o != phone) {
                crate::notify::sms(
                    c,
                    &old,
                    "phone changed",
                    "【通办】您的账号已改绑新手机号。如非本人操作，请立即联系12345。Your Tongban account now uses a new phone number.",
                    now,
                )?;
            }
            let e = crate::audit::Entry::citizen(account_id, "phone.change", "", "ok");
            crate::audit::append(c, &e)?;
            Ok(())
        })
        .await
}
