//! Types of the `files` namespace (files.stone): metadata, listing, upload, relocation,
//! revisions, search and tags, with their route errors.

use serde::{Deserialize, Serialize};

use super::common::{timestamp_opt, Timestamp};
use super::file_properties::{PropertyGroup, TemplateFilterBase};
use super::union::stone_union;

pub use super::files_batch::*;

// ---------------------------------------------------------------------------------------------
// Metadata

/// `files.Metadata`: a file, a folder, or a deleted entry (`.tag` on the wire where the declared
/// type is `Metadata`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = ".tag", rename_all = "snake_case")]
pub enum Metadata {
    /// A file.
    File(FileMetadata),
    /// A folder.
    Folder(FolderMetadata),
    /// An entry that was deleted (listings with `include_deleted`, changes feeds).
    Deleted(DeletedMetadata),
}

impl Metadata {
    /// The last path component.
    pub fn name(&self) -> &str {
        match self {
            Metadata::File(f) => &f.name,
            Metadata::Folder(f) => &f.name,
            Metadata::Deleted(d) => &d.name,
        }
    }

    /// The lower-cased path, when the entry is mounted.
    pub fn path_lower(&self) -> Option<&str> {
        match self {
            Metadata::File(f) => f.path_lower.as_deref(),
            Metadata::Folder(f) => f.path_lower.as_deref(),
            Metadata::Deleted(d) => d.path_lower.as_deref(),
        }
    }

    /// The path with its display casing, when the entry is mounted.
    pub fn path_display(&self) -> Option<&str> {
        match self {
            Metadata::File(f) => f.path_display.as_deref(),
            Metadata::Folder(f) => f.path_display.as_deref(),
            Metadata::Deleted(d) => d.path_display.as_deref(),
        }
    }

    /// The file, if this is one.
    pub fn as_file(&self) -> Option<&FileMetadata> {
        match self {
            Metadata::File(f) => Some(f),
            _ => None,
        }
    }
}

/// `files.FileMetadata`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileMetadata {
    /// Last path component, with its casing.
    pub name: String,
    /// Stable id (`id:…`), kept across moves and renames.
    pub id: String,
    /// Modification time the client set (for display only).
    pub client_modified: Timestamp,
    /// When Dropbox last changed the file.
    pub server_modified: Timestamp,
    /// Revision of this content: changes whenever the file does.
    pub rev: String,
    /// Size in bytes.
    pub size: u64,
    /// Lower-cased full path.
    #[serde(default)]
    pub path_lower: Option<String>,
    /// Full path for display.
    #[serde(default)]
    pub path_display: Option<String>,
    /// Deprecated: use `sharing_info`.
    #[serde(default)]
    pub parent_shared_folder_id: Option<String>,
    /// Preview URL of the file.
    #[serde(default)]
    pub preview_url: Option<String>,
    /// Media information (photos, videos), undecoded.
    #[serde(default)]
    pub media_info: Option<serde_json::Value>,
    /// Symlink target, undecoded.
    #[serde(default)]
    pub symlink_info: Option<serde_json::Value>,
    /// Sharing details when the file is inside a shared folder.
    #[serde(default)]
    pub sharing_info: Option<FileSharingInfo>,
    /// Whether `files/download` can fetch it (else use `files/export`).
    #[serde(default = "yes")]
    pub is_downloadable: bool,
    /// Export information for non-downloadable files, undecoded.
    #[serde(default)]
    pub export_info: Option<serde_json::Value>,
    /// Custom properties, when asked for with `include_property_groups`.
    #[serde(default)]
    pub property_groups: Option<Vec<PropertyGroup>>,
    /// Whether the file has members of its own.
    #[serde(default)]
    pub has_explicit_shared_members: Option<bool>,
    /// The Dropbox content hash (see [`crate::ContentHasher`]).
    #[serde(default)]
    pub content_hash: Option<String>,
    /// Lock details, undecoded.
    #[serde(default)]
    pub file_lock_info: Option<serde_json::Value>,
}

fn yes() -> bool {
    true
}

