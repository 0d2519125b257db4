//! [`SchemaCache`]: compiled schemas by id, and failures for a while.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use truthound_streaming_core::DeserializeFailure;

/// Each schema id's compiled form, built once; a failure is remembered for the cache's
/// retry delay, during which that id fails at once with the same reason.
///
/// Many threads may decode at once: the first to miss an id loads it while the others wait,
/// so each id is fetched once (lookups are rare: one per schema id). Make one with
/// [`RegistryClient::cache`](crate::RegistryClient::cache).
///
/// ```
/// use std::time::Duration;
/// use truthound_registry::SchemaCache;
///
/// let cache = SchemaCache::new(Duration::from_secs(5));
/// assert_eq!(*cache.get_or_load(7, || Ok::<_, String>("compiled")).unwrap(), "compiled");
/// // Cached: the loader is not called again.
/// assert_eq!(*cache.get_or_load(7, || Err("not called".to_owned())).unwrap(), "compiled");
/// // A failure is remembered.
/// assert!(cache.get_or_load(8, || Err::<&str, _>("down".to_owned())).is_err());
/// let again = cache.get_or_load(8, || Ok("up")).unwrap_err();
/// assert_eq!(again.reason(), "down");
/// assert_eq!(cache.ids(), [7]);
/// ```
pub struct SchemaCache<T> {
    retry_after: Duration,
    schemas: RwLock<HashMap<u32, Arc<T>>>,
    /// Failed loads: when, and the failure reason. The lock is also held while a load is in
    /// flight.
    failures: Mutex<HashMap<u32, (Instant, String)>>,
}

impl<T> SchemaCache<T> {
    /// An empty cache remembering failures for `retry_after`.
    pub fn new(retry_after: Duration) -> Self {
        Self {
            retry_after,
            schemas: RwLock::default(),
            failures: Mutex::default(),
        }
    }

    /// The schema with this id: cached, or built by `load` (its error is the failure
    /// reason, to be scrubbed of secrets by the caller).
    ///
    /// # Errors
    /// The reason `load` gave, now or within the retry delay.
    pub fn get_or_load(
        &self,
        id: u32,
        load: impl FnOnce() -> Result<T, String>,
    ) -> Result<Arc<T>, DeserializeFailure> {
        if let Some(schema) = self.cached(id) {
            return Ok(schema);
        }
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(schema) = self.cached(id) {
            return Ok(schema);
        }
        if let Some((at, reason)) = failures.get(&id)
            && at.elapsed() < self.retry_after
        {
            return Err(DeserializeFailure::new(reason.clone()));
        }
        match load() {
            Ok(schema) => {
                let schema = Arc::new(schema);
                failures.remove(&id);
                self.schemas
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(id, Arc::clone(&schema));
                Ok(schema)
            }
            Err(reason) => {
                failures.insert(id, (Instant::now(), reason.clone()));
                Err(DeserializeFailure::new(reason))
            }
        }
    }

    /// The ids cached, in order.
    pub fn ids(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = self
            .schemas
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .copied()
            .collect();
        ids.sort_unstable();
        ids
    }

    fn cached(&self, id: u32) -> Option<Arc<T>> {
        self.schemas
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .cloned()
    }
}

impl<T> std::fmt::Debug for SchemaCache<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaCache")
            .field("ids", &self.ids())
            .field("retry_after", &self.retry_after)
            .finish()
    }
}
