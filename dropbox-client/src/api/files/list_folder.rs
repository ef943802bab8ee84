//! The pager of `files/list_folder` and `files/list_folder/continue`.

use crate::client::Client;
use crate::models::files::{ListFolderArg, ListFolderContinueArg, ListFolderResult};
use crate::pagination::Pager;

/// A folder listing (or changes feed) not yet sent: the [`Pager`] of `files/list_folder`.
/// [`Pager::resume`] continues from a saved cursor with `files/list_folder/continue`.
pub type ListFolder = Pager<ListFolderResult>;

pub(crate) fn pager(client: Client, arg: ListFolderArg) -> ListFolder {
    let next_client = client.clone();
    Pager::new(
        move || {
            let client = client.clone();
            let arg = arg.clone();
            async move { client.rpc(route::LIST_FOLDER, &arg).await }
        },
        move |cursor| continue_page(next_client.clone(), cursor),
    )
}

/// A pager that starts at `cursor` (no `files/list_folder` argument is needed).
pub(crate) fn from_cursor(client: Client, cursor: String) -> ListFolder {
    let first_client = client.clone();
    let first_cursor = cursor.clone();
    Pager::new(
        move || continue_page(first_client.clone(), first_cursor.clone()),
        move |cursor| continue_page(client.clone(), cursor),
    )
    .resume(cursor)
}

async fn continue_page(client: Client, cursor: String) -> crate::Result<ListFolderResult> {
    client
        .rpc(
            route::LIST_FOLDER_CONTINUE,
            &ListFolderContinueArg { cursor },
        )
        .await
}

/// The routes of this module and whether each is safe to repeat ([`Idempotency`](crate::Idempotency)).
mod route {
    use crate::route::Route;

    pub(super) const LIST_FOLDER: Route = Route::idempotent("files/list_folder");
    pub(super) const LIST_FOLDER_CONTINUE: Route = Route::idempotent("files/list_folder/continue");
}
