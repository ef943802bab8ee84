//! [`Pager`]: the one paging shape of every cursor-listed route.

use std::collections::HashSet;
use std::future::{Future, IntoFuture};
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use futures::FutureExt;

use crate::error::Result;

/// A page of a cursor-listed route: its items, its cursor and whether more follow.
pub trait CursorPage: Send + 'static {
    /// What one page lists (a folder entry, a team member, an event, ...).
    type Item: Send + 'static;

    /// The cursor this page carries: checkpoint it and resume with [`Pager::resume`]. `None`
    /// when the route gives no cursor for this page (e.g. `list_shared_links` of one path).
    fn cursor(&self) -> Option<&str>;

    /// Whether the server says more pages follow.
    fn has_more(&self) -> bool;

    /// The cursor of the next page, when there is one.
    fn next_cursor(&self) -> Option<&str> {
        if self.has_more() {
            self.cursor()
        } else {
            None
        }
    }

    /// The page's items, in order.
    fn into_items(self) -> Vec<Self::Item>;
}

type First<P> = Arc<dyn Fn() -> BoxFuture<'static, Result<P>> + Send + Sync>;
type Next<P> = Arc<dyn Fn(String) -> BoxFuture<'static, Result<P>> + Send + Sync>;

/// A cursor-listed route not yet sent; every listing of this crate returns one. Nothing goes out
/// until it is awaited or polled.
///
/// - `.await` (or [`send`](Self::send)): the first page only;
/// - [`pages`](Self::pages): every page in order, each exposing its cursor
///   ([`CursorPage::cursor`]) so a caller can checkpoint;
/// - [`into_stream`](Self::into_stream): every item of every page;
/// - [`resume`](Self::resume): the same listing, started from a saved cursor with the route's
///   `…/continue`.
///
/// Paging stops when a page says no more follow, or when the server hands back a cursor already
/// followed, the one just used or an older one (a server bug must not loop forever). An error
/// ends the stream after it is yielded.
///
/// ```no_run
/// # async fn run(client: dropbox_client::Client) -> dropbox_client::Result<()> {
/// use dropbox_client::CursorPage;
/// use futures::TryStreamExt;
/// let mut pages = client.files().list_folder("/Inbox").pages();
/// let mut checkpoint = None;
/// while let Some(page) = pages.try_next().await? {
///     checkpoint = page.cursor().map(str::to_owned);
/// }
/// // Later: only what changed since.
/// let changes: Vec<_> = client
///     .files()
///     .list_folder("/Inbox")
///     .resume(checkpoint.unwrap())
///     .into_stream()
///     .try_collect()
///     .await?;
/// # Ok(()) }
/// ```
pub struct Pager<P> {
    first: First<P>,
    next: Next<P>,
    /// The cursor the first request continues from (a resumed pager).
    start_cursor: Option<String>,
}

impl<P> Clone for Pager<P> {
    fn clone(&self) -> Self {
        Pager {
            first: self.first.clone(),
            next: self.next.clone(),
            start_cursor: self.start_cursor.clone(),
        }
    }
}

impl<P> std::fmt::Debug for Pager<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pager")
            .field("resumed", &self.start_cursor.is_some())
            .finish_non_exhaustive()
    }
}

impl<P: CursorPage> Pager<P> {
    /// A pager whose first page comes from `first()` and each following one from
    /// `next(cursor)` (the route's `…/continue`).
    pub(crate) fn new<F, FF, N, NF>(first: F, next: N) -> Pager<P>
    where
        F: Fn() -> FF + Send + Sync + 'static,
        FF: Future<Output = Result<P>> + Send + 'static,
        N: Fn(String) -> NF + Send + Sync + 'static,
        NF: Future<Output = Result<P>> + Send + 'static,
    {
        Pager {
            first: Arc::new(move || first().boxed()),
            next: Arc::new(move |cursor| next(cursor).boxed()),
            start_cursor: None,
        }
    }

    /// The same listing, started from `cursor` (saved from an earlier page) instead of the
    /// first request: with `files/list_folder` this is the changes feed since that cursor.
    pub fn resume(self, cursor: impl Into<String>) -> Pager<P> {
        let cursor = cursor.into();
        let next = self.next.clone();
        let from = cursor.clone();
        Pager {
            first: Arc::new(move || next(from.clone())),
            next: self.next,
            start_cursor: Some(cursor),
        }
    }

    /// Sends the first request and returns its page.
    pub async fn send(self) -> Result<P> {
        (self.first)().await
    }

