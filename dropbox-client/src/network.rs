//! Network settings of a [`ClientBuilder`](crate::ClientBuilder): which TLS roots to trust,
//! private CA certificates, a client certificate for mutual TLS, the proxy, or the caller's own
//! `reqwest::Client`.
//!
//! contentserver-client has the same module with the same names and meanings, so one
//! configuration reads the same for both servers.
//!
//! # Trust
//! By default a client trusts the web roots bundled with the crate (Mozilla's list, through
//! `webpki-roots`) and nothing else. [`trust_os_roots`](crate::ClientBuilder::trust_os_roots)
//! adds the operating system's store (on Linux the bundle `openssl-probe` finds; where
//! `SSL_CERT_FILE` or `SSL_CERT_DIR` is set, only those); it is off by default so that a client trusts the same
//! roots on every machine, and so that building a client never reads the OS store unasked.
//! [`add_ca_certificates`](crate::ClientBuilder::add_ca_certificates) adds private CAs, e.g.
//! the internal CA of an on-premises server; [`trust_web_roots`](crate::ClientBuilder::trust_web_roots)
//! with `false` leaves only the private and OS roots. TLS is rustls (ring); no OpenSSL.
//!
//! # Proxy
//! With no [`Proxy`] configured, a client reads `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and
//! `NO_PROXY` (also lower case) from the environment when it is built, as reqwest does;
//! [`proxy_from_env`](crate::ClientBuilder::proxy_from_env) with `false` connects directly
//! instead. A configured [`Proxy`] replaces the environment's. https targets are reached
//! through a `CONNECT` tunnel, so the proxy never sees the requests' credentials.
//!
//! # The caller's own `reqwest::Client`
//! [`http_client`](crate::ClientBuilder::http_client) hands over a client that is used as it
//! is: its TLS, proxy, connect timeout and `User-Agent` apply. Setting any of the builder's
//! own TLS, proxy, connect-timeout or user-agent options as well is a build error
//! ([`NetworkError::ConflictsWithHttpClient`]) rather than a setting silently ignored. The
//! per-request timeouts, retries and auth of this crate still apply.
//!
//! Enabling reqwest's `rustls-tls-native-roots` feature (which this crate needs for
//! `trust_os_roots`) makes every `reqwest::Client` of the same build trust the OS store by
//! default; the clients of this crate set both kinds of roots explicitly.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use crate::secret::Secret;

/// The builder setting a [`NetworkError`] is about, named as the builder method or type that
/// takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetworkSetting {
    /// [`CaCertificates`], for `add_ca_certificates`.
    CaCertificates,
    /// [`ClientIdentity`], for `client_identity`.
    ClientIdentity,
    /// [`Proxy`], for `proxy`.
    Proxy,
    /// The HTTP client as a whole (the settings together).
    HttpClient,
}

impl fmt::Display for NetworkSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NetworkSetting::CaCertificates => "CA certificates",
            NetworkSetting::ClientIdentity => "client identity",
            NetworkSetting::Proxy => "proxy",
            NetworkSetting::HttpClient => "HTTP client",
        })
    }
}

/// Where PEM content came from, to name it in an error.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PemOrigin {
    /// Bytes the caller passed.
    Bytes,
    /// A file.
    File(PathBuf),
}

impl fmt::Display for PemOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PemOrigin::Bytes => f.write_str("PEM bytes"),
            PemOrigin::File(path) => write!(f, "file {}", path.display()),
        }
    }
}

