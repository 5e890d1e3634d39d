//! Relying parties (apps that sign citizens in through Tongban), registered by an admin with
//! exact redirect URIs and the scopes they may ask for. A confidential client gets a secret
//! once (kept as an SM3 hash); a public client (a phone app) has none and relies on PKCE.

use crate::error::IdentityError;
use serde::Serialize;
use serde_json::json;
use tongban_platform::db::{Conn, DbError, Row};
use tongban_platform::params;

/// Scopes of signing a citizen in. `openid` is required for an ID token.
pub const SCOPES: [&str; 4] = ["openid", "profile", "phone", "id_number"];
/// Scopes a partner app holds for itself (client credentials): `open311` files and reads
/// its own service requests.
pub const PARTNER_SCOPES: [&str; 1] = ["open311"];

/// Whether `s` is a scope of signing a citizen in.
pub fn is_oidc_scope(s: &str) -> bool {
    SCOPES.contains(&s)
}

#[derive(Debug, Clone, Serialize)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub confidential: bool,
    pub created_at: i64,
    pub disabled: bool,
    /// Calls a minute its access tokens may make to partner APIs (every node together).
    pub rate_per_minute: i64,
}

pub struct NewClient {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub confidential: bool,
    pub rate_per_minute: i64,
}

/// A redirect URI a client may register: an absolute `https` URL, `http` only to the
/// loopback address (native apps, RFC 8252 §7.3), or a private-use scheme with a dot
/// (`com.example.app:/callback`, §7.1); never a fragment.
pub fn check_redirect_uri(u: &str) -> Result<(), String> {
    if u.len() > 2000 || u.contains('#') || u.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{u:?}: no fragment, spaces or control characters, at most 2000 characters"
        ));
    }
    let Some((scheme, rest)) = u.split_once(':') else {
        return Err(format!("{u:?}: not an absolute URI"));
    };
    match scheme {
        "https" if rest.starts_with("//") && rest.len() > 2 => Ok(()),
        "http" => {
            let host = rest.trim_start_matches("//");
            let host = host.split(['/', '?']).next().unwrap_or("");
            let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
            if matches!(host, "127.0.0.1" | "[::1]" | "localhost") {
                Ok(())
            } else {
                Err(format!("{u:?}: use https (http only for the loopback address)"))
            }
        }
        s if s.contains('.') && s.chars().all(|c| c.is_ascii_alphanumeric() || ".+-".contains(c)) => {
            Ok(())
        }
        _ => Err(format!(
            "{u:?}: use https://…, http://127.0.0.1…, or a reverse-domain scheme such as com.example.app:/callback"
        )),
    }
}

pub fn check_new(n: &NewClient) -> Result<(), IdentityError> {
    let name = n.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(IdentityError::Invalid("name: 1-100 characters".into()));
    }
    if let Some(s) = n
        .scopes
        .iter()
        .find(|s| !is_oidc_scope(s) && !PARTNER_SCOPES.contains(&s.as_str()))
    {
        return Err(IdentityError::Invalid(format!(
            "scopes: {s:?} is not one of {}, {}",
            SCOPES.join(", "),
            PARTNER_SCOPES.join(", ")
        )));
    }
    let signs_in = n.scopes.iter().any(|s| is_oidc_scope(s));
    if n.scopes.is_empty() || (signs_in && !n.scopes.iter().any(|s| s == "openid")) {
        return Err(IdentityError::Invalid(
            "scopes: include openid to sign citizens in, or give partner scopes only".into(),
        ));
    }
    if signs_in && (n.redirect_uris.is_empty() || n.redirect_uris.len() > 10) {
        return Err(IdentityError::Invalid(
            "redirect_uris: give 1 to 10 exact URIs".into(),
        ));
    }
    if n.redirect_uris.len() > 10 {
        return Err(IdentityError::Invalid("redirect_uris: at most 10".into()));
    }
    for u in &n.redirect_uris {
        check_redirect_uri(u).map_err(|m| IdentityError::Invalid(format!("redirect_uris: {m}")))?;
    }
    if !signs_in && !n.confidential {
        return Err(IdentityError::Invalid(
            "confidential: a partner app authenticates with a secret".into(),
        ));
    }
    if !(1..=100_000).contains(&n.rate_per_minute) {
        return Err(IdentityError::Invalid(
            "rate_per_minute: 1 to 100000".into(),
        ));
    }
    Ok(())
}

