//! Access tokens (static and OAuth-issued, short-lived), the OAuth 2 endpoints
//! (`/oauth2/authorize`, `/oauth2/token` with the `refresh_token` and `authorization_code` +
//! PKCE grants), and turning a request's headers into the account and root it acts on.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::state::{Store, View};
use super::wire::{json_response, ApiError};
use super::App;

/// Static access token of the first account.
pub const STATIC_TOKEN: &str = "sandbox-token";
/// Static access token of the second account.
pub const STATIC_TOKEN_2: &str = "sandbox-token-2";
/// Static team token (use with `Dropbox-API-Select-User` / `-Select-Admin`).
pub const TEAM_TOKEN: &str = "sandbox-team-token";
/// OAuth app key.
pub const APP_KEY: &str = "sandbox-app";
/// OAuth app secret.
pub const APP_SECRET: &str = "sandbox-secret";
/// Refresh token of the first account.
pub const REFRESH_TOKEN: &str = "sandbox-refresh";

/// Who a token speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Subject {
    /// One account (index).
    User(usize),
    /// The whole team.
    Team,
}

/// The scopes a token or grant carries; `None`: every scope the app has ([`super::scopes::ALL`]).
pub(crate) type Scopes = Option<BTreeSet<String>>;

#[derive(Debug)]
struct TokenInfo {
    subject: Subject,
    scopes: Scopes,
    /// `None`: never expires on its own.
    expires_at: Option<Instant>,
    expired: bool,
    /// The refresh token it was issued from (revoked together).
    refresh: Option<String>,
}

#[derive(Debug)]
struct Code {
    account: usize,
    /// The `scope` of the authorize request (`None`: every scope).
    scopes: Scopes,
    redirect_uri: Option<String>,
    challenge: Option<(String, String)>,
    offline: bool,
    issued: Instant,
}

#[derive(Debug, Default)]
struct Inner {
    tokens: HashMap<String, TokenInfo>,
    /// Refresh token → the account and scopes of its grant.
    refresh: HashMap<String, (usize, Scopes)>,
    codes: HashMap<String, Code>,
    counter: u64,
}

/// The token store.
#[derive(Debug)]
pub(crate) struct Tokens {
    inner: Mutex<Inner>,
    lifetime: Duration,
}

