//! Sharing what a flow published to Dropbox (use case 2): a shared link per file as a step
//! after the write ([`SharedLinkStep`], output the link URL), the links of a file ([`direct_links`]; revoked through
//! `Sink::remove`), and a folder shared with outside collaborators ([`FolderShare`]).

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use dropbox_client::models::files::Metadata;
use dropbox_client::models::sharing::{
    AccessLevel, AclUpdatePolicy, AddFolderMemberArg, AddMember, LinkAudience, ListSharedLinksArg,
    MemberPolicy, MemberSelector, ModifySharedLinkSettingsArgs, RequestedLinkAccessLevel,
    ShareFolderArg, SharedLinkPolicy, SharedLinkSettings,
};
use dropbox_client::{Client, Secret};
use serde_json::json;

use super::is_not_found;
use crate::error::{Error, Result, Step as ErrorStep};
use crate::runner::{Step, StepInput, StepOutcome};

/// The name of [`SharedLinkStep`] in the step log; its output is `{"url": …, "expires": …}`.
pub const SHARE_LINK_STEP: &str = "share_link";

/// What a shared link allows: by default view-only (no download), for anyone with the link,
/// with no expiry and no password.
#[derive(Clone, Default)]
pub struct LinkSettings {
    /// The link stops working this long after it is (re)set for a version.
    pub expires_after: Option<Duration>,
    /// A password the link asks for (never shown in `Debug`).
    pub password: Option<Secret>,
    /// Whether the file can be downloaded through the link (default no: view only).
    pub allow_download: bool,
    /// Who may open the link (default: the account's default).
    pub audience: Option<LinkAudience>,
}

impl std::fmt::Debug for LinkSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkSettings")
            .field("expires_after", &self.expires_after)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("allow_download", &self.allow_download)
            .field("audience", &self.audience)
            .finish()
    }
}

impl LinkSettings {
    /// The Dropbox settings for a link set at `now`.
    pub fn at(&self, now: DateTime<Utc>) -> SharedLinkSettings {
        SharedLinkSettings {
            require_password: self.password.as_ref().map(|_| true),
            link_password: self.password.clone(),
            expires: self.expires_after.map(|d| now + d),
            audience: self.audience.clone(),
            access: Some(RequestedLinkAccessLevel::Viewer),
            allow_download: Some(self.allow_download),
            ..SharedLinkSettings::default()
        }
    }
}

/// A repeatable step that gives the written file one shared link with [`LinkSettings`]: it is
/// created, or, when Dropbox answers `shared_link_already_exists` (a link of an earlier
/// version, or of this step's own earlier attempt whose answer was lost), the existing link's
/// settings are updated; there is never a second link.
#[derive(Debug, Clone)]
pub struct SharedLinkStep {
    client: Client,
    settings: LinkSettings,
}

impl SharedLinkStep {
    /// The step with `settings`.
    pub fn new(client: Client, settings: LinkSettings) -> Self {
        SharedLinkStep { client, settings }
    }

    /// Sets the link of the file at `path`: creates it or updates the existing one; returns
    /// its URL.
    pub async fn set_link(&self, label: &str, path: &str, now: DateTime<Utc>) -> Result<String> {
        let settings = self.settings.at(now);
        let sharing = self.client.sharing();
        match sharing
            .create_shared_link_with_settings(path, Some(settings.clone()))
            .await
        {
            Ok(link) => Ok(link.url().to_owned()),
            Err(e)
                if e.api()
                    .is_some_and(|a| a.has_tag("shared_link_already_exists")) =>
            {
                let existing = direct_links(&self.client, label, path).await?;
                let Some(url) = existing.into_iter().next() else {
                    return Err(Error::dropbox(label, ErrorStep::Share, e));
                };
                let link = sharing
                    .modify_shared_link_settings(ModifySharedLinkSettingsArgs {
                        url,
                        remove_expiration: settings.expires.is_none(),
                        settings,
                    })
                    .await
                    .map_err(|e| Error::dropbox(label, ErrorStep::Share, e))?;
                Ok(link.url().to_owned())
            }
            Err(e) => Err(Error::dropbox(label, ErrorStep::Share, e)),
        }
    }
}

#[async_trait]
impl Step for SharedLinkStep {
    fn name(&self) -> &str {
        SHARE_LINK_STEP
    }

