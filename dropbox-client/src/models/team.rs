//! Types of the `team` namespace used here: listing the team's members (`team.stone`, not in the
//! local spec copy; names and fields as in `dropbox/dropbox-api-spec`).

use serde::{Deserialize, Serialize};

use super::common::Timestamp;
use super::union::stone_union;
use super::users::Name;

/// `team.MembersListArg`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MembersListArg {
    /// Members per page (1..=1000, server default 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Whether removed members are listed too.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub include_removed: bool,
}

/// `team.MembersListContinueArg`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MembersListContinueArg {
    /// The cursor of the previous page.
    pub cursor: String,
}

/// `team.RemovedStatus`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemovedStatus {
    /// Whether the member can be recovered.
    pub is_recoverable: bool,
    /// Whether the user left the team by themselves.
    pub is_disconnected: bool,
}

stone_union! {
    /// `team.TeamMemberStatus`.
    pub enum TeamMemberStatus {
        void {
            /// A member of the team.
            Active = "active",
            /// Invited, not joined yet.
            Invited = "invited",
            /// Suspended by an admin.
            Suspended = "suspended"
        }
        inline {
            /// No longer a member (listed only with `include_removed`).
            Removed(RemovedStatus) = "removed"
        }
        other Other
    }
}

stone_union! {
    /// `team.TeamMembershipType`.
    pub enum TeamMembershipType {
        void {
            /// A normal member with a license.
            Full = "full",
            /// A member without a license (deprecated).
            Limited = "limited"
        }
        other Other
    }
}

/// `team.TeamMemberProfile`: a user as a member of the team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamMemberProfile {
    /// `dbmid:…`, what `Dropbox-API-Select-User` takes.
    pub team_member_id: String,
    /// The team's own id for the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// `dbid:…` (absent for some invited members).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// E-mail address.
    pub email: String,
    /// Whether the e-mail address is verified.
    pub email_verified: bool,
    /// Membership state.
    pub status: TeamMemberStatus,
    /// The member's name.
    pub name: Name,
    /// Full or limited membership.
    pub membership_type: TeamMembershipType,
    /// When the member was invited (invited members).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invited_on: Option<Timestamp>,
    /// When the member joined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joined_on: Option<Timestamp>,
    /// When the member was suspended (suspended members).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspended_on: Option<Timestamp>,
    /// Id used for SAML.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent_id: Option<String>,
    /// Whether the member is hidden from the team directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_directory_restricted: Option<bool>,
    /// Profile photo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_photo_url: Option<String>,
    /// Group ids (`g:…`) the member belongs to.
    pub groups: Vec<String>,
    /// Namespace id of the member's folder.
    pub member_folder_id: String,
    /// Namespace id of the member's root folder.
    pub root_folder_id: String,
}

/// `team.TeamMemberRole`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamMemberRole {
    /// `pid_dbtmr:…`.
    pub role_id: String,
    /// Display name ("Team admin").
    pub name: String,
    /// What the role may do.
    pub description: String,
}

/// `team.TeamMemberInfoV2`: one item of `team/members/list_v2`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamMemberInfoV2 {
    /// The member.
    pub profile: TeamMemberProfile,
    /// Admin roles, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<TeamMemberRole>>,
}

/// `team.MembersListV2Result`: one page of members.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MembersListV2Result {
    /// Members of this page.
    pub members: Vec<TeamMemberInfoV2>,
    /// Cursor for `members/list/continue_v2`.
    pub cursor: String,
    /// Whether more members follow.
    pub has_more: bool,
}

stone_union! {
    /// `team.MembersListContinueError` (`members/list_v2` itself has no route error tags).
    pub enum MembersListContinueError {
        void {
            /// The cursor is not valid.
            InvalidCursor = "invalid_cursor"
        }
        other Other
    }
}
