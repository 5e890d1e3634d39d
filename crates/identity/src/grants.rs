//! Authorization codes and tokens. A code is used once, within a minute, by the client and
//! redirect URI it was issued to, with the PKCE verifier of its challenge; a second use
//! revokes every token issued from it (RFC 9700 §4.5). Refresh tokens rotate: each use gives
//! a new one, and a used one presented again revokes its whole family (every token descended
//! from the same code). Only SM3 hashes of codes and tokens are stored.

use tongban_platform::crypto::{random_token, sm3_hex};
use tongban_platform::db::{Conn, DbError};
use tongban_platform::params;

pub const CODE_MS: i64 = 60_000;
pub const ACCESS_SECONDS: i64 = 900;
pub const REFRESH_MS: i64 = 30 * 86_400_000;

fn hash(token: &str) -> String {
    sm3_hex(token.as_bytes())
}

pub struct NewCode<'a> {
    pub client_id: &'a str,
    pub account_id: i64,
    pub redirect_uri: &'a str,
    pub scope: &'a str,
    pub nonce: Option<&'a str>,
    pub code_challenge: &'a str,
    pub auth_time: i64,
}

pub fn issue_code(c: &mut dyn Conn, n: &NewCode, now: i64) -> Result<String, DbError> {
    let code = random_token();
    c.execute(
        "INSERT INTO oidc_codes (code_hash, client_id, account_id, redirect_uri, scope, nonce, code_challenge, auth_time, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        params![
            hash(&code),
            n.client_id,
            n.account_id,
            n.redirect_uri,
            n.scope,
            n.nonce,
            n.code_challenge,
            n.auth_time,
            now + CODE_MS
        ],
    )?;
    Ok(code)
}

/// What a code or refresh token grants.
#[derive(Debug, Clone)]
pub struct Grant {
    pub client_id: String,
    pub account_id: i64,
    pub scope: String,
    pub nonce: Option<String>,
    pub auth_time: i64,
    pub family: String,
}

fn revoke_family(c: &mut dyn Conn, family: &str, now: i64) -> Result<(), DbError> {
    c.execute(
        "UPDATE oidc_tokens SET revoked_at = $1 WHERE family = $2 AND revoked_at IS NULL",
        params![now, family],
    )?;
    Ok(())
}

/// What an exchange found. A refusal is committed too: a spent code stays spent and a reused
/// one's tokens stay revoked.
pub enum Outcome {
    Granted(Grant, Issued),
    /// `invalid_grant`, and why.
    Refused(String),
}

fn refused(why: impl Into<String>) -> Result<Outcome, DbError> {
    Ok(Outcome::Refused(why.into()))
}

/// Exchange a code for tokens.
pub fn redeem_code(
    c: &mut dyn Conn,
    code: &str,
    client_id: &str,
    redirect_uri: &str,
    verifier: &str,
    now: i64,
) -> Result<Outcome, DbError> {
    let h = hash(code);
    let Some(r) = c.query_opt(
        "SELECT client_id, account_id, redirect_uri, scope, nonce, code_challenge, auth_time, expires_at, used_at
         FROM oidc_codes WHERE code_hash = $1",
        params![h.clone()],
    )?
    else {
        return refused("the code is not known");
    };
    // Used once only: the first use marks it; a second revokes what the first received.
    let marked = c.execute(
        "UPDATE oidc_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL",
        params![now, h.clone()],
    )?;
    if marked == 0 || r.get_opt_i64("used_at")?.is_some() {
        revoke_family(c, &h, now)?;
        return refused("the code was already used; the tokens issued from it are revoked");
    }
    if r.get_str("client_id")? != client_id {
        return refused("the code was issued to another client");
    }
    if r.get_str("redirect_uri")? != redirect_uri {
        return refused("redirect_uri differs from the one the code was issued for");
    }
    if r.get_i64("expires_at")? <= now {
        return refused("the code has expired (codes last a minute)");
    }
    let verifier_ok = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    if !verifier_ok {
        return refused("code_verifier: 43-128 characters of A-Z a-z 0-9 - . _ ~");
    }
    let challenge = r.get_str("code_challenge")?;
    if !tongban_platform::crypto::constant_time_eq(
        crate::keys::s256(verifier).as_bytes(),
        challenge.as_bytes(),
    ) {
        return refused("code_verifier does not match the code_challenge");
    }
    let g = Grant {
        client_id: client_id.to_owned(),
        account_id: r.get_i64("account_id")?,
        scope: r.get_str("scope")?,
        nonce: r.get_opt_str("nonce")?,
        auth_time: r.get_i64("auth_time")?,
        family: h,
    };
    let issued = issue_tokens(c, &g, now)?;
    Ok(Outcome::Granted(g, issued))
}