/// A network setting that cannot be used. Never holds key material or a proxy password.
///
/// Converts into the crate's [`Error`](crate::Error) (as `InvalidRequest` of `client/build`)
/// with `?`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetworkError {
    /// A PEM file could not be read.
    #[error("{setting}: cannot read {}: {source}", path.display())]
    ReadFile {
        /// The setting the file was for.
        setting: NetworkSetting,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// PEM content is not what the setting needs (no certificate, no key, broken encoding, not
    /// a usable X.509 certificate, a key that does not match the certificate, ...).
    #[error("{setting}: {origin}: {reason}")]
    InvalidPem {
        /// The setting the PEM was for.
        setting: NetworkSetting,
        /// Where the PEM came from.
        origin: PemOrigin,
        /// What is wrong with it.
        reason: String,
    },
    /// The proxy URL cannot be used.
    #[error("proxy: {reason}")]
    InvalidProxy {
        /// What is wrong with it (the URL's credentials are never shown).
        reason: String,
    },
    /// Settings that only apply to a client this crate builds were combined with
    /// `http_client`.
    #[error(
        "http_client cannot be combined with {}: configure them on your reqwest::Client",
        settings.join(", ")
    )]
    ConflictsWithHttpClient {
        /// The builder methods that were called, e.g. `["add_ca_certificates", "proxy"]`.
        settings: Vec<&'static str>,
    },
    /// Two settings say opposite things.
    #[error("{first} conflicts with {second}: {reason}")]
    Conflict {
        /// One builder method.
        first: &'static str,
        /// The other builder method.
        second: &'static str,
        /// Why they cannot go together.
        reason: &'static str,
    },
    /// reqwest refused the settings as a whole.
    #[error("{setting}: cannot build the HTTP client: {reason}")]
    Build {
        /// The setting.
        setting: NetworkSetting,
        /// reqwest's error with its causes.
        reason: String,
    },
}

impl From<NetworkError> for crate::Error {
    fn from(e: NetworkError) -> Self {
        crate::Error::invalid("client/build", e.to_string())
    }
}

/// An error and its causes on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// Builds a throwaway rustls client with only `configure`'s TLS settings: reqwest checks
/// certificates and keys only when a client is built, and this names the setting at fault.
fn probe(
    configure: impl FnOnce(reqwest::ClientBuilder) -> reqwest::ClientBuilder,
) -> Result<(), reqwest::Error> {
    configure(
        reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .no_proxy(),
    )
    .build()
    .map(drop)
}

fn read(setting: NetworkSetting, path: &Path) -> Result<Vec<u8>, NetworkError> {
    std::fs::read(path).map_err(|source| NetworkError::ReadFile {
        setting,
        path: path.to_owned(),
        source,
    })
}

fn has_block(pem: &[u8], label: &str) -> bool {
    let marker = format!("-----BEGIN {label}-----");
    pem.windows(marker.len()).any(|w| w == marker.as_bytes())
}

fn has_private_key(pem: &[u8]) -> bool {
    ["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"]
        .iter()
        .any(|label| has_block(pem, label))
}

/// CA certificates to trust besides the built-in roots: one or more PEM `CERTIFICATE` blocks,
/// each checked when loaded. Add several sets with repeated
/// [`add_ca_certificates`](crate::ClientBuilder::add_ca_certificates) calls.
///
/// ```no_run
/// # fn run() -> dropbox_client::Result<()> {
/// use dropbox_client::{CaCertificates, Client};
/// let client = Client::builder()
///     .add_ca_certificates(CaCertificates::from_pem_file("/etc/pki/corp-ca.pem")?)
///     .access_token("sl.xxx")
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct CaCertificates {
    certs: Vec<reqwest::Certificate>,
    origin: PemOrigin,
}

impl fmt::Debug for CaCertificates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaCertificates")
            .field("count", &self.certs.len())
            .field("origin", &self.origin)
            .finish()
    }
}

impl CaCertificates {
    /// Every `CERTIFICATE` block of `pem` (other blocks are skipped). Fails when there is none
    /// or one is not a usable X.509 certificate.
    pub fn from_pem(pem: impl AsRef<[u8]>) -> Result<CaCertificates, NetworkError> {
        CaCertificates::parse(pem.as_ref(), PemOrigin::Bytes)
    }

    /// Every `CERTIFICATE` block of the PEM file at `path`.
    pub fn from_pem_file(path: impl AsRef<Path>) -> Result<CaCertificates, NetworkError> {
        let path = path.as_ref();
        let pem = read(NetworkSetting::CaCertificates, path)?;
        CaCertificates::parse(&pem, PemOrigin::File(path.to_owned()))
    }

    /// How many certificates were loaded.
    pub fn len(&self) -> usize {
        self.certs.len()
    }

