//! Routes of the `files` namespace: metadata, listing and changes, folders, relocation,
//! revisions, search and tags. Uploads and downloads live in [`upload`] and [`download`].

pub mod batch;
pub mod download;
pub mod list_folder;
pub mod upload;

use std::time::Duration;

use crate::client::{Client, Host};
use crate::error::Result;
use crate::models::common::PollArg;
use crate::models::files::*;
use crate::pagination::Pager;
use crate::transport::{read_json, to_json, Call, Style};

pub use list_folder::ListFolder;

/// The longest longpoll `backoff` honoured, in seconds.
const MAX_BACKOFF_SECS: u64 = 15 * 60;

/// The `files` routes. Get it with [`Client::files`].
#[derive(Debug, Clone)]
pub struct Files {
    pub(crate) client: Client,
}

impl Client {
    /// The `files` namespace.
    pub fn files(&self) -> Files {
        Files {
            client: self.clone(),
        }
    }
}

impl Files {
    /// `files/get_metadata`: metadata of a file or folder. Route error: [`GetMetadataError`].
    ///
    /// ```no_run
    /// # async fn run(client: dropbox_client::Client) -> dropbox_client::Result<()> {
    /// use dropbox_client::models::files::{GetMetadataArg, Metadata};
    /// if let Metadata::File(f) = client.files().get_metadata("/Reports/q3.pdf").await? {
    ///     println!("{} bytes, rev {}", f.size, f.rev);
    /// }
    /// let deleted = client.files().get_metadata(GetMetadataArg::new("/old.txt").include_deleted(true)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn get_metadata(&self, arg: impl Into<GetMetadataArg>) -> Result<Metadata> {
        self.client.rpc(route::GET_METADATA, &arg.into()).await
    }

    /// `files/list_folder` (and `list_folder/continue`): a lazy pager over a folder's entries.
    /// Route errors: [`ListFolderError`], [`ListFolderContinueError`].
    ///
    /// ```no_run
    /// # async fn run(client: dropbox_client::Client) -> dropbox_client::Result<()> {
    /// use futures::TryStreamExt;
    /// use dropbox_client::models::files::ListFolderArg;
    /// let entries: Vec<_> = client
    ///     .files()
    ///     .list_folder(ListFolderArg::new("/Projects").recursive(true))
    ///     .into_stream()
    ///     .try_collect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn list_folder(&self, arg: impl Into<ListFolderArg>) -> ListFolder {
        list_folder::pager(self.client.clone(), arg.into())
    }

    /// A pager that resumes from a saved cursor with `files/list_folder/continue` (the changes
    /// since that cursor); the same as `list_folder(..).resume(cursor)`, without an argument.
    pub fn list_folder_from_cursor(&self, cursor: impl Into<String>) -> ListFolder {
        list_folder::from_cursor(self.client.clone(), cursor.into())
    }

    /// `files/list_folder/continue`: one page after `cursor`.
    pub async fn list_folder_continue(
        &self,
        cursor: impl Into<String>,
    ) -> Result<ListFolderResult> {
        let arg = ListFolderContinueArg {
            cursor: cursor.into(),
        };
        self.client.rpc(route::LIST_FOLDER_CONTINUE, &arg).await
    }

    /// `files/list_folder/get_latest_cursor`: a cursor at the folder's current state, to watch
    /// for changes from now on.
    pub async fn list_folder_get_latest_cursor(
        &self,
        arg: impl Into<ListFolderArg>,
    ) -> Result<ListFolderGetLatestCursorResult> {
        self.client
            .rpc(route::LIST_FOLDER_GET_LATEST_CURSOR, &arg.into())
            .await
    }

    /// `files/list_folder/longpoll` (notify host, no auth): waits up to `timeout` (30..=480 s)
    /// for a change after `cursor`. If the server asked for a `backoff`, the next longpoll of this
    /// client waits that long (at most 15 minutes) before it is sent. Route error: [`ListFolderLongpollError`].
    pub async fn list_folder_longpoll(
        &self,
        cursor: impl Into<String>,
        timeout: Duration,
    ) -> Result<ListFolderLongpollResult> {
        const ROUTE: &str = route::LIST_FOLDER_LONGPOLL.name;
        let secs = timeout.as_secs().clamp(30, 480);
        let not_before = *self
            .client
            .inner
            .longpoll_not_before
            .lock()
            .expect("not poisoned");
        if let Some(at) = not_before {
            tokio::time::sleep_until(at).await;
        }
        let arg = ListFolderLongpollArg {
            cursor: cursor.into(),
            timeout: secs,
        };
        let mut call = Call::new(ROUTE, Host::Notify, Style::Rpc, to_json(ROUTE, &arg)?);
        call.noauth = true;
        call.idempotent = route::LIST_FOLDER_LONGPOLL.idempotency.is_idempotent();
        // The server may hold the request `timeout` + up to 90 s of jitter.
        call.timeout = Some(Duration::from_secs(secs + 90 + 30));
        let resp = self.client.execute(&call).await?;
        let result: ListFolderLongpollResult = read_json(ROUTE, true, resp).await?;
        // The wait is the server's number: keep it within reason (a longpoll lasts at most
        // 480 s) so that an absurd value can neither overflow the clock nor stop polling.
        let next = result
            .backoff
            .map(|s| tokio::time::Instant::now() + Duration::from_secs(s.min(MAX_BACKOFF_SECS)));
        *self
            .client
            .inner
            .longpoll_not_before
            .lock()
            .expect("not poisoned") = next;
        Ok(result)
    }

    /// `files/create_folder_v2`. Route error: [`CreateFolderError`] (an existing folder is
    /// `path/conflict/folder`).
    pub async fn create_folder(
        &self,
        arg: impl Into<CreateFolderArg>,
    ) -> Result<CreateFolderResult> {
        self.client.rpc(route::CREATE_FOLDER_V2, &arg.into()).await
    }

    /// `files/move_v2`. Route error: [`RelocationError`].
    pub async fn move_entry(&self, arg: RelocationArg) -> Result<RelocationResult> {
        self.client.rpc(route::MOVE_V2, &arg).await
    }

    /// `files/copy_v2`. Route error: [`RelocationError`].
    pub async fn copy(&self, arg: RelocationArg) -> Result<RelocationResult> {
        self.client.rpc(route::COPY_V2, &arg).await
    }

    /// `files/delete_v2`: deletes a file or folder (with its contents). Route error:
    /// [`DeleteError`].
    pub async fn delete(&self, arg: impl Into<DeleteArg>) -> Result<DeleteResult> {
        self.client.rpc(route::DELETE_V2, &arg.into()).await
    }

    /// `files/list_revisions`. Route error: [`ListRevisionsError`].
    pub async fn list_revisions(
        &self,
        arg: impl Into<ListRevisionsArg>,
    ) -> Result<ListRevisionsResult> {
        self.client.rpc(route::LIST_REVISIONS, &arg.into()).await
    }

    /// `files/restore`: makes `rev` the current content of `path`. Route error: [`RestoreError`].
    pub async fn restore(
        &self,
        path: impl Into<String>,
        rev: impl Into<String>,
    ) -> Result<FileMetadata> {
        let arg = RestoreArg {
            path: path.into(),
            rev: rev.into(),
        };
        self.client.rpc(route::RESTORE, &arg).await
    }

    /// `files/search_v2` (and `search/continue_v2`): a pager over the matches; awaiting it
    /// gives the first page, [`Pager::into_stream`] every matched entry. At most 10,000 matches
    /// in all; the index lags behind writes. Route error: [`SearchError`].
    pub fn search(&self, arg: impl Into<SearchV2Arg>) -> Pager<SearchV2Result> {
        let arg = arg.into();
        let first = self.client.clone();
        let next = self.clone();
        Pager::new(
            move || {
                let (client, arg) = (first.clone(), arg.clone());
                async move { client.rpc(route::SEARCH_V2, &arg).await }
            },
            move |cursor| {
                let files = next.clone();
                async move { files.search_continue(cursor).await }
            },
        )
    }

    /// `files/search/continue_v2`: the page after `cursor`.
    pub async fn search_continue(&self, cursor: impl Into<String>) -> Result<SearchV2Result> {
        let arg = SearchV2ContinueArg {
            cursor: cursor.into(),
        };
        self.client.rpc(route::SEARCH_CONTINUE_V2, &arg).await
    }

    /// `files/tags/add`: tags an item (the server lower-cases the tag). Route error: [`TagError`].
    pub async fn add_tag(
        &self,
        path: impl Into<String>,
        tag_text: impl Into<String>,
    ) -> Result<()> {
        let arg = TagArg {
            path: path.into(),
            tag_text: tag_text.into(),
        };
        self.client.rpc(route::TAGS_ADD, &arg).await
    }

    /// `files/tags/remove`. Route error: [`TagError`] (`tag_not_present`).
    pub async fn remove_tag(
        &self,
        path: impl Into<String>,
        tag_text: impl Into<String>,
    ) -> Result<()> {
        let arg = TagArg {
            path: path.into(),
            tag_text: tag_text.into(),
        };
        self.client.rpc(route::TAGS_REMOVE, &arg).await
    }

    /// `files/tags/get`: the tags of several items. Route error: [`TagError`].
    pub async fn get_tags<I, S>(&self, paths: I) -> Result<GetTagsResult>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let arg = GetTagsArg {
            paths: paths.into_iter().map(Into::into).collect(),
        };
        self.client.rpc(route::TAGS_GET, &arg).await
    }

    /// `files/upload_session/finish_batch/check`: the state of a batch commit started with the
    /// (asynchronous) v1 `finish_batch`.
    pub async fn upload_session_finish_batch_check(
        &self,
        async_job_id: impl Into<String>,
    ) -> Result<UploadSessionFinishBatchJobStatus> {
        let arg = PollArg {
            async_job_id: async_job_id.into(),
        };
        self.client
            .rpc(route::UPLOAD_SESSION_FINISH_BATCH_CHECK, &arg)
            .await
    }
}