fn from_row(r: &Row) -> Result<Client, DbError> {
    let uris: Vec<String> = serde_json::from_str(&r.get_str("redirect_uris")?)
        .map_err(|e| DbError::Decode(e.to_string()))?;
    Ok(Client {
        client_id: r.get_str("client_id")?,
        name: r.get_str("name")?,
        redirect_uris: uris,
        scopes: r
            .get_str("scopes")?
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        confidential: r.get_opt_str("secret_hash")?.is_some(),
        created_at: r.get_i64("created_at")?,
        disabled: r.get_opt_i64("disabled_at")?.is_some(),
        rate_per_minute: r.get_i64("rate_per_minute")?,
    })
}

const COLUMNS: &str =
    "client_id, name, secret_hash, redirect_uris, scopes, created_at, disabled_at, rate_per_minute";

/// Register a client; returns it and, for a confidential one, its secret (shown once).
pub fn register(
    c: &mut dyn Conn,
    n: &NewClient,
    by: &str,
    now: i64,
) -> Result<(Client, Option<String>), DbError> {
    let client_id = format!(
        "tb_{}",
        tongban_platform::crypto::to_hex(&tongban_platform::crypto::random_bytes::<12>())
    );
    let secret = n.confidential.then(tongban_platform::crypto::random_token);
    let hash = secret
        .as_deref()
        .map(|s| tongban_platform::crypto::sm3_hex(s.as_bytes()));
    let mut scopes = n.scopes.clone();
    scopes.dedup();
    c.execute(
        "INSERT INTO oidc_clients (client_id, name, secret_hash, redirect_uris, scopes, created_at, created_by, rate_per_minute)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        params![
            client_id.clone(),
            n.name.trim(),
            hash,
            json!(n.redirect_uris).to_string(),
            scopes.join(" "),
            now,
            by,
            n.rate_per_minute
        ],
    )?;
    let client = get(c, &client_id)?.ok_or_else(|| DbError::Decode("client vanished".into()))?;
    Ok((client, secret))
}

pub fn get(c: &mut dyn Conn, client_id: &str) -> Result<Option<Client>, DbError> {
    c.query_opt(
        &format!("SELECT {COLUMNS} FROM oidc_clients WHERE client_id = $1"),
        params![client_id],
    )?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Whether `secret` is the client's (constant time); a public client has none to match.
pub fn secret_matches(c: &mut dyn Conn, client_id: &str, secret: &str) -> Result<bool, DbError> {
    let stored = c
        .query_opt(
            "SELECT secret_hash FROM oidc_clients WHERE client_id = $1 AND disabled_at IS NULL",
            params![client_id],
        )?
        .map(|r| r.get_opt_str("secret_hash"))
        .transpose()?
        .flatten();
    Ok(stored.is_some_and(|h| {
        tongban_platform::crypto::constant_time_eq(
            h.as_bytes(),
            tongban_platform::crypto::sm3_hex(secret.as_bytes()).as_bytes(),
        )
    }))
}

/// One page of clients, newest first, and the total.
pub fn list(c: &mut dyn Conn, limit: i64, offset: i64) -> Result<(Vec<Client>, i64), DbError> {
    let total = c
        .query_one("SELECT COUNT(*) AS n FROM oidc_clients", params![])?
        .get_i64("n")?;
    let rows = c.query(
        &format!(
            "SELECT {COLUMNS} FROM oidc_clients ORDER BY created_at DESC, client_id LIMIT $1 OFFSET $2"
        ),
        params![limit, offset],
    )?;
    Ok((rows.iter().map(from_row).collect::<Result<_, _>>()?, total))
}

/// Turn a client off and revoke every token it holds. Returns false when there is none.
pub fn disable(c: &mut dyn Conn, client_id: &str, now: i64) -> Result<bool, DbError> {
    let n = c.execute(
        "UPDATE oidc_clients SET disabled_at = $1 WHERE client_id = $2 AND disabled_at IS NULL",
        params![now, client_id],
    )?;
    c.execute(
        "UPDATE oidc_tokens SET revoked_at = $1 WHERE client_id = $2 AND revoked_at IS NULL",
        params![now, client_id],
    )?;
    Ok(n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris() {
        for ok in [
            "https://app.example.cn/cb",
            "http://127.0.0.1:8765/cb",
            "http://localhost/cb",
            "cn.gov.wuxi.app:/oauth",
        ] {
            assert!(check_redirect_uri(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://app.example.cn/cb",
            "https://app.example.cn/cb#x",
            "javascript:alert(1)",
            "/cb",
            "https://",
            "https://a.cn/ cb",
        ] {
            assert!(check_redirect_uri(bad).is_err(), "{bad}");
        }
    }
}