/// `files.FileSharingInfo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileSharingInfo {
    /// Whether the file is read-only for this user.
    pub read_only: bool,
    /// The shared folder that contains the file.
    pub parent_shared_folder_id: String,
    /// Account id of the last modifier.
    #[serde(default)]
    pub modified_by: Option<String>,
}

/// `files.FolderMetadata`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FolderMetadata {
    /// Last path component, with its casing.
    pub name: String,
    /// Stable id (`id:…`).
    pub id: String,
    /// Lower-cased full path.
    #[serde(default)]
    pub path_lower: Option<String>,
    /// Full path for display.
    #[serde(default)]
    pub path_display: Option<String>,
    /// Deprecated: use `sharing_info`.
    #[serde(default)]
    pub shared_folder_id: Option<String>,
    /// Sharing details when the folder is shared or inside a shared folder.
    #[serde(default)]
    pub sharing_info: Option<FolderSharingInfo>,
    /// Custom properties, when asked for.
    #[serde(default)]
    pub property_groups: Option<Vec<PropertyGroup>>,
}

/// `files.FolderSharingInfo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FolderSharingInfo {
    /// Whether the folder is read-only for this user.
    pub read_only: bool,
    /// The shared folder that contains this one.
    #[serde(default)]
    pub parent_shared_folder_id: Option<String>,
    /// Set when this folder is itself a shared folder.
    #[serde(default)]
    pub shared_folder_id: Option<String>,
    /// The user can only traverse the folder.
    #[serde(default)]
    pub traverse_only: bool,
    /// The user has no access to the folder.
    #[serde(default)]
    pub no_access: bool,
}

/// `files.DeletedMetadata`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeletedMetadata {
    /// Last path component.
    pub name: String,
    /// Lower-cased full path.
    #[serde(default)]
    pub path_lower: Option<String>,
    /// Full path for display.
    #[serde(default)]
    pub path_display: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Lookup and write errors

stone_union! {
    /// `files.LookupError`: why a path could not be read.
    pub enum LookupError {
        void {
            /// Nothing at this path.
            NotFound = "not_found",
            /// A file was expected.
            NotFile = "not_file",
            /// A folder was expected.
            NotFolder = "not_folder",
            /// Content restricted (e.g. DMCA).
            RestrictedContent = "restricted_content",
            /// This content type is not supported here.
            UnsupportedContentType = "unsupported_content_type",
            /// The file is locked.
            Locked = "locked"
        }
        nested {
            /// The path is not well formed.
            MalformedPath(Option<String>) = "malformed_path"
        }
        other Other
    }
}

stone_union! {
    /// `files.WriteConflictError`: what is in the way of a write.
    pub enum WriteConflictError {
        void {
            /// A file.
            File = "file",
            /// A folder.
            Folder = "folder",
            /// A file at an ancestor path.
            FileAncestor = "file_ancestor"
        }
        other Other
    }
}

stone_union! {
    /// `files.WriteError`: why a path could not be written.
    pub enum WriteError {
        void {
            /// The user may not write here.
            NoWritePermission = "no_write_permission",
            /// Not enough space.
            InsufficientSpace = "insufficient_space",
            /// Dropbox does not store this name (`desktop.ini`, `.ds_store` ...).
            DisallowedName = "disallowed_name",
            /// Team folders cannot be written this way.
            TeamFolder = "team_folder",
            /// Suppressed by policy.
            OperationSuppressed = "operation_suppressed",
            /// Too many concurrent writes to the namespace: retry later.
            TooManyWriteOperations = "too_many_write_operations",
            /// Access restricted.
            AccessRestricted = "access_restricted"
        }
        nested {
            /// The path is not well formed.
            MalformedPath(Option<String>) = "malformed_path",
            /// Something is in the way.
            Conflict(WriteConflictError) = "conflict"
        }
        other Other
    }
}

stone_union! {
    /// `files.GetMetadataError`.
    pub enum GetMetadataError {
        nested {
            /// The path could not be read.
            Path(LookupError) = "path"
        }
        other Other
    }
}

// ---------------------------------------------------------------------------------------------
// get_metadata

