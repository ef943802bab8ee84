//! A typed async client of the Dropbox API v2.
//!
//! ```no_run
//! # async fn run() -> dropbox_client::Result<()> {
//! use dropbox_client::Client;
//! use dropbox_client::models::files::{CommitInfo, ListFolderArg, WriteMode};
//! use futures::TryStreamExt;
//!
//! let client = Client::builder().access_token("sl.xxx").build()?;
//! // Listing is a lazy stream that follows cursors.
//! let mut entries = client.files().list_folder(ListFolderArg::new("/Reports").recursive(true)).into_stream();
//! while let Some(entry) = entries.try_next().await? {
//!     println!("{}", entry.path_display().unwrap_or_default());
//! }
//! // Uploads take a byte stream of any length.
//! let body = futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"hello"))]);
//! let meta = client.files().upload(CommitInfo::new("/hello.txt").mode(WriteMode::Overwrite), body).await?;
//! // Downloads give the metadata and a byte stream.
//! let bytes = client.files().download(meta.id.as_str()).await?.bytes().await?;
//! # let _ = bytes; Ok(()) }
//! ```
//!
//! # Typed API
//! Routes are grouped by namespace: [`Client::files`], [`Client::sharing`],
//! [`Client::file_requests`], [`Client::file_properties`], [`Client::users`], and with a team
//! token [`Client::team`] and [`Client::team_log`]. Arguments and
//! results are the Stone types of [`models`], with exactly the JSON of the spec (`None` left
//! out, unions as `.tag`); decoding tolerates unknown fields and unknown tags.
//!
//! Supported routes:
//! - files: `list_folder`, `list_folder/continue`, `list_folder/get_latest_cursor`,
//!   `list_folder/longpoll`, `get_metadata`, `download`, `upload`, `upload_session/start`,
//!   `upload_session/append_v2`, `upload_session/finish`, `upload_session/finish_batch_v2`,
//!   `upload_session/finish_batch/check`, `create_folder_v2`, `move_v2`, `copy_v2`,
//!   `delete_v2`, `move_batch_v2`, `move_batch/check_v2`, `copy_batch_v2`,
//!   `copy_batch/check_v2`, `delete_batch`, `delete_batch/check`, `list_revisions`, `restore`, `search_v2`, `search/continue_v2`, `tags/add`,
//!   `tags/get`, `tags/remove`;
//! - file_properties: `templates/add_for_user`, `templates/get_for_user`,
//!   `templates/list_for_user`, `properties/add`, `properties/update`, `properties/overwrite`,
//!   `properties/remove`;
//! - sharing: `create_shared_link_with_settings`, `list_shared_links`,
//!   `modify_shared_link_settings`, `revoke_shared_link`, `share_folder`,
//!   `check_share_job_status`, `add_folder_member`, `list_folder_members`,
//!   `list_folder_members/continue`;
//! - file_requests: `create`, `get`, `list_v2`, `list/continue`, `update`;
//! - users: `get_current_account`;
//! - team (team auth): `members/list_v2`, `members/list/continue_v2`;
//! - team_log (team auth): `get_events`, `get_events/continue` (file-request submissions are
//!   typed: [`models::team_log::FileRequestSubmission`]);
//! - OAuth 2: `/oauth2/token` (code exchange with or without PKCE, refresh), see [`auth`].
//!
//! # Raw calls
//! [`Client::rpc_raw`], [`Client::upload_raw`] and [`Client::download_raw`] call any route by
//! name with your own types, under the same auth, retries and errors.
//!
//! # Network
//! The builder trusts the bundled web roots, and on request the operating system's roots,
//! private CA certificates ([`CaCertificates`]), a client certificate for mutual TLS
//! ([`ClientIdentity`]), a configured [`Proxy`] or the environment's (the default), or takes
//! your own `reqwest::Client`; see [`network`]. TLS is rustls, without OpenSSL.
//!
//! # Errors, retries, idempotency and paging: the vocabulary of both clients
//! This crate and `contentserver-client` share one vocabulary, so a caller can treat failures
//! and retries on either side alike.
//!
//! **Errors.** One [`Error`] type tells apart a request never sent, a transport failure (with
//! [`TransportKind`] connect/timeout/body/tls), an API error (route, status, `error_summary`,
//! the route's error union, `retry_after`), an auth failure and an undecodable answer; every
//! variant names the route. [`ApiError::route_error`] decodes the typed route error.
//! [`Error::kind`] gives an [`ErrorKind`]:
//!
//! | kind | meaning | here |
//! | --- | --- | --- |
//! | `NotFound` | the object does not exist | `not_found`, `invalid_cursor`, `reset`, 404 ... |
//! | `AlreadyExists` | something is already where the call would write | `conflict`, `shared_link_already_exists`, `already_shared` ... |
//! | `Conflict` | a precondition failed | `incorrect_offset`, `closed`, `not_closed` |
//! | `PermissionDenied` | not allowed | 403, `no_write_permission`, `missing_scope` ... |
//! | `Unauthenticated` | no valid token | 401 |
//! | `InvalidInput` | a bad argument | 400, `malformed_path`, `disallowed_name` ... |
//! | `InsufficientSpace` | out of space | `insufficient_space`, `insufficient_quota` |
//! | `RateLimited` | slow down | 429, `too_many_write_operations`; [`Error::RateLimited`] |
//! | `Unavailable` | the server or network is failing | 5xx, transport errors |
//! | `ContentMismatch` | bytes do not hash as expected | [`Error::ContentHashMismatch`] |
//! | `Decode` | the answer could not be understood | [`Error::Decode`] |
//!
//! Tokens and secrets ([`Secret`]) never appear in `Debug` or messages, not even when a token
//! answer fails to decode.
//!
//! **Rate limits.** [`Error::RateLimited`] means one thing in both clients: the server asked us
//! to slow down (429, `too_many_write_operations`, or 503 with `Retry-After`), and the
//! [`RetryPolicy`] stopped waiting because the hint is longer than `max_server_delay`, waiting
//! would overrun its budget, or the tries ran out. Nothing was done; come back after
//! [`Error::retry_after`].
//!
//! **Retries.** [`Error::is_retryable`] is the one place that decides; the [`RetryPolicy`]
//! (same builder in both clients: `never()`, `max_attempts`, `initial_backoff`,
//! `max_backoff`, `multiplier`, `jitter`, `total_budget`, `max_server_delay`, `on_retry`
//! with a [`RetryEvent`], `sleep_with`) sets how often and how long. The server's hint is the
//! `Retry-After` header (seconds or an HTTP date) or the `retry_after` body field. Expired
//! tokens are refreshed once, by one caller at a time; a refresh that meets a 5xx, a 429 or a
//! broken connection is itself retried under the same policy.
//!
//! **Idempotency.** Every route declares once, next to its name, whether it is safe to repeat
//! ([`Idempotency`]); [`Client::rpc_raw`] takes the same declaration explicitly. Reads and
//! `…/continue` are idempotent; creating, moving, copying, deleting and committing are not. A
//! call of an idempotent route is repeated after any transient failure (408, 429, 5xx but 501,
//! timeouts, broken answers). Any other call is repeated only when the server certainly did not
//! act: a connect error, a 429, `too_many_write_operations`, a 503 with `Retry-After`. After
//! any other failure it comes back at once and [`Error::is_in_doubt`] says so: look at the
//! target before trying again.
//!
//! **Paging.** Every cursor-listed route returns one type, a [`Pager`]: `.await` gives the
//! first page, [`Pager::pages`] every page (each exposes its cursor through [`CursorPage`], to
//! checkpoint), [`Pager::into_stream`] every item, and [`Pager::resume`] restarts from a saved
//! cursor with the route's `…/continue`. Nothing is sent until polled; paging stops at
//! `has_more == false` or a repeated cursor; an error ends the stream. Listed this way:
//! `files/list_folder`, `files/search_v2`, `file_requests/list_v2`,
//! `sharing/list_shared_links`, `sharing/list_folder_members`, `team/members/list_v2`,
//! `team_log/get_events`.
//!
//! # Limits
//! 150 MiB per request (larger content goes through upload sessions in 8 MiB chunks),
//! sessions live 7 days, concurrent sessions need 4 MiB-aligned offsets.

pub mod api;
pub mod auth;
mod client;
mod content_hash;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod job;
pub mod models;
pub mod network;
mod pagination;
mod retry;
mod route;
mod secret;
mod transport;
pub mod webhook;

pub use api::files::download::Download;
pub use api::files::upload::ByteStream;
pub use api::files::ListFolder;
pub use auth::{OAuthApp, RefreshingToken, StaticToken, TokenProvider};
pub use client::{Client, ClientBuilder, Host, BLOCK_SIZE};
pub use content_hash::ContentHasher;
pub use error::{ApiError, Error, ErrorKind, Result, TransportKind};
pub use job::JobWait;
pub use network::{CaCertificates, ClientIdentity, NetworkError, Proxy};
pub use pagination::{CursorPage, Pager};
pub use retry::{RetryEvent, RetryPolicy, Sleeper};
pub use route::Idempotency;
pub use secret::Secret;
pub use transport::header_safe_json;
