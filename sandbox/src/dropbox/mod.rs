//! The Dropbox API v2 emulator: one router serving every host's routes (`/2/<route>` for rpc,
//! upload, download and longpoll, `/oauth2/token`, `/oauth2/authorize`).
//!
//! Accounts, tokens and the team space are always there; the demo seed adds the files, tags, a
//! property template and a file request of the demo seed contract. See the crate README for the
//! list of routes.

mod auth;
mod batch;
mod blobs;
mod bulk;
mod demo;
mod file_properties;
mod file_requests;
mod files;
mod render;
mod scopes;
mod search;
mod sharing;
mod state;
mod team;
mod upload;
mod upload_sessions;
mod users;
mod webhooks;
mod wire;

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use futures::future::BoxFuture;
use serde_json::Value;
use tokio::sync::watch;

pub use auth::{APP_KEY, APP_SECRET, REFRESH_TOKEN, STATIC_TOKEN, STATIC_TOKEN_2, TEAM_TOKEN};

use crate::admin::RouteTable;
use crate::seed::Seed;
use auth::Caller;
use state::Store;
use wire::ApiError;

/// Where a Dropbox emulator sends webhook notifications.
#[derive(Clone)]
pub struct WebhookConfig {
    /// The URL notifications are POSTed to.
    pub url: String,
    /// The app secret that signs them (`X-Dropbox-Signature`).
    pub app_secret: String,
    /// How long changes are collected before one notification is sent.
    pub debounce: Duration,
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &self.url)
            .field("app_secret", &"<redacted>")
            .field("debounce", &self.debounce)
            .finish()
    }
}

/// How a [`Dropbox`] emulator is set up.
#[derive(Debug, Clone)]
pub struct DropboxConfig {
    /// Where file contents and upload sessions are stored.
    pub data_dir: PathBuf,
    /// The data the emulator starts with.
    pub seed: Seed,
    /// Lifetime of tokens issued by `/oauth2/token` (`expires_in`).
    pub token_lifetime: Duration,
    /// Webhook notifications, if any.
    pub webhook: Option<WebhookConfig>,
}

impl DropboxConfig {
    /// The demo seed, 4-hour tokens, no webhook.
    pub fn new(data_dir: impl Into<PathBuf>) -> DropboxConfig {
        DropboxConfig {
            data_dir: data_dir.into(),
            seed: Seed::Demo,
            token_lifetime: Duration::from_secs(4 * 3600),
            webhook: None,
        }
    }
}

/// Shared state of the emulator.
pub(crate) struct AppInner {
    store: Mutex<Store>,
    blobs: blobs::BlobStore,
    tokens: auth::Tokens,
    sessions: upload::Sessions,
    changes: watch::Sender<u64>,
    webhooks: Option<webhooks::Notifier>,
    /// How many checks of a batch job answer `in_progress` before `complete`.
    job_in_progress_checks: AtomicU32,
}

/// Cheap handle on the emulator state, the axum state of every route.
#[derive(Clone)]
pub(crate) struct App(Arc<AppInner>);

impl std::ops::Deref for App {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

impl App {
    /// Locks the store.
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs a mutation and then wakes longpolls and webhooks for what it changed.
    pub(crate) fn mutate<R>(&self, f: impl FnOnce(&mut Store) -> R) -> R {
        let mut store = self.store();
        let before = store.seq();
        let result = f(&mut store);
        let after = store.seq();
        if after != before {
            if let Some(hooks) = &self.webhooks {
                let namespaces: Vec<state::NsId> = store.journal[before as usize..]
                    .iter()
                    .map(|c| c.ns)
                    .collect();
                let mut accounts = Vec::new();
                for (i, acc) in store.accounts.iter().enumerate() {
                    let views = store.views_of(i);
                    if namespaces
                        .iter()
                        .any(|ns| views.iter().any(|v| v.ns == *ns))
                    {
                        accounts.push((acc.account_id.clone(), acc.uid));
                    }
                }
                hooks.notify(accounts);
            }
            drop(store);
            self.changes.send_replace(after);
        }
        result
    }
}

/// The Dropbox emulator. Cheap to clone; clones share one state.
#[derive(Clone)]
pub struct Dropbox {
    app: App,
}

impl std::fmt::Debug for Dropbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dropbox").finish_non_exhaustive()
    }
}