/// Tokens handed out for a grant.
pub struct Issued {
    pub access_token: String,
    pub refresh_token: String,
}

fn insert_token(
    c: &mut dyn Conn,
    kind: &str,
    g: &Grant,
    lifetime_ms: i64,
    now: i64,
) -> Result<String, DbError> {
    let token = random_token();
    c.execute(
        "INSERT INTO oidc_tokens (token_hash, kind, family, client_id, account_id, scope, auth_time, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        params![
            hash(&token),
            kind,
            g.family.clone(),
            g.client_id.clone(),
            g.account_id,
            g.scope.clone(),
            g.auth_time,
            now,
            now + lifetime_ms
        ],
    )?;
    Ok(token)
}

pub fn issue_tokens(c: &mut dyn Conn, g: &Grant, now: i64) -> Result<Issued, DbError> {
    Ok(Issued {
        access_token: insert_token(c, "access", g, ACCESS_SECONDS * 1000, now)?,
        refresh_token: insert_token(c, "refresh", g, REFRESH_MS, now)?,
    })
}

/// Use a refresh token: a new access token and a new refresh token; the old one is spent.
/// `scope`, when given, may only narrow what was granted.
pub fn refresh(
    c: &mut dyn Conn,
    token: &str,
    client_id: &str,
    scope: Option<&str>,
    now: i64,
) -> Result<Outcome, DbError> {
    let h = hash(token);
    let Some(r) = c.query_opt(
        "SELECT id, family, client_id, account_id, scope, auth_time, expires_at, used_at, revoked_at
         FROM oidc_tokens WHERE token_hash = $1 AND kind = 'refresh'",
        params![h],
    )?
    else {
        return refused("the refresh token is not known");
    };
    if r.get_str("client_id")? != client_id {
        return refused("the refresh token was issued to another client");
    }
    let family = r.get_str("family")?;
    if r.get_opt_i64("revoked_at")?.is_some() {
        return refused("the refresh token was revoked");
    }
    let marked = c.execute(
        "UPDATE oidc_tokens SET used_at = $1 WHERE id = $2 AND used_at IS NULL",
        params![now, r.get_i64("id")?],
    )?;
    if marked == 0 {
        revoke_family(c, &family, now)?;
        return refused(
            "the refresh token was already used; every token of this sign-in is revoked",
        );
    }
    if r.get_i64("expires_at")? <= now {
        return refused("the refresh token has expired");
    }
    let granted = r.get_str("scope")?;
    let scope = match scope.map(str::trim).filter(|s| !s.is_empty()) {
        None => granted,
        Some(asked) => {
            let held: Vec<&str> = granted.split(' ').collect();
            if let Some(extra) = asked
                .split(' ')
                .find(|s| !s.is_empty() && !held.contains(s))
            {
                return refused(format!("scope {extra:?} was not granted"));
            }
            asked.to_owned()
        }
    };
    let g = Grant {
        client_id: client_id.to_owned(),
        account_id: r.get_i64("account_id")?,
        scope,
        nonce: None,
        auth_time: r.get_i64("auth_time")?,
        family,
    };
    let issued = issue_tokens(c, &g, now)?;
    Ok(Outcome::Granted(g, issued))
}

/// Who a live access token speaks for.
pub struct Access {
    pub client_id: String,
    pub account_id: i64,
    pub scope: String,
}

