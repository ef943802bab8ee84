//! The in-memory state store (tests, dry experiments): everything is lost when it is dropped.
//! It implements both [`StateStore`] and [`crate::state::DocumentStore`] (in `docs`); the two
//! keep separate state (nothing is migrated in memory).

mod docs;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::Utc;

use super::{AuditEntry, Failure, Intent, Mapping, NewFailure, StateStore};
use crate::error::Result;
use crate::model::{Checkpoint, DocRef};

#[derive(Default)]
struct Inner {
    checkpoints: HashMap<String, Checkpoint>,
    /// (flow, key) → mappings in recording order.
    mappings: BTreeMap<(String, String), Vec<Mapping>>,
    intents: BTreeMap<(String, String), Intent>,
    failures: BTreeMap<(String, String), Failure>,
    audit: Vec<AuditEntry>,
    /// (flow, source marker, step) of the post-record steps done.
    steps: std::collections::HashSet<(String, String, String)>,
}

/// A [`StateStore`] and [`crate::state::DocumentStore`] in memory.
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
    docs: Mutex<docs::Docs>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn docs(&self) -> MutexGuard<'_, docs::Docs> {
        self.docs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn k(flow: &str, key: &str) -> (String, String) {
    (flow.to_owned(), key.to_owned())
}

#[async_trait]
impl StateStore for MemoryStore {
    async fn checkpoint(&self, flow: &str) -> Result<Option<Checkpoint>> {
        Ok(self.lock().checkpoints.get(flow).cloned())
    }

    async fn set_checkpoint(&self, flow: &str, checkpoint: &Checkpoint) -> Result<()> {
        self.lock()
            .checkpoints
            .insert(flow.to_owned(), checkpoint.clone());
        Ok(())
    }

    async fn latest_mapping(&self, flow: &str, key: &str) -> Result<Option<Mapping>> {
        Ok(self
            .lock()
            .mappings
            .get(&k(flow, key))
            .and_then(|v| v.last().cloned()))
    }

    async fn mappings(&self, flow: &str) -> Result<Vec<Mapping>> {
        Ok(self
            .lock()
            .mappings
            .iter()
            .filter(|((f, _), _)| f == flow)
            .filter_map(|(_, v)| v.last().cloned())
            .collect())
    }

    async fn begin_intent(&self, flow: &str, source: &DocRef) -> Result<()> {
        self.lock().intents.insert(
            k(flow, &source.key()),
            Intent {
                source: source.clone(),
                started: Utc::now(),
            },
        );
        Ok(())
    }

    async fn intent(&self, flow: &str, key: &str) -> Result<Option<Intent>> {
        Ok(self.lock().intents.get(&k(flow, key)).cloned())
    }

    async fn intents(&self, flow: &str) -> Result<Vec<Intent>> {
        Ok(self
            .lock()
            .intents
            .iter()
            .filter(|((f, _), _)| f == flow)
            .map(|(_, i)| i.clone())
            .collect())
    }

    async fn clear_intent(&self, flow: &str, key: &str) -> Result<()> {
        self.lock().intents.remove(&k(flow, key));
        Ok(())
    }

    async fn record_write(&self, flow: &str, mapping: &Mapping, audit: &AuditEntry) -> Result<()> {
        let mut inner = self.lock();
        let key = k(flow, &mapping.source.key());
        let list = inner.mappings.entry(key.clone()).or_default();
        match list.iter_mut().find(|m| m.source == mapping.source) {
            Some(existing) => *existing = mapping.clone(),
            None => list.push(mapping.clone()),
        }
        inner.intents.remove(&key);
        inner.failures.remove(&key);
        inner.audit.push(audit.clone());
        Ok(())
    }

    async fn mark_hooks_done(&self, flow: &str, source: &DocRef) -> Result<()> {
        let mut inner = self.lock();
        if let Some(list) = inner.mappings.get_mut(&k(flow, &source.key())) {
            for m in list.iter_mut().filter(|m| m.source == *source) {
                m.hooks_done = true;
            }
        }
        Ok(())
    }

    async fn step_done(&self, flow: &str, source: &DocRef, step: &str) -> Result<bool> {
        Ok(self
            .lock()
            .steps
            .contains(&(flow.to_owned(), source.marker(), step.to_owned())))
    }

    async fn mark_step_done(&self, flow: &str, source: &DocRef, step: &str) -> Result<()> {
        self.lock()
            .steps
            .insert((flow.to_owned(), source.marker(), step.to_owned()));
        Ok(())
    }

    async fn record_failure(
        &self,
        flow: &str,
        failure: &NewFailure<'_>,
        audit: &AuditEntry,
    ) -> Result<Failure> {
        let NewFailure {
            source,
            path,
            error,
            attempts,
            dead_after,
        } = *failure;
        let mut inner = self.lock();
        let key = k(flow, &source.key());
        let previous = inner.failures.get(&key).cloned();
        let total = previous.as_ref().map_or(0, |f| f.attempts) + attempts;
        let failure = Failure {
            source: source.clone(),
            path: path
                .map(str::to_owned)
                .or_else(|| previous.and_then(|f| f.path)),
            error: error.to_owned(),
            attempts: total,
            dead: dead_after > 0 && total >= dead_after,
            updated: Utc::now(),
        };
        inner.failures.insert(key, failure.clone());
        inner.audit.push(audit.clone());
        Ok(failure)
    }

    async fn clear_failure(&self, flow: &str, key: &str) -> Result<()> {
        self.lock().failures.remove(&k(flow, key));
        Ok(())
    }

    async fn failures(&self, flow: &str) -> Result<Vec<Failure>> {
        Ok(self
            .lock()
            .failures
            .iter()
            .filter(|((f, _), _)| f == flow)
            .map(|(_, v)| v.clone())
            .collect())
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<()> {
        self.lock().audit.push(entry.clone());
        Ok(())
    }

    async fn audit(&self, flow: Option<&str>) -> Result<Vec<AuditEntry>> {
        Ok(self
            .lock()
            .audit
            .iter()
            .filter(|e| flow.is_none_or(|f| e.flow == f))
            .cloned()
            .collect())
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn conforms() {
        super::super::conformance::run(&super::MemoryStore::new()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn conforms_as_a_document_store() {
        let store = std::sync::Arc::new(super::MemoryStore::new());
        super::super::conformance_docs::run(store).await;
    }
}
