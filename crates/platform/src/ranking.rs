//! How the catalogue ranks matters for a query: by the one search index (installed by the
//! server from the portal room, which the catalogue cannot name), or, where no index is
//! installed or built (a command-line tool), by the catalogue's own plain text match.

use crate::db::Db;
use std::sync::OnceLock;

/// Matter codes for a query, best first; `None` when the index cannot answer.
pub type Rank = fn(&Db, &str) -> Option<Vec<String>>;

static RANK: OnceLock<Rank> = OnceLock::new();

/// Install the ranking (once per process).
pub fn install(f: Rank) {
    let _ = RANK.set(f);
}

/// The installed ranking's answer for `q`.
pub fn matters(db: &Db, q: &str) -> Option<Vec<String>> {
    RANK.get().and_then(|f| f(db, q))
}