    /// Always `false`: loading fails rather than give an empty set.
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }

    fn parse(pem: &[u8], origin: PemOrigin) -> Result<CaCertificates, NetworkError> {
        let invalid = |reason: String| NetworkError::InvalidPem {
            setting: NetworkSetting::CaCertificates,
            origin: origin.clone(),
            reason,
        };
        let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
            invalid(format!(
                "a CERTIFICATE block is not valid PEM ({})",
                chain(&e)
            ))
        })?;
        if certs.is_empty() {
            return Err(invalid(if has_private_key(pem) {
                "holds a private key but no CERTIFICATE block".to_owned()
            } else {
                "no CERTIFICATE block found".to_owned()
            }));
        }
        let count = certs.len();
        for (i, cert) in certs.iter().enumerate() {
            probe(|b| b.add_root_certificate(cert.clone())).map_err(|e| {
                invalid(format!(
                    "certificate {} of {count} is not a usable X.509 certificate: {}",
                    i + 1,
                    chain(&e)
                ))
            })?;
        }
        Ok(CaCertificates { certs, origin })
    }
}

/// A client certificate and its private key, offered to servers that ask for one (mutual
/// TLS). The PEM holds the certificate chain, leaf first, and one unencrypted private key
/// (PKCS#8 `PRIVATE KEY`, PKCS#1 `RSA PRIVATE KEY` or SEC1 `EC PRIVATE KEY`). `Debug` shows
/// where it came from, never the key.
///
/// ```no_run
/// # fn run() -> dropbox_client::Result<()> {
/// use dropbox_client::{Client, ClientIdentity};
/// let client = Client::builder()
///     .client_identity(ClientIdentity::from_pem_files("client.crt", "client.key")?)
///     .access_token("sl.xxx")
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ClientIdentity {
    identity: reqwest::Identity,
    origin: PemOrigin,
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl ClientIdentity {
    /// The certificate chain and private key from one PEM.
    pub fn from_pem(pem: impl AsRef<[u8]>) -> Result<ClientIdentity, NetworkError> {
        ClientIdentity::parse(pem.as_ref(), PemOrigin::Bytes)
    }

    /// The certificate chain and private key from one PEM file.
    pub fn from_pem_file(path: impl AsRef<Path>) -> Result<ClientIdentity, NetworkError> {
        let path = path.as_ref();
        let pem = read(NetworkSetting::ClientIdentity, path)?;
        ClientIdentity::parse(&pem, PemOrigin::File(path.to_owned()))
    }

    /// The certificate chain from `cert_path` and the private key from `key_path`.
    pub fn from_pem_files(
        cert_path: impl AsRef<Path>,
        key_path: impl AsRef<Path>,
    ) -> Result<ClientIdentity, NetworkError> {
        let (cert_path, key_path) = (cert_path.as_ref(), key_path.as_ref());
        let cert = read(NetworkSetting::ClientIdentity, cert_path)?;
        let key = read(NetworkSetting::ClientIdentity, key_path)?;
        let invalid = |path: &Path, reason: &str| NetworkError::InvalidPem {
            setting: NetworkSetting::ClientIdentity,
            origin: PemOrigin::File(path.to_owned()),
            reason: reason.to_owned(),
        };
        if !has_block(&cert, "CERTIFICATE") {
            return Err(invalid(cert_path, "no CERTIFICATE block found"));
        }
        key_problem(&key).map_or(Ok(()), |reason| Err(invalid(key_path, reason)))?;
        let mut both = cert;
        both.push(b'\n');
        both.extend_from_slice(&key);
        ClientIdentity::parse(&both, PemOrigin::File(cert_path.to_owned()))
    }

    fn parse(pem: &[u8], origin: PemOrigin) -> Result<ClientIdentity, NetworkError> {
        let invalid = |reason: String| NetworkError::InvalidPem {
            setting: NetworkSetting::ClientIdentity,
            origin: origin.clone(),
            reason,
        };
        if let Some(reason) = key_problem(pem) {
            return Err(invalid(reason.to_owned()));
        }
        if !has_block(pem, "CERTIFICATE") {
            return Err(invalid("no CERTIFICATE block found".to_owned()));
        }
        let identity = reqwest::Identity::from_pem(pem)
            .map_err(|e| invalid(format!("not a usable identity: {}", chain(&e))))?;
        probe(|b| b.identity(identity.clone())).map_err(|e| {
            invalid(format!(
                "the certificate and key do not form a usable identity \
                 (does the key belong to the first certificate?): {}",
                chain(&e)
            ))
        })?;
        Ok(ClientIdentity { identity, origin })
    }
}

/// Why a PEM cannot serve as the private key of an identity, if it cannot.
fn key_problem(pem: &[u8]) -> Option<&'static str> {
    if has_block(pem, "ENCRYPTED PRIVATE KEY") {
        Some("the private key is encrypted: give it decrypted (PKCS#8, PKCS#1 or SEC1)")
    } else if !has_private_key(pem) {
        Some("no private key block (PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY) found")
    } else {
        None
    }
}

