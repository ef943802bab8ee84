//! Access tokens: static ones, refreshing OAuth 2 ones, and the OAuth helpers (PKCE, code
//! exchange) that obtain them.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;
use tokio::time::Instant;
use url::Url;

use crate::error::{Error, Result};
use crate::retry::{Decision, RetryEvent, RetryPolicy};
pub use crate::secret::Secret;

/// Gives the bearer token for each call, and a fresh one when the server says it expired.
///
/// Implement it to plug in your own token store; the crate ships [`StaticToken`] and
/// [`RefreshingToken`].
#[async_trait]
pub trait TokenProvider: Send + Sync + 'static {
    /// The token to send now (refreshing first if it is about to expire).
    async fn token(&self) -> Result<Secret>;

    /// Called once after the server refused `rejected` as expired. Returns a new token to retry
    /// with, or `None` when this provider cannot refresh. When several calls were refused at the
    /// same time, only the first refreshes; the others get the token it obtained.
    async fn refresh(&self, rejected: &Secret) -> Result<Option<Secret>>;
}

/// A long-lived access token that is never refreshed.
#[derive(Debug, Clone)]
pub struct StaticToken(Secret);

impl StaticToken {
    /// Wraps a token.
    pub fn new(token: impl Into<Secret>) -> Self {
        StaticToken(token.into())
    }
}

#[async_trait]
impl TokenProvider for StaticToken {
    async fn token(&self) -> Result<Secret> {
        Ok(self.0.clone())
    }

    async fn refresh(&self, _rejected: &Secret) -> Result<Option<Secret>> {
        Ok(None)
    }
}

/// An app registered with Dropbox: its key, its secret (none for PKCE apps) and the OAuth
/// endpoints, which default to Dropbox's and can point at the sandbox.
///
/// ```
/// use dropbox_client::auth::{OAuthApp, PkceVerifier};
/// let app = OAuthApp::new("my-app-key");
/// let verifier = PkceVerifier::generate();
/// let url = app.authorize_url("http://localhost:8080/cb", "state-123", Some(&verifier), &["files.content.read"]);
/// assert!(url.as_str().contains("code_challenge_method=S256"));
/// assert!(url.as_str().contains("token_access_type=offline"));
/// ```
#[derive(Clone, Debug)]
pub struct OAuthApp {
    app_key: String,
    app_secret: Option<Secret>,
    authorize_url: Url,
    token_url: Url,
    http: reqwest::Client,
}

/// What the token endpoint answers.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenResponse {
    /// The short-lived access token.
    pub access_token: Secret,
    /// Always `bearer`.
    #[serde(default)]
    pub token_type: String,
    /// Seconds until the access token expires.
    #[serde(default)]
    pub expires_in: Option<u64>,
    /// A long-lived refresh token (code exchange with `token_access_type=offline` only).
    #[serde(default)]
    pub refresh_token: Option<Secret>,
    /// Granted scopes, space-separated.
    #[serde(default)]
    pub scope: Option<String>,
    /// The user's account id (user apps).
    #[serde(default)]
    pub account_id: Option<String>,
    /// The team id (team apps).
    #[serde(default)]
    pub team_id: Option<String>,
    /// Legacy user id.
    #[serde(default)]
    pub uid: Option<String>,
}

const TOKEN_ROUTE: &str = "oauth2/token";

impl OAuthApp {
    /// An app with this key and Dropbox's own endpoints.
    pub fn new(app_key: impl Into<String>) -> Self {
        OAuthApp {
            app_key: app_key.into(),
            app_secret: None,
            authorize_url: Url::parse("https://www.dropbox.com/oauth2/authorize")
                .expect("static URL"),
            token_url: Url::parse("https://api.dropboxapi.com/oauth2/token").expect("static URL"),
            http: default_http(),
        }
    }

    /// The app secret (confidential apps). Leave it out for PKCE.
    pub fn secret(mut self, secret: impl Into<Secret>) -> Self {
        self.app_secret = Some(secret.into());
        self
    }

    /// Uses `origin` (e.g. the sandbox's URL) for the token endpoint: `{origin}/oauth2/token`.
    pub fn api_base(mut self, origin: &Url) -> Self {
        self.token_url = origin.join("oauth2/token").expect("relative path joins");
        self
    }

    /// Where users are sent to authorize the app (default `https://www.dropbox.com/oauth2/authorize`).
    pub fn authorize_endpoint(mut self, url: Url) -> Self {
        self.authorize_url = url;
        self
    }

