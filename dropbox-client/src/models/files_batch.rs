//! The batch routes of `files`: `move_batch_v2`, `copy_batch_v2`, `delete_batch` and their job
//! checks. Re-exported from [`files`](super::files).

use serde::{Deserialize, Serialize};

use super::files::{DeleteArg, DeleteError, Metadata, RelocationError};
use super::union::stone_union;

/// `files.RelocationPath`: one source and target of a batch move or copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelocationPath {
    /// What to move or copy.
    pub from_path: String,
    /// Where to.
    pub to_path: String,
}

impl RelocationPath {
    /// From `from` to `to`.
    pub fn new(from: impl Into<String>, to: impl Into<String>) -> Self {
        RelocationPath {
            from_path: from.into(),
            to_path: to.into(),
        }
    }
}

/// `files.MoveBatchArg` (1..=1000 entries).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MoveBatchArg {
    /// The moves, in order.
    pub entries: Vec<RelocationPath>,
    /// Pick a free name on conflict.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub autorename: bool,
    /// Allow moving content owned by someone else.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_ownership_transfer: bool,
}

impl MoveBatchArg {
    /// These moves, no autorename.
    pub fn new(entries: impl IntoIterator<Item = RelocationPath>) -> Self {
        MoveBatchArg {
            entries: entries.into_iter().collect(),
            autorename: false,
            allow_ownership_transfer: false,
        }
    }
}

/// `files.CopyBatchArg` (1..=1000 entries).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CopyBatchArg {
    /// The copies, in order.
    pub entries: Vec<RelocationPath>,
    /// Pick a free name on conflict.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub autorename: bool,
}

impl CopyBatchArg {
    /// These copies, no autorename.
    pub fn new(entries: impl IntoIterator<Item = RelocationPath>) -> Self {
        CopyBatchArg {
            entries: entries.into_iter().collect(),
            autorename: false,
        }
    }
}

stone_union! {
    /// `files.RelocationBatchErrorEntry`: why one entry of a batch move or copy failed.
    pub enum RelocationBatchErrorEntry {
        void {
            /// Something went wrong on Dropbox's side: check, then retry.
            InternalError = "internal_error",
            /// Too many writes at once: retry later.
            TooManyWriteOperations = "too_many_write_operations"
        }
        nested {
            /// The move or copy of this entry failed.
            RelocationError(RelocationError) = "relocation_error"
        }
        other Other
    }
}

stone_union! {
    /// `files.RelocationBatchResultEntry`: the outcome of one entry, in request order.
    pub enum RelocationBatchResultEntry {
        nested {
            /// The entry at its new place (`Metadata` is polymorphic, so it is nested).
            Success(Metadata) = "success",
            /// It failed.
            Failure(RelocationBatchErrorEntry) = "failure"
        }
        other Other
    }
}

/// `files.RelocationBatchV2Result`: outcomes in request order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelocationBatchV2Result {
    /// One entry per request entry.
    pub entries: Vec<RelocationBatchResultEntry>,
}

stone_union! {
    /// `files.RelocationBatchV2Launch`: done at once, or a job to poll.
    pub enum RelocationBatchV2Launch {
        nested {
            /// Poll this job with the matching `…/check_v2`.
            AsyncJobId(String) = "async_job_id"
        }
        inline {
            /// Finished synchronously.
            Complete(RelocationBatchV2Result) = "complete"
        }
        other Other
    }
}

stone_union! {
    /// `files.RelocationBatchV2JobStatus`: what `move_batch/check_v2` and
    /// `copy_batch/check_v2` answer.
    pub enum RelocationBatchV2JobStatus {
        void {
            /// Still running: ask again.
            InProgress = "in_progress"
        }
        inline {
            /// Done.
            Complete(RelocationBatchV2Result) = "complete"
        }
        other Other
    }
}

/// `files.DeleteBatchArg` (at most 1000 entries).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeleteBatchArg {
    /// What to delete, in order.
    pub entries: Vec<DeleteArg>,
}

impl DeleteBatchArg {
    /// Deletes these paths.
    pub fn new<I, A>(entries: I) -> Self
    where
        I: IntoIterator<Item = A>,
        A: Into<DeleteArg>,
    {
        DeleteBatchArg {
            entries: entries.into_iter().map(Into::into).collect(),
        }
    }
}

/// `files.DeleteBatchResultData`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeleteBatchResultData {
    /// The entry as it was before deletion.
    pub metadata: Metadata,
}

stone_union! {
    /// `files.DeleteBatchResultEntry`: the outcome of one entry, in request order.
    pub enum DeleteBatchResultEntry {
        nested {
            /// It failed.
            Failure(DeleteError) = "failure"
        }
        inline {
            /// It was deleted.
            Success(DeleteBatchResultData) = "success"
        }
        other Other
    }
}

/// `files.DeleteBatchResult`: outcomes in request order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeleteBatchResult {
    /// One entry per request entry.
    pub entries: Vec<DeleteBatchResultEntry>,
}

stone_union! {
    /// `files.DeleteBatchError`: the whole batch failed.
    pub enum DeleteBatchError {
        void {
            /// Too many writes at once: retry later.
            TooManyWriteOperations = "too_many_write_operations"
        }
        other Other
    }
}

stone_union! {
    /// `files.DeleteBatchLaunch`: done at once, or a job to poll.
    pub enum DeleteBatchLaunch {
        nested {
            /// Poll this job with `delete_batch/check`.
            AsyncJobId(String) = "async_job_id"
        }
        inline {
            /// Finished synchronously.
            Complete(DeleteBatchResult) = "complete"
        }
        other Other
    }
}

stone_union! {
    /// `files.DeleteBatchJobStatus`: what `delete_batch/check` answers.
    pub enum DeleteBatchJobStatus {
        void {
            /// Still running: ask again.
            InProgress = "in_progress"
        }
        nested {
            /// The whole batch failed.
            Failed(DeleteBatchError) = "failed"
        }
        inline {
            /// Done.
            Complete(DeleteBatchResult) = "complete"
        }
        other Other
    }
}
