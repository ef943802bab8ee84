//! The [`Client`] and its builder.

use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::auth::{OAuthApp, RefreshingToken, Secret, SharedProvider, StaticToken, TokenProvider};
use crate::error::{Error, Result};
use crate::models::common::PathRoot;
use crate::network::{CaCertificates, ClientIdentity, HttpSettings, Proxy};
use crate::retry::RetryPolicy;

/// The Dropbox hosts a route can live on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    /// `api.dropboxapi.com`: RPC routes and `/oauth2/token`.
    Api,
    /// `content.dropboxapi.com`: uploads and downloads.
    Content,
    /// `notify.dropboxapi.com`: `files/list_folder/longpoll`.
    Notify,
}

/// 4 MiB: Dropbox's block size. Upload chunks must be a multiple of it.
pub const BLOCK_SIZE: usize = 4 * 1024 * 1024;

/// A client of the Dropbox API v2. Cheap to clone: clones share one connection pool, one token
/// provider and one retry policy.
///
/// ```no_run
/// # async fn run() -> dropbox_client::Result<()> {
/// use dropbox_client::Client;
/// let client = Client::builder().access_token("sl.xxx").build()?;
/// let account = client.users().get_current_account().await?;
/// println!("{}", account.name.display_name);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
    pub(crate) team: TeamHeaders,
}

/// What every clone of a client shares.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) api: Url,
    pub(crate) content: Url,
    pub(crate) notify: Url,
    pub(crate) auth: SharedProvider,
    pub(crate) retry: RetryPolicy,
    pub(crate) timeout: Duration,
    pub(crate) upload_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) chunk_size: usize,
    pub(crate) longpoll_not_before: std::sync::Mutex<Option<tokio::time::Instant>>,
}

impl std::fmt::Debug for dyn TokenProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenProvider")
    }
}

/// Team headers sent with every call of one client handle.
#[derive(Debug, Clone, Default)]
pub(crate) struct TeamHeaders {
    pub(crate) select_user: Option<String>,
    pub(crate) select_admin: Option<String>,
    pub(crate) path_root: Option<String>,
}

impl Client {
    /// A builder with Dropbox's own hosts and default timeouts and retries.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client for a static access token, with every default.
    pub fn new(access_token: impl Into<Secret>) -> Result<Client> {
        Client::builder().access_token(access_token).build()
    }

    /// A handle acting as this team member (`Dropbox-API-Select-User`), for team tokens.
    pub fn as_user(&self, team_member_id: impl Into<String>) -> Client {
        let mut c = self.clone();
        c.team.select_user = Some(team_member_id.into());
        c.team.select_admin = None;
        c
    }

    /// A handle acting as this team admin (`Dropbox-API-Select-Admin`), for team tokens.
    pub fn as_admin(&self, team_member_id: impl Into<String>) -> Client {
        let mut c = self.clone();
        c.team.select_admin = Some(team_member_id.into());
        c.team.select_user = None;
        c
    }

    /// A handle whose paths are relative to `root` (`Dropbox-API-Path-Root`), e.g. the team space.
    pub fn with_path_root(&self, root: PathRoot) -> Client {
        let mut c = self.clone();
        c.team.path_root = Some(root.to_header());
        c
    }

    /// The upload chunk size in bytes (a multiple of 4 MiB).
    pub fn chunk_size(&self) -> usize {
        self.inner.chunk_size
    }

    pub(crate) fn host_url(&self, host: Host) -> &Url {
        match host {
            Host::Api => &self.inner.api,
            Host::Content => &self.inner.content,
            Host::Notify => &self.inner.notify,
        }
    }
}

/// Builds a [`Client`]. Every server address is configurable so that the sandbox, a proxy or a
/// mock can stand in for Dropbox. The TLS and proxy settings (`trust_os_roots`,
/// `add_ca_certificates`, `client_identity`, `proxy`, ...) are described in
/// [`network`](crate::network); contentserver-client's builder has the same ones.
///
/// ```no_run
/// # fn run() -> dropbox_client::Result<()> {
/// use std::time::Duration;
/// use dropbox_client::{Client, RetryPolicy};
/// let client = Client::builder()
///     .base_url("http://127.0.0.1:8080".parse().unwrap()) // the sandbox serves every host
///     .refresh_token("sandbox-app", Some("sandbox-secret"), "sandbox-refresh")
///     .timeout(Duration::from_secs(20))
///     .retry_policy(RetryPolicy::default().max_attempts(8))
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ClientBuilder {
    api: Url,
    content: Url,
    notify: Url,
    auth: Option<AuthConfig>,
    retry: RetryPolicy,
    timeout: Duration,
    upload_timeout: Duration,
    idle_timeout: Duration,
    chunk_size: usize,
    team: TeamHeaders,
    http: HttpSettings,
}