    /// The HTTP client used for token calls (the [`crate::Client`] builder passes its own).
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = http;
        self
    }

    /// The app key.
    pub fn app_key(&self) -> &str {
        &self.app_key
    }

    /// The URL to send the user to. Asks for offline access (a refresh token). With a PKCE
    /// verifier, adds the S256 code challenge.
    pub fn authorize_url(
        &self,
        redirect_uri: &str,
        state: &str,
        pkce: Option<&PkceVerifier>,
        scopes: &[&str],
    ) -> Url {
        let mut url = self.authorize_url.clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("client_id", &self.app_key)
                .append_pair("response_type", "code")
                .append_pair("token_access_type", "offline")
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("state", state);
            if !scopes.is_empty() {
                q.append_pair("scope", &scopes.join(" "));
            }
            if let Some(v) = pkce {
                q.append_pair("code_challenge", &v.challenge())
                    .append_pair("code_challenge_method", "S256");
            }
        }
        url
    }

    /// Exchanges the code from the redirect for tokens.
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: Option<&str>,
        pkce: Option<&PkceVerifier>,
    ) -> Result<TokenResponse> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", &self.app_key),
        ];
        if let Some(r) = redirect_uri {
            form.push(("redirect_uri", r));
        }
        if let Some(v) = pkce {
            form.push(("code_verifier", v.expose()));
        }
        if let Some(s) = &self.app_secret {
            form.push(("client_secret", s.expose()));
        }
        // A code is good for one exchange: repeating one whose answer was lost cannot succeed.
        self.token_call(&form, false).await
    }

    /// Obtains a fresh access token from a refresh token.
    pub async fn refresh(&self, refresh_token: &Secret) -> Result<TokenResponse> {
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
            ("client_id", &self.app_key),
        ];
        if let Some(s) = &self.app_secret {
            form.push(("client_secret", s.expose()));
        }
        // Repeating a refresh only mints another access token: safe after a broken answer.
        self.token_call(&form, true).await
    }

    async fn token_call(&self, form: &[(&str, &str)], idempotent: bool) -> Result<TokenResponse> {
        let body = serde_urlencoded::to_string(form)
            .map_err(|e| Error::invalid(TOKEN_ROUTE, e.to_string()))?;
        let resp = self
            .http
            .post(self.token_url.clone())
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| Error::transport(TOKEN_ROUTE, idempotent, e))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| Error::transport(TOKEN_ROUTE, idempotent, e))?;
        if status == 200 {
            // The answer holds the tokens: neither its text nor serde's message (which quotes
            // the value it choked on) may reach the error.
            return serde_json::from_slice(&bytes).map_err(|e| Error::Decode {
                route: TOKEN_ROUTE.into(),
                message: format!(
                    "not a token answer ({:?} error at line {}, column {})",
                    e.classify(),
                    e.line(),
                    e.column()
                ),
                excerpt: format!("<{} bytes withheld: they may hold a token>", bytes.len()),
                repeatable: idempotent,
            });
        }
        #[derive(Deserialize)]
        struct OAuthError {
            error: String,
            #[serde(default)]
            error_description: Option<String>,
        }
        match serde_json::from_slice::<OAuthError>(&bytes) {
            Ok(e) if status < 500 => Err(Error::Auth {
                route: TOKEN_ROUTE.into(),
                status,
                summary: e.error_description.unwrap_or_else(|| e.error.clone()),
                tag: Some(e.error),
            }),
            // Not an OAuth refusal (5xx, a rate limit ...): read like any API answer, with its
            // Retry-After, so that the retry policy can act on it.
            _ => Err(crate::transport::error_from_answer(
                TOKEN_ROUTE,
                idempotent,
                status,
                &headers,
                &bytes,
            )),
        }
    }
}

/// A PKCE code verifier (RFC 7636): 128 random characters of `[A-Za-z0-9]`.
#[derive(Clone)]
pub struct PkceVerifier(Secret);

impl PkceVerifier {
    /// A new random verifier.
    pub fn generate() -> Self {
        let s: String = std::iter::repeat_with(fastrand::alphanumeric)
            .take(128)
            .collect();
        PkceVerifier(Secret::new(s))
    }

    /// A verifier from a known value (43–128 characters of `[A-Za-z0-9-._~]`).
    pub fn from_value(value: impl Into<String>) -> Self {
        PkceVerifier(Secret::new(value))
    }

    /// The verifier itself, sent with the code exchange.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// `BASE64URL-no-padding(SHA-256(verifier))`, sent in the authorize URL.
    pub fn challenge(&self) -> String {
        let digest = Sha256::digest(self.0.expose().as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
    }
}

impl fmt::Debug for PkceVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PkceVerifier(<redacted>)")
    }
}

/// An access token kept fresh from a refresh token.
///
/// It refreshes before expiry (a margin of up to 5 minutes, at most half the token's
/// lifetime) and once more when the server answers `expired_access_token`. One refresh runs at
/// a time: calls that wait meanwhile get the token it obtained. A refresh that fails for a
/// passing reason (5xx, 429, a broken connection) is repeated under its [`RetryPolicy`] (the
/// client's own when the [`crate::ClientBuilder`] creates the provider).
pub struct RefreshingToken {
    app: OAuthApp,
    refresh_token: Secret,
    margin: Duration,
    retry: RetryPolicy,
    current: Mutex<Option<(Secret, Option<Instant>)>>,
    refreshes: AtomicU64,
}

impl fmt::Debug for RefreshingToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshingToken")
            .field("app_key", &self.app.app_key)
            .field("refresh_token", &self.refresh_token)
            .field("refreshes", &self.refreshes.load(Ordering::Relaxed))
            .finish()
    }
}