/// Which requests a [`Proxy`] carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyScope {
    /// Every request.
    All,
    /// Requests to `http://` URLs only.
    Http,
    /// Requests to `https://` URLs only (through `CONNECT`).
    Https,
}

/// An HTTP(S) proxy: its URL, optional basic auth and the hosts to reach directly. `Debug`
/// never shows the password.
///
/// ```no_run
/// # fn run() -> dropbox_client::Result<()> {
/// use dropbox_client::{Client, Proxy};
/// let proxy = Proxy::all("http://proxy.corp:3128")?
///     .basic_auth("svc-bridge", "proxy-password")
///     .no_proxy("localhost,127.0.0.1,.corp");
/// let client = Client::builder().proxy(proxy).access_token("sl.xxx").build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Proxy {
    url: Url,
    scope: ProxyScope,
    auth: Option<(String, Secret)>,
    no_proxy: Option<String>,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("url", &self.url.as_str())
            .field("scope", &self.scope)
            .field("username", &self.auth.as_ref().map(|(user, _)| user))
            .field("password", &self.auth.as_ref().map(|_| "<redacted>"))
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

impl Proxy {
    /// A proxy for every request. `url` is `http://host:port` (or `https://` for TLS to the
    /// proxy itself); credentials in the URL (`http://user:pass@host:port`) are taken out of
    /// it and used as [`basic_auth`](Proxy::basic_auth).
    pub fn all(url: &str) -> Result<Proxy, NetworkError> {
        Proxy::new(url, ProxyScope::All)
    }

    /// A proxy for requests to `http://` URLs only.
    pub fn http(url: &str) -> Result<Proxy, NetworkError> {
        Proxy::new(url, ProxyScope::Http)
    }

    /// A proxy for requests to `https://` URLs only.
    pub fn https(url: &str) -> Result<Proxy, NetworkError> {
        Proxy::new(url, ProxyScope::Https)
    }

    /// Sends `Proxy-Authorization: Basic …` with these credentials.
    pub fn basic_auth(mut self, username: impl Into<String>, password: impl Into<Secret>) -> Self {
        self.auth = Some((username.into(), password.into()));
        self
    }

    /// Hosts reached directly, in `NO_PROXY` form: comma-separated host names (a leading `.`
    /// or none matches subdomains too), IP addresses, CIDR ranges, or `*` for all.
    pub fn no_proxy(mut self, hosts: impl Into<String>) -> Self {
        self.no_proxy = Some(hosts.into());
        self
    }

    /// The proxy URL, without credentials.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Which requests the proxy carries.
    pub fn scope(&self) -> ProxyScope {
        self.scope
    }