/// `files.GetMetadataArg`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetMetadataArg {
    /// Path, `id:…` or `rev:…` of the entry.
    pub path: String,
    /// Include media info of photos and videos.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub include_media_info: bool,
    /// Answer with `DeletedMetadata` for deleted entries instead of `not_found`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub include_deleted: bool,
    /// Include `has_explicit_shared_members`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub include_has_explicit_shared_members: bool,
    /// Which property groups to include.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_property_groups: Option<TemplateFilterBase>,
}

impl GetMetadataArg {
    /// Metadata of `path`.
    pub fn new(path: impl Into<String>) -> Self {
        GetMetadataArg {
            path: path.into(),
            include_media_info: false,
            include_deleted: false,
            include_has_explicit_shared_members: false,
            include_property_groups: None,
        }
    }

    /// Answer with the deleted entry instead of `not_found`.
    pub fn include_deleted(mut self, yes: bool) -> Self {
        self.include_deleted = yes;
        self
    }

    /// Include these property groups.
    pub fn include_property_groups(mut self, filter: TemplateFilterBase) -> Self {
        self.include_property_groups = Some(filter);
        self
    }
}

impl<S: Into<String>> From<S> for GetMetadataArg {
    fn from(path: S) -> Self {
        GetMetadataArg::new(path)
    }
}

// ---------------------------------------------------------------------------------------------
// list_folder

/// `files.ListFolderArg`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListFolderArg {
    /// Folder path (`""` for the root), `id:…` or `ns:…`.
    pub path: String,
    /// List every level below, not only the folder's children.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recursive: bool,
    /// Include deleted entries.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub include_deleted: bool,
    /// Include `has_explicit_shared_members`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub include_has_explicit_shared_members: bool,
    /// Include mounted shared folders (default true).
    #[serde(default = "yes")]
    pub include_mounted_folders: bool,
    /// Approximate page size (1..=2000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Which property groups to include.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_property_groups: Option<TemplateFilterBase>,
    /// Include files that cannot be downloaded (default true).
    #[serde(default = "yes")]
    pub include_non_downloadable_files: bool,
}

impl ListFolderArg {
    /// Lists `path` (`""` is the root).
    pub fn new(path: impl Into<String>) -> Self {
        ListFolderArg {
            path: path.into(),
            recursive: false,
            include_deleted: false,
            include_has_explicit_shared_members: false,
            include_mounted_folders: true,
            limit: None,
            include_property_groups: None,
            include_non_downloadable_files: true,
        }
    }

    /// List every level below.
    pub fn recursive(mut self, yes: bool) -> Self {
        self.recursive = yes;
        self
    }

    /// Include deleted entries.
    pub fn include_deleted(mut self, yes: bool) -> Self {
        self.include_deleted = yes;
        self
    }

    /// Approximate page size.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Include these property groups on files.
    pub fn include_property_groups(mut self, filter: TemplateFilterBase) -> Self {
        self.include_property_groups = Some(filter);
        self
    }
}

impl<S: Into<String>> From<S> for ListFolderArg {
    fn from(path: S) -> Self {
        ListFolderArg::new(path)
    }
}

/// `files.ListFolderResult`: one page of entries and the cursor that follows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListFolderResult {
    /// The entries of this page, to apply in order.
    pub entries: Vec<Metadata>,
    /// Where the next page (or the next changes) starts: keep it to resume.
    pub cursor: String,
    /// Whether another page follows at once.
    pub has_more: bool,
}

/// `files.ListFolderContinueArg`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListFolderContinueArg {
    /// The cursor of the last page read.
    pub cursor: String,
}

/// `files.ListFolderGetLatestCursorResult`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListFolderGetLatestCursorResult {
    /// A cursor at the current state, without entries.
    pub cursor: String,
}

/// `files.ListFolderLongpollArg`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListFolderLongpollArg {
    /// Cursor to watch.
    pub cursor: String,
    /// Seconds to wait (30..=480; the server may add up to 90 s of jitter).
    pub timeout: u64,
}

/// `files.ListFolderLongpollResult`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListFolderLongpollResult {
    /// Whether something changed after the cursor.
    pub changes: bool,
    /// Seconds to wait before the next longpoll.
    #[serde(default)]
    pub backoff: Option<u64>,
}

