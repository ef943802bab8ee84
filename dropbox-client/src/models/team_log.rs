//! Types of the `team_log` namespace: the team's audit log (`team_log.stone`, not in the local
//! spec copy; names and fields as in `dropbox/dropbox-api-spec`). The log has hundreds of event
//! types; the ones the flows read (file-request submissions) are typed, every other event keeps
//! its details as JSON.

use serde::{Deserialize, Serialize};

use super::common::{timestamp_opt, Timestamp};
use super::union::stone_union;

stone_union! {
    /// `team_log.EventCategory`: the category filter of `get_events` and each event's category.
    pub enum EventCategory {
        void {
            /// Team alerts.
            AdminAlerting = "admin_alerting",
            /// Linked apps.
            Apps = "apps",
            /// Comments on files and Paper documents.
            Comments = "comments",
            /// Dropbox Dash.
            Dash = "dash",
            /// Data governance.
            DataGovernance = "data_governance",
            /// Linked devices.
            Devices = "devices",
            /// Domain management.
            Domains = "domains",
            /// Encryption.
            Encryption = "encryption",
            /// Copy, move, delete, ... of files and folders.
            FileOperations = "file_operations",
            /// File requests (creation, changes, received files).
            FileRequests = "file_requests",
            /// Group management.
            Groups = "groups",
            /// Sign-ins and sign-outs.
            Logins = "logins",
            /// Member management.
            Members = "members",
            /// Dropbox Paper.
            Paper = "paper",
            /// Passwords.
            Passwords = "passwords",
            /// Dropbox Protect.
            Protect = "protect",
            /// Admin reports.
            Reports = "reports",
            /// Sharing and collaboration.
            Sharing = "sharing",
            /// Dropbox Showcase.
            Showcase = "showcase",
            /// Dropbox Sign.
            Signatures = "signatures",
            /// Single sign-on.
            Sso = "sso",
            /// Team folders.
            TeamFolders = "team_folders",
            /// Team policies.
            TeamPolicies = "team_policies",
            /// The team profile.
            TeamProfile = "team_profile",
            /// Two-factor authentication.
            Tfa = "tfa",
            /// Cross-team trust.
            TrustedTeams = "trusted_teams"
        }
        other Other
    }
}

/// `team_log.EventTypeArg`: one event type to filter on, by its tag
/// (`file_request_receive_file`). The union has hundreds of members, so it is a name here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTypeArg(pub String);

impl EventTypeArg {
    /// Files received through a file request.
    pub fn file_request_receive_file() -> Self {
        EventTypeArg(FILE_REQUEST_RECEIVE_FILE.to_owned())
    }
}

impl Serialize for EventTypeArg {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serde_json::json!({ ".tag": self.0 }).serialize(s)
    }
}

/// The event type tag of a file-request submission.
pub const FILE_REQUEST_RECEIVE_FILE: &str = "file_request_receive_file";

/// `team_common.TimeRange`: start inclusive, end exclusive.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TimeRange {
    /// From (inclusive).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "timestamp_opt"
    )]
    pub start_time: Option<Timestamp>,
    /// Until (exclusive).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "timestamp_opt"
    )]
    pub end_time: Option<Timestamp>,
}

/// `team_log.GetTeamEventsArg`. `category` and `event_type` must not both be set
/// (`invalid_filters`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GetTeamEventsArg {
    /// Events per page (1..=1000, server default 1000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Only events with this account as actor, context or participant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// Only events in this time range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<TimeRange>,
    /// Only events of this category.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<EventCategory>,
    /// Only events of this type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_type: Option<EventTypeArg>,
}

impl GetTeamEventsArg {
    /// Every file-request submission (`event_type` = `file_request_receive_file`).
    pub fn file_request_submissions() -> Self {
        GetTeamEventsArg {
            event_type: Some(EventTypeArg::file_request_receive_file()),
            ..Default::default()
        }
    }
}

/// `team_log.GetTeamEventsContinueArg`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetTeamEventsContinueArg {
    /// The cursor of the previous page.
    pub cursor: String,
}

stone_union! {
    /// `team_log.GetTeamEventsError`.
    pub enum GetTeamEventsError {
        void {
            /// No user has the `account_id` filter's id.
            AccountIdNotFound = "account_id_not_found",
            /// The time range is not valid.
            InvalidTimeRange = "invalid_time_range",
            /// Both `category` and `event_type` were given.
            InvalidFilters = "invalid_filters"
        }
        other Other
    }
}