pub fn access(c: &mut dyn Conn, token: &str, now: i64) -> Result<Option<Access>, DbError> {
    let Some(r) = c.query_opt(
        "SELECT client_id, account_id, scope FROM oidc_tokens
         WHERE token_hash = $1 AND kind = 'access' AND revoked_at IS NULL AND expires_at > $2",
        params![hash(token), now],
    )?
    else {
        return Ok(None);
    };
    let Some(account_id) = r.get_opt_i64("account_id")? else {
        return Ok(None);
    };
    Ok(Some(Access {
        client_id: r.get_str("client_id")?,
        account_id,
        scope: r.get_str("scope")?,
    }))
}

/// Revoke a token the client holds (RFC 7009); a refresh token takes its family with it.
pub fn revoke(c: &mut dyn Conn, token: &str, client_id: &str, now: i64) -> Result<(), DbError> {
    let Some(r) = c.query_opt(
        "SELECT kind, family FROM oidc_tokens WHERE token_hash = $1 AND client_id = $2",
        params![hash(token), client_id],
    )?
    else {
        return Ok(());
    };
    if r.get_str("kind")? == "refresh" {
        revoke_family(c, &r.get_str("family")?, now)?;
    } else {
        c.execute(
            "UPDATE oidc_tokens SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL",
            params![now, hash(token)],
        )?;
    }
    Ok(())
}

/// A citizen's consent to a client's scopes.
pub fn consented(
    c: &mut dyn Conn,
    account_id: i64,
    client_id: &str,
) -> Result<Option<String>, DbError> {
    c.query_opt(
        "SELECT scope FROM oidc_consents WHERE account_id = $1 AND client_id = $2",
        params![account_id, client_id],
    )?
    .map(|r| r.get_str("scope"))
    .transpose()
}

pub fn record_consent(
    c: &mut dyn Conn,
    account_id: i64,
    client_id: &str,
    scope: &str,
    now: i64,
) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO oidc_consents (account_id, client_id, scope, granted_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (account_id, client_id) DO UPDATE SET scope = excluded.scope, granted_at = excluded.granted_at",
        params![account_id, client_id, scope, now],
    )?;
    Ok(())
}

/// A partner app's own access token (client credentials): it speaks for no citizen and has
/// no refresh token (RFC 6749 §4.4.3); the app asks again when it expires.
pub fn issue_client_token(
    c: &mut dyn Conn,
    client_id: &str,
    scope: &str,
    now: i64,
) -> Result<String, DbError> {
    let token = random_token();
    c.execute(
        "INSERT INTO oidc_tokens (token_hash, kind, family, client_id, account_id, scope, auth_time, created_at, expires_at)
         VALUES ($1, 'access', $2, $3, NULL, $4, $5, $5, $6)",
        params![
            hash(&token),
            format!("cc:{}", random_token()),
            client_id,
            scope,
            now,
            now + ACCESS_SECONDS * 1000
        ],
    )?;
    Ok(token)
}

/// The client and scope of a live client-credentials token.
pub fn client_access(
    c: &mut dyn Conn,
    token: &str,
    now: i64,
) -> Result<Option<(String, String)>, DbError> {
    c.query_opt(
        "SELECT client_id, scope FROM oidc_tokens
         WHERE token_hash = $1 AND kind = 'access' AND account_id IS NULL AND revoked_at IS NULL AND expires_at > $2",
        params![hash(token), now],
    )?
    .map(|r| Ok((r.get_str("client_id")?, r.get_str("scope")?)))
    .transpose()
}

/// Forget a citizen's consent to a client and revoke every token it holds for them.
pub fn forget(c: &mut dyn Conn, account_id: i64, client_id: &str, now: i64) -> Result<(), DbError> {
    c.execute(
        "DELETE FROM oidc_consents WHERE account_id = $1 AND client_id = $2",
        params![account_id, client_id],
    )?;
    c.execute(
        "UPDATE oidc_tokens SET revoked_at = $1 WHERE account_id = $2 AND client_id = $3 AND revoked_at IS NULL",
        params![now, account_id, client_id],
    )?;
    Ok(())
}
