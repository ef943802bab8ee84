//! [`Client`] and its [`ClientBuilder`].

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::api::categories::Categories;
use crate::api::documents::Documents;
use crate::api::members::{Member, Members};
use crate::api::nodes::Nodes;
use crate::api::permissions::Permissions;
use crate::api::records::Records;
use crate::api::search::Search;
use crate::api::workflows::Workflows;
use crate::api::workspaces::Workspaces;
use crate::auth::{Credentials, Session};
use crate::error::{Error, Result};
use crate::network::{CaCertificates, ClientIdentity, HttpSettings, Proxy};
use crate::raw::Raw;
use crate::retry::RetryPolicy;
use crate::secret::Secret;
use crate::transport::{AuthMode, Call, Timeouts, Transport};

/// A Content Server REST client: cheap to clone (an `Arc` inside), one connection pool, one
/// session (ticket) shared by all clones.
#[derive(Clone, Debug)]
pub struct Client {
    pub(crate) transport: Arc<Transport>,
}

/// Builds a [`Client`]. The TLS and proxy settings (`trust_os_roots`, `add_ca_certificates`,
/// `client_identity`, `proxy`, ...) are described in [`network`](crate::network);
/// dropbox-client's builder has the same ones.
///
/// ```no_run
/// # async fn demo() -> contentserver_client::Result<()> {
/// use contentserver_client::{Client, Credentials};
/// let client = Client::builder("https://cs.example.com/otcs/cs.exe")
///     .credentials(Credentials::password("admin", "secret"))
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ClientBuilder {
    base_url: String,
    credentials: Option<Credentials>,
    timeout: Duration,
    upload_timeout: Option<Duration>,
    retry: RetryPolicy,
    http: HttpSettings,
}

/// The TCP/TLS connect timeout unless set.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The `User-Agent` unless set.
const DEFAULT_USER_AGENT: &str = concat!("contentserver-client/", env!("CARGO_PKG_VERSION"));

impl ClientBuilder {
    /// The credentials used to obtain (and renew) the `OTCSTicket`.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// The TCP/TLS connect timeout (default 5 s). Not with
    /// [`http_client`](ClientBuilder::http_client).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.http.connect_timeout = Some(timeout);
        self
    }

    /// The per-request timeout (default 60 s, as pyxecm). Uploads and downloads use it as an
    /// idle limit: they fail when no byte moves for this long.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// An overall limit for each upload (none by default; the idle limit always applies).
    pub fn upload_timeout(mut self, timeout: Duration) -> Self {
        self.upload_timeout = Some(timeout);
        self
    }

    /// The `User-Agent` header (default `contentserver-client/<version>`). Not with
    /// [`http_client`](ClientBuilder::http_client).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.http.user_agent = Some(user_agent.into());
        self
    }

    /// Whether to trust the operating system's root certificates as well (default `false`:
    /// only the bundled web roots and added CAs). Turn it on where the machine's store holds
    /// the internal CA that signed the server's certificate. See [`network`](crate::network).
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

    /// Uses your own `reqwest::Client` for every call, logins included. Its TLS, proxy,
    /// connect timeout and `User-Agent` apply; combining it with this builder's
    /// `connect_timeout`, `user_agent`, `trust_*`, `add_ca_certificates`, `client_identity`,
    /// `proxy` or `proxy_from_env` fails the build. Per-request timeouts, retries and the
    /// session still come from this builder. Set `tcp_nodelay(true)` on it: without it a
    /// small request can wait 40 ms for a delayed ACK.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http.own = Some(http);
        self
    }

    /// The retry policy (see [`RetryPolicy`]).
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Builds the client. Fails ([`Error::InvalidRequest`]) when the base URL is not an absolute
    /// http(s) URL without query, or when network settings conflict (the message is that of
    /// the [`NetworkError`](crate::NetworkError)).
    pub fn build(self) -> Result<Client> {
        let url = url::Url::parse(self.base_url.trim())
            .map_err(|e| Error::invalid(format!("bad base URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::invalid("the base URL must be http or https"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(Error::invalid(
                "the base URL must not have a query or fragment",
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Error::invalid(
                "the base URL must not carry credentials; use ClientBuilder::credentials",
            ));
        }
        let base = url.as_str().trim_end_matches('/').to_string();
        let http = self
            .http
            .build(DEFAULT_CONNECT_TIMEOUT, DEFAULT_USER_AGENT)?;
        Ok(Client {
            transport: Arc::new(Transport {
                http,
                base,
                timeouts: Timeouts {
                    request: self.timeout,
                    upload: self.upload_timeout,
                },
                retry: self.retry,
                session: Session::new(self.credentials),
            }),
        })
    }
}