impl Dropbox {
    /// Creates the emulator, its data directory and its seed data. With a webhook configured it
    /// must be called inside a tokio runtime (the sender runs as a background task).
    pub fn new(config: DropboxConfig) -> io::Result<Dropbox> {
        std::fs::create_dir_all(&config.data_dir)?;
        let blobs = blobs::BlobStore::new(&config.data_dir)?;
        let mut store = Store::default();
        demo::seed(&mut store, &blobs, config.seed)?;
        let seq = store.seq();
        let webhooks = match config.webhook {
            Some(hook) => Some(webhooks::Notifier::start(hook)?),
            None => None,
        };
        Ok(Dropbox {
            app: App(Arc::new(AppInner {
                store: Mutex::new(store),
                blobs,
                tokens: auth::Tokens::new(config.token_lifetime),
                sessions: upload::Sessions::default(),
                changes: watch::channel(seq).0,
                webhooks,
                job_in_progress_checks: AtomicU32::new(1),
            })),
        })
    }

    /// Every emulated route, on one router. A token without a route's OAuth scope gets 401
    /// `missing_scope` before the route runs.
    pub fn router(&self) -> Router {
        routes()
            .into_router()
            .layer(axum::middleware::from_fn_with_state(
                self.app.clone(),
                scopes::check,
            ))
            .with_state(self.app.clone())
    }

    /// The sandbox-only routes of this emulator (not faulted, not counted):
    /// - `POST /__sandbox/file_requests/{id}/submit?name=…[&submitter_name=…&submitter_email=…]`
    ///   with the file as the raw body (recorded in the team log);
    /// - `POST /__sandbox/tokens` with `{"account": 0 | 1 | "team", "scopes": [...]}`: a new
    ///   token with exactly those scopes → `{"access_token", "scope"}`;
    /// - `POST /__sandbox/jobs` with `{"in_progress_checks": n}`: how many checks of a batch
    ///   job answer `in_progress` before `complete` (default 1);
    /// - `POST /__sandbox/bulk_files` with `{"namespace", "root", "files", "per_folder"?,
    ///   "size"?}`: that many small files written straight into the store (see `bulk`).
    pub fn admin_router(&self) -> Router {
        Router::new()
            .route(
                "/__sandbox/file_requests/{id}/submit",
                post(file_requests::submit),
            )
            .route("/__sandbox/tokens", post(admin_token))
            .route("/__sandbox/jobs", post(admin_jobs))
            .route("/__sandbox/bulk_files", post(bulk::bulk_files))
            .with_state(self.app.clone())
    }

    /// Issues a token that never expires, for account `account` (index in the manifest) or
    /// for the team (`None`), carrying exactly `scopes` (e.g. `["files.metadata.read"]`).
    pub fn issue_token(&self, account: Option<usize>, scopes: &[&str]) -> String {
        let set = scopes.iter().map(|s| (*s).to_owned()).collect();
        self.app.tokens.issue_static(account, set)
    }

    /// Limits an existing token (a seeded static one, typically) to `scopes`; `None` gives it
    /// every scope again. Returns `false` for an unknown token.
    pub fn set_token_scopes(&self, token: &str, scopes: Option<&[&str]>) -> bool {
        let set = scopes.map(|s| s.iter().map(|x| (*x).to_owned()).collect());
        self.app.tokens.set_scopes(token, set)
    }

    /// How many checks of each batch job launched from now on answer `in_progress` before
    /// `complete` (0: complete on the first check).
    pub fn set_job_in_progress_checks(&self, checks: u32) {
        self.app
            .job_in_progress_checks
            .store(checks, Ordering::Relaxed);
    }

    /// The seeded ids: accounts and tokens, the team space, paths → ids, the file request, the
    /// property template; and `routes`, the path of every route served (`/2/files/upload`,
    /// `/oauth2/token`, …).
    pub fn manifest(&self) -> Value {
        static ROUTES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
        let mut manifest = demo::manifest(&self.app.store());
        manifest["routes"] = ROUTES
            .get_or_init(|| routes().paths().to_vec())
            .as_slice()
            .into();
        manifest
    }

    /// Expires every OAuth-issued access token now (the "token expiring now" fault).
    pub fn expire_all_tokens(&self) {
        self.app.tokens.expire_all();
    }
}