    fn new(url: &str, scope: ProxyScope) -> Result<Proxy, NetworkError> {
        let invalid = |reason: String| NetworkError::InvalidProxy { reason };
        // The parse error never repeats the input, which may hold a password.
        let mut url =
            Url::parse(url.trim()).map_err(|e| invalid(format!("not an absolute URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid(format!(
                "scheme {:?} is not supported: use http:// or https://",
                url.scheme()
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(invalid("the URL has no host".to_owned()));
        }
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let auth = match (url.username(), url.password()) {
            ("", None) => None,
            (user, password) => Some((decode(user), Secret::new(decode(password.unwrap_or(""))))),
        };
        // Cannot fail for http(s) URLs, which always have a host.
        let _ = url.set_username("");
        let _ = url.set_password(None);
        Ok(Proxy {
            url,
            scope,
            auth,
            no_proxy: None,
        })
    }

    fn to_reqwest(&self) -> Result<reqwest::Proxy, NetworkError> {
        let url = self.url.as_str();
        let proxy = match self.scope {
            ProxyScope::All => reqwest::Proxy::all(url),
            ProxyScope::Http => reqwest::Proxy::http(url),
            ProxyScope::Https => reqwest::Proxy::https(url),
        }
        .map_err(|e| NetworkError::InvalidProxy { reason: chain(&e) })?;
        let proxy = match &self.auth {
            Some((user, password)) => proxy.basic_auth(user, password.expose()),
            None => proxy,
        };
        Ok(proxy.no_proxy(
            self.no_proxy
                .as_deref()
                .and_then(reqwest::NoProxy::from_string),
        ))
    }
}

/// The HTTP-client part of a builder: what it sets on the `reqwest::Client` it builds, or the
/// caller's own client.
#[derive(Debug, Default, Clone)]
pub(crate) struct HttpSettings {
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) user_agent: Option<String>,
    pub(crate) os_roots: Option<bool>,
    pub(crate) web_roots: Option<bool>,
    pub(crate) ca: Vec<CaCertificates>,
    pub(crate) identity: Option<ClientIdentity>,
    pub(crate) proxy: Option<Proxy>,
    pub(crate) proxy_from_env: Option<bool>,
    pub(crate) own: Option<reqwest::Client>,
}

impl HttpSettings {
    /// The client to use: the caller's own, or one built from these settings with these
    /// defaults for what was not set.
    pub(crate) fn build(
        self,
        default_connect_timeout: Duration,
        default_user_agent: &str,
    ) -> Result<reqwest::Client, NetworkError> {
        if let Some(own) = self.own {
            let set = [
                ("connect_timeout", self.connect_timeout.is_some()),
                ("user_agent", self.user_agent.is_some()),
                ("trust_os_roots", self.os_roots.is_some()),
                ("trust_web_roots", self.web_roots.is_some()),
                ("add_ca_certificates", !self.ca.is_empty()),
                ("client_identity", self.identity.is_some()),
                ("proxy", self.proxy.is_some()),
                ("proxy_from_env", self.proxy_from_env.is_some()),
            ];
            let settings: Vec<&'static str> = set
                .iter()
                .filter(|(_, is_set)| *is_set)
                .map(|(name, _)| *name)
                .collect();
            if !settings.is_empty() {
                return Err(NetworkError::ConflictsWithHttpClient { settings });
            }
            return Ok(own);
        }
        if self.proxy.is_some() && self.proxy_from_env == Some(true) {
            return Err(NetworkError::Conflict {
                first: "proxy",
                second: "proxy_from_env(true)",
                reason: "a configured proxy replaces the environment's; set one of them",
            });
        }
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .tcp_nodelay(true)
            .connect_timeout(self.connect_timeout.unwrap_or(default_connect_timeout))
            .user_agent(
                self.user_agent
                    .unwrap_or_else(|| default_user_agent.to_owned()),
            )
            .tls_built_in_webpki_certs(self.web_roots.unwrap_or(true))
            .tls_built_in_native_certs(self.os_roots.unwrap_or(false));
        for set in &self.ca {
            for cert in &set.certs {
                builder = builder.add_root_certificate(cert.clone());
            }
        }
        if let Some(identity) = &self.identity {
            builder = builder.identity(identity.identity.clone());
        }
        if let Some(proxy) = &self.proxy {
            builder = builder.proxy(proxy.to_reqwest()?);
        } else if self.proxy_from_env == Some(false) {
            builder = builder.no_proxy();
        }
        let os_roots = self.os_roots == Some(true);
        builder.build().map_err(|e| NetworkError::Build {
            setting: NetworkSetting::HttpClient,
            reason: if os_roots {
                format!(
                    "{} (is the operating system's root store readable?)",
                    chain(&e)
                )
            } else {
                chain(&e)
            },
        })
    }
}
