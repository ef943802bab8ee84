//! The lazy pager of `files/list_folder` and `files/list_folder/continue`.

use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use futures::FutureExt;

use crate::client::Client;
use crate::error::Result;
use crate::models::files::{ListFolderArg, ListFolderContinueArg, ListFolderResult, Metadata};
use crate::pagination::cursor_pages;

/// A folder listing (or changes feed) not yet sent. Nothing goes out until it is awaited or
/// polled.
///
/// - [`send`](Self::send): the first page only;
/// - [`pages`](Self::pages): every page, each with its `cursor`, to checkpoint and resume with
///   [`Files::list_folder_from_cursor`](super::Files::list_folder_from_cursor);
/// - [`into_stream`](Self::into_stream): every entry.
#[derive(Debug, Clone)]
pub struct ListFolder {
    client: Client,
    start: Start,
}

#[derive(Debug, Clone)]
enum Start {
    Arg(ListFolderArg),
    Cursor(String),
}

impl ListFolder {
    pub(crate) fn from_arg(client: Client, arg: ListFolderArg) -> Self {
        ListFolder {
            client,
            start: Start::Arg(arg),
        }
    }

    pub(crate) fn from_cursor(client: Client, cursor: String) -> Self {
        ListFolder {
            client,
            start: Start::Cursor(cursor),
        }
    }

    /// Sends the first request and returns its page.
    pub async fn send(self) -> Result<ListFolderResult> {
        first_page(self.client, self.start).await
    }

    /// Every page, in order, following `has_more`.
    pub fn pages(self) -> BoxStream<'static, Result<ListFolderResult>> {
        let client = self.client.clone();
        let start_cursor = match &self.start {
            Start::Cursor(c) => Some(c.clone()),
            Start::Arg(_) => None,
        };
        cursor_pages(
            first_page(self.client, self.start).boxed(),
            start_cursor,
            move |cursor| {
                let client = client.clone();
                continue_page(client, cursor).boxed()
            },
        )
    }

    /// Every entry of every page, in order.
    pub fn into_stream(self) -> BoxStream<'static, Result<Metadata>> {
        self.pages()
            .map_ok(|page| futures::stream::iter(page.entries.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }
}

async fn first_page(client: Client, start: Start) -> Result<ListFolderResult> {
    match start {
        Start::Arg(arg) => client.rpc("files/list_folder", &arg, true).await,
        Start::Cursor(cursor) => continue_page(client, cursor).await,
    }
}

async fn continue_page(client: Client, cursor: String) -> Result<ListFolderResult> {
    client
        .rpc(
            "files/list_folder/continue",
            &ListFolderContinueArg { cursor },
            true,
        )
        .await
}