impl Tokens {
    /// The fixed credentials; OAuth tokens live `lifetime`.
    pub(crate) fn new(lifetime: Duration) -> Tokens {
        let mut inner = Inner::default();
        for (token, subject) in [
            (STATIC_TOKEN, Subject::User(0)),
            (STATIC_TOKEN_2, Subject::User(1)),
            (TEAM_TOKEN, Subject::Team),
        ] {
            inner.tokens.insert(
                token.to_owned(),
                TokenInfo {
                    subject,
                    scopes: None,
                    expires_at: None,
                    expired: false,
                    refresh: None,
                },
            );
        }
        inner.refresh.insert(REFRESH_TOKEN.to_owned(), (0, None));
        Tokens {
            inner: Mutex::new(inner),
            lifetime,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Expires every token issued through OAuth so far (static tokens cannot be refreshed, so
    /// they stay valid).
    pub(crate) fn expire_all(&self) {
        let mut inner = self.lock();
        for info in inner.tokens.values_mut() {
            if info.expires_at.is_some() {
                info.expired = true;
            }
        }
    }

    fn random(inner: &mut Inner, len: usize) -> String {
        inner.counter += 1;
        let mut rng = fastrand::Rng::new();
        let body: String = (0..len).map(|_| rng.alphanumeric()).collect();
        format!("{body}{}", inner.counter)
    }

    fn issue(
        &self,
        inner: &mut Inner,
        account: usize,
        scopes: Scopes,
        refresh: Option<String>,
    ) -> String {
        let token = format!("sl.sandbox.{}", Self::random(inner, 40));
        inner.tokens.insert(
            token.clone(),
            TokenInfo {
                subject: Subject::User(account),
                scopes,
                expires_at: Some(Instant::now() + self.lifetime),
                expired: false,
                refresh,
            },
        );
        token
    }

    /// Revokes an access token and the refresh token it came from.
    pub(crate) fn revoke(&self, token: &str) {
        let mut inner = self.lock();
        if let Some(info) = inner.tokens.remove(token) {
            if let Some(refresh) = info.refresh {
                inner.refresh.remove(&refresh);
                inner
                    .tokens
                    .retain(|_, t| t.refresh.as_deref() != Some(refresh.as_str()));
            }
        }
    }

    fn subject(&self, token: &str) -> Result<Subject, ApiError> {
        let inner = self.lock();
        let info = inner
            .tokens
            .get(token)
            .ok_or(ApiError::Auth("invalid_access_token"))?;
        if info.expired || info.expires_at.is_some_and(|t| Instant::now() >= t) {
            return Err(ApiError::Auth("expired_access_token"));
        }
        Ok(info.subject)
    }

    /// The scopes of a known token (`None` for an unknown one: its own check answers that).
    pub(crate) fn scopes(&self, token: &str) -> Option<Scopes> {
        self.lock().tokens.get(token).map(|t| t.scopes.clone())
    }

    /// A new token that never expires, for one account (`Some(index)`) or the team (`None`),
    /// carrying exactly `scopes`.
    pub(crate) fn issue_static(&self, account: Option<usize>, scopes: BTreeSet<String>) -> String {
        let mut inner = self.lock();
        let token = format!("sl.sandbox.scoped.{}", Self::random(&mut inner, 24));
        let subject = account.map_or(Subject::Team, Subject::User);
        inner.tokens.insert(
            token.clone(),
            TokenInfo {
                subject,
                scopes: Some(scopes),
                expires_at: None,
                expired: false,
                refresh: None,
            },
        );
        token
    }

    /// Replaces the scopes of an existing token (a seeded static one, typically); `false` when
    /// the token is unknown.
    pub(crate) fn set_scopes(&self, token: &str, scopes: Scopes) -> bool {
        match self.lock().tokens.get_mut(token) {
            Some(info) => {
                info.scopes = scopes;
                true
            }
            None => false,
        }
    }
}

/// The account and root a request acts on.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    /// Account index.
    pub account: usize,
    /// Root for paths (`Dropbox-API-Path-Root`, default the home namespace).
    pub view: View,
    /// The bearer token (for `auth/token/revoke`).
    pub token: String,
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// Authenticates a user-auth route call.
pub(crate) fn authenticate(app: &App, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let token = bearer(headers)?;
    let subject = app.tokens.subject(token)?;
    let store = app.store();
    let account = match subject {
        Subject::User(account) => account,
        Subject::Team => {
            if let Some(member) = header_str(headers, "dropbox-api-select-user") {
                store
                    .accounts
                    .iter()
                    .position(|a| a.team_member_id == member)
                    .ok_or(ApiError::Auth("invalid_select_user"))?
            } else if let Some(admin) = header_str(headers, "dropbox-api-select-admin") {
                store
                    .accounts
                    .iter()
                    .position(|a| a.team_member_id == admin && a.admin)
                    .ok_or(ApiError::Auth("invalid_select_admin"))?
            } else {
                return Err(ApiError::BadRequest(
                    "This API function operates on a single Dropbox account, but the OAuth 2 \
                     access token you provided is for an entire Dropbox Business team. Since your \
                     API app key has team member file access permissions, you can operate on a \
                     team member's Dropbox by providing the \"Dropbox-API-Select-User\" HTTP \
                     header or \"select_user\" URL parameter."
                        .into(),
                ));
            }
        }
    };
    let view = path_root(&store, account, headers)?;
    Ok(Caller {
        account,
        view,
        token: token.to_owned(),
    })
}

/// Authenticates a team-auth route call (`team/*`, `team_log/*`): the token must be a team
/// token, used without `Dropbox-API-Select-User`.
pub(crate) fn authenticate_team(app: &App, headers: &HeaderMap) -> Result<(), ApiError> {
    let token = bearer(headers)?;
    match app.tokens.subject(token)? {
        Subject::Team => Ok(()),
        Subject::User(_) => Err(ApiError::BadRequest(
            "This API function operates on a team, but the OAuth 2 access token you provided \
             is for a single Dropbox account."
                .into(),
        )),
    }
}

/// The bearer token of a request, or the 400 the real server gives without one.
pub(crate) fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let auth = header_str(headers, "authorization").ok_or_else(|| {
        ApiError::BadRequest(
            "Must provide HTTP header \"Authorization\" or URL parameter \"authorization\".".into(),
        )
    })?;
    auth.strip_prefix("Bearer ")
        .or_else(|| auth.strip_prefix("bearer "))
        .map(str::trim)
        .ok_or_else(|| {
            ApiError::BadRequest(
                "Invalid authorization value in HTTP header \"Authorization\": expecting \"Bearer <oauth2-access-token>\".".into(),
            )
        })
}

/// Applies `Dropbox-API-Path-Root`.
fn path_root(store: &Store, account: usize, headers: &HeaderMap) -> Result<View, ApiError> {
    let acc = &store.accounts[account];
    let home = View::namespace(acc.home_ns);
    let Some(raw) = headers.get("dropbox-api-path-root") else {
        return Ok(home);
    };
    let root: Value = serde_json::from_slice(raw.as_bytes()).map_err(|_| {
        ApiError::BadRequest(
            "HTTP header \"Dropbox-API-Path-Root\": could not decode input as JSON".into(),
        )
    })?;
    match root.get(".tag").and_then(Value::as_str) {
        Some("home") => Ok(home),
        Some("root") => {
            let wanted = root.get("root").and_then(Value::as_str).unwrap_or_default();
            let root_ns = acc.root_info()["root_namespace_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if wanted != root_ns {
                return Err(ApiError::PathRoot(
                    json!({".tag": "invalid_root", "invalid_root": acc.root_info()}),
                ));
            }
            Ok(store
                .views_of(account)
                .into_iter()
                .find(|v| v.label == root_ns)
                .unwrap_or(home))
        }
        Some("namespace_id") => {
            let wanted = root
                .get("namespace_id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            store
                .views_of(account)
                .into_iter()
                .find(|v| v.label == wanted)
                .ok_or_else(|| ApiError::PathRoot(json!({".tag": "no_permission"})))
        }
        _ => Err(ApiError::BadRequest(
            "HTTP header \"Dropbox-API-Path-Root\": unknown tag".into(),
        )),
    }
}

/// Checks `Authorization: Basic base64(app_key:app_secret)` for app-auth routes.
pub(crate) fn authenticate_app(headers: &HeaderMap) -> Result<(), ApiError> {
    let ok = header_str(headers, "authorization")
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .is_some_and(|creds| creds == format!("{APP_KEY}:{APP_SECRET}").as_bytes());
    if ok {
        Ok(())
    } else {
        Err(ApiError::Auth("invalid_access_token"))
    }
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_response(
        status,
        &json!({"error": error, "error_description": description}),
    )
}

/// The query of `GET /oauth2/authorize`.
#[derive(Debug, Deserialize)]
pub(crate) struct AuthorizeQuery {
    client_id: Option<String>,
    response_type: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    token_access_type: Option<String>,
    /// Space-separated scopes; none: every scope of the app.
    scope: Option<String>,
}

/// Parses a space-separated `scope` value; `None` when absent or empty.
fn parse_scopes(value: Option<&str>) -> Scopes {
    let set: BTreeSet<String> = value?.split_whitespace().map(str::to_owned).collect();
    (!set.is_empty()).then_some(set)
}

/// The `scope` string of a token answer.
fn scope_string(scopes: &Scopes) -> String {
    match scopes {
        Some(set) => set.iter().cloned().collect::<Vec<_>>().join(" "),
        None => super::scopes::ALL.join(" "),
    }
}

/// `GET /oauth2/authorize`: the sandbox approves at once for the first account and redirects to
/// `redirect_uri?code=…&state=…` (or shows the code when there is no redirect URI).
pub(crate) async fn authorize(State(app): State<App>, Query(q): Query<AuthorizeQuery>) -> Response {
    if q.client_id.as_deref() != Some(APP_KEY) {
        return (StatusCode::BAD_REQUEST, "Invalid client_id").into_response();
    }
    if q.response_type.as_deref() != Some("code") {
        return (StatusCode::BAD_REQUEST, "Unsupported response_type").into_response();
    }
    let challenge = match (q.code_challenge, q.code_challenge_method) {
        (Some(c), method) => Some((c, method.unwrap_or_else(|| "plain".into()))),
        (None, _) => None,
    };
    if let Some((_, method)) = &challenge {
        if method != "S256" && method != "plain" {
            return (StatusCode::BAD_REQUEST, "Unsupported code_challenge_method").into_response();
        }
    }
    let code = {
        let mut inner = app.tokens.lock();
        let code = Tokens::random(&mut inner, 32);
        inner.codes.insert(
            code.clone(),
            Code {
                account: 0,
                redirect_uri: q.redirect_uri.clone(),
                challenge,
                scopes: parse_scopes(q.scope.as_deref()),
                offline: q.token_access_type.as_deref() == Some("offline"),
                issued: Instant::now(),
            },
        );
        code
    };
    match q.redirect_uri {
        Some(uri) => {
            let mut url = match url::Url::parse(&uri) {
                Ok(url) => url,
                Err(_) => return (StatusCode::BAD_REQUEST, "Invalid redirect_uri").into_response(),
            };
            url.query_pairs_mut().append_pair("code", &code);
            if let Some(state) = q.state {
                url.query_pairs_mut().append_pair("state", &state);
            }
            (StatusCode::FOUND, [(header::LOCATION, url.to_string())]).into_response()
        }
        None => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            code,
        )
            .into_response(),
    }
}

/// The form of `POST /oauth2/token`.
#[derive(Debug, Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
    refresh_token: Option<String>,
    code: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    code_verifier: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
}

/// `POST /oauth2/token` (also `/1/oauth2/token`).
pub(crate) async fn token(
    State(app): State<App>,
    headers: HeaderMap,
    body: bytes::Bytes,
) -> Response {
    let form: TokenForm = match serde_urlencoded::from_bytes(&body) {
        Ok(f) => f,
        Err(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "malformed form body",
            )
        }
    };
    // Client credentials: form fields or HTTP Basic.
    let basic = header_str(&headers, "authorization")
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|c| String::from_utf8(c).ok())
        .and_then(|c| c.split_once(':').map(|(k, s)| (k.to_owned(), s.to_owned())));
    let (client_id, secret) = match basic {
        Some((id, secret)) => (Some(id), Some(secret)),
        None => (form.client_id.clone(), form.client_secret.clone()),
    };
    if client_id.as_deref() != Some(APP_KEY) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "Invalid client_id or client_secret",
        );
    }
    if secret.as_deref().is_some_and(|s| s != APP_SECRET) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "Invalid client_id or client_secret",
        );
    }
    let expires_in = app.tokens.lifetime.as_secs();
    let account_id = |account: usize| app.store().accounts[account].account_id.clone();
    match form.grant_type.as_deref() {
        Some("refresh_token") => {
            let Some(refresh) = form.refresh_token else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "No refresh_token",
                );
            };
            let mut inner = app.tokens.lock();
            let Some((account, granted)) = inner.refresh.get(&refresh).cloned() else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "refresh token is invalid or revoked",
                );
            };
            // An optional `scope` narrows the grant; it may not widen it.
            let scopes = match parse_scopes(form.scope.as_deref()) {
                None => granted,
                Some(asked) => {
                    let allowed = granted.as_ref().map_or_else(
                        || {
                            asked
                                .iter()
                                .all(|s| super::scopes::ALL.contains(&s.as_str()))
                        },
                        |g| asked.is_subset(g),
                    );
                    if !allowed {
                        return oauth_error(
                            StatusCode::BAD_REQUEST,
                            "invalid_scope",
                            "scope is not a subset of the granted scopes",
                        );
                    }
                    Some(asked)
                }
            };
            let scope = scope_string(&scopes);
            let token = app.tokens.issue(&mut inner, account, scopes, Some(refresh));
            drop(inner);
            json_response(
                StatusCode::OK,
                &json!({"access_token": token, "token_type": "bearer", "expires_in": expires_in, "scope": scope}),
            )
        }
        Some("authorization_code") => {
            let Some(code) = form.code else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "No code");
            };
            let mut inner = app.tokens.lock();
            let Some(grant) = inner.codes.remove(&code) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "code doesn't exist or has expired",
                );
            };
            if grant.issued.elapsed() > Duration::from_secs(600) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "code doesn't exist or has expired",
                );
            }
            if grant.redirect_uri.is_some() && grant.redirect_uri != form.redirect_uri {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "redirect_uri mismatch",
                );
            }
            match &grant.challenge {
                Some((challenge, method)) => {
                    let Some(verifier) = &form.code_verifier else {
                        return oauth_error(
                            StatusCode::BAD_REQUEST,
                            "invalid_grant",
                            "code_verifier required",
                        );
                    };
                    let computed = if method == "S256" {
                        base64::engine::general_purpose::URL_SAFE_NO_PAD
                            .encode(Sha256::digest(verifier.as_bytes()))
                    } else {
                        verifier.clone()
                    };
                    if &computed != challenge {
                        return oauth_error(
                            StatusCode::BAD_REQUEST,
                            "invalid_grant",
                            "invalid code verifier",
                        );
                    }
                }
                None if secret.is_none() => {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_client",
                        "client_secret required",
                    );
                }
                None => {}
            }
            let refresh = grant
                .offline
                .then(|| format!("sandbox-refresh.{}", Tokens::random(&mut inner, 24)));
            if let Some(refresh) = &refresh {
                inner
                    .refresh
                    .insert(refresh.clone(), (grant.account, grant.scopes.clone()));
            }
            let scope = scope_string(&grant.scopes);
            let token = app.tokens.issue(
                &mut inner,
                grant.account,
                grant.scopes.clone(),
                refresh.clone(),
            );
            drop(inner);
            let account_id = account_id(grant.account);
            let mut body = json!({
                "access_token": token, "token_type": "bearer", "expires_in": expires_in,
                "scope": scope,
                "account_id": account_id, "uid": (grant.account + 1).to_string(),
            });
            if let Some(refresh) = refresh {
                body["refresh_token"] = json!(refresh);
            }
            json_response(StatusCode::OK, &body)
        }
        _ => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be refresh_token or authorization_code",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_vector() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier)),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn expiry_applies_to_issued_tokens_only() {
        let tokens = Tokens::new(Duration::from_secs(3600));
        let issued = {
            let mut inner = tokens.lock();
            tokens.issue(&mut inner, 0, None, None)
        };
        assert_eq!(tokens.subject(&issued).unwrap(), Subject::User(0));
        tokens.expire_all();
        assert!(matches!(
            tokens.subject(&issued),
            Err(ApiError::Auth("expired_access_token"))
        ));
        assert_eq!(tokens.subject(STATIC_TOKEN).unwrap(), Subject::User(0));
        assert!(matches!(
            tokens.subject("nope"),
            Err(ApiError::Auth("invalid_access_token"))
        ));
        let zero = Tokens::new(Duration::ZERO);
        let t = {
            let mut inner = zero.lock();
            zero.issue(&mut inner, 1, None, None)
        };
        assert!(matches!(
            zero.subject(&t),
            Err(ApiError::Auth("expired_access_token"))
        ));
    }
}
