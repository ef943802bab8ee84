//! Routes of the `files` namespace: metadata, listing and changes, folders, relocation,
//! revisions, search and tags. Uploads and downloads live in [`upload`] and [`download`].

pub mod download;
pub mod list_folder;
pub mod upload;

use std::time::Duration;

use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use futures::FutureExt;

use crate::client::{Client, Host};
use crate::error::Result;
use crate::models::common::PollArg;
use crate::models::files::*;
use crate::pagination::cursor_pages;
use crate::transport::{read_json, to_json, Call, Style};

pub use list_folder::ListFolder;

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
        self.client
            .rpc("files/get_metadata", &arg.into(), true)
            .await
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
        ListFolder::from_arg(self.client.clone(), arg.into())
    }

    /// A pager that resumes from a saved cursor with `files/list_folder/continue` (the changes
    /// since that cursor).
    pub fn list_folder_from_cursor(&self, cursor: impl Into<String>) -> ListFolder {
        ListFolder::from_cursor(self.client.clone(), cursor.into())
    }

    /// `files/list_folder/continue`: one page after `cursor`.
    pub async fn list_folder_continue(
        &self,
        cursor: impl Into<String>,
    ) -> Result<ListFolderResult> {
        let arg = ListFolderContinueArg {
            cursor: cursor.into(),
        };
        self.client
            .rpc("files/list_folder/continue", &arg, true)
            .await
    }

    /// `files/list_folder/get_latest_cursor`: a cursor at the folder's current state, to watch
    /// for changes from now on.
    pub async fn list_folder_get_latest_cursor(
        &self,
        arg: impl Into<ListFolderArg>,
    ) -> Result<ListFolderGetLatestCursorResult> {
        self.client
            .rpc("files/list_folder/get_latest_cursor", &arg.into(), true)
            .await
    }

    /// `files/list_folder/longpoll` (notify host, no auth): waits up to `timeout` (30..=480 s)
    /// for a change after `cursor`. If the server asked for a `backoff`, the next longpoll of this
    /// client waits that long before it is sent. Route error: [`ListFolderLongpollError`].
    pub async fn list_folder_longpoll(
        &self,
        cursor: impl Into<String>,
        timeout: Duration,
    ) -> Result<ListFolderLongpollResult> {
        const ROUTE: &str = "files/list_folder/longpoll";
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
        call.idempotent = true;
        // The server may hold the request `timeout` + up to 90 s of jitter.
        call.timeout = Some(Duration::from_secs(secs + 90 + 30));
        let resp = self.client.execute(&call).await?;
        let result: ListFolderLongpollResult = read_json(ROUTE, true, resp).await?;
        let next = result
            .backoff
            .map(|s| tokio::time::Instant::now() + Duration::from_secs(s));
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
        self.client
            .rpc("files/create_folder_v2", &arg.into(), false)
            .await
    }

    /// `files/move_v2`. Route error: [`RelocationError`].
    pub async fn move_entry(&self, arg: RelocationArg) -> Result<RelocationResult> {
        self.client.rpc("files/move_v2", &arg, false).await
    }

    /// `files/copy_v2`. Route error: [`RelocationError`].
    pub async fn copy(&self, arg: RelocationArg) -> Result<RelocationResult> {
        self.client.rpc("files/copy_v2", &arg, false).await
    }

    /// `files/delete_v2`: deletes a file or folder (with its contents). Route error:
    /// [`DeleteError`].
    pub async fn delete(&self, arg: impl Into<DeleteArg>) -> Result<DeleteResult> {
        self.client.rpc("files/delete_v2", &arg.into(), false).await
    }

    /// `files/list_revisions`. Route error: [`ListRevisionsError`].
    pub async fn list_revisions(
        &self,
        arg: impl Into<ListRevisionsArg>,
    ) -> Result<ListRevisionsResult> {
        self.client
            .rpc("files/list_revisions", &arg.into(), true)
            .await
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
        self.client.rpc("files/restore", &arg, false).await
    }

    /// `files/search_v2`: the first page of matches. Route error: [`SearchError`].
    pub async fn search(&self, arg: impl Into<SearchV2Arg>) -> Result<SearchV2Result> {
        self.client.rpc("files/search_v2", &arg.into(), true).await
    }

    /// `files/search/continue_v2`: the page after `cursor`.
    pub async fn search_continue(&self, cursor: impl Into<String>) -> Result<SearchV2Result> {
        let arg = SearchV2ContinueArg {
            cursor: cursor.into(),
        };
        self.client
            .rpc("files/search/continue_v2", &arg, true)
            .await
    }

    /// Every match of a search as a lazy stream, following `search/continue_v2`.
    pub fn search_stream(
        &self,
        arg: impl Into<SearchV2Arg>,
    ) -> BoxStream<'static, Result<Metadata>> {
        let arg = arg.into();
        let first_files = self.clone();
        let next_files = self.clone();
        cursor_pages(
            async move { first_files.search(arg).await }.boxed(),
            None,
            move |cursor| {
                let files = next_files.clone();
                async move { files.search_continue(cursor).await }.boxed()
            },
        )
        .map_ok(|page| {
            futures::stream::iter(page.matches.into_iter().filter_map(|m| match m.metadata {
                MetadataV2::Metadata(md) => Some(Ok(md)),
                _ => None,
            }))
        })
        .try_flatten()
        .boxed()
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
        self.client.rpc("files/tags/add", &arg, true).await
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
        self.client.rpc("files/tags/remove", &arg, true).await
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
        self.client.rpc("files/tags/get", &arg, true).await
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
            .rpc("files/upload_session/finish_batch/check", &arg, true)
            .await
    }
}
