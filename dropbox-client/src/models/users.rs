//! Types of the `users` namespace.

use serde::{Deserialize, Serialize};

use super::common::RootInfo;

/// `users.Name`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Name {
    /// Given name.
    pub given_name: String,
    /// Surname.
    pub surname: String,
    /// Locale-dependent short name.
    pub familiar_name: String,
    /// Full name for display.
    pub display_name: String,
    /// Initials.
    pub abbreviated_name: String,
}

/// `users.FullAccount`: the account a token belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FullAccount {
    /// `dbid:…`, 40 characters.
    pub account_id: String,
    /// The user's name.
    pub name: Name,
    /// E-mail address.
    pub email: String,
    /// Whether the e-mail address is verified.
    pub email_verified: bool,
    /// Whether the account is disabled.
    pub disabled: bool,
    /// Locale (IETF tag).
    pub locale: String,
    /// Referral link.
    #[serde(default)]
    pub referral_link: String,
    /// Whether a personal and a work account are paired.
    #[serde(default)]
    pub is_paired: bool,
    /// `basic`, `pro` or `business`, undecoded.
    pub account_type: serde_json::Value,
    /// Root and home namespaces.
    pub root_info: RootInfo,
    /// Profile photo.
    #[serde(default)]
    pub profile_photo_url: Option<String>,
    /// Two-letter country code.
    #[serde(default)]
    pub country: Option<String>,
    /// The team, for team members, undecoded.
    #[serde(default)]
    pub team: Option<serde_json::Value>,
    /// The member id, for team members (`dbmid:…`).
    #[serde(default)]
    pub team_member_id: Option<String>,
}
