//! Routes of the `sharing` namespace: shared links with access limits, shared folders and their
//! members.

use std::time::Duration;

use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use futures::FutureExt;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::models::common::PollArg;
use crate::models::sharing::*;
use crate::pagination::cursor_pages;

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
            .rpc("sharing/create_shared_link_with_settings", &arg, false)
            .await
    }

    /// `sharing/list_shared_links`: one page of links. Route error: [`SharedLinkError`].
    pub async fn list_shared_links(
        &self,
        arg: ListSharedLinksArg,
    ) -> Result<ListSharedLinksResult> {
        self.client
            .rpc("sharing/list_shared_links", &arg, true)
            .await
    }

    /// Every shared link matching `arg`, following the cursor.
    pub fn list_shared_links_stream(
        &self,
        arg: ListSharedLinksArg,
    ) -> BoxStream<'static, Result<SharedLinkMetadata>> {
        let first = self.clone();
        let next = self.clone();
        let base = arg.clone();
        cursor_pages(
            async move { first.list_shared_links(arg).await }.boxed(),
            None,
            move |cursor| {
                let sharing = next.clone();
                let arg = ListSharedLinksArg {
                    cursor: Some(cursor),
                    ..base.clone()
                };
                async move { sharing.list_shared_links(arg).await }.boxed()
            },
        )
        .map_ok(|page| futures::stream::iter(page.links.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
    }

    /// `sharing/modify_shared_link_settings`: changes a link's limits. Route error:
    /// [`SharedLinkError`].
    pub async fn modify_shared_link_settings(
        &self,
        arg: ModifySharedLinkSettingsArgs,
    ) -> Result<SharedLinkMetadata> {
        self.client
            .rpc("sharing/modify_shared_link_settings", &arg, false)
            .await
    }

    /// `sharing/revoke_shared_link`. Route error: [`SharedLinkError`].
    pub async fn revoke_shared_link(&self, url: impl Into<String>) -> Result<()> {
        let arg = RevokeSharedLinkArg { url: url.into() };
        self.client
            .rpc("sharing/revoke_shared_link", &arg, true)
            .await
    }

    /// `sharing/share_folder`: shares a folder (creating it if missing). The answer may be a
    /// job id: see [`Sharing::share_folder_and_wait`]. Route error: [`SharedFolderError`].
    pub async fn share_folder(
        &self,
        arg: impl Into<ShareFolderArg>,
    ) -> Result<ShareFolderJobStatus> {
        self.client
            .rpc("sharing/share_folder", &arg.into(), false)
            .await
    }

    /// `sharing/check_share_job_status`.
    pub async fn check_share_job_status(
        &self,
        async_job_id: impl Into<String>,
    ) -> Result<ShareFolderJobStatus> {
        let arg = PollArg {
            async_job_id: async_job_id.into(),
        };
        self.client
            .rpc("sharing/check_share_job_status", &arg, true)
            .await
    }

    /// Shares a folder and polls the job (every `poll`) until it completes or fails.
    pub async fn share_folder_and_wait(
        &self,
        arg: impl Into<ShareFolderArg>,
        poll: Duration,
    ) -> Result<SharedFolderMetadata> {
        const ROUTE: &str = "sharing/check_share_job_status";
        let mut status = self.share_folder(arg).await?;
        let mut job: Option<String> = None;
        loop {
            status = match status {
                ShareFolderJobStatus::Complete(meta) => return Ok(meta),
                ShareFolderJobStatus::AsyncJobId(id) => {
                    job = Some(id.clone());
                    self.check_share_job_status(id).await?
                }
                ShareFolderJobStatus::InProgress => {
                    let Some(id) = job.clone() else {
                        return Err(Error::decode(ROUTE, "in_progress without a job id", b""));
                    };
                    tokio::time::sleep(poll).await;
                    self.check_share_job_status(id).await?
                }
                ShareFolderJobStatus::Failed(err) => {
                    let mut api = crate::error::ApiError::reported(ROUTE, err);
                    api.summary = format!("share job failed: {}", api.summary);
                    return Err(Error::Api(Box::new(api)));
                }
                _ => return Err(Error::decode(ROUTE, "unknown job status", b"")),
            };
        }
    }

    /// `sharing/add_folder_member`. Route error: [`SharedFolderError`].
    pub async fn add_folder_member(&self, arg: AddFolderMemberArg) -> Result<()> {
        self.client
            .rpc("sharing/add_folder_member", &arg, false)
            .await
    }

    /// `sharing/list_folder_members`: the first page of a shared folder's members.
    pub async fn list_folder_members(
        &self,
        arg: ListFolderMembersArgs,
    ) -> Result<SharedFolderMembers> {
        self.client
            .rpc("sharing/list_folder_members", &arg, true)
            .await
    }
}