    /// Every page, in order, following the cursor while more follow.
    pub fn pages(self) -> BoxStream<'static, Result<P>> {
        enum State {
            First,
            Next(String),
            Done,
        }
        let Pager {
            first,
            next,
            start_cursor,
        } = self;
        // Every cursor followed so far: a server that hands back one already followed (the
        // same one, or one from a few pages ago) would otherwise be read forever.
        let seen: HashSet<String> = start_cursor.into_iter().collect();
        stream::unfold(
            (State::First, first, next, seen),
            |(state, first, next, mut seen)| async move {
                let fut = match &state {
                    State::Done => return None,
                    State::First => first(),
                    State::Next(cursor) => next(cursor.clone()),
                };
                match fut.await {
                    Ok(page) => {
                        let following = match page.next_cursor() {
                            Some(c) if seen.insert(c.to_owned()) => State::Next(c.to_owned()),
                            _ => State::Done,
                        };
                        Some((Ok(page), (following, first, next, seen)))
                    }
                    Err(e) => Some((Err(e), (State::Done, first, next, seen))),
                }
            },
        )
        .boxed()
    }

    /// Every item of every page, in order.
    pub fn into_stream(self) -> BoxStream<'static, Result<P::Item>> {
        self.pages()
            .map_ok(|page| stream::iter(page.into_items().into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }
}

impl<P: CursorPage> IntoFuture for Pager<P> {
    type Output = Result<P>;
    type IntoFuture = BoxFuture<'static, Result<P>>;

    /// Awaiting a pager sends the first request: `list_shared_links(arg).await?` is its first page.
    fn into_future(self) -> Self::IntoFuture {
        (self.first)()
    }
}

impl CursorPage for crate::models::files::ListFolderResult {
    type Item = crate::models::files::Metadata;
    fn cursor(&self) -> Option<&str> {
        Some(&self.cursor)
    }
    fn has_more(&self) -> bool {
        self.has_more
    }
    fn into_items(self) -> Vec<Self::Item> {
        self.entries
    }
}

/// Items are the matched entries' metadata; matches of other kinds are skipped.
impl CursorPage for crate::models::files::SearchV2Result {
    type Item = crate::models::files::Metadata;
    fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }
    fn has_more(&self) -> bool {
        self.has_more
    }
    fn into_items(self) -> Vec<Self::Item> {
        self.matches
            .into_iter()
            .filter_map(|m| match m.metadata {
                crate::models::files::MetadataV2::Metadata(md) => Some(md),
                _ => None,
            })
            .collect()
    }
}

impl CursorPage for crate::models::file_requests::ListFileRequestsV2Result {
    type Item = crate::models::file_requests::FileRequest;
    fn cursor(&self) -> Option<&str> {
        Some(&self.cursor)
    }
    fn has_more(&self) -> bool {
        self.has_more
    }
    fn into_items(self) -> Vec<Self::Item> {
        self.file_requests
    }
}

impl CursorPage for crate::models::sharing::ListSharedLinksResult {
    type Item = crate::models::sharing::SharedLinkMetadata;
    fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }
    fn has_more(&self) -> bool {
        self.has_more
    }
    fn into_items(self) -> Vec<Self::Item> {
        self.links
    }
}

/// `SharedFolderMembers` has no `has_more`: a cursor means more follow. Items are users, then
/// groups, then invitees.
impl CursorPage for crate::models::sharing::SharedFolderMembers {
    type Item = crate::models::sharing::FolderMember;
    fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }
    fn has_more(&self) -> bool {
        self.cursor.is_some()
    }
    fn into_items(self) -> Vec<Self::Item> {
        use crate::models::sharing::FolderMember;
        let users = self.users.into_iter().map(FolderMember::User);
        let groups = self.groups.into_iter().map(FolderMember::Group);
        let invitees = self.invitees.into_iter().map(FolderMember::Invitee);
        users.chain(groups).chain(invitees).collect()
    }
}

impl CursorPage for crate::models::team::MembersListV2Result {
    type Item = crate::models::team::TeamMemberInfoV2;
    fn cursor(&self) -> Option<&str> {
        Some(&self.cursor)
    }
    fn has_more(&self) -> bool {
        self.has_more
    }
    fn into_items(self) -> Vec<Self::Item> {
        self.members
    }
}

impl CursorPage for crate::models::team_log::GetTeamEventsResult {
    type Item = crate::models::team_log::TeamEvent;
    fn cursor(&self) -> Option<&str> {
        Some(&self.cursor)
    }
    fn has_more(&self) -> bool {
        self.has_more
    }
    fn into_items(self) -> Vec<Self::Item> {
        self.events
    }
}