stone_union! {
    /// `files.ListFolderError`.
    pub enum ListFolderError {
        nested {
            /// The folder could not be read.
            Path(LookupError) = "path",
            /// A property template filter was wrong.
            TemplateError(super::file_properties::TemplateError) = "template_error"
        }
        other Other
    }
}

stone_union! {
    /// `files.ListFolderContinueError`.
    pub enum ListFolderContinueError {
        void {
            /// The cursor is no longer valid: start over with `list_folder`.
            Reset = "reset"
        }
        nested {
            /// The folder could not be read.
            Path(LookupError) = "path"
        }
        other Other
    }
}

stone_union! {
    /// `files.ListFolderLongpollError`.
    pub enum ListFolderLongpollError {
        void {
            /// The cursor is no longer valid.
            Reset = "reset"
        }
        other Other
    }
}

// ---------------------------------------------------------------------------------------------
// download

/// `files.DownloadArg`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DownloadArg {
    /// Path, `id:…` or `rev:…` of the file.
    pub path: String,
}

impl<S: Into<String>> From<S> for DownloadArg {
    fn from(path: S) -> Self {
        DownloadArg { path: path.into() }
    }
}

stone_union! {
    /// `files.DownloadError`.
    pub enum DownloadError {
        void {
            /// Use `files/export` for this file.
            UnsupportedFile = "unsupported_file"
        }
        nested {
            /// The file could not be read.
            Path(LookupError) = "path"
        }
        other Other
    }
}

// ---------------------------------------------------------------------------------------------
// upload

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

// ---------------------------------------------------------------------------------------------
// create_folder, move, copy, delete

/// `files.CreateFolderArg`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateFolderArg {
    /// Path of the new folder.
    pub path: String,
    /// Pick a free name on conflict.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub autorename: bool,
}

impl<S: Into<String>> From<S> for CreateFolderArg {
    fn from(path: S) -> Self {
        CreateFolderArg {
            path: path.into(),
            autorename: false,
        }
    }
}

/// `files.CreateFolderResult`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateFolderResult {
    /// The new folder.
    pub metadata: FolderMetadata,
}

stone_union! {
    /// `files.CreateFolderError`.
    pub enum CreateFolderError {
        nested {
            /// The folder could not be written.
            Path(WriteError) = "path"
        }
        other Other
    }
}

/// `files.RelocationArg`: source and target of a move or copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelocationArg {
    /// What to move or copy.
    pub from_path: String,
    /// Where to.
    pub to_path: String,
    /// Pick a free name on conflict.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub autorename: bool,
    /// Allow moving content owned by someone else.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_ownership_transfer: bool,
}

impl RelocationArg {
    /// From `from` to `to`.
    pub fn new(from: impl Into<String>, to: impl Into<String>) -> Self {
        RelocationArg {
            from_path: from.into(),
            to_path: to.into(),
            autorename: false,
            allow_ownership_transfer: false,
        }
    }

    /// Pick a free name on conflict.
    pub fn autorename(mut self, yes: bool) -> Self {
        self.autorename = yes;
        self
    }
}

/// `files.RelocationResult`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelocationResult {
    /// The entry at its new place.
    pub metadata: Metadata,
}

stone_union! {
    /// `files.RelocationError`.
    pub enum RelocationError {
        void {
            /// Shared folders cannot be copied.
            CantCopySharedFolder = "cant_copy_shared_folder",
            /// Shared folders cannot be nested.
            CantNestSharedFolder = "cant_nest_shared_folder",
            /// A folder cannot go into itself.
            CantMoveFolderIntoItself = "cant_move_folder_into_itself",
            /// More than 10,000 entries.
            TooManyFiles = "too_many_files",
            /// Paths overlap.
            DuplicatedOrNestedPaths = "duplicated_or_nested_paths",
            /// Ownership cannot be transferred.
            CantTransferOwnership = "cant_transfer_ownership",
            /// Not enough quota.
            InsufficientQuota = "insufficient_quota",
            /// Something went wrong on Dropbox's side: retry.
            InternalError = "internal_error",
            /// Shared folders cannot be moved.
            CantMoveSharedFolder = "cant_move_shared_folder"
        }
        nested {
            /// The source could not be read.
            FromLookup(LookupError) = "from_lookup",
            /// The source could not be changed.
            FromWrite(WriteError) = "from_write",
            /// The target could not be written.
            To(WriteError) = "to"
        }
        other Other
    }
}

