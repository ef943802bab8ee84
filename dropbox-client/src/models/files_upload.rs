//! The upload routes of `files`: write modes and commits, single uploads, upload sessions and
//! batch commits, with their route errors. Re-exported from [`files`](super::files).

use serde::{Deserialize, Serialize};

use super::common::{timestamp_opt, Timestamp};
use super::file_properties::PropertyGroup;
use super::files::*;
use super::union::stone_union;

stone_union! {
    /// `files.WriteMode`: what to do when something is at the target path.
    pub enum WriteMode {
        void {
            /// Never overwrite; with `autorename` pick a free name.
            Add = "add",
            /// Always replace.
            Overwrite = "overwrite"
        }
        nested {
            /// Replace only if the current rev is this one.
            Update(String) = "update"
        }
    }
}

// The enum comes from `stone_union!`, which cannot carry `#[default]`.
#[allow(clippy::derivable_impls)]
impl Default for WriteMode {
    fn default() -> Self {
        WriteMode::Add
    }
}

/// `files.CommitInfo`: where and how an upload is written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommitInfo {
    /// Target path (or `id:…`).
    pub path: String,
    /// What to do when something is in the way.
    #[serde(default)]
    pub mode: WriteMode,
    /// Pick a free name instead of failing on a conflict.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub autorename: bool,
    /// Modification time to record (whole seconds).
    #[serde(
        default,
        with = "timestamp_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub client_modified: Option<Timestamp>,
    /// Do not notify the user's devices.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mute: bool,
    /// Custom properties to attach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property_groups: Option<Vec<PropertyGroup>>,
    /// Count identical content as a conflict too.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub strict_conflict: bool,
}

impl CommitInfo {
    /// Writes to `path` in `add` mode.
    pub fn new(path: impl Into<String>) -> Self {
        CommitInfo {
            path: path.into(),
            mode: WriteMode::Add,
            autorename: false,
            client_modified: None,
            mute: false,
            property_groups: None,
            strict_conflict: false,
        }
    }

    /// Sets the write mode.
    pub fn mode(mut self, mode: WriteMode) -> Self {
        self.mode = mode;
        self
    }

    /// Picks a free name on conflict.
    pub fn autorename(mut self, yes: bool) -> Self {
        self.autorename = yes;
        self
    }

    /// Records this modification time (sub-seconds are dropped on the wire).
    pub fn client_modified(mut self, t: Timestamp) -> Self {
        self.client_modified = Some(t);
        self
    }

    /// Does not notify devices.
    pub fn mute(mut self, yes: bool) -> Self {
        self.mute = yes;
        self
    }

    /// Attaches custom properties.
    pub fn property_groups(mut self, groups: Vec<PropertyGroup>) -> Self {
        self.property_groups = Some(groups);
        self
    }

    /// Counts identical content as a conflict.
    pub fn strict_conflict(mut self, yes: bool) -> Self {
        self.strict_conflict = yes;
        self
    }
}

impl<S: Into<String>> From<S> for CommitInfo {
    fn from(path: S) -> Self {
        CommitInfo::new(path)
    }
}

/// `files.UploadArg`: a [`CommitInfo`] plus the hash of the body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadArg {
    /// Where and how to write.
    #[serde(flatten)]
    pub commit: CommitInfo,
    /// Content hash of the body; the server refuses a body that does not match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
}

/// `files.UploadWriteFailed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadWriteFailed {
    /// Why the write failed.
    pub reason: WriteError,
    /// A session holding the data, to retry the commit with `upload_session/finish`.
    pub upload_session_id: String,
}

stone_union! {
    /// `files.UploadError`.
    pub enum UploadError {
        void {
            /// The body is over 150 MiB.
            PayloadTooLarge = "payload_too_large",
            /// The body does not match `content_hash`.
            ContentHashMismatch = "content_hash_mismatch",
            /// Encrypted folders are not supported.
            EncryptionNotSupported = "encryption_not_supported"
        }
        nested {
            /// The property groups were wrong.
            PropertiesError(serde_json::Value) = "properties_error"
        }
        inline {
            /// The write failed.
            Path(UploadWriteFailed) = "path"
        }
        other Other
    }
}

stone_union! {
    /// `files.UploadSessionType`.
    pub enum UploadSessionType {
        void {
            /// Data arrives in order (the default).
            Sequential = "sequential",
            /// Data arrives in 4 MiB-aligned pieces in any order.
            Concurrent = "concurrent"
        }
        other Other
    }
}

/// `files.UploadSessionStartArg`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct UploadSessionStartArg {
    /// Close the session with this request (no more appends).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub close: bool,
    /// Sequential (default) or concurrent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_type: Option<UploadSessionType>,
    /// Hash of this request's body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
}

/// `files.UploadSessionStartResult`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadSessionStartResult {
    /// The new session.
    pub session_id: String,
}

