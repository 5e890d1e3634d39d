//! What a new case or work order takes before its write, without a trip to the database on
//! most requests: its serial number and its row id, taken from PostgreSQL's sequences a
//! block at a time, and the citizen's name, held in memory once read.

use super::*;
use std::collections::{HashMap, VecDeque};

/// Numbers and ids one refill takes. A node that stops forgets what it has not handed out:
/// numbers may skip by up to this many, as a sequence's numbers may skip anyway.
const BLOCK: i64 = 32;

/// A new row's serial number ([`next_number`]'s series) and its id, taken ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Taken {
    pub number: i64,
    pub id: i64,
}

/// Numbers and ids this node has taken from PostgreSQL's sequences and not yet handed out,
/// per kind of row (the expression that takes its id). Sequences belong to no transaction:
/// a value taken is never taken again, whether or not its row is ever written, so values
/// may be taken ahead and handed out here with no statement at all. On one node they are
/// handed out in increasing order; across nodes, numbers are unique but interleave.
#[derive(Default)]
pub struct TakenAhead {
    pools: tokio::sync::Mutex<HashMap<&'static str, VecDeque<Taken>>>,
}

/// On PostgreSQL, the [`next_number`] and the new row's id (`id_column`, an expression named
/// `id`, such as `nextval(pg_get_serial_sequence('cases', 'id')) AS id`) for a write that is
/// to wait for nothing; a block of them is taken at a time (see [`TakenAhead`]). `None` on
/// SQLite, where a number is a row of the write and the id comes with the insert.
pub async fn take_number(
    db: &crate::db::Db,
    id_column: &'static str,
) -> Result<Option<Taken>, DbError> {
    if db.engine() != crate::db::Engine::Postgres {
        return Ok(None);
    }
    let ahead = db.local::<TakenAhead>();
    // Held while a block is fetched: requests meanwhile wait for it rather than fetch their own.
    let mut pools = ahead.pools.lock().await;
    let pool = pools.entry(id_column).or_default();
    if pool.is_empty() {
        let sql = format!(
            "SELECT nextval('numbers_seq') AS value, {id_column} FROM generate_series(1, $1)"
        );
        let rows = db
            .take(&[(&sql, params![BLOCK])])
            .await?
            .into_iter()
            .next()
            .unwrap_or_default();
        let mut block = rows
            .iter()
            .map(|r| {
                Ok(Taken {
                    number: r.get_i64("value")?,
                    id: r.get_i64("id")?,
                })
            })
            .collect::<Result<Vec<_>, DbError>>()?;
        block.sort_by_key(|t| t.number);
        pool.extend(block);
    }
    pool.pop_front()
        .map(Some)
        .ok_or_else(|| DbError::Decode("no number taken".into()))
}

/// Citizens' names (unsealed) as this node has read them, so that a submission's timeline
/// entry names its applicant without a read. Kept under the database's announced-change
/// generation like [`SessionCache`]: a write that changes a citizen's name must announce
/// [`SESSIONS_TOPIC`] (no write does today: an account's name is its real name, verified
/// when it was opened).
pub struct NameCache {
    held: crate::db::Held<i64, String>,
}

/// Names held at most; past it the cache starts again.
const NAMES_HELD: usize = 100_000;

impl Default for NameCache {
    fn default() -> NameCache {
        NameCache {
            held: crate::db::Held::new(NAMES_HELD),
        }
    }
}

/// The name of citizen `id`, from memory when held ([`NameCache`]), else read.
pub async fn citizen_name_held(db: &crate::db::Db, id: i64) -> Result<Option<String>, DbError> {
    db.local::<NameCache>()
        .held
        .through(db, id, || db.read_single(move |c| citizen_name(c, id)))
        .await
}

/// Citizens' real-name identities (name, ID number, phone) once read, under the
/// announced-change generation (an account's change announces itself, as for names).
pub struct IdentityCache {
    held: crate::db::Held<i64, super::Citizen>,
}

impl Default for IdentityCache {
    fn default() -> IdentityCache {
        IdentityCache {
            held: crate::db::Held::new(NAMES_HELD),
        }
    }
}

/// Citizen `id`'s identity, from memory when held ([`IdentityCache`]), else read: what forms
/// fill in and lock for a real-name applicant.
pub async fn citizen_held(db: &crate::db::Db, id: i64) -> Result<Option<super::Citizen>, DbError> {
    db.local::<IdentityCache>()
        .held
        .through(db, id, || {
            db.read_single(move |c| super::get_citizen(c, id))
        })
        .await
}
