//! A typed async client of the OpenText Content Server (CS) REST API.
//!
//! ```no_run
//! use contentserver_client::{Client, Credentials, UploadBody};
//! use futures::TryStreamExt;
//!
//! # async fn demo() -> contentserver_client::Result<()> {
//! let client = Client::builder("https://cs.example.com/otcs/cs.exe")
//!     .credentials(Credentials::password("admin", "secret"))
//!     .build()?;
//! let ews = client.nodes().enterprise_workspace().await?;
//! let folder = client.nodes().create_folder(ews.id, "Intake").send().await?;
//! let body = UploadBody::from_path("report.pdf").await.map_err(|e| {
//!     contentserver_client::Error::InvalidRequest { message: e.to_string() }
//! })?;
//! let doc = client
//!     .documents()
//!     .create(folder.id, "report.pdf", body)
//!     .mime_type("application/pdf")
//!     .send()
//!     .await?;
//! let mut children = client.nodes().children(folder.id).where_type(144).into_stream();
//! while let Some(node) = children.try_next().await? {
//!     println!("{} {}", node.id, node.name);
//! }
//! let bytes = client.documents().download(doc.id).send().await?.bytes().await?;
//! # let _ = bytes;
//! # Ok(()) }
//! ```
//!
//! # Typed API
//!
//! A [`Client`] is built once from the whole CS prefix (`https://host/otcs/cs.exe`,
//! `http://127.0.0.1:8080/cs/cs`, or a root) and cloned freely: clones share one connection
//! pool and one session. Calls are grouped by resource and read like the API; builders are
//! owned, hold a client clone, and end with `send()` (or `.await` directly):
//!
//! | group | calls |
//! | --- | --- |
//! | [`Client`] | `ping` (`GET /api/v1/ping`), `server_info`, `login`, `current_user`, `logout` |
//! | [`Client::nodes`] | `get` (v2, `fields`), `children` (paged stream: `where_type`, `where_name`, `sort`, `page_size`), `find_child`, `resolve_path`, `create_folder`, `update` / `rename` / `move_to`, `copy`, `delete`, `volumes`, `volume`, `enterprise_workspace`, `ancestors`; subtypes as [`NodeType`], dates as `chrono` times |
//! | [`Client::documents`] | `create` (multipart, streamed file part, description, external dates, categories and classifications in the same request, `advanced_versioning`), `add_version` (streamed; minor or `major` under advanced versioning), `versions`, `latest_version`, `version`, `download` (latest or one version, as a byte stream), `reserve` / `unreserve`, `promote` (minor → major); numbers as [`VersionNumber`] |
//! | [`Client::categories`] | `list` / `get` with attribute metadata, `definition` (attributes with type, required, max length, valid values, multi-value maximum, sets and their rows' attributes), `apply`, `update`, `update_guarded`, `remove`; keys [`AttrKey`], values [`AttrValue`], [`CategoryValues`] |
//! | [`Client::records`] | `classifications`, `classify` (RM), `details` (typed records), `holds`, `hold_by_name`, `create_hold`, `apply_hold`, `apply_hold_to` / `remove_hold_from` (many nodes, one call), `node_holds`, `remove_hold` |
//! | [`Client::permissions`] | `get`, `effective`, `set_owner`, `set_group`, `set_public`, `add_custom`, `update_custom`, `remove_custom` (names such as `see`, `see_contents`; [`ApplyTo`] 0–3) |
//! | [`Client::members`] | `get`, `search` (paged stream, ≤ 20 per page), `find_user`, `find_group` |
//! | [`Client::workflows`] | `start` (draft process → form values → `Initiate`), `start_direct` (`startwf`), `draft_form`, `status` (steps completed / current / next, outcome), `processes` / `initiated` (paged stream of the caller's processes), `attached_to` (processes with a node attached), `approve` / `reject` / `send_on` (task actions), `offered_for`, `assignments` |
//! | [`Client::workspaces`] | `get`, `find` (paged stream), `find_by_name`, `by_business_object`, `create` (template + categories), `folders` |
//! | [`Client::search`] | `query` / `by_name` / `attribute` (nodes whose category attribute has a value), `lookfor`, `within`, `modifier`, `location`, `sort`, paged stream |
//!
//! Requests are form-encoded, or multipart when a file goes along, never JSON bodies;
//! parameters go in the `body` JSON field where the API documents it, and in plain fields
//! where pyxecm (known to work against real servers) sends plain fields. Answers are decoded
//! per envelope: v1 `data`, v2 `results.data.properties`, v2 collections with
//! `collection.paging`, and payloads directly in `results`.
//!
//! # Uploads and downloads
//!
//! An [`UploadBody`] is bytes in memory, a file reopened from disk, a caller's "open" closure
//! returning a fresh stream of known length, or a one-shot stream. The multipart file part is
//! streamed with its exact length; nothing is buffered whole. A repeated upload (after a `401`
//! re-login or a `503`) reopens the body and sends every byte again; a one-shot body is never
//! repeated ([`Error::NotRetried`]). A source that yields more or fewer bytes than declared
//! fails the upload. Downloads return a [`Download`](api::documents::Download) with size, MIME
//! type and a byte stream that fails if it ends short of `Content-Length`. Content Server has
//! no content hash: compare the size, or read back and hash.
//!
//! # Raw calls
//!
//! [`Client::raw`] reaches any path with any method, query parameters, form fields, a `body`
//! JSON field or a streamed file, through the same ticket, retry and error handling, and
//! returns the JSON as [`serde_json::Value`] or a type of yours.
//!
//! # Network
//!
//! The builder trusts the bundled web roots, and on request the operating system's roots,
//! private CA certificates ([`CaCertificates`]), a client certificate for mutual TLS
//! ([`ClientIdentity`]), a configured [`Proxy`] or the environment's (the default), or takes
//! your own `reqwest::Client`; see [`network`]. TLS is rustls, without OpenSSL.
//!
//! # Errors, retries, idempotency and paging: the vocabulary of both clients
//!
//! This crate and `dropbox-client` share one vocabulary, so a caller can treat failures and
//! retries on either side alike.
//!
//! **Errors.** One [`Error`] type tells apart a request never sent ([`Error::InvalidRequest`]),
//! transport failures ([`Error::Transport`], with [`TransportKind`] connect/timeout/body), API
//! errors ([`Error::Api`]: method, path, status, the server's `error` message and
//! `errorDetail`; HTML error pages kept as text), [`Error::Auth`], [`Error::Decode`] (path and
//! an excerpt, never of an answer that holds a ticket) and [`Error::RateLimited`]. Every
//! variant names the call that failed. [`Error::kind`] maps status **and** message (CS reports
//! a missing node as 400 or 500, a duplicate name as 500 "already exists") to an
//! [`ErrorKind`]:
//!
//! | kind | meaning | here |
//! | --- | --- | --- |
//! | `NotFound` | the object does not exist (or is invisible) | 404; "could not be found", "does not exist" ... |
//! | `AlreadyExists` | something is already where the call would create it | "already exists" |
//! | `Conflict` | a precondition failed: the object changed since it was read | 409 edit conflict |
//! | `PermissionDenied` | not allowed, or a hold forbids it | 403; "insufficient permission", "under hold" |
//! | `Unauthenticated` | no valid session | 401, bad credentials |
//! | `InvalidInput` | a bad argument | 400; a request refused before sending |
//! | `InsufficientSpace` | storage is full | (Dropbox only) |
//! | `RateLimited` | slow down | 429; [`Error::RateLimited`] |
//! | `Unavailable` | the server or network is failing | 502–504, "Please try again" pages, transport errors |
//! | `ContentMismatch` | bytes do not hash as expected | (Dropbox only; CS has no hash) |
//! | `Decode` | the answer could not be understood | [`Error::Decode`] |
//!
//! **Rate limits.** [`Error::RateLimited`] means one thing in both clients: the server asked us
//! to slow down (429, or 503 with `Retry-After`), and the [`RetryPolicy`] stopped waiting
//! because the hint is longer than it allows, waiting would overrun its budget, or the tries ran
//! out. Nothing was done; come back after [`Error::retry_after`].
//!
//! **Retries.** [`Error::is_retryable`] is the one place that decides; the [`RetryPolicy`]
//! (same builder in both clients: `never()`, `max_attempts`, `initial_backoff`,
//! `max_backoff`, `multiplier`, `jitter`, `total_budget`, `max_server_delay`, `on_retry`
//! with a [`RetryEvent`], `sleep_with`) sets how often and how long. `Retry-After` is read
//! as seconds or as an HTTP date. On a `401` the client logs in again once, one login at a
//! time however many calls wait, and repeats the call; bad credentials end in
//! [`Error::Auth`], never a loop. The ticket that CS returns in the `OTCSTicket` response
//! header is adopted for the next call.
//!
//! **Idempotency.** Each call declares whether it is safe to repeat, next to its path: GET,
//! PUT and DELETE are, except the PUTs that move something on (initiating a workflow, acting
//! on a task); a POST is only when declared so (search, login; on a raw call
//! [`RawRequest::safe_to_repeat`]). A call that is safe to repeat is repeated after any
//! transient failure. A POST that creates or changes something is repeated only when the
//! server certainly did not act: a connect error, a 429, a 503 with `Retry-After`. After any
//! other failure it comes back at once and [`Error::is_in_doubt`] says so: a proxy's 502 or
//! 504 usually means CS has already committed, so look at the target before trying again.
//!
//! **Paging.** Every listed resource is a lazy stream of items (`into_stream()`), built on
//! pages ([`Page`], with the server's [`Paging`]) that are fetched only as the stream is
//! polled. Content Server pages by number; a server that ignores the page number ends the
//! stream with an error rather than being read forever.
//!
//! Every call has a limit: connect 5 s; ordinary calls 60 s; uploads and downloads fail when no
//! byte moves for 60 s (plus an optional overall upload limit). Names are checked against the
//! 248-character limit and version descriptions against 255 before sending. Member pages hold
//! at most 20 entries.

mod auth;
mod client;
mod de;
mod envelope;
mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod network;
mod paging;
mod raw;
mod retry;
mod secret;
mod transport;
mod upload;

pub mod models;

pub mod api;

pub use api::categories::{AttrKey, AttrValue, CategoryValues};
pub use api::permissions::{ApplyTo, Permission};
pub use auth::Credentials;
pub use client::{Client, ClientBuilder, Ping, ServerInfo};
pub use error::{BoxError, Error, ErrorKind, Result, TransportKind};
pub use models::{NodeType, VersionNumber};
pub use network::{CaCertificates, ClientIdentity, NetworkError, Proxy};
pub use paging::{Page, Paging};
pub use raw::{Raw, RawRequest};
pub use retry::{RetryEvent, RetryPolicy, Sleeper};
pub use secret::Secret;
pub use upload::{ByteStream, UploadBody};
