//! Types of the `users` namespace.

use serde::{Deserialize, Serialize};

use super::common::RootInfo;
use super::union::stone_union;

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
    /// `basic`, `pro` or `business`.
    pub account_type: AccountType,
    /// Root and home namespaces.
    pub root_info: RootInfo,
    /// Profile photo.
    #[serde(default)]
    pub profile_photo_url: Option<String>,
    /// Two-letter country code.
    #[serde(default)]
    pub country: Option<String>,
    /// The team, for team members.
    #[serde(default)]
    pub team: Option<FullTeam>,
    /// The member id, for team members (`dbmid:…`).
    #[serde(default)]
    pub team_member_id: Option<String>,
}

stone_union! {
    /// `users_common.AccountType`.
    pub enum AccountType {
        void {
            /// A Basic account.
            Basic = "basic",
            /// A Plus or Pro account.
            Pro = "pro",
            /// A Business (team) account.
            Business = "business"
        }
        other Other
    }
}

/// `users.FullTeam`: the caller's team and its policies. The policies are unions of void
/// members; each is kept as its [`Tag`](super::Tag) (`"admin_only"`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FullTeam {
    /// The team's id (`dbtid:…`).
    pub id: String,
    /// The team's name.
    pub name: String,
    /// The team's sharing policies.
    pub sharing_policies: TeamSharingPolicies,
    /// Whether the Office Add-In may be used.
    pub office_addin_policy: super::Tag,
    /// Who may edit team folders at the top level of the team space.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_level_content_policy: Option<super::Tag>,
}

/// `team_policies.TeamSharingPolicies`, each policy as its tag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamSharingPolicies {
    /// Who may be added to shared folders (`team`, `anyone`).
    pub shared_folder_member_policy: super::Tag,
    /// Which shared folders members may join (`from_team_only`, `from_anyone`).
    pub shared_folder_join_policy: super::Tag,
    /// Who may open new shared links by default (`default_public`, `team_only`, ...).
    pub shared_link_create_policy: super::Tag,
    /// Who may create groups (`admins_and_members`, `admins_only`).
    pub group_creation_policy: super::Tag,
    /// Whether links to shared folders are restricted (`members`, `anyone`).
    pub shared_folder_link_restriction_policy: super::Tag,
    /// Whether links need a password (`optional`, `required`).
    pub enforce_link_password_policy: super::Tag,
    /// The default expiry of new links (`none`, `day_1`, ...).
    pub default_link_expiration_days_policy: super::Tag,
    /// The default access of new links (`default`, `edit`, `view`).
    pub shared_link_default_permissions_policy: super::Tag,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A team member's account, as `users/get_current_account` answers (the spec's example
    /// team with every sharing policy), decodes into typed fields.
    #[test]
    fn a_team_members_account_is_typed() {
        let json = serde_json::json!({
            "account_id": "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc",
            "name": {"given_name": "F", "surname": "S", "familiar_name": "F", "display_name": "F S", "abbreviated_name": "FS"},
            "email": "f@example.com", "email_verified": true, "disabled": false, "locale": "en",
            "referral_link": "", "is_paired": false,
            "account_type": {".tag": "business"},
            "root_info": {".tag": "team", "root_namespace_id": "3", "home_namespace_id": "2", "home_path": "/F S"},
            "team": {
                "id": "dbtid:AAFdgehTzw7WlXhZJsbGCLePe8RvQGYDr-I", "name": "Acme, Inc.",
                "sharing_policies": {
                    "shared_folder_member_policy": {".tag": "team"},
                    "shared_folder_join_policy": {".tag": "from_anyone"},
                    "shared_link_create_policy": {".tag": "team_only"},
                    "group_creation_policy": {".tag": "admins_only"},
                    "shared_folder_link_restriction_policy": {".tag": "anyone"},
                    "enforce_link_password_policy": {".tag": "optional"},
                    "default_link_expiration_days_policy": {".tag": "day_7"},
                    "shared_link_default_permissions_policy": {".tag": "view"}
                },
                "office_addin_policy": {".tag": "disabled"},
                "top_level_content_policy": {".tag": "admin_only"}
            },
            "team_member_id": "dbmid:1"
        });
        let account: FullAccount = serde_json::from_value(json).unwrap();
        assert_eq!(account.account_type, AccountType::Business);
        let team = account.team.expect("a team");
        assert_eq!(team.name, "Acme, Inc.");
        let policies = &team.sharing_policies;
        assert_eq!(
            policies.default_link_expiration_days_policy.as_str(),
            "day_7"
        );
        assert_eq!(policies.shared_link_create_policy.as_str(), "team_only");
        assert_eq!(
            team.top_level_content_policy.as_ref().map(|t| t.as_str()),
            Some("admin_only")
        );
        // Written back in the union form.
        let back = serde_json::to_value(&team).unwrap();
        assert_eq!(
            back["office_addin_policy"],
            serde_json::json!({".tag": "disabled"})
        );
    }
}
