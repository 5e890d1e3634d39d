//! Cases read recently, opened, in memory: a citizen follows an application by opening its
//! page again and again, and each opening read three statements (one round trip on
//! PostgreSQL) and unsealed the form and the timeline. The cache follows the database's
//! announced changes ([`Db::cache_generation`]) as the matter and session caches do: every
//! change to a case ([`super::update`]) announces itself, every node hears it (LISTEN/NOTIFY;
//! on SQLite every process reads the file's generation row, this one at once, others
//! within 200 ms) and stops using what it read before. A new case needs no announcement (it
//! was never held: absent cases are not cached). Where the database gives no generation (a
//! PostgreSQL node not listening) nothing is cached.

use super::{fetch_whole, CaseRecord, Event, MaterialRecord};
use std::sync::Arc;
use tongban_platform::db::{Db, DbError, Held};

/// What a change to a case announces.
pub const TOPIC: &str = "cases";

/// Cases kept at most; past it the cache starts again. A held case (form, timeline of a
/// few entries, materials' names) takes a few kilobytes: tens of megabytes at most.
const CAPACITY: usize = 10_000;

/// A case's whole story, unsealed: its record, timeline and materials.
#[derive(Debug, Clone)]
pub struct Story {
    pub rec: CaseRecord,
    pub events: Vec<Event>,
    pub mats: Vec<MaterialRecord>,
}

/// The cache itself, one per database handle ([`Db::local`]).
pub struct RecentCases {
    held: Held<String, Arc<Story>>,
}

impl Default for RecentCases {
    fn default() -> RecentCases {
        RecentCases {
            held: Held::new(CAPACITY),
        }
    }
}

impl RecentCases {
    /// Whether case `case_no` is held at `generation` (for tests).
    pub fn holds(&self, generation: u64, case_no: &str) -> bool {
        self.held.get(generation, case_no).is_some()
    }
}

/// Case `case_no` with its timeline and materials, unsealed: from memory when this node
/// holds it at the current generation, else read in one snapshot and kept.
pub async fn fetch_story(db: &Db, case_no: &str) -> Result<Option<Arc<Story>>, DbError> {
    let cache = db.local::<RecentCases>();
    let generation = db.cache_generation();
    if let Some(story) = generation.and_then(|g| cache.held.get(g, case_no)) {
        return Ok(Some(story));
    }
    let Some(whole) = fetch_whole(db, case_no).await? else {
        return Ok(None);
    };
    let (rec, events, mats) = whole.open()?;
    let story = Arc::new(Story { rec, events, mats });
    if let Some(g) = generation {
        // Kept only if nothing was announced since the generation was taken (before the
        // read): a case read in a snapshot older than an announced change is never kept.
        if db.cache_generation() == Some(g) {
            cache.held.keep(g, case_no.to_owned(), story.clone());
        }
    }
    Ok(Some(story))
}