/// The answer of `GET /api/v1/ping`.
#[derive(Clone, Debug, serde::Deserialize)]
#[non_exhaustive]
pub struct Ping {
    /// The build number.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub build: Option<String>,
    /// The REST API URL.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub href: Option<String>,
    /// The REST API version.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub version: Option<String>,
}

/// The answer of `GET /api/v1/serverinfo` (the parts most callers need, plus the raw JSON).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServerInfo {
    /// The Content Server version, e.g. `"24.4"`.
    pub version: Option<String>,
    /// The total session lifetime (`sessions.session_timeout`, sent in ms).
    pub session_timeout: Option<Duration>,
    /// The inactivity limit of a session (`sessions.session_inactivity`, sent in ms).
    pub session_inactivity: Option<Duration>,
    /// The whole answer.
    pub raw: Value,
}

impl Client {
    /// Starts building a client for the CS prefix `base_url`, such as
    /// `https://host/otcs/cs.exe`, `http://127.0.0.1:8080/cs/cs` or a root `http://host:8080`.
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.into(),
            credentials: None,
            timeout: Duration::from_secs(60),
            upload_timeout: None,
            retry: RetryPolicy::default(),
            http: HttpSettings::default(),
        }
    }

    /// The base URL (the CS prefix, without a trailing slash).
    pub fn base_url(&self) -> &str {
        &self.transport.base
    }

    /// The current `OTCSTicket`, if logged in (to hand it to another tool).
    pub fn ticket(&self) -> Option<Secret> {
        self.transport.session.ticket()
    }

    /// `GET /api/v1/ping` (no authentication).
    pub async fn ping(&self) -> Result<Ping> {
        self.transport
            .json(Call::get("api/v1/ping").auth(AuthMode::None))
            .await?
            .into_type()
    }

    /// `GET /api/v1/serverinfo`.
    pub async fn server_info(&self) -> Result<ServerInfo> {
        let json = self.transport.json(Call::get("api/v1/serverinfo")).await?;
        let ms = |pointer: &str| {
            json.value
                .pointer(pointer)
                .and_then(Value::as_u64)
                .map(Duration::from_millis)
        };
        Ok(ServerInfo {
            version: json
                .value
                .pointer("/server/version")
                .and_then(|v| v.as_str())
                .map(str::to_string),
            session_timeout: ms("/sessions/session_timeout"),
            session_inactivity: ms("/sessions/session_inactivity"),
            raw: json.value.clone(),
        })
    }

    /// Logs in now (otherwise the first call does), replacing any current ticket.
    pub async fn login(&self) -> Result<()> {
        // Presenting the current generation forces a new login.
        let generation = self.transport.session.current_generation();
        self.transport
            .session
            .login(&self.transport, generation)
            .await
    }

    /// The user the session belongs to (`GET /api/v1/auth`).
    pub async fn current_user(&self) -> Result<Member> {
        self.transport
            .json(Call::get("api/v1/auth"))
            .await?
            .v1_data()
    }

    /// Ends the session (`DELETE /api/v1/auth`) and forgets the ticket.
    pub async fn logout(&self) -> Result<()> {
        if self.transport.session.ticket().is_none() {
            return Ok(());
        }
        let outcome = self.transport.json(Call::delete("api/v1/auth")).await;
        self.transport.session.clear();
        outcome.map(|_| ())
    }

    /// Nodes: get, children, paths, folders, update, copy, delete, volumes.
    pub fn nodes(&self) -> Nodes {
        Nodes::new(self.clone())
    }

    /// Documents: create with a streamed file, versions, downloads.
    pub fn documents(&self) -> Documents {
        Documents::new(self.clone())
    }

    /// Categories and attribute values on nodes.
    pub fn categories(&self) -> Categories {
        Categories::new(self.clone())
    }

    /// Records management: classifications, RM details, holds.
    pub fn records(&self) -> Records {
        Records::new(self.clone())
    }

    /// Permissions on nodes.
    pub fn permissions(&self) -> Permissions {
        Permissions::new(self.clone())
    }

    /// Users and groups.
    pub fn members(&self) -> Members {
        Members::new(self.clone())
    }

    /// Workflows: start, status, assignments.
    pub fn workflows(&self) -> Workflows {
        Workflows::new(self.clone())
    }

    /// Business workspaces (Extended ECM).
    pub fn workspaces(&self) -> Workspaces {
        Workspaces::new(self.clone())
    }

    /// A search (`POST /api/v2/search`).
    pub fn search(&self) -> Search {
        Search::new(self.clone())
    }

    /// Raw calls to any path, for what the typed API does not cover.
    pub fn raw(&self) -> Raw {
        Raw::new(self.clone())
    }
}
