//! Values held in memory under one generation of the database's announced changes
//! ([`super::Db::cache_generation`]): what a room's in-memory cache keeps. Everything held
//! belongs to one generation; a value kept at a newer one drops the older ones, and a value
//! read at an older one is not kept.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

pub struct Held<K, V> {
    capacity: usize,
    slot: Mutex<(u64, HashMap<K, V>)>,
}

impl<K: Eq + Hash, V: Clone> Held<K, V> {
    /// At most `capacity` values; past it the cache starts again.
    pub fn new(capacity: usize) -> Held<K, V> {
        Held {
            capacity,
            slot: Mutex::new((0, HashMap::new())),
        }
    }

    /// The value under `key`, if held at `generation`.
    pub fn get<Q>(&self, generation: u64, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let slot = self.slot.lock().ok()?;
        (slot.0 == generation).then(|| slot.1.get(key).cloned())?
    }

    /// Hold `value`, read at `generation`.
    pub fn keep(&self, generation: u64, key: K, value: V) {
        let Ok(mut slot) = self.slot.lock() else {
            return;
        };
        if slot.0 > generation {
            return;
        }
        if slot.0 < generation || slot.1.len() >= self.capacity {
            slot.1.clear();
            slot.0 = generation;
        }
        slot.1.insert(key, value);
    }

    /// The value under `key`: from memory when held at `db`'s current generation, else from
    /// `read`, and then kept if nothing was announced while it was read. Nothing is held
    /// where the database gives no generation.
    pub async fn through<F, Fut>(
        &self,
        db: &super::Db,
        key: K,
        read: F,
    ) -> Result<Option<V>, super::DbError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Option<V>, super::DbError>>,
    {
        let generation = db.cache_generation();
        if let Some(v) = generation.and_then(|g| self.get(g, &key)) {
            return Ok(Some(v));
        }
        let value = read().await?;
        if let (Some(g), Some(v)) = (generation, &value) {
            if db.cache_generation() == Some(g) {
                self.keep(g, key, v.clone());
            }
        }
        Ok(value)
    }

    /// Change the value held under `key`, if any.
    pub fn update(&self, key: &K, change: impl FnOnce(&mut V)) {
        if let Ok(mut slot) = self.slot.lock() {
            if let Some(v) = slot.1.get_mut(key) {
                change(v);
            }
        }
    }

    /// How many values are held at `generation` (for tests and metrics).
    pub fn len_at(&self, generation: u64) -> usize {
        self.slot
            .lock()
            .map(|s| if s.0 == generation { s.1.len() } else { 0 })
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::Held;

    #[test]
    fn one_generation_at_a_time() {
        let h: Held<&str, i32> = Held::new(2);
        h.keep(1, "a", 1);
        assert_eq!(h.get(1, &"a"), Some(1));
        assert_eq!(h.get(2, &"a"), None, "another generation sees nothing");
        h.keep(2, "b", 2);
        assert_eq!((h.get(1, &"a"), h.get(2, &"b")), (None, Some(2)));
        h.keep(1, "a", 1);
        assert_eq!(
            h.get(1, &"a"),
            None,
            "a value read before the change is not kept"
        );
        h.keep(2, "c", 3);
        h.keep(2, "d", 4);
        assert_eq!(h.len_at(2), 1, "past its capacity the cache starts again");
        h.update(&"d", |v| *v += 1);
        assert_eq!(h.get(2, &"d"), Some(5));
    }
}
