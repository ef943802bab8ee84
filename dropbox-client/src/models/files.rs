//! Types of the `files` namespace (files.stone): metadata, listing, upload, relocation,
//! revisions, search and tags, with their route errors.

use serde::{Deserialize, Serialize};

use super::common::Timestamp;
use super::file_properties::{PropertyGroup, TemplateFilterBase};
use super::union::stone_union;

pub use super::files_batch::*;
pub use super::files_search::*;
pub use super::files_upload::*;

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