stone_union! {
    /// `team_log.GetTeamEventsContinueError`.
    pub enum GetTeamEventsContinueError {
        void {
            /// The cursor is not valid.
            BadCursor = "bad_cursor"
        }
        nested {
            /// The cursor was reset: call `get_events` again from about this time.
            Reset(Timestamp) = "reset"
        }
        other Other
    }
}

/// `team_log.GetTeamEventsResult`: one page of events (not sorted by time). `has_more` may be
/// true on an empty page; the cursor may also be polled later for new events.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GetTeamEventsResult {
    /// Events of this page.
    pub events: Vec<TeamEvent>,
    /// Cursor for `get_events/continue`.
    pub cursor: String,
    /// Whether more events may follow.
    pub has_more: bool,
}

/// `team_log.UserLogInfo` (polymorphic: team member, non-team member, trusted non-team member).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserLogInfo {
    /// The subtype tag (`team_member`, `non_team_member`, `trusted_non_team_member`) when the
    /// wire form carries it.
    #[serde(rename = ".tag", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `dbid:…`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `dbmid:…` (team members).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_member_id: Option<String>,
}

stone_union! {
    /// `team_log.ActorLogInfo`: who performed the action.
    pub enum ActorLogInfo {
        void {
            /// Nobody signed in (e.g. an outside party using a file request link).
            Anonymous = "anonymous",
            /// Dropbox itself.
            Dropbox = "dropbox"
        }
        nested {
            /// An admin.
            Admin(UserLogInfo) = "admin",
            /// A user.
            User(UserLogInfo) = "user",
            /// An app, undecoded `AppLogInfo`.
            App(serde_json::Value) = "app"
        }
        other Other
    }
}

stone_union! {
    /// `team_log.ContextLogInfo`: on whose behalf the action was done.
    pub enum ContextLogInfo {
        void {
            /// Nobody in particular.
            Anonymous = "anonymous",
            /// The team.
            Team = "team"
        }
        inline {
            /// A team member.
            TeamMember(UserLogInfo) = "team_member",
            /// Someone outside the team.
            NonTeamMember(UserLogInfo) = "non_team_member",
            /// A trusted outsider.
            TrustedNonTeamMember(UserLogInfo) = "trusted_non_team_member"
        }
        other Other
    }
}

/// `team_log.NamespaceRelativePathLogInfo`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NamespaceRelativePathLogInfo {
    /// The namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ns_id: Option<String>,
    /// The path within it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relative_path: Option<String>,
    /// Whether the namespace is shared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_shared_namespace: Option<bool>,
}

/// `team_log.PathLogInfo`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PathLogInfo {
    /// The path as the event's context sees it (`/Intake/scan.pdf`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contextual: Option<String>,
    /// The path relative to its namespace.
    pub namespace_relative: NamespaceRelativePathLogInfo,
}

/// `team_log.FileOrFolderLogInfo` (the fields of `FileLogInfo` and `FolderLogInfo`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FileOrFolderLogInfo {
    /// Where it is.
    pub path: PathLogInfo,
    /// Its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// `id:…`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_id: Option<String>,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_size: Option<u64>,
}

stone_union! {
    /// `team_log.AssetLogInfo`: content involved in the event.
    pub enum AssetLogInfo {
        inline {
            /// A file.
            File(FileOrFolderLogInfo) = "file",
            /// A folder.
            Folder(FileOrFolderLogInfo) = "folder"
        }
        other Other
    }
}

/// `team_log.FileRequestDeadline`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FileRequestDeadline {
    /// The deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<Timestamp>,
    /// Grace period tag (`one_day`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_late_uploads: Option<String>,
}

/// `team_log.FileRequestDetails`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FileRequestDetails {
    /// Position of the request's asset in the event's `assets`.
    pub asset_index: u64,
    /// The request's deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<FileRequestDeadline>,
    /// Whether the request has a password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_password: Option<bool>,
}

/// `team_log.FileRequestReceiveFileDetails`: files received through a file request. The
/// submitter's name and e-mail are what the submitter typed in, not a verified identity. The
/// request's title is not part of the event: read it with `file_requests/get`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FileRequestReceiveFileDetails {
    /// The file request (may be missing for old events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_request_id: Option<String>,
    /// The request's details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_request_details: Option<FileRequestDetails>,
    /// Names of the submitted files.
    pub submitted_file_names: Vec<String>,
    /// The name the submitter gave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitter_name: Option<String>,
    /// The e-mail address the submitter gave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitter_email: Option<String>,
}

