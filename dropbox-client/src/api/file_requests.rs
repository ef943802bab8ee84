//! Routes of the `file_requests` namespace: asking outside parties for files.

use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use futures::FutureExt;

use crate::client::Client;
use crate::error::Result;
use crate::models::file_requests::*;
use crate::pagination::cursor_pages;

/// The `file_requests` routes. Get it with [`Client::file_requests`]. Route error of every
/// route: [`FileRequestError`].
#[derive(Debug, Clone)]
pub struct FileRequests {
    client: Client,
}

impl Client {
    /// The `file_requests` namespace.
    pub fn file_requests(&self) -> FileRequests {
        FileRequests {
            client: self.clone(),
        }
    }
}

impl FileRequests {
    /// `file_requests/create`.
    ///
    /// ```no_run
    /// # async fn run(client: dropbox_client::Client) -> dropbox_client::Result<()> {
    /// use dropbox_client::models::file_requests::CreateFileRequestArgs;
    /// let request = client
    ///     .file_requests()
    ///     .create(CreateFileRequestArgs::new("Outside tax documents", "/Finance/Tax Intake"))
    ///     .await?;
    /// println!("send {} to the accountant", request.url);
    /// # Ok(()) }
    /// ```
    pub async fn create(&self, arg: CreateFileRequestArgs) -> Result<FileRequest> {
        self.client.rpc("file_requests/create", &arg, false).await
    }

    /// `file_requests/get`.
    pub async fn get(&self, id: impl Into<String>) -> Result<FileRequest> {
        let arg = FileRequestIdArg { id: id.into() };
        self.client.rpc("file_requests/get", &arg, true).await
    }

    /// `file_requests/update`: change title, destination, deadline, open state or description.
    pub async fn update(&self, arg: UpdateFileRequestArgs) -> Result<FileRequest> {
        self.client.rpc("file_requests/update", &arg, true).await
    }

    /// `file_requests/list_v2`: the first page.
    pub async fn list(&self, limit: u64) -> Result<ListFileRequestsV2Result> {
        self.client
            .rpc(
                "file_requests/list_v2",
                &ListFileRequestsArg { limit },
                true,
            )
            .await
    }

    /// `file_requests/list/continue`: the page after `cursor`.
    pub async fn list_continue(
        &self,
        cursor: impl Into<String>,
    ) -> Result<ListFileRequestsV2Result> {
        let arg = ListFileRequestsContinueArg {
            cursor: cursor.into(),
        };
        self.client
            .rpc("file_requests/list/continue", &arg, true)
            .await
    }

    /// Every file request, following the cursor.
    pub fn list_stream(&self, limit: u64) -> BoxStream<'static, Result<FileRequest>> {
        let first = self.clone();
        let next = self.clone();
        cursor_pages(
            async move { first.list(limit).await }.boxed(),
            None,
            move |cursor| {
                let requests = next.clone();
                async move { requests.list_continue(cursor).await }.boxed()
            },
        )
        .map_ok(|page| futures::stream::iter(page.file_requests.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
    }
}
