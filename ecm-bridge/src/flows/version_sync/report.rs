//! What a `version_sync` run did: one [`SyncEntry`] per pair that something happened to.

use std::fmt;

use serde::Serialize;

use crate::state::RunId;

/// What happened to one pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncAction {
    /// A CS document without a Dropbox copy was published and paired.
    Published,
    /// A CS document and a Dropbox file with the same content were paired (or found in step
    /// after an unrecorded write: the echo of our own write is recorded, not synced).
    Paired,
    /// A new official CS version replaced the Dropbox copy (update by rev).
    SentOut,
    /// A Dropbox edit came into CS as a pending change.
    Pending,
    /// A pending Dropbox edit became the official CS version.
    Accepted,
    /// A pending Dropbox edit was rejected in CS: kept in Dropbox as a conflicted copy, the
    /// official CS version put back.
    Rejected,
    /// Both sides changed since the last sync; the detail says what the policy did.
    Conflict,
    /// A flagged conflict is still open (nothing changed).
    StillFlagged,
    /// Renamed or moved on one side; the other side followed.
    Renamed,
    /// One side (or both) was deleted; the detail says what the policy did.
    Deleted,
    /// One side was deleted and restored from the other.
    Restored,
    /// Something failed; the pair is left for the next run.
    Failed,
}

impl SyncAction {
    /// The report's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncAction::Published => "published",
            SyncAction::Paired => "paired",
            SyncAction::SentOut => "sent out",
            SyncAction::Pending => "pending",
            SyncAction::Accepted => "accepted",
            SyncAction::Rejected => "rejected",
            SyncAction::Conflict => "conflict",
            SyncAction::StillFlagged => "still flagged",
            SyncAction::Renamed => "renamed",
            SyncAction::Deleted => "deleted",
            SyncAction::Restored => "restored",
            SyncAction::Failed => "failed",
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncEntry {
    /// The pair, by its CS path (relative to the synced folder).
    pub pair: String,
    /// The CS node.
    pub node: i64,
    /// What happened.
    pub action: SyncAction,
    /// What was done, for people (the policy's decision, a conflicted copy's path, an error).
    pub detail: String,
}

/// The report of one run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncReport {
    /// The run's id in the store.
    pub run: RunId,
    /// Pairs known after the run (not removed).
    pub pairs: usize,
    /// Pairs found in step with nothing to do.
    pub unchanged: usize,
    /// What happened, pair by pair.
    pub entries: Vec<SyncEntry>,
    /// Dropbox files in the folder that belong to no pair (conflicted copies among them).
    pub unpaired_dropbox: Vec<String>,
}

impl SyncReport {
    /// The entries of one kind.
    pub fn of(&self, action: SyncAction) -> Vec<&SyncEntry> {
        self.entries.iter().filter(|e| e.action == action).collect()
    }

    /// Every conflict found by this run (new or still flagged).
    pub fn conflicts(&self) -> Vec<&SyncEntry> {
        self.entries
            .iter()
            .filter(|e| matches!(e.action, SyncAction::Conflict | SyncAction::StillFlagged))
            .collect()
    }

    /// Whether the run changed anything (a still-flagged conflict is no change).
    pub fn changed(&self) -> bool {
        self.entries
            .iter()
            .any(|e| e.action != SyncAction::StillFlagged)
    }

    /// One line of counts.
    pub fn summary(&self) -> String {
        let mut counts = std::collections::BTreeMap::new();
        for e in &self.entries {
            *counts.entry(e.action.as_str()).or_insert(0) += 1;
        }
        let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
        format!(
            "run {}: {} pairs, {} unchanged{}{}",
            self.run,
            self.pairs,
            self.unchanged,
            if parts.is_empty() { "" } else { ", " },
            parts.join(", ")
        )
    }
}

/// The summary, then one line per entry.
impl fmt::Display for SyncReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.summary())?;
        for e in &self.entries {
            writeln!(f, "  {:<13} {}: {}", e.action.as_str(), e.pair, e.detail)?;
        }
        if !self.unpaired_dropbox.is_empty() {
            writeln!(
                f,
                "  not paired in Dropbox: {}",
                self.unpaired_dropbox.join(", ")
            )?;
        }
        Ok(())
    }
}
