//! The data keys bound to the database. The database records a fingerprint (SM3-HMAC of a
//! fixed label under the key) of every data key and of the blind-index key; a process checks
//! its key file against them before it seals or opens anything, so a stray or missing key
//! file stops the process (naming `TONGBAN_KEY_FILE` and the key ids the database expects)
//! instead of sealing data no other node can read. Only an empty database creates a key file.
//!
//! Every sealed column of every room is listed in one registry ([`Sealed`]), which key
//! rotation walks to re-seal everything under the current key.

use crate::db::{Conn, Db, DbError};
use crate::params;
use crate::vault::{Keys, VaultError, PREFIX};
use std::path::Path;

/// A text column whose values are sealed (`sm4:<key id>:…`), in a table keyed by `id`.
#[derive(Debug, Clone, Copy)]
pub struct Sealed {
    pub table: &'static str,
    pub column: &'static str,
}

/// The platform's own sealed columns.
pub const SEALED: &[Sealed] = &[
    Sealed {
        table: "accounts",
        column: "id_number",
    },
    Sealed {
        table: "accounts",
        column: "phone",
    },
    Sealed {
        table: "accounts",
        column: "name",
    },
    Sealed {
        table: "outbox",
        column: "payload",
    },
];

/// The registry row of the blind-index key.
const INDEX_ID: &str = "#index";

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("{0}")]
    Mismatch(String),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<KeyringError> for String {
    fn from(e: KeyringError) -> String {
        e.to_string()
    }
}

/// The fingerprints the database holds: (key id, fingerprint).
fn registered(db: &Db) -> Vec<(String, String)> {
    // Before the registry's migration the table does not exist: nothing is registered.
    db.write_blocking(fingerprints).unwrap_or_default()
}

/// One sealed value anywhere in the database, if there is any.
fn any_sealed(db: &Db, sealed: &[Sealed]) -> Option<String> {
    sealed.iter().find_map(|s| {
        let sql = format!(
            "SELECT {col} AS v FROM {t} WHERE {col} LIKE $1 LIMIT 1",
            col = s.column,
            t = s.table
        );
        // A table a later migration creates does not exist yet: it holds nothing.
        db.write_blocking(move |c| {
            c.query_opt(&sql, params![format!("{PREFIX}%")])?
                .map(|r| r.get_str("v"))
                .transpose()
        })
        .ok()
        .flatten()
    })
}

fn expected_ids(reg: &[(String, String)]) -> String {
    let ids: Vec<&str> = reg
        .iter()
        .map(|(id, _)| id.as_str())
        .filter(|id| *id != INDEX_ID && !id.starts_with("sm2:"))
        .collect();
    ids.join(", ")
}

/// Check `keys` against the registered fingerprints: every registered key must be in the
/// file with the same fingerprint, the index key must match, and the file's current key
/// must be registered.
pub fn check(keys: &Keys, reg: &[(String, String)], file: &Path) -> Result<(), KeyringError> {
    if reg.is_empty() {
        return Ok(());
    }
    let wrong = |why: String| {
        KeyringError::Mismatch(format!(
            "key file {} (TONGBAN_KEY_FILE) does not hold this database's data keys: {why}; \
             the database expects key ids {}. Point TONGBAN_KEY_FILE at the deployment's key \
             file. Nothing was read or written.",
            file.display(),
            expected_ids(reg)
        ))
    };
    // Data keys first, then the index key: the message names the first thing wrong.
    let signing = |id: &str| id.starts_with("sm2:");
    let ordered = reg
        .iter()
        .filter(|(id, _)| id != INDEX_ID && !signing(id))
        .chain(reg.iter().filter(|(id, _)| signing(id)))
        .chain(reg.iter().filter(|(id, _)| id == INDEX_ID));
    for (id, fp) in ordered {
        let have = if id == INDEX_ID {
            Some(keys.index_fingerprint())
        } else if let Some(sid) = id.strip_prefix("sm2:") {
            keys.signing_fingerprint()
                .filter(|(have, _)| have == sid)
                .map(|(_, fp)| fp)
        } else {
            keys.fingerprint(id)
        };
        match have {
            None => return Err(wrong(format!("it lacks key {id}"))),
            Some(h) if !crate::crypto::constant_time_eq(h.as_bytes(), fp.as_bytes()) => {
                let what = if id == INDEX_ID {
                    "its blind-index key is another one".to_owned()
                } else if id.starts_with("sm2:") {
                    "its SM2 signing key is another one".to_owned()
                } else {
                    format!("its key {id} is another key under the same id")
                };
                return Err(wrong(what));
            }
            Some(_) => {}
        }
    }
    if !reg.iter().any(|(id, _)| *id == keys.current) {
        return Err(wrong(format!(
            "its current key {} is not registered",
            keys.current
        )));
    }
    Ok(())
}