/// `files.UploadSessionCursor`: a session and the number of bytes it holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadSessionCursor {
    /// The session.
    pub session_id: String,
    /// Bytes uploaded so far (where this request's data starts).
    pub offset: u64,
}

/// `files.UploadSessionAppendArg`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadSessionAppendArg {
    /// Session and offset.
    pub cursor: UploadSessionCursor,
    /// Close the session with this request.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub close: bool,
    /// Hash of this request's body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
}

/// `files.UploadSessionFinishArg`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadSessionFinishArg {
    /// Session and the total bytes it holds (plus this request's body).
    pub cursor: UploadSessionCursor,
    /// Where and how to write the file.
    pub commit: CommitInfo,
    /// Hash of this request's body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
}

/// `files.UploadSessionOffsetError`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadSessionOffsetError {
    /// The offset the server expects.
    pub correct_offset: u64,
}

stone_union! {
    /// `files.UploadSessionLookupError` (also the append error, `UploadSessionAppendError`).
    pub enum UploadSessionLookupError {
        void {
            /// No such session (or it expired after 7 days).
            NotFound = "not_found",
            /// The session is closed: no more data.
            Closed = "closed",
            /// The session must be closed before finishing (batches, concurrent sessions).
            NotClosed = "not_closed",
            /// The file would exceed the size limit.
            TooLarge = "too_large",
            /// A concurrent session's offset is not 4 MiB-aligned.
            ConcurrentSessionInvalidOffset = "concurrent_session_invalid_offset",
            /// A concurrent session's piece is not a multiple of 4 MiB.
            ConcurrentSessionInvalidDataSize = "concurrent_session_invalid_data_size",
            /// The request body is over 150 MiB.
            PayloadTooLarge = "payload_too_large",
            /// The body does not match `content_hash`.
            ContentHashMismatch = "content_hash_mismatch"
        }
        inline {
            /// The offset does not match what the session holds.
            IncorrectOffset(UploadSessionOffsetError) = "incorrect_offset"
        }
        other Other
    }
}

stone_union! {
    /// `files.UploadSessionStartError`.
    pub enum UploadSessionStartError {
        void {
            /// A concurrent session cannot take data in `start`.
            ConcurrentSessionDataNotAllowed = "concurrent_session_data_not_allowed",
            /// A concurrent session cannot be closed in `start`.
            ConcurrentSessionCloseNotAllowed = "concurrent_session_close_not_allowed",
            /// The body is over 150 MiB.
            PayloadTooLarge = "payload_too_large",
            /// The body does not match `content_hash`.
            ContentHashMismatch = "content_hash_mismatch"
        }
        other Other
    }
}

stone_union! {
    /// `files.UploadSessionFinishError`.
    pub enum UploadSessionFinishError {
        void {
            /// Too many writes: retry later.
            TooManyWriteOperations = "too_many_write_operations",
            /// A concurrent session takes no data in finish.
            ConcurrentSessionDataNotAllowed = "concurrent_session_data_not_allowed",
            /// A concurrent session must be closed first.
            ConcurrentSessionNotClosed = "concurrent_session_not_closed",
            /// A concurrent session has gaps.
            ConcurrentSessionMissingData = "concurrent_session_missing_data",
            /// The body is over 150 MiB.
            PayloadTooLarge = "payload_too_large",
            /// The body does not match `content_hash`.
            ContentHashMismatch = "content_hash_mismatch",
            /// Encrypted folders are not supported.
            EncryptionNotSupported = "encryption_not_supported"
        }
        nested {
            /// The session could not be used.
            LookupFailed(UploadSessionLookupError) = "lookup_failed",
            /// The data is in the session but the write failed; retry the finish.
            Path(WriteError) = "path",
            /// The property groups were wrong.
            PropertiesError(serde_json::Value) = "properties_error"
        }
        other Other
    }
}

/// `files.UploadSessionFinishBatchArg`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadSessionFinishBatchArg {
    /// Up to 1000 closed sessions to commit.
    pub entries: Vec<UploadSessionFinishArg>,
}

stone_union! {
    /// `files.UploadSessionFinishBatchResultEntry`: one commit's outcome.
    pub enum UploadSessionFinishBatchResultEntry {
        nested {
            /// The commit failed.
            Failure(UploadSessionFinishError) = "failure"
        }
        inline {
            /// The file was written.
            Success(FileMetadata) = "success"
        }
        other Other
    }
}

/// `files.UploadSessionFinishBatchResult`: outcomes in request order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadSessionFinishBatchResult {
    /// One entry per commit, in request order.
    pub entries: Vec<UploadSessionFinishBatchResultEntry>,
}

stone_union! {
    /// `files.UploadSessionFinishBatchJobStatus`: what `finish_batch/check` answers.
    pub enum UploadSessionFinishBatchJobStatus {
        void {
            /// Still running: ask again.
            InProgress = "in_progress"
        }
        inline {
            /// Done.
            Complete(UploadSessionFinishBatchResult) = "complete"
        }
        other Other
    }
}
