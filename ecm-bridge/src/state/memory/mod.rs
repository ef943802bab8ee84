//! The in-memory state store (tests, dry experiments): everything is lost when it is dropped.
//! It implements both [`StateStore`] (checkpoints, audit) and [`crate::state::DocumentStore`]
//! (in `docs`).

mod docs;

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use super::{AuditEntry, StateStore};
use crate::error::Result;
use crate::model::Checkpoint;
use async_trait::async_trait;

#[derive(Default)]
struct Inner {
    checkpoints: HashMap<String, Checkpoint>,
    audit: Vec<AuditEntry>,
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