    async fn run(&self, input: &StepInput<'_>) -> Result<StepOutcome> {
        let url = self
            .set_link(&input.doc.path, &input.receipt.location, input.now)
            .await?;
        let expires = self.settings.expires_after.map(|d| input.now + d);
        Ok(StepOutcome::Done(json!({ "url": url, "expires": expires })))
    }
}

/// The URLs of the links made for the file at `path` itself (none when it is gone).
pub async fn direct_links(client: &Client, label: &str, path: &str) -> Result<Vec<String>> {
    let page = client
        .sharing()
        .list_shared_links(ListSharedLinksArg {
            path: Some(path.to_owned()),
            cursor: None,
            direct_only: Some(true),
        })
        .await;
    match page {
        Ok(page) => Ok(page.links.iter().map(|l| l.url().to_owned()).collect()),
        Err(e) if is_not_found(&e) => Ok(Vec::new()),
        Err(e) => Err(Error::dropbox(label, ErrorStep::Share, e)),
    }
}

/// Attempts of `sharing/add_folder_member` when its answer is lost.
const MEMBER_ATTEMPTS: u32 = 3;

/// The role of an outside collaborator in a shared folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// May view and comment.
    Viewer,
    /// May edit.
    Editor,
}

/// A Dropbox folder shared with outside collaborators: shared (created if missing) with its
/// policies on first use, then each member added with a role. Adding is idempotent (a
/// member already there keeps one membership, with the role given), so it runs before every
/// publishing run and also restores a member removed by hand.
#[derive(Debug, Clone, Default)]
pub struct FolderShare {
    /// Members by e-mail address, with their roles.
    pub members: Vec<(String, Role)>,
    /// Who may be a member: `anyone` (default) or `team`.
    pub member_policy: Option<MemberPolicy>,
    /// Who may open links in the folder.
    pub shared_link_policy: Option<SharedLinkPolicy>,
    /// Who may change membership.
    pub acl_update_policy: Option<AclUpdatePolicy>,
}

impl FolderShare {
    /// Shares `folder` (when it is not yet) and adds the members; returns the shared folder's
    /// id.
    pub async fn apply(&self, client: &Client, folder: &str) -> Result<String> {
        let label = folder;
        let existing = match client.files().get_metadata(folder.to_owned()).await {
            Ok(Metadata::Folder(f)) => f.sharing_info.and_then(|s| s.shared_folder_id),
            Ok(_) => {
                return Err(Error::governance(
                    label,
                    ErrorStep::Share,
                    "the publishing target is a file, not a folder",
                ))
            }
            Err(e) if is_not_found(&e) => None,
            Err(e) => return Err(Error::dropbox(label, ErrorStep::Share, e)),
        };
        let id = match existing {
            Some(id) => id,
            None => {
                let arg = ShareFolderArg {
                    path: folder.to_owned(),
                    acl_update_policy: self.acl_update_policy.clone(),
                    force_async: false,
                    member_policy: self.member_policy.clone(),
                    shared_link_policy: self.shared_link_policy.clone(),
                };
                client
                    .sharing()
                    .share_folder_and_wait(arg, std::time::Duration::from_millis(200))
                    .await
                    .map_err(|e| Error::dropbox(label, ErrorStep::Share, e))?
                    .shared_folder_id
            }
        };
        if !self.members.is_empty() {
            let members = self
                .members
                .iter()
                .map(|(email, role)| AddMember {
                    member: MemberSelector::Email(email.clone()),
                    access_level: Some(match role {
                        Role::Viewer => AccessLevel::Viewer,
                        Role::Editor => AccessLevel::Editor,
                    }),
                })
                .collect();
            let arg = AddFolderMemberArg {
                shared_folder_id: id.clone(),
                members,
                quiet: true,
                custom_message: None,
            };
            // Adding is idempotent: an answer lost (in doubt) is repeated, a few times.
            let mut attempt = 0;
            loop {
                attempt += 1;
                match client.sharing().add_folder_member(arg.clone()).await {
                    Ok(()) => break,
                    Err(e)
                        if attempt < MEMBER_ATTEMPTS && (e.is_in_doubt() || e.is_retryable()) =>
                    {
                        tracing::warn!(folder, attempt, error = %e, "adding the folder's members again");
                    }
                    Err(e) => return Err(Error::dropbox(label, ErrorStep::Share, e)),
                }
            }
        }
        Ok(id)
    }
}