/// `team_log.EventDetails`: the event-type-specific fields.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum EventDetails {
    /// `file_request_receive_file_details`.
    FileRequestReceiveFile(FileRequestReceiveFileDetails),
    /// Any other event type: its tag and its fields as JSON.
    Other {
        /// The `.tag` (`…_details`).
        tag: String,
        /// Every field, `.tag` included.
        fields: serde_json::Value,
    },
}

impl<'de> Deserialize<'de> for EventDetails {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let value = serde_json::Value::deserialize(d)?;
        let tag = value
            .get(".tag")
            .and_then(|t| t.as_str())
            .ok_or_else(|| D::Error::custom("EventDetails: missing .tag"))?
            .to_owned();
        if tag == "file_request_receive_file_details" {
            return serde_json::from_value(value)
                .map(EventDetails::FileRequestReceiveFile)
                .map_err(D::Error::custom);
        }
        Ok(EventDetails::Other { tag, fields: value })
    }
}

/// `team_log.EventType`: the event's type tag and its human description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventType {
    /// The tag (`file_request_receive_file`).
    #[serde(rename = ".tag")]
    pub tag: String,
    /// "(file_requests) Received files for file request".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `team_log.TeamEvent`: one audit log entry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TeamEvent {
    /// When the action was taken.
    pub timestamp: Timestamp,
    /// Its category.
    pub event_category: EventCategory,
    /// Who performed it.
    #[serde(default)]
    pub actor: Option<ActorLogInfo>,
    /// Whether someone outside the team was involved.
    #[serde(default)]
    pub involve_non_team_member: Option<bool>,
    /// On whose behalf.
    #[serde(default)]
    pub context: Option<ContextLogInfo>,
    /// Users and groups affected, undecoded `ParticipantLogInfo`.
    #[serde(default)]
    pub participants: Option<Vec<serde_json::Value>>,
    /// Content involved.
    #[serde(default)]
    pub assets: Option<Vec<AssetLogInfo>>,
    /// Its type.
    pub event_type: EventType,
    /// Type-specific fields.
    pub details: EventDetails,
}

/// A file-request submission read from a [`TeamEvent`] of type `file_request_receive_file`.
#[derive(Debug, Clone, PartialEq)]
pub struct FileRequestSubmission {
    /// When the files were received.
    pub timestamp: Timestamp,
    /// The file request.
    pub file_request_id: Option<String>,
    /// The name the submitter gave.
    pub submitter_name: Option<String>,
    /// The e-mail address the submitter gave.
    pub submitter_email: Option<String>,
    /// Names of the submitted files.
    pub file_names: Vec<String>,
    /// Paths of the received files as the request owner sees them (the file assets'
    /// `contextual` paths).
    pub paths: Vec<String>,
    /// Ids (`id:…`) of the received files, where the assets carry them (in the order of
    /// [`FileRequestSubmission::paths`] when every asset has both). An id stays the same when
    /// the file is moved or renamed later, a path does not.
    pub file_ids: Vec<String>,
    /// The owner of the request (the event's context), when given.
    pub owner: Option<UserLogInfo>,
}

impl TeamEvent {
    /// This event as a file-request submission, if it is one.
    pub fn file_request_submission(&self) -> Option<FileRequestSubmission> {
        let EventDetails::FileRequestReceiveFile(details) = &self.details else {
            return None;
        };
        let paths = self
            .assets
            .iter()
            .flatten()
            .filter_map(|a| match a {
                AssetLogInfo::File(f) => f.path.contextual.clone(),
                _ => None,
            })
            .collect();
        let file_ids = self
            .assets
            .iter()
            .flatten()
            .filter_map(|a| match a {
                AssetLogInfo::File(f) => f.file_id.clone(),
                _ => None,
            })
            .collect();
        let owner = match &self.context {
            Some(ContextLogInfo::TeamMember(u)) => Some(u.clone()),
            _ => None,
        };
        Some(FileRequestSubmission {
            timestamp: self.timestamp,
            file_request_id: details.file_request_id.clone(),
            submitter_name: details.submitter_name.clone(),
            submitter_email: details.submitter_email.clone(),
            file_names: details.submitted_file_names.clone(),
            paths,
            file_ids,
            owner,
        })
    }
}