/// `POST /__sandbox/tokens`.
async fn admin_token(State(app): State<App>, body: Bytes) -> Response {
    let bad = |msg: &str| {
        wire::json_response(StatusCode::BAD_REQUEST, &serde_json::json!({"error": msg}))
    };
    let Ok(arg) = serde_json::from_slice::<Value>(&body) else {
        return bad("body must be JSON");
    };
    let account = match &arg["account"] {
        Value::String(s) if s == "team" => None,
        Value::Number(n) => match n.as_u64() {
            Some(i) if (i as usize) < app.store().accounts.len() => Some(i as usize),
            _ => return bad("unknown account"),
        },
        _ => return bad("account must be an index or \"team\""),
    };
    let Some(scopes) = arg["scopes"].as_array() else {
        return bad("scopes must be a list");
    };
    let set: std::collections::BTreeSet<String> = scopes
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    let scope = set.iter().cloned().collect::<Vec<_>>().join(" ");
    let token = app.tokens.issue_static(account, set);
    wire::json_response(
        StatusCode::OK,
        &serde_json::json!({"access_token": token, "scope": scope}),
    )
}

/// `POST /__sandbox/jobs`.
async fn admin_jobs(State(app): State<App>, body: Bytes) -> Response {
    let checks = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["in_progress_checks"].as_u64())
        .and_then(|n| u32::try_from(n).ok());
    match checks {
        Some(n) => {
            app.job_in_progress_checks.store(n, Ordering::Relaxed);
            wire::json_response(
                StatusCode::OK,
                &serde_json::json!({"in_progress_checks": n}),
            )
        }
        None => wire::json_response(
            StatusCode::BAD_REQUEST,
            &serde_json::json!({"error": "in_progress_checks must be a number"}),
        ),
    }
}

/// A synchronous rpc route body.
type SyncRpc = fn(&App, &Caller, Value) -> Result<Value, ApiError>;
/// An asynchronous rpc route body.
type AsyncRpc = fn(App, Caller, Value) -> BoxFuture<'static, Result<Value, ApiError>>;

/// An rpc route with user auth.
fn rpc(route: &'static str, f: SyncRpc) -> MethodRouter<App> {
    post(
        move |State(app): State<App>, headers: HeaderMap, body: Bytes| async move {
            let result = wire::rpc_arg(&headers, &body)
                .and_then(|arg| Ok((auth::authenticate(&app, &headers)?, arg)))
                .and_then(|(caller, arg)| f(&app, &caller, arg));
            respond(route, result)
        },
    )
}

/// An asynchronous rpc route with user auth.
fn rpc_async(route: &'static str, f: AsyncRpc) -> MethodRouter<App> {
    post(
        move |State(app): State<App>, headers: HeaderMap, body: Bytes| async move {
            let prepared = wire::rpc_arg(&headers, &body)
                .and_then(|arg| Ok((auth::authenticate(&app, &headers)?, arg)));
            let result = match prepared {
                Ok((caller, arg)) => f(app, caller, arg).await,
                Err(e) => Err(e),
            };
            respond(route, result)
        },
    )
}

/// A team-auth rpc route body.
type TeamRpc = fn(&App, Value) -> Result<Value, ApiError>;

/// An rpc route with team auth (`team/*`, `team_log/*`).
fn rpc_team(route: &'static str, f: TeamRpc) -> MethodRouter<App> {
    post(
        move |State(app): State<App>, headers: HeaderMap, body: Bytes| async move {
            let result = wire::rpc_arg(&headers, &body)
                .and_then(|arg| auth::authenticate_team(&app, &headers).map(|()| arg))
                .and_then(|arg| f(&app, arg));
            respond(route, result)
        },
    )
}

fn respond(route: &str, result: Result<Value, ApiError>) -> Response {
    match result {
        Ok(value) => wire::json_response(StatusCode::OK, &value),
        Err(e) => e.into_response(route),
    }
}

async fn unknown_route(uri: Uri) -> Response {
    let route = uri.path().trim_start_matches("/2/");
    wire::text(
        StatusCode::BAD_REQUEST,
        format!("Error in call to API function \"{route}\": Unknown API function: \"{route}\""),
    )
}