impl RefreshingToken {
    /// A provider that refreshes through `app` with `refresh_token`.
    pub fn new(app: OAuthApp, refresh_token: impl Into<Secret>) -> Self {
        RefreshingToken {
            app,
            refresh_token: refresh_token.into(),
            margin: Duration::from_secs(300),
            retry: RetryPolicy::default(),
            current: Mutex::new(None),
            refreshes: AtomicU64::new(0),
        }
    }

    /// Refresh this long before expiry at most (default 5 minutes).
    pub fn margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// How failed refreshes are repeated (default [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Starts from an access token already held (for example from the code exchange).
    pub fn with_access_token(self, token: impl Into<Secret>, expires_in: Option<Duration>) -> Self {
        // A lifetime too long to represent means "does not expire".
        let expires_at = expires_in.and_then(|d| Instant::now().checked_add(d));
        RefreshingToken {
            current: Mutex::new(Some((token.into(), expires_at))),
            ..self
        }
    }

    /// How many refreshes this provider has made.
    pub fn refresh_count(&self) -> u64 {
        self.refreshes.load(Ordering::Relaxed)
    }

    async fn fetch(&self) -> Result<(Secret, Option<Instant>)> {
        let resp = self.refresh_with_retries().await?;
        self.refreshes.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(expires_in = ?resp.expires_in, "dropbox access token refreshed");
        // A lifetime too long to represent (a server's absurd `expires_in`) means "does not
        // expire"; the token is refreshed when the server rejects it.
        let expires_at = resp.expires_in.and_then(|s| {
            let life = Duration::from_secs(s);
            let margin = self.margin.min(life / 2);
            Instant::now().checked_add(life - margin)
        });
        Ok((resp.access_token, expires_at))
    }

    /// One refresh, repeated under the retry policy while it fails for a passing reason.
    async fn refresh_with_retries(&self) -> Result<TokenResponse> {
        let started = Instant::now();
        // Waits the policy asked for count toward its budget even if its sleeper returns early.
        let mut waited = Duration::ZERO;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let error = match self.app.refresh(&self.refresh_token).await {
                Ok(resp) => return Ok(resp),
                Err(e) => e,
            };
            match self
                .retry
                .decide(attempt, started.elapsed().max(waited), &error)
            {
                Decision::Wait(delay) => {
                    tracing::debug!(attempt, ?delay, error = %error, "retrying the token refresh");
                    self.retry.notify(&RetryEvent {
                        call: TOKEN_ROUTE,
                        attempt,
                        delay,
                        error: &error,
                    });
                    waited += delay;
                    self.retry.sleep(delay).await;
                }
                Decision::GiveUp => return Err(error),
                Decision::RateLimited(retry_after) => {
                    return Err(Error::RateLimited {
                        route: TOKEN_ROUTE.to_owned(),
                        retry_after,
                        reason: None,
                    })
                }
            }
        }
    }
}

#[async_trait]
impl TokenProvider for RefreshingToken {
    async fn token(&self) -> Result<Secret> {
        let mut current = self.current.lock().await;
        if let Some((token, expires)) = current.as_ref() {
            if expires.is_none_or(|at| Instant::now() < at) {
                return Ok(token.clone());
            }
        }
        let fresh = self.fetch().await?;
        let token = fresh.0.clone();
        *current = Some(fresh);
        Ok(token)
    }

    async fn refresh(&self, rejected: &Secret) -> Result<Option<Secret>> {
        let mut current = self.current.lock().await;
        if let Some((token, _)) = current.as_ref() {
            if token != rejected {
                // Another call refreshed while we waited for the lock.
                return Ok(Some(token.clone()));
            }
        }
        let fresh = self.fetch().await?;
        let token = fresh.0.clone();
        *current = Some(fresh);
        Ok(Some(token))
    }
}

/// Shared handle to a provider, as the client keeps it.
pub(crate) type SharedProvider = Arc<dyn TokenProvider>;

pub(crate) fn default_http() -> reqwest::Client {
    reqwest::Client::builder()
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        // The bundled web roots only, as ClientBuilder's default (see `network`); without this
        // the native-roots feature would read the OS store, and an unreadable one would panic.
        .tls_built_in_native_certs(false)
        .build()
        .expect("a TLS backend is compiled in")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_matches_rfc_7636_vector() {
        let v = PkceVerifier::from_value("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(v.challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn secrets_do_not_show_in_debug() {
        let s = Secret::new("sl.very-secret");
        assert_eq!(format!("{s:?} {s}"), "<redacted> <redacted>");
        let app = OAuthApp::new("key").secret("app-secret-value");
        let dbg = format!("{:?}", RefreshingToken::new(app, "refresh-secret-value"));
        assert!(!dbg.contains("secret-value"), "{dbg}");
        let link = crate::models::sharing::SharedLinkSettings {
            link_password: Some(Secret::new("link-password-value")),
            ..Default::default()
        };
        assert!(!format!("{link:?}").contains("link-password-value"));
        assert!(serde_json::to_string(&link)
            .unwrap()
            .contains("link-password-value"));
        let v = PkceVerifier::generate();
        assert!(!format!("{v:?}").contains(v.expose()));
        assert_eq!(v.expose().len(), 128);
    }
}