/// Time limit to open a connection unless set.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The `User-Agent` unless set.
const DEFAULT_USER_AGENT: &str = concat!("ecm-dropbox-client/", env!("CARGO_PKG_VERSION"));

#[derive(Debug)]
enum AuthConfig {
    Provider(SharedProvider),
    Refresh {
        app_key: String,
        app_secret: Option<Secret>,
        refresh_token: Secret,
    },
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            api: Url::parse("https://api.dropboxapi.com/").expect("static URL"),
            content: Url::parse("https://content.dropboxapi.com/").expect("static URL"),
            notify: Url::parse("https://notify.dropboxapi.com/").expect("static URL"),
            auth: None,
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(30),
            upload_timeout: Duration::from_secs(300),
            idle_timeout: Duration::from_secs(30),
            chunk_size: 2 * BLOCK_SIZE,
            team: TeamHeaders::default(),
            http: HttpSettings::default(),
        }
    }
}

fn origin(url: Url) -> Url {
    let mut url = url;
    if !url.path().ends_with('/') {
        let p = format!("{}/", url.path());
        url.set_path(&p);
    }
    url
}

impl ClientBuilder {
    /// Serves every host (api, content, notify, OAuth token) from one origin, as the sandbox does.
    pub fn base_url(mut self, url: Url) -> Self {
        let url = origin(url);
        self.api = url.clone();
        self.content = url.clone();
        self.notify = url;
        self
    }

    /// Origin of the RPC routes and `/oauth2/token` (default `https://api.dropboxapi.com/`).
    pub fn api_base(mut self, url: Url) -> Self {
        self.api = origin(url);
        self
    }

    /// Origin of upload and download routes (default `https://content.dropboxapi.com/`).
    pub fn content_base(mut self, url: Url) -> Self {
        self.content = origin(url);
        self
    }

    /// Origin of `list_folder/longpoll` (default `https://notify.dropboxapi.com/`).
    pub fn notify_base(mut self, url: Url) -> Self {
        self.notify = origin(url);
        self
    }

    /// Authenticates with a long-lived access token.
    pub fn access_token(mut self, token: impl Into<Secret>) -> Self {
        self.auth = Some(AuthConfig::Provider(Arc::new(StaticToken::new(token))));
        self
    }

    /// Authenticates with a refresh token, refreshed through `{api_base}/oauth2/token`. Leave
    /// the secret out for PKCE apps.
    pub fn refresh_token(
        mut self,
        app_key: impl Into<String>,
        app_secret: Option<&str>,
        refresh_token: impl Into<Secret>,
    ) -> Self {
        self.auth = Some(AuthConfig::Refresh {
            app_key: app_key.into(),
            app_secret: app_secret.map(Secret::new),
            refresh_token: refresh_token.into(),
        });
        self
    }

    /// Authenticates through your own [`TokenProvider`].
    pub fn token_provider(mut self, provider: Arc<dyn TokenProvider>) -> Self {
        self.auth = Some(AuthConfig::Provider(provider));
        self
    }

