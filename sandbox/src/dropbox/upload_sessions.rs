//! Open upload sessions: what each holds (sequential data, or concurrent pieces by offset)
//! and the table of them by id.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use super::blobs::ContentHasher;

/// One upload session.
#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) account: usize,
    pub(crate) concurrent: bool,
    /// Sequential: the data so far. Concurrent: set once the pieces were joined.
    pub(crate) file: Option<PathBuf>,
    pub(crate) len: u64,
    pub(crate) hasher: ContentHasher,
    pub(crate) closed: bool,
    /// Concurrent: pieces by offset (path, length).
    pub(crate) pieces: BTreeMap<u64, (PathBuf, u64)>,
    /// Concurrent: total length, known once the closing append arrived.
    pub(crate) end: Option<u64>,
    pub(crate) created: DateTime<Utc>,
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(file) = &self.file {
            let _ = std::fs::remove_file(file);
        }
        for (path, _) in self.pieces.values() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Open upload sessions by id.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    map: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Session>>>>,
}

impl Sessions {
    pub(crate) fn get(&self, id: &str, account: usize) -> Option<Arc<tokio::sync::Mutex<Session>>> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let session = map.get(id)?.clone();
        // Sessions live 7 days; the owner check happens on the locked session.
        let _ = account;
        Some(session)
    }

    pub(crate) fn insert(&self, session: Session) -> String {
        let id = format!("sbx-session-{}", random_id());
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), Arc::new(tokio::sync::Mutex::new(session)));
        id
    }

    pub(crate) fn remove(&self, id: &str) {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }
}

/// A random id for a session or a job.
pub(crate) fn random_id() -> String {
    let mut rng = fastrand::Rng::new();
    (0..24).map(|_| rng.alphanumeric()).collect()
}
