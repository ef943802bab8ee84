//! Types of the `file_requests` namespace.

use serde::{Deserialize, Serialize};

use super::common::{timestamp, Timestamp};
use super::union::stone_union;

stone_union! {
    /// `file_requests.GracePeriod`: how long after the deadline uploads are still taken.
    pub enum GracePeriod {
        void {
            /// One day.
            OneDay = "one_day",
            /// Two days.
            TwoDays = "two_days",
            /// Seven days.
            SevenDays = "seven_days",
            /// Thirty days.
            ThirtyDays = "thirty_days",
            /// Always.
            Always = "always"
        }
        other Other
    }
}

/// `file_requests.FileRequestDeadline`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileRequestDeadline {
    /// When the request closes.
    #[serde(with = "timestamp")]
    pub deadline: Timestamp,
    /// Grace period for late uploads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_late_uploads: Option<GracePeriod>,
}

/// `file_requests.CreateFileRequestArgs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateFileRequestArgs {
    /// Title shown to uploaders.
    pub title: String,
    /// Folder where uploads land.
    pub destination: String,
    /// Optional deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<FileRequestDeadline>,
    /// Whether it takes uploads now (default true).
    pub open: bool,
    /// Text shown to uploaders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl CreateFileRequestArgs {
    /// An open request titled `title` that files into `destination`.
    pub fn new(title: impl Into<String>, destination: impl Into<String>) -> Self {
        CreateFileRequestArgs {
            title: title.into(),
            destination: destination.into(),
            deadline: None,
            open: true,
            description: None,
        }
    }

    /// Sets a deadline.
    pub fn deadline(mut self, deadline: FileRequestDeadline) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Sets the description.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = Some(text.into());
        self
    }
}

/// `file_requests.FileRequest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileRequest {
    /// Id (`[-_0-9a-zA-Z]+`).
    pub id: String,
    /// Link to send to uploaders.
    pub url: String,
    /// Title.
    pub title: String,
    /// Folder where uploads land (absent if it no longer exists).
    #[serde(default)]
    pub destination: Option<String>,
    /// When it was created.
    pub created: Timestamp,
    /// Its deadline.
    #[serde(default)]
    pub deadline: Option<FileRequestDeadline>,
    /// Whether it takes uploads.
    pub is_open: bool,
    /// Files uploaded so far.
    pub file_count: i64,
    /// Text shown to uploaders.
    #[serde(default)]
    pub description: Option<String>,
}

/// `file_requests.GetFileRequestArgs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileRequestIdArg {
    /// The request.
    pub id: String,
}

stone_union! {
    /// `file_requests.UpdateFileRequestDeadline`.
    pub enum UpdateFileRequestDeadline {
        void {
            /// Leave the deadline as it is.
            NoUpdate = "no_update"
        }
        inline {
            /// Set this deadline, or clear it with `None` (`{".tag": "update"}`).
            Update(Option<FileRequestDeadline>) = "update"
        }
        other Other
    }
}

/// `file_requests.UpdateFileRequestArgs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateFileRequestArgs {
    /// The request.
    pub id: String,
    /// New title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// New destination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    /// New deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<UpdateFileRequestDeadline>,
    /// Open or close it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open: Option<bool>,
    /// New description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl UpdateFileRequestArgs {
    /// Changes nothing yet; set what should change.
    pub fn new(id: impl Into<String>) -> Self {
        UpdateFileRequestArgs {
            id: id.into(),
            title: None,
            destination: None,
            deadline: None,
            open: None,
            description: None,
        }
    }

    /// Opens or closes the request.
    pub fn open(mut self, open: bool) -> Self {
        self.open = Some(open);
        self
    }

    /// Renames the request.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }
}

/// `file_requests.ListFileRequestsArg`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListFileRequestsArg {
    /// Page size (default 1000).
    pub limit: u64,
}

/// `file_requests.ListFileRequestsV2Result`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListFileRequestsV2Result {
    /// Requests of this page.
    pub file_requests: Vec<FileRequest>,
    /// Cursor of the next page.
    pub cursor: String,
    /// Whether another page follows.
    pub has_more: bool,
}

/// `file_requests.ListFileRequestsContinueArg`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListFileRequestsContinueArg {
    /// Cursor from the previous page.
    pub cursor: String,
}

stone_union! {
    /// Errors of the file request routes (`CreateFileRequestError`, `FileRequestError`,
    /// `GetFileRequestError`, `UpdateFileRequestError`, `ListFileRequestsContinueError`).
    pub enum FileRequestError {
        void {
            /// File requests are disabled for the team.
            DisabledForTeam = "disabled_for_team",
            /// No such request or destination.
            NotFound = "not_found",
            /// The destination is not a folder.
            NotAFolder = "not_a_folder",
            /// The app cannot reach the destination.
            AppLacksAccess = "app_lacks_access",
            /// The user may not do this.
            NoPermission = "no_permission",
            /// The user's e-mail address is not verified.
            EmailUnverified = "email_unverified",
            /// A value is not valid (title, deadline ...).
            ValidationError = "validation_error",
            /// The user may not write to the destination.
            NoWritePermission = "no_write_permission",
            /// The destination cannot take file requests.
            InvalidLocation = "invalid_location",
            /// Too many file requests.
            RateLimit = "rate_limit",
            /// The cursor is not valid.
            InvalidCursor = "invalid_cursor"
        }
        other Other
    }
}
