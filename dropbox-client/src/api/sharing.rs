//! Routes of the `sharing` namespace: shared links with access limits, shared folders and their
//! members.

use crate::client::Client;
use crate::error::{Error, Result};
use crate::models::common::PollArg;
use crate::models::sharing::*;
use crate::pagination::Pager;

/// The `sharing` routes. Get it with [`Client::sharing`].
#[derive(Debug, Clone)]
pub struct Sharing {
    client: Client,
}

impl Client {
    /// The `sharing` namespace.
    pub fn sharing(&self) -> Sharing {
        Sharing {
            client: self.clone(),
        }
    }
}

impl Sharing {
    /// `sharing/create_shared_link_with_settings`: a link to `path` with access limits (no
    /// settings: public). Route error: [`CreateSharedLinkWithSettingsError`].
    ///
    /// ```no_run
    /// # async fn run(client: dropbox_client::Client) -> dropbox_client::Result<()> {
    /// use dropbox_client::models::sharing::{LinkAudience, RequestedLinkAccessLevel, SharedLinkSettings};
    /// let expires = chrono::Utc::now() + chrono::Duration::days(14);
    /// let link = client
    ///     .sharing()
    ///     .create_shared_link_with_settings(
    ///         "/Shared/Outside Counsel/Contract.pdf",
    ///         Some(SharedLinkSettings {
    ///             audience: Some(LinkAudience::Public),
    ///             access: Some(RequestedLinkAccessLevel::Viewer),
    ///             expires: Some(expires),
    ///             allow_download: Some(false),
    ///             ..Default::default()
    ///         }),
    ///     )
    ///     .await?;
    /// println!("{}", link.url());
    /// # Ok(()) }
    /// ```
    pub async fn create_shared_link_with_settings(
        &self,
        path: impl Into<String>,
        settings: Option<SharedLinkSettings>,
    ) -> Result<SharedLinkMetadata> {
        let arg = CreateSharedLinkWithSettingsArg {
            path: path.into(),
            settings,
        };
        self.client
            .rpc(route::CREATE_SHARED_LINK_WITH_SETTINGS, &arg)
            .await
    }

    /// `sharing/list_shared_links`: a pager over the links matching `arg` (the cursor is given
    /// only when no `path` is); awaiting it gives the first page. Route error:
    /// [`SharedLinkError`].
    pub fn list_shared_links(&self, arg: ListSharedLinksArg) -> Pager<ListSharedLinksResult> {
        let first = self.client.clone();
        let next = self.client.clone();
        let base = arg.clone();
        Pager::new(
            move || {
                let (client, arg) = (first.clone(), arg.clone());
                async move { client.rpc(route::LIST_SHARED_LINKS, &arg).await }
            },
            move |cursor| {
                let client = next.clone();
                let arg = ListSharedLinksArg {
                    cursor: Some(cursor),
                    ..base.clone()
                };
                async move { client.rpc(route::LIST_SHARED_LINKS, &arg).await }
            },
        )
    }

    /// `sharing/modify_shared_link_settings`: changes a link's limits. Route error:
    /// [`SharedLinkError`].
    pub async fn modify_shared_link_settings(
        &self,
        arg: ModifySharedLinkSettingsArgs,
    ) -> Result<SharedLinkMetadata> {
        self.client
            .rpc(route::MODIFY_SHARED_LINK_SETTINGS, &arg)
            .await
    }

    /// `sharing/revoke_shared_link`. Route error: [`SharedLinkError`].
    pub async fn revoke_shared_link(&self, url: impl Into<String>) -> Result<()> {
        let arg = RevokeSharedLinkArg { url: url.into() };
        self.client.rpc(route::REVOKE_SHARED_LINK, &arg).await
    }

    /// `sharing/share_folder`: shares a folder (creating it if missing). The answer may be a
    /// job id: see [`Sharing::share_folder_and_wait`]. Route error: [`SharedFolderError`].
    pub async fn share_folder(
        &self,
        arg: impl Into<ShareFolderArg>,
    ) -> Result<ShareFolderJobStatus> {
        self.client.rpc(route::SHARE_FOLDER, &arg.into()).await
    }

    /// `sharing/check_share_job_status`.
    pub async fn check_share_job_status(
        &self,
        async_job_id: impl Into<String>,
    ) -> Result<ShareFolderJobStatus> {
        let arg = PollArg {
            async_job_id: async_job_id.into(),
        };
        self.client.rpc(route::CHECK_SHARE_JOB_STATUS, &arg).await
    }

