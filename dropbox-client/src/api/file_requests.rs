//! Routes of the `file_requests` namespace: asking outside parties for files.

use crate::client::Client;
use crate::error::Result;
use crate::models::file_requests::*;
use crate::pagination::Pager;

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
        self.client.rpc(route::CREATE, &arg).await
    }

    /// `file_requests/get`.
    pub async fn get(&self, id: impl Into<String>) -> Result<FileRequest> {
        let arg = FileRequestIdArg { id: id.into() };
        self.client.rpc(route::GET, &arg).await
    }

    /// `file_requests/update`: change title, destination, deadline, open state or description.
    pub async fn update(&self, arg: UpdateFileRequestArgs) -> Result<FileRequest> {
        self.client.rpc(route::UPDATE, &arg).await
    }

    /// `file_requests/list_v2` (and `list/continue`): a pager over the user's file requests,
    /// `limit` per page; awaiting it gives the first page.
    pub fn list(&self, limit: u64) -> Pager<ListFileRequestsV2Result> {
        let first = self.client.clone();
        let next = self.clone();
        Pager::new(
            move || {
                let client = first.clone();
                async move {
                    client
                        .rpc(route::LIST_V2, &ListFileRequestsArg { limit })
                        .await
                }
            },
            move |cursor| {
                let requests = next.clone();
                async move { requests.list_continue(cursor).await }
            },
        )
    }

    /// `file_requests/list/continue`: the page after `cursor`.
    pub async fn list_continue(
        &self,
        cursor: impl Into<String>,
    ) -> Result<ListFileRequestsV2Result> {
        let arg = ListFileRequestsContinueArg {
            cursor: cursor.into(),
        };
        self.client.rpc(route::LIST_CONTINUE, &arg).await
    }
}

/// The routes of this module and whether each is safe to repeat ([`Idempotency`](crate::Idempotency)).
mod route {
    use crate::route::Route;

    pub(super) const CREATE: Route = Route::not_idempotent("file_requests/create");
    pub(super) const GET: Route = Route::idempotent("file_requests/get");
    pub(super) const LIST_CONTINUE: Route = Route::idempotent("file_requests/list/continue");
    pub(super) const LIST_V2: Route = Route::idempotent("file_requests/list_v2");
    pub(super) const UPDATE: Route = Route::idempotent("file_requests/update");
}