/// `files.DeleteArg`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeleteArg {
    /// What to delete.
    pub path: String,
    /// Delete only if the file is still at this rev.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_rev: Option<String>,
}

impl<S: Into<String>> From<S> for DeleteArg {
    fn from(path: S) -> Self {
        DeleteArg {
            path: path.into(),
            parent_rev: None,
        }
    }
}

/// `files.DeleteResult`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeleteResult {
    /// The entry as it was before deletion.
    pub metadata: Metadata,
}

stone_union! {
    /// `files.DeleteError`.
    pub enum DeleteError {
        void {
            /// Too many writes: retry later.
            TooManyWriteOperations = "too_many_write_operations",
            /// Too many entries to delete at once.
            TooManyFiles = "too_many_files"
        }
        nested {
            /// The path could not be read.
            PathLookup(LookupError) = "path_lookup",
            /// The path could not be changed.
            PathWrite(WriteError) = "path_write"
        }
        other Other
    }
}

// ---------------------------------------------------------------------------------------------
// revisions and restore

stone_union! {
    /// `files.ListRevisionsMode`.
    pub enum ListRevisionsMode {
        void {
            /// Revisions of whatever is at the path.
            Path = "path",
            /// Revisions of the file with this id, wherever it went.
            Id = "id"
        }
        other Other
    }
}

/// `files.ListRevisionsArg`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListRevisionsArg {
    /// The file.
    pub path: String,
    /// Path (default) or id mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<ListRevisionsMode>,
    /// How many revisions (1..=100, default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Only revisions older than this one (path mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_rev: Option<String>,
}

impl<S: Into<String>> From<S> for ListRevisionsArg {
    fn from(path: S) -> Self {
        ListRevisionsArg {
            path: path.into(),
            mode: None,
            limit: None,
            before_rev: None,
        }
    }
}

/// `files.ListRevisionsResult`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListRevisionsResult {
    /// Whether the file is deleted or moved.
    pub is_deleted: bool,
    /// When it was deleted.
    #[serde(default)]
    pub server_deleted: Option<Timestamp>,
    /// Revisions, newest first.
    pub entries: Vec<FileMetadata>,
    /// Whether older revisions remain (ask again with `before_rev`).
    pub has_more: bool,
}

stone_union! {
    /// `files.ListRevisionsError`.
    pub enum ListRevisionsError {
        void {
            /// `before_rev` is not a revision of this file.
            InvalidBeforeRev = "invalid_before_rev",
            /// `before_rev` is not supported in id mode.
            BeforeRevNotSupported = "before_rev_not_supported"
        }
        nested {
            /// The file could not be read.
            Path(LookupError) = "path"
        }
        other Other
    }
}

/// `files.RestoreArg`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestoreArg {
    /// Where to restore.
    pub path: String,
    /// Which revision.
    pub rev: String,
}

stone_union! {
    /// `files.RestoreError`.
    pub enum RestoreError {
        void {
            /// No such revision.
            InvalidRevision = "invalid_revision",
            /// A restore of this file is already running.
            InProgress = "in_progress"
        }
        nested {
            /// The path could not be read.
            PathLookup(LookupError) = "path_lookup",
            /// The path could not be written.
            PathWrite(WriteError) = "path_write"
        }
        other Other
    }
}

// ---------------------------------------------------------------------------------------------
// search

stone_union! {
    /// `files.SearchOrderBy`.
    pub enum SearchOrderBy {
        void {
            /// Best matches first.
            Relevance = "relevance",
            /// Newest first.
            LastModifiedTime = "last_modified_time"
        }
        other Other
    }
}