fn routes() -> RouteTable<App> {
    RouteTable::new()
        // files: listing and metadata
        .route(
            "/2/files/list_folder",
            rpc("files/list_folder", files::list_folder),
        )
        .route(
            "/2/files/list_folder/continue",
            rpc("files/list_folder/continue", files::list_folder_continue),
        )
        .route(
            "/2/files/list_folder/get_latest_cursor",
            rpc(
                "files/list_folder/get_latest_cursor",
                files::get_latest_cursor,
            ),
        )
        .route("/2/files/list_folder/longpoll", post(files::longpoll))
        .route(
            "/2/files/get_metadata",
            rpc("files/get_metadata", files::get_metadata),
        )
        .route(
            "/2/files/download",
            get(files::download).post(files::download),
        )
        .route(
            "/2/files/create_folder_v2",
            rpc("files/create_folder_v2", files::create_folder_v2),
        )
        .route("/2/files/move_v2", rpc("files/move_v2", files::move_v2))
        .route("/2/files/copy_v2", rpc("files/copy_v2", files::copy_v2))
        .route(
            "/2/files/delete_v2",
            rpc("files/delete_v2", files::delete_v2),
        )
        .route(
            "/2/files/move_batch_v2",
            rpc("files/move_batch_v2", batch::move_batch_v2),
        )
        .route(
            "/2/files/move_batch/check_v2",
            rpc("files/move_batch/check_v2", batch::move_batch_check_v2),
        )
        .route(
            "/2/files/copy_batch_v2",
            rpc("files/copy_batch_v2", batch::copy_batch_v2),
        )
        .route(
            "/2/files/copy_batch/check_v2",
            rpc("files/copy_batch/check_v2", batch::copy_batch_check_v2),
        )
        .route(
            "/2/files/delete_batch",
            rpc("files/delete_batch", batch::delete_batch),
        )
        .route(
            "/2/files/delete_batch/check",
            rpc("files/delete_batch/check", batch::delete_batch_check),
        )
        .route(
            "/2/files/list_revisions",
            rpc("files/list_revisions", files::list_revisions),
        )
        .route("/2/files/restore", rpc("files/restore", files::restore))
        .route(
            "/2/files/search_v2",
            rpc("files/search_v2", search::search_v2),
        )
        .route(
            "/2/files/search/continue_v2",
            rpc("files/search/continue_v2", search::search_continue_v2),
        )
        .route("/2/files/tags/add", rpc("files/tags/add", search::tags_add))
        .route("/2/files/tags/get", rpc("files/tags/get", search::tags_get))
        .route(
            "/2/files/tags/remove",
            rpc("files/tags/remove", search::tags_remove),
        )
        // files: uploads
        .route("/2/files/upload", post(upload::upload))
        .route("/2/files/upload_session/start", post(upload::start))
        .route("/2/files/upload_session/append_v2", post(upload::append_v2))
        .route("/2/files/upload_session/append", post(upload::append_v1))
        .route("/2/files/upload_session/finish", post(upload::finish))
        .route(
            "/2/files/upload_session/start_batch",
            rpc("files/upload_session/start_batch", upload::start_batch),
        )
        .route(
            "/2/files/upload_session/finish_batch_v2",
            rpc_async(
                "files/upload_session/finish_batch_v2",
                upload::finish_batch_v2,
            ),
        )
        .route(
            "/2/files/upload_session/finish_batch",
            rpc_async("files/upload_session/finish_batch", upload::finish_batch_v1),
        )
        .route(
            "/2/files/upload_session/finish_batch/check",
            rpc(
                "files/upload_session/finish_batch/check",
                upload::finish_batch_check,
            ),
        )
        // file_properties
        .route(
            "/2/file_properties/templates/add_for_user",
            rpc(
                "file_properties/templates/add_for_user",
                file_properties::add_template,
            ),
        )
        .route(
            "/2/file_properties/templates/get_for_user",
            rpc(
                "file_properties/templates/get_for_user",
                file_properties::get_template,
            ),
        )
        .route(
            "/2/file_properties/templates/list_for_user",
            rpc(
                "file_properties/templates/list_for_user",
                file_properties::list_templates,
            ),
        )
        .route(
            "/2/file_properties/templates/update_for_user",
            rpc(
                "file_properties/templates/update_for_user",
                file_properties::update_template,
            ),
        )
        .route(
            "/2/file_properties/templates/remove_for_user",
            rpc(
                "file_properties/templates/remove_for_user",
                file_properties::remove_template,
            ),
        )
        .route(
            "/2/file_properties/properties/add",
            rpc(
                "file_properties/properties/add",
                file_properties::properties_add,
            ),
        )
        .route(
            "/2/file_properties/properties/update",
            rpc(
                "file_properties/properties/update",
                file_properties::properties_update,
            ),
        )
        .route(
            "/2/file_properties/properties/overwrite",
            rpc(
                "file_properties/properties/overwrite",
                file_properties::properties_overwrite,
            ),
        )
        .route(
            "/2/file_properties/properties/remove",
            rpc(
                "file_properties/properties/remove",
                file_properties::properties_remove,
            ),
        )
        // sharing
        .route(
            "/2/sharing/create_shared_link_with_settings",
            rpc(
                "sharing/create_shared_link_with_settings",
                sharing::create_link,
            ),
        )
        .route(
            "/2/sharing/list_shared_links",
            rpc("sharing/list_shared_links", sharing::list_links),
        )
        .route(
            "/2/sharing/modify_shared_link_settings",
            rpc("sharing/modify_shared_link_settings", sharing::modify_link),
        )
        .route(
            "/2/sharing/revoke_shared_link",
            rpc("sharing/revoke_shared_link", sharing::revoke_link),
        )
        .route(
            "/2/sharing/share_folder",
            rpc("sharing/share_folder", sharing::share_folder),
        )
        .route(
            "/2/sharing/check_share_job_status",
            rpc(
                "sharing/check_share_job_status",
                sharing::check_share_job_status,
            ),
        )
        .route(
            "/2/sharing/add_folder_member",
            rpc("sharing/add_folder_member", sharing::add_folder_member),
        )
        .route(
            "/2/sharing/list_folder_members",
            rpc("sharing/list_folder_members", sharing::list_folder_members),
        )
        .route(
            "/2/sharing/list_folder_members/continue",
            rpc(
                "sharing/list_folder_members/continue",
                sharing::list_folder_members_continue,
            ),
        )
        // file_requests
        .route(
            "/2/file_requests/create",
            rpc("file_requests/create", file_requests::create),
        )
        .route(
            "/2/file_requests/get",
            rpc("file_requests/get", file_requests::get),
        )
        .route(
            "/2/file_requests/update",
            rpc("file_requests/update", file_requests::update),
        )
        .route(
            "/2/file_requests/list_v2",
            rpc("file_requests/list_v2", file_requests::list_v2),
        )
        .route(
            "/2/file_requests/list/continue",
            rpc("file_requests/list/continue", file_requests::list_continue),
        )
        .route(
            "/2/file_requests/list",
            rpc("file_requests/list", file_requests::list_v1),
        )
        .route(
            "/2/file_requests/count",
            rpc("file_requests/count", file_requests::count),
        )
        .route(
            "/2/file_requests/delete",
            rpc("file_requests/delete", file_requests::delete),
        )
        .route(
            "/2/file_requests/delete_all_closed",
            rpc(
                "file_requests/delete_all_closed",
                file_requests::delete_all_closed,
            ),
        )
        // team (team auth)
        .route(
            "/2/team/members/list_v2",
            rpc_team("team/members/list_v2", team::members_list_v2),
        )
        .route(
            "/2/team/members/list/continue_v2",
            rpc_team(
                "team/members/list/continue_v2",
                team::members_list_continue_v2,
            ),
        )
        .route(
            "/2/team_log/get_events",
            rpc_team("team_log/get_events", team::get_events),
        )
        .route(
            "/2/team_log/get_events/continue",
            rpc_team("team_log/get_events/continue", team::get_events_continue),
        )
        // users, auth, check
        .route(
            "/2/users/get_current_account",
            rpc("users/get_current_account", users::get_current_account),
        )
        .route(
            "/2/users/get_account",
            rpc("users/get_account", users::get_account),
        )
        .route(
            "/2/users/get_space_usage",
            rpc("users/get_space_usage", users::get_space_usage),
        )
        .route("/2/check/user", rpc("check/user", users::check_user))
        .route("/2/check/app", post(users::check_app))
        .route(
            "/2/auth/token/revoke",
            rpc("auth/token/revoke", users::revoke_token),
        )
        .route("/oauth2/token", post(auth::token))
        .route("/1/oauth2/token", post(auth::token))
        .route("/oauth2/authorize", get(auth::authorize))
        .fallback(unknown_route)
}