    /// Shares a folder and polls the job (see [`JobWait`](crate::JobWait)) until it completes
    /// or fails.
    pub async fn share_folder_and_wait(
        &self,
        arg: impl Into<ShareFolderArg>,
        wait: impl Into<crate::JobWait>,
    ) -> Result<SharedFolderMetadata> {
        use crate::job::{poll, JobState};
        let route_name = route::CHECK_SHARE_JOB_STATUS.name;
        let job = match self.share_folder(arg).await? {
            ShareFolderJobStatus::Complete(meta) => return Ok(meta),
            ShareFolderJobStatus::AsyncJobId(id) => id,
            other => return Err(share_job_end(route_name, other)),
        };
        poll(route_name, &job, wait.into(), |id| async move {
            Ok(match self.check_share_job_status(id).await? {
                ShareFolderJobStatus::InProgress => JobState::InProgress,
                ShareFolderJobStatus::Complete(meta) => JobState::Done(Ok(meta)),
                other => JobState::Done(Err(share_job_end(route_name, other))),
            })
        })
        .await
    }

    /// `sharing/add_folder_member`. Route error: [`SharedFolderError`].
    pub async fn add_folder_member(&self, arg: AddFolderMemberArg) -> Result<()> {
        self.client.rpc(route::ADD_FOLDER_MEMBER, &arg).await
    }

    /// `sharing/list_folder_members` (and `list_folder_members/continue`): a pager over a
    /// shared folder's members; [`Pager::into_stream`] yields users, then groups, then invitees
    /// of each page. Route error: [`SharedFolderError`].
    ///
    /// ```no_run
    /// # async fn run(client: dropbox_client::Client) -> dropbox_client::Result<()> {
    /// use dropbox_client::models::sharing::{FolderMember, ListFolderMembersArgs};
    /// use futures::TryStreamExt;
    /// let members: Vec<FolderMember> = client
    ///     .sharing()
    ///     .list_folder_members(ListFolderMembersArgs::new("84528192421"))
    ///     .into_stream()
    ///     .try_collect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn list_folder_members(&self, arg: ListFolderMembersArgs) -> Pager<SharedFolderMembers> {
        let first = self.client.clone();
        let next = self.client.clone();
        Pager::new(
            move || {
                let (client, arg) = (first.clone(), arg.clone());
                async move { client.rpc(route::LIST_FOLDER_MEMBERS, &arg).await }
            },
            move |cursor| {
                let client = next.clone();
                async move {
                    client
                        .rpc(
                            route::LIST_FOLDER_MEMBERS_CONTINUE,
                            &ListFolderMembersContinueArg { cursor },
                        )
                        .await
                }
            },
        )
    }
}

/// The routes of this module and whether each is safe to repeat ([`Idempotency`](crate::Idempotency)).
mod route {
    use crate::route::Route;

    pub(super) const ADD_FOLDER_MEMBER: Route = Route::not_idempotent("sharing/add_folder_member");
    pub(super) const CHECK_SHARE_JOB_STATUS: Route =
        Route::idempotent("sharing/check_share_job_status");
    pub(super) const CREATE_SHARED_LINK_WITH_SETTINGS: Route =
        Route::not_idempotent("sharing/create_shared_link_with_settings");
    pub(super) const LIST_FOLDER_MEMBERS_CONTINUE: Route =
        Route::idempotent("sharing/list_folder_members/continue");
    pub(super) const LIST_FOLDER_MEMBERS: Route = Route::idempotent("sharing/list_folder_members");
    pub(super) const LIST_SHARED_LINKS: Route = Route::idempotent("sharing/list_shared_links");
    pub(super) const MODIFY_SHARED_LINK_SETTINGS: Route =
        Route::not_idempotent("sharing/modify_shared_link_settings");
    pub(super) const REVOKE_SHARED_LINK: Route = Route::idempotent("sharing/revoke_shared_link");
    pub(super) const SHARE_FOLDER: Route = Route::not_idempotent("sharing/share_folder");
}

/// The error for a share job that ended without a folder: failed, or an unknown status.
fn share_job_end(route: &str, status: ShareFolderJobStatus) -> Error {
    match status {
        ShareFolderJobStatus::Failed(err) => {
            let mut api = crate::error::ApiError::reported(route, err);
            api.summary = format!("share job failed: {}", api.summary);
            Error::Api(Box::new(api))
        }
        _ => Error::decode(route, "unknown job status", b""),
    }
}
