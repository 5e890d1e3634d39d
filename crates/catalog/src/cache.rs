//! Matters in memory. Every application and every case view needs its matter (guide, form
//! schema, promised days), which changes a few times a year; on PostgreSQL a lookup is a
//! round trip. The cache follows the database's announced changes
//! ([`tongban_platform::db::Db::cache_generation`]): every write to matters or departments
//! announces itself, every node hears it (LISTEN/NOTIFY; on SQLite every process reads the
//! file's generation row) and stops using what it read before. Where the database gives no
//! generation (a PostgreSQL node not listening) nothing is cached.

use crate::model::Matter;
use crate::store;
use std::sync::Arc;
use tongban_platform::db::{Conn, Db, DbError, Held};

/// What writes to matters announce.
pub const TOPIC: &str = "matters";

/// Matters kept at most; past it the cache starts again (a city has a few thousand).
const CAPACITY: usize = 20_000;

/// The cache itself, one per database handle ([`Db::local`]).
pub struct MatterCache {
    held: Held<String, Arc<Matter>>,
}

impl Default for MatterCache {
    fn default() -> MatterCache {
        MatterCache {
            held: Held::new(CAPACITY),
        }
    }
}

/// A reader of matters for one request: take it before the transaction that uses it, so
/// that what it caches is never older than the generation it was taken at.
#[derive(Clone)]
pub struct Matters {
    db: Db,
    cache: Arc<MatterCache>,
    generation: Option<u64>,
}

/// The matter reader for a request on `db`.
pub fn matters(db: &Db) -> Matters {
    Matters {
        db: db.clone(),
        cache: db.local::<MatterCache>(),
        generation: db.cache_generation(),
    }
}

impl Matters {
    /// The matter with `code`, without a trip to the database when this node holds it.
    pub async fn fetch(&self, code: &str) -> Result<Option<Matter>, DbError> {
        if let Some(m) = self.generation.and_then(|g| self.cache.lookup(g, code)) {
            return Ok(Some(m.as_ref().clone()));
        }
        let (this, code) = (self.clone(), code.to_owned());
        self.db.read_single(move |c| this.get(c, &code)).await
    }

    /// The matter with `code`, from memory when this node has it at the current generation.
    pub fn get(&self, c: &mut dyn Conn, code: &str) -> Result<Option<Matter>, DbError> {
        let Some(generation) = self.generation else {
            return store::get(c, code);
        };
        if let Some(m) = self.cache.lookup(generation, code) {
            return Ok(Some(m.as_ref().clone()));
        }
        let found = store::get(c, code)?;
        if let Some(m) = &found {
            // Kept only if nothing was announced since this reader was taken: a matter read
            // in a snapshot older than an announced change is never kept.
            if self.db.cache_generation() == Some(generation) {
                self.cache.keep(generation, m.clone());
            }
        }
        Ok(found)
    }
}

impl MatterCache {
    fn lookup(&self, generation: u64, code: &str) -> Option<Arc<Matter>> {
        self.held.get(generation, &code.to_owned())
    }

    fn keep(&self, generation: u64, m: Matter) {
        self.held.keep(generation, m.code.clone(), Arc::new(m));
    }

    /// How many matters are held at `generation` (for tests and metrics).
    pub fn held(&self, generation: u64) -> usize {
        self.held.len_at(generation)
    }
}