/// The routes of this module and whether each is safe to repeat ([`Idempotency`](crate::Idempotency)).
mod route {
    use crate::route::Route;

    pub(super) const COPY_V2: Route = Route::not_idempotent("files/copy_v2");
    pub(super) const CREATE_FOLDER_V2: Route = Route::not_idempotent("files/create_folder_v2");
    pub(super) const DELETE_V2: Route = Route::not_idempotent("files/delete_v2");
    pub(super) const GET_METADATA: Route = Route::idempotent("files/get_metadata");
    pub(super) const LIST_FOLDER_CONTINUE: Route = Route::idempotent("files/list_folder/continue");
    pub(super) const LIST_FOLDER_LONGPOLL: Route = Route::idempotent("files/list_folder/longpoll");
    pub(super) const LIST_FOLDER_GET_LATEST_CURSOR: Route =
        Route::idempotent("files/list_folder/get_latest_cursor");
    pub(super) const LIST_REVISIONS: Route = Route::idempotent("files/list_revisions");
    pub(super) const MOVE_V2: Route = Route::not_idempotent("files/move_v2");
    pub(super) const RESTORE: Route = Route::not_idempotent("files/restore");
    pub(super) const SEARCH_CONTINUE_V2: Route = Route::idempotent("files/search/continue_v2");
    pub(super) const SEARCH_V2: Route = Route::idempotent("files/search_v2");
    pub(super) const TAGS_ADD: Route = Route::idempotent("files/tags/add");
    pub(super) const TAGS_GET: Route = Route::idempotent("files/tags/get");
    pub(super) const TAGS_REMOVE: Route = Route::idempotent("files/tags/remove");
    pub(super) const UPLOAD_SESSION_FINISH_BATCH_CHECK: Route =
        Route::idempotent("files/upload_session/finish_batch/check");
}