stone_union! {
    /// `files.FileStatus`.
    pub enum FileStatus {
        void {
            /// Existing files.
            Active = "active",
            /// Deleted files.
            Deleted = "deleted"
        }
        other Other
    }
}

/// `files.SearchOptions`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SearchOptions {
    /// Folder to search in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Page size (1..=1000, default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_results: Option<u64>,
    /// Order of the matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_by: Option<SearchOrderBy>,
    /// Active (default) or deleted files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_status: Option<FileStatus>,
    /// Match names only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub filename_only: bool,
    /// Only these extensions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_extensions: Option<Vec<String>>,
}

/// `files.SearchV2Arg`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchV2Arg {
    /// What to look for (≤ 1000 characters).
    pub query: String,
    /// Where and how to look.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<SearchOptions>,
}

impl SearchV2Arg {
    /// Searches for `query`.
    pub fn new(query: impl Into<String>) -> Self {
        SearchV2Arg {
            query: query.into(),
            options: None,
        }
    }

    /// Sets the search options.
    pub fn options(mut self, options: SearchOptions) -> Self {
        self.options = Some(options);
        self
    }
}

impl<S: Into<String>> From<S> for SearchV2Arg {
    fn from(query: S) -> Self {
        SearchV2Arg::new(query)
    }
}

stone_union! {
    /// `files.MetadataV2`.
    pub enum MetadataV2 {
        nested {
            /// A file or folder.
            Metadata(Metadata) = "metadata"
        }
        other Other
    }
}

/// `files.SearchMatchV2`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchMatchV2 {
    /// The matched entry.
    pub metadata: MetadataV2,
    /// What matched, undecoded (`filename`, `file_content` ...).
    #[serde(default)]
    pub match_type: Option<serde_json::Value>,
}

/// `files.SearchV2Result`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchV2Result {
    /// Matches of this page.
    pub matches: Vec<SearchMatchV2>,
    /// Whether another page follows.
    pub has_more: bool,
    /// Cursor of the next page.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// `files.SearchV2ContinueArg`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchV2ContinueArg {
    /// Cursor from the previous page.
    pub cursor: String,
}

stone_union! {
    /// `files.SearchError`.
    pub enum SearchError {
        void {
            /// Something went wrong on Dropbox's side.
            InternalError = "internal_error"
        }
        nested {
            /// The folder could not be read.
            Path(LookupError) = "path",
            /// An argument is not valid.
            InvalidArgument(Option<String>) = "invalid_argument"
        }
        other Other
    }
}

// ---------------------------------------------------------------------------------------------
// tags

/// `files.AddTagArg` / `files.RemoveTagArg`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagArg {
    /// The item.
    pub path: String,
    /// The tag: 1..=32 word characters, lower-cased by the server.
    pub tag_text: String,
}

/// `files.GetTagsArg`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetTagsArg {
    /// Items to read the tags of.
    pub paths: Vec<String>,
}

/// `files.UserGeneratedTag`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserGeneratedTag {
    /// The tag text.
    pub tag_text: String,
}

stone_union! {
    /// `files.Tag`.
    pub enum Tag {
        inline {
            /// A tag a user added.
            UserGeneratedTag(UserGeneratedTag) = "user_generated_tag"
        }
        other Other
    }
}

impl Tag {
    /// The tag's text, if this client knows its kind.
    pub fn text(&self) -> Option<&str> {
        match self {
            Tag::UserGeneratedTag(t) => Some(&t.tag_text),
            _ => None,
        }
    }
}

/// `files.PathToTags`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathToTags {
    /// The item.
    pub path: String,
    /// Its tags.
    pub tags: Vec<Tag>,
}

/// `files.GetTagsResult`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetTagsResult {
    /// Tags per item, in request order.
    pub paths_to_tags: Vec<PathToTags>,
}

stone_union! {
    /// `files.AddTagError` / `files.RemoveTagError` / `files.BaseTagError`.
    pub enum TagError {
        void {
            /// More than 20 tags on the item.
            TooManyTags = "too_many_tags",
            /// The tag is not on the item.
            TagNotPresent = "tag_not_present"
        }
        nested {
            /// The item could not be read.
            Path(LookupError) = "path"
        }
        other Other
    }
}