/// Load the key file and check it against the database, before migrations run and before
/// anything is sealed or opened. Creates a key file only when the database holds no keys
/// and no sealed data; otherwise a missing or different file is an error. Returns the keys
/// and whether the file was created.
pub fn prepare(db: &Db, file: &Path, sealed: &[Sealed]) -> Result<(Keys, bool), KeyringError> {
    let reg = registered(db);
    if file.exists() {
        let keys = Keys::load(file)?;
        if reg.is_empty() {
            // A database sealed before keys were registered: the file must open its data.
            if let Some(v) = any_sealed(db, sealed) {
                keys.decrypt(&v).map_err(|e| {
                    KeyringError::Mismatch(format!(
                        "key file {} (TONGBAN_KEY_FILE) cannot open this database's sealed data ({e}). \
                         Point TONGBAN_KEY_FILE at the deployment's key file. Nothing was written.",
                        file.display()
                    ))
                })?;
            }
        }
        check(&keys, &reg, file)?;
        return Ok((keys, false));
    }
    if !reg.is_empty() || any_sealed(db, sealed).is_some() {
        let ids = if reg.is_empty() {
            "(keys from before they were registered)".to_owned()
        } else {
            expected_ids(&reg)
        };
        return Err(KeyringError::Mismatch(format!(
            "key file {} (TONGBAN_KEY_FILE) does not exist, and this database holds data sealed \
             under key ids {ids}. Point TONGBAN_KEY_FILE at the deployment's key file; a new \
             one is created only for an empty database. Nothing was written.",
            file.display()
        )));
    }
    // A new deployment signs from the start (e-certificates, data-sharing messages).
    let mut keys = Keys::generate();
    keys.init_signing();
    keys.save(file)?;
    Ok((keys, true))
}

/// Record the fingerprints of the file's keys that the database does not know yet (after
/// migrations; at first start, and after a rotation added a key). Refuses when another
/// process registered different keys meanwhile.
pub fn register(c: &mut dyn Conn, keys: &Keys, now: i64) -> Result<(), KeyringError> {
    let reg = fingerprints(c)?;
    let mut rows = vec![(INDEX_ID.to_owned(), keys.index_fingerprint())];
    // The SM2 signing key, once a node has one: every node must sign with the same key.
    if let Some((id, fp)) = keys.signing_fingerprint() {
        rows.push((format!("sm2:{id}"), fp));
    }
    for id in keys.ids() {
        if let Some(fp) = keys.fingerprint(&id) {
            rows.push((id, fp));
        }
    }
    for (id, fp) in rows {
        match reg.iter().find(|(r, _)| *r == id) {
            Some((_, have)) if *have != fp => {
                return Err(KeyringError::Mismatch(format!(
                    "the database holds another key under id {id}; another process created \
                     this deployment's keys. Use its key file (TONGBAN_KEY_FILE)."
                )))
            }
            Some(_) => {}
            None => {
                c.execute(
                    "INSERT INTO data_keys (key_id, fingerprint, created_at) VALUES ($1, $2, $3)",
                    params![id.as_str(), fp.as_str(), now],
                )?;
            }
        }
    }
    Ok(())
}

/// The registered fingerprints, for a running node that reloads its key file.
pub fn fingerprints(c: &mut dyn Conn) -> Result<Vec<(String, String)>, DbError> {
    c.query(
        "SELECT key_id, fingerprint FROM data_keys ORDER BY key_id",
        &[],
    )?
    .iter()
    .map(|r| Ok((r.get_str("key_id")?, r.get_str("fingerprint")?)))
    .collect()
}

/// Re-seal up to `limit` values of one column that are not under `keys.current`; how many
/// were rewritten. Values in clear are sealed too.
pub fn reseal(c: &mut dyn Conn, s: Sealed, keys: &Keys, limit: i64) -> Result<usize, DbError> {
    let sql = format!(
        "SELECT id, {col} AS v FROM {t} WHERE {col} IS NOT NULL AND {col} NOT LIKE $1 ORDER BY id LIMIT $2",
        col = s.column,
        t = s.table
    );
    let rows = c.query(&sql, params![format!("{PREFIX}{}:%", keys.current), limit])?;
    let update = format!(
        "UPDATE {t} SET {col} = $1 WHERE id = $2",
        col = s.column,
        t = s.table
    );
    for r in &rows {
        let plain = keys.decrypt(&r.get_str("v")?).map_err(DbError::from)?;
        c.execute(
            &update,
            params![
                keys.encrypt(&plain).map_err(DbError::from)?,
                r.get_i64("id")?
            ],
        )?;
    }
    Ok(rows.len())
}

/// How many values of `s` are not under the current key (0 after a finished rotation).
pub fn stale(c: &mut dyn Conn, s: Sealed, current: &str) -> Result<i64, DbError> {
    let sql = format!(
        "SELECT COUNT(*) AS n FROM {t} WHERE {col} IS NOT NULL AND {col} NOT LIKE $1",
        col = s.column,
        t = s.table
    );
    c.query_one(&sql, params![format!("{PREFIX}{current}:%")])?
        .get_i64("n")
}

/// What a complete sealing pass under `current` covers: the key, every sealed column and the
/// upload folder. A pass is needed when this differs from what the last one recorded.
pub fn sealing_mark(current: &str, sealed: &[Sealed], upload_dir: &Path) -> String {
    let mut cols: Vec<String> = sealed
        .iter()
        .map(|s| format!("{}.{}", s.table, s.column))
        .collect();
    cols.sort();
    let what = format!("{current}|{}|{}", cols.join(","), upload_dir.display());
    format!("{current}:{}", crate::crypto::sm3_hex(what.as_bytes()))
}

/// The mark of the last complete sealing pass.
pub fn last_sealing(c: &mut dyn Conn) -> Result<Option<String>, DbError> {
    c.query_opt(
        "SELECT value FROM sealing_state WHERE name = 'complete'",
        &[],
    )?
    .map(|r| r.get_str("value"))
    .transpose()
}

/// Record a complete sealing pass.
pub fn record_sealing(c: &mut dyn Conn, mark: &str) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO sealing_state (name, value) VALUES ('complete', $1)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        params![mark],
    )?;
    Ok(())
}