    /// The retry policy of every call.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Time limit of one RPC request, answer included (default 30 s).
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    /// Time limit to open a connection, TLS handshake included (default 5 s). Not with
    /// [`http_client`](ClientBuilder::http_client).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.http.connect_timeout = Some(d);
        self
    }

    /// Time limit of one upload request, i.e. one chunk (default 300 s).
    pub fn upload_timeout(mut self, d: Duration) -> Self {
        self.upload_timeout = d;
        self
    }

    /// Longest silence while a download body streams (default 30 s).
    pub fn idle_timeout(mut self, d: Duration) -> Self {
        self.idle_timeout = d;
        self
    }

    /// The `User-Agent` header (default `ecm-dropbox-client/<version>`). Not with
    /// [`http_client`](ClientBuilder::http_client).
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.http.user_agent = Some(ua.into());
        self
    }

    /// Whether to trust the operating system's root certificates as well (default `false`:
    /// only the bundled web roots and added CAs). Turn it on where the machine's store holds
    /// the CA of a TLS-inspecting proxy or of an internal server. See [`network`](crate::network).
    pub fn trust_os_roots(mut self, yes: bool) -> Self {
        self.http.os_roots = Some(yes);
        self
    }

    /// Whether to trust the web roots bundled with the crate (default `true`). With `false`,
    /// only [`add_ca_certificates`](ClientBuilder::add_ca_certificates) and, if turned on,
    /// the OS roots are trusted.
    pub fn trust_web_roots(mut self, yes: bool) -> Self {
        self.http.web_roots = Some(yes);
        self
    }

    /// Also trusts these CA certificates (e.g. a company's internal CA). Call it again to add
    /// more sets.
    pub fn add_ca_certificates(mut self, certs: CaCertificates) -> Self {
        self.http.ca.push(certs);
        self
    }

    /// Offers this certificate to servers that ask for one (mutual TLS).
    pub fn client_identity(mut self, identity: ClientIdentity) -> Self {
        self.http.identity = Some(identity);
        self
    }

    /// Sends requests through this proxy instead of the one from the environment.
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.http.proxy = Some(proxy);
        self
    }

    /// Whether to use the proxy from `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`
    /// when no [`proxy`](ClientBuilder::proxy) is set (default `true`, read when the client
    /// is built). With `false` the client connects directly.
    pub fn proxy_from_env(mut self, yes: bool) -> Self {
        self.http.proxy_from_env = Some(yes);
        self
    }

    /// Uses your own `reqwest::Client` for every call, token refreshes included. Its TLS,
    /// proxy, connect timeout and `User-Agent` apply; combining it with this builder's
    /// `connect_timeout`, `user_agent`, `trust_*`, `add_ca_certificates`, `client_identity`,
    /// `proxy` or `proxy_from_env` fails the build. Per-request timeouts, retries and auth
    /// still come from this builder. Set `tcp_nodelay(true)` on it: without it a small request
    /// can wait 40 ms for a delayed ACK.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http.own = Some(http);
        self
    }

    /// Size of upload-session chunks: a multiple of 4 MiB, at most 148 MiB (default 8 MiB).
    /// Files smaller than one chunk go up in a single `files/upload` call.
    pub fn chunk_size(mut self, bytes: usize) -> Self {
        self.chunk_size = bytes;
        self
    }

    /// Acts as this team member on every call (`Dropbox-API-Select-User`).
    pub fn select_user(mut self, team_member_id: impl Into<String>) -> Self {
        self.team.select_user = Some(team_member_id.into());
        self
    }

    /// Acts as this team admin on every call (`Dropbox-API-Select-Admin`).
    pub fn select_admin(mut self, team_member_id: impl Into<String>) -> Self {
        self.team.select_admin = Some(team_member_id.into());
        self
    }

    /// Resolves paths against this root on every call (`Dropbox-API-Path-Root`).
    pub fn path_root(mut self, root: PathRoot) -> Self {
        self.team.path_root = Some(root.to_header());
        self
    }

    /// Builds the client. Fails ([`Error::InvalidRequest`]) on a bad chunk size, missing
    /// credentials, or network settings that conflict (the message is that of the
    /// [`NetworkError`](crate::NetworkError)).
    pub fn build(self) -> Result<Client> {
        const ROUTE: &str = "client/build";
        if self.chunk_size == 0 || self.chunk_size % BLOCK_SIZE != 0 {
            return Err(Error::invalid(
                ROUTE,
                "chunk_size must be a non-zero multiple of 4 MiB",
            ));
        }
        if self.chunk_size > 148 * 1024 * 1024 {
            return Err(Error::invalid(
                ROUTE,
                "chunk_size must stay under the 150 MiB request limit",
            ));
        }
        let http = self
            .http
            .build(DEFAULT_CONNECT_TIMEOUT, DEFAULT_USER_AGENT)?;
        let auth: SharedProvider = match self.auth {
            None => {
                return Err(Error::invalid(
                    ROUTE,
                    "no credentials: set access_token, refresh_token or token_provider",
                ))
            }
            Some(AuthConfig::Provider(p)) => p,
            Some(AuthConfig::Refresh {
                app_key,
                app_secret,
                refresh_token,
            }) => {
                let mut app = OAuthApp::new(app_key)
                    .api_base(&self.api)
                    .http_client(http.clone());
                if let Some(s) = app_secret {
                    app = app.secret(s);
                }
                Arc::new(RefreshingToken::new(app, refresh_token).retry_policy(self.retry.clone()))
            }
        };
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                api: self.api,
                content: self.content,
                notify: self.notify,
                auth,
                retry: self.retry,
                timeout: self.timeout,
                upload_timeout: self.upload_timeout,
                idle_timeout: self.idle_timeout,
                chunk_size: self.chunk_size,
                longpoll_not_before: std::sync::Mutex::new(None),
            }),
            team: self.team,
        })
    }
}
