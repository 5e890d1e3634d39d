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

/// The installed ranking's answer for `q`, worked out on a blocking thread (a search of a
/// large index takes milliseconds that the request threads should not wait out).
pub async fn matters(db: &Db, q: &str) -> Option<Vec<String>> {
    let f = *RANK.get()?;
    let (db, q) = (db.clone(), q.to_owned());
    tokio::task::spawn_blocking(move || f(&db, &q))
        .await
        .ok()
        .flatten()
}
