//! Cursor-following streams of pages, shared by every paged route.

use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, StreamExt};

use crate::error::Result;

/// A page that may name the cursor of the next one.
pub trait CursorPage {
    /// The cursor of the next page, when there is one (`has_more`).
    fn next_cursor(&self) -> Option<&str>;
}

enum State<R> {
    First(BoxFuture<'static, Result<R>>, Option<String>),
    Next(String),
    Done,
}

/// A lazy stream of pages: `first` is sent when the stream is first polled; each following page
/// is fetched with `next(cursor)` while the page says more follow. A cursor that repeats the one
/// just used (`start_cursor` for the first page) ends the stream: a server bug must not loop
/// forever. An error ends the stream after being yielded.
pub(crate) fn cursor_pages<R, F>(
    first: BoxFuture<'static, Result<R>>,
    start_cursor: Option<String>,
    next: F,
) -> BoxStream<'static, Result<R>>
where
    R: CursorPage + Send + 'static,
    F: Fn(String) -> BoxFuture<'static, Result<R>> + Send + Sync + 'static,
{
    stream::unfold(
        (State::First(first, start_cursor), next),
        |(state, next)| async move {
            let (fut, previous) = match state {
                State::Done => return None,
                State::First(f, start) => (f, start),
                State::Next(cursor) => (next(cursor.clone()), Some(cursor)),
            };
            match fut.await {
                Ok(page) => {
                    let following = match page.next_cursor() {
                        Some(c) if Some(c) != previous.as_deref() => State::Next(c.to_owned()),
                        _ => State::Done,
                    };
                    Some((Ok(page), (following, next)))
                }
                Err(e) => Some((Err(e), (State::Done, next))),
            }
        },
    )
    .boxed()
}

impl CursorPage for crate::models::files::ListFolderResult {
    fn next_cursor(&self) -> Option<&str> {
        self.has_more.then_some(self.cursor.as_str())
    }
}

impl CursorPage for crate::models::files::SearchV2Result {
    fn next_cursor(&self) -> Option<&str> {
        if self.has_more {
            self.cursor.as_deref()
        } else {
            None
        }
    }
}

impl CursorPage for crate::models::file_requests::ListFileRequestsV2Result {
    fn next_cursor(&self) -> Option<&str> {
        self.has_more.then_some(self.cursor.as_str())
    }
}

impl CursorPage for crate::models::sharing::ListSharedLinksResult {
    fn next_cursor(&self) -> Option<&str> {
        if self.has_more {
            self.cursor.as_deref()
        } else {
            None
        }
    }
}

impl CursorPage for crate::models::sharing::SharedFolderMembers {
    fn next_cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }
}
