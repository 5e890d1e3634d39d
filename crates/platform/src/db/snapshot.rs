//! A value read whole from the database and kept beside it in memory while no change is
//! announced ([`Db::cache_generation`]): the region, the category tree. Where the database
//! gives no generation (a PostgreSQL node not listening), it is read every time.

use super::{Conn, Db, DbError};
use std::sync::{Arc, Mutex};

/// The kept value of one type, with the generation it was read at.
pub struct Snapshot<T> {
    held: Mutex<Option<(u64, Arc<T>)>>,
}

impl<T> Default for Snapshot<T> {
    fn default() -> Self {
        Snapshot {
            held: Mutex::new(None),
        }
    }
}

/// The value `load` reads, from memory while nothing was announced since it was read.
pub async fn current<T: Send + Sync + 'static>(
    db: &Db,
    load: fn(&mut dyn Conn) -> Result<T, DbError>,
) -> Result<Arc<T>, DbError> {
    let cache = db.local::<Snapshot<T>>();
    let generation = db.cache_generation();
    if let (Some(g), Ok(held)) = (generation, cache.held.lock()) {
        if let Some((at, v)) = held.as_ref() {
            if *at == g {
                return Ok(v.clone());
            }
        }
    }
    let v = Arc::new(db.read(load).await?);
    // Kept only if nothing was announced while it was read.
    if let Some(g) = generation {
        if db.cache_generation() == Some(g) {
            if let Ok(mut held) = cache.held.lock() {
                *held = Some((g, v.clone()));
            }
        }
    }
    Ok(v)
}
