//! Peers: other Tongban deployments (a city and its province) this one exchanges with. Each
//! is named, reached at a URL (HTTPS; plain HTTP only on the loopback interface) and known by
//! its SM2 public key, pinned when the operator adds it with `tongban exchange peer add`. A
//! call signed with a peer's key comes from one of its departments, known here as
//! `{peer}/{department}` (the consumer grants name); a call to `{peer}/{department}` goes to
//! that peer's exchange endpoint, and its answer must carry that peer's signature.

use crate::ExchangeError;
use serde::Serialize;
use tongban_platform::db::{Conn, DbError, Row};
use tongban_platform::params;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Peer {
    pub name: String,
    /// The base URL of the peer's internal listener (its `/exchange/v1/…` endpoint).
    pub url: String,
    /// SEC1 hex of its SM2 public key.
    pub public_key: String,
    pub key_id: String,
    pub added_at: i64,
}

fn peer_of(r: &Row) -> Result<Peer, DbError> {
    Ok(Peer {
        name: r.get_str("name")?,
        url: r.get_str("url")?,
        public_key: r.get_str("public_key")?,
        key_id: r.get_str("key_id")?,
        added_at: r.get_i64("added_at")?,
    })
}

const COLUMNS: &str = "name, url, public_key, key_id, added_at";

/// Check what an operator gives: a name (lowercase letters, digits and `-`, 1-32), a URL
/// (https, or http on the loopback interface) and an SM2 public key (SEC1 hex of a point on
/// the curve). The peer to store.
pub fn check(name: &str, url: &str, public_key: &str, now: i64) -> Result<Peer, ExchangeError> {
    let mut problems = Vec::new();
    let name = name.trim();
    if name.is_empty()
        || name.len() > 32
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        problems.push(format!(
            "name {name:?} must be 1-32 lowercase letters, digits or '-' (for example province)"
        ));
    }
    let url = url.trim().trim_end_matches('/');
    match reqwest::Url::parse(url) {
        Ok(u) => {
            let loopback = matches!(
                u.host_str(),
                Some("127.0.0.1" | "localhost" | "[::1]" | "::1")
            );
            if u.scheme() != "https" && !(u.scheme() == "http" && loopback) {
                problems.push(format!(
                    "url {url} must be https:// (plain http only on the loopback interface)"
                ));
            }
        }
        Err(e) => problems.push(format!(
            "url {url:?} is not a URL ({e}): give the base address of the peer's internal listener, e.g. https://exchange.province.gov.cn"
        )),
    }
    let public_key = public_key.trim().to_ascii_lowercase();
    let point = hex::decode(&public_key).ok().and_then(|b| {
        sm2::dsa::VerifyingKey::from_sec1_bytes(tongban_platform::vault::SM2_DISTID, &b).ok()
    });
    if point.is_none() {
        problems.push(
            "public-key must be the peer's SM2 public key in hex (SEC1, as its GET /api/v1/keys publishes it)"
                .into(),
        );
    }
    if !problems.is_empty() {
        return Err(ExchangeError::Invalid(problems.join("; ")));
    }
    if let Ok((_, own)) = crate::canonical::own_key() {
        if own == public_key {
            return Err(ExchangeError::Invalid(
                "public-key is this deployment's own key: give the peer's".into(),
            ));
        }
    }
    Ok(Peer {
        name: name.to_owned(),
        url: url.to_owned(),
        key_id: tongban_platform::vault::sm2_key_id(&public_key),
        public_key,
        added_at: now,
    })
}

/// A peer's name when the operator gives none: the URL's host, dots as dashes.
pub fn default_name(url: &str) -> String {
    reqwest::Url::parse(url.trim())
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| h.trim_matches(['[', ']']).replace(['.', ':'], "-"))
        })
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// Add `p`, or change the URL and key of the peer of that name; whether it was new.
pub fn save(c: &mut dyn Conn, p: &Peer) -> Result<bool, ExchangeError> {
    let before = get(c, &p.name)?;
    if let Some(other) = by_key(c, &p.key_id)?.filter(|o| o.name != p.name) {
        return Err(ExchangeError::Invalid(format!(
            "that key is already pinned for peer {}: one key, one peer",
            other.name
        )));
    }
    c.execute(
        &format!(
            "INSERT INTO exchange_peers ({COLUMNS}) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (name) DO UPDATE SET url = excluded.url,
               public_key = excluded.public_key, key_id = excluded.key_id"
        ),
        params![
            p.name.as_str(),
            p.url.as_str(),
            p.public_key.as_str(),
            p.key_id.as_str(),
            p.added_at
        ],
    )?;
    Ok(before.is_none())
}

pub fn get(c: &mut dyn Conn, name: &str) -> Result<Option<Peer>, DbError> {
    c.query_opt(
        &format!("SELECT {COLUMNS} FROM exchange_peers WHERE name = $1"),
        params![name],
    )?
    .map(|r| peer_of(&r))
    .transpose()
}

/// The peer whose pinned key has id `key_id`.
pub fn by_key(c: &mut dyn Conn, key_id: &str) -> Result<Option<Peer>, DbError> {
    c.query_opt(
        &format!("SELECT {COLUMNS} FROM exchange_peers WHERE key_id = $1"),
        params![key_id],
    )?
    .map(|r| peer_of(&r))
    .transpose()
}

/// Every peer, by name (a deployment has a handful).
pub fn list(c: &mut dyn Conn) -> Result<Vec<Peer>, DbError> {
    c.query(
        &format!("SELECT {COLUMNS} FROM exchange_peers ORDER BY name LIMIT 1000"),
        &[],
    )?
    .iter()
    .map(peer_of)
    .collect()
}

/// Forget peer `name`: its calls are refused from then on (on every node: each call reads
/// the peers); whether there was one.
pub fn remove(c: &mut dyn Conn, name: &str) -> Result<bool, DbError> {
    Ok(c.execute("DELETE FROM exchange_peers WHERE name = $1", params![name])? > 0)
}

/// `{peer}/{department}` split, when `who` names a peer's department.
pub fn split(who: &str) -> Option<(&str, &str)> {
    who.split_once('/')
        .filter(|(p, d)| !p.is_empty() && !d.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PK: &str = "0409f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13";

    #[test]
    fn checks_what_the_operator_gives() {
        let p = check("province", "https://ex.province.gov.cn/", PK, 1).unwrap();
        assert_eq!(p.url, "https://ex.province.gov.cn");
        assert!(p.key_id.starts_with("sm2-"));
        assert!(check("province", "http://127.0.0.1:8081", PK, 1).is_ok());
        let e = check("Prov ince", "http://ex.province.gov.cn", "04ab", 1)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("name") && e.contains("https://") && e.contains("public-key"),
            "{e}"
        );
        assert_eq!(split("province/js-gat"), Some(("province", "js-gat")));
        assert_eq!(split("wx-gaj"), None);
        assert_eq!(split("/x"), None);
    }
}
