//! The one error type of the crate, its semantic kinds, and the retry decision.

use std::fmt;
use std::time::Duration;

use serde::de::DeserializeOwned;

/// What went wrong with a call, and whether the request reached the server.
///
/// Every variant names the route that failed (`files/upload`, `oauth2/token`, ...). Secrets never
/// appear in the text: tokens and app secrets are kept out of every message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request was never sent: an argument could not be encoded or is out of the API's range.
    #[error("{route}: invalid request, not sent: {message}")]
    InvalidRequest {
        /// Route that was about to be called.
        route: String,
        /// Why the request was refused locally.
        message: String,
    },
    /// The HTTP exchange failed (connect, timeout, broken body) before a complete answer arrived.
    #[error("{route}: transport error ({kind}): {source}")]
    Transport {
        /// Route that was called.
        route: String,
        /// Which part of the exchange failed.
        kind: TransportKind,
        /// Whether the call is safe to repeat after a timeout or a broken answer: its route is
        /// declared idempotent (it changes nothing, or repeating it changes nothing more).
        repeatable: bool,
        /// The underlying HTTP client or I/O error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The server answered with an error status (400, 403, 409, 422, 5xx ...).
    #[error("{0}")]
    Api(Box<ApiError>),
    /// The server asked us to slow down (429, `too_many_write_operations`, or 503 with
    /// `Retry-After`) and the retry policy stopped waiting: the hint is longer than
    /// [`max_server_delay`](crate::RetryPolicy::max_server_delay), it would overrun the total
    /// budget, or the tries ran out. Nothing was done; come back after `retry_after`.
    /// A rate-limited answer that the policy still waits out is an [`Error::Api`], seen only by
    /// the `on_retry` callback.
    #[error("{route}: rate limited{}, retry after {retry_after:?}", reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default())]
    RateLimited {
        /// Route that was called.
        route: String,
        /// How long the server asked us to wait.
        retry_after: Duration,
        /// `too_many_requests` or `too_many_write_operations`, when the server said.
        reason: Option<String>,
    },
    /// The access token was refused (401), or a token could not be obtained or refreshed.
    #[error("{route}: authentication failed ({status}): {summary}")]
    Auth {
        /// Route that was called (`oauth2/token` for refresh failures).
        route: String,
        /// HTTP status of the refusal.
        status: u16,
        /// The `AuthError` tag (`expired_access_token`, `invalid_access_token`, `invalid_grant`, ...).
        tag: Option<String>,
        /// The server's summary of the error.
        summary: String,
    },
    /// A successful answer could not be decoded as the route's result type.
    #[error("{route}: could not decode the answer: {message}; body starts with {excerpt:?}")]
    Decode {
        /// Route that was called.
        route: String,
        /// What did not fit.
        message: String,
        /// The first bytes of the body, as text.
        excerpt: String,
        /// Whether the route is idempotent. A successful answer that cannot be read means the
        /// server acted: for a route that is not idempotent the outcome is
        /// [in doubt](Error::is_in_doubt).
        repeatable: bool,
    },
    /// The bytes that arrived do not hash to what was expected.
    #[error("{route}: content hash mismatch: expected {expected}, got {actual}")]
    ContentHashMismatch {
        /// Route that was called.
        route: String,
        /// The hash we computed from the bytes (upload) or the server announced (download).
        expected: String,
        /// The hash that was reported or computed on the other side.
        actual: String,
    },
    /// The caller's byte stream (an upload's input) failed.
    #[error("{route}: reading the upload source failed: {source}")]
    Source {
        /// Route that was being fed.
        route: String,
        /// The caller's I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Which part of an HTTP exchange failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportKind {
    /// The connection could not be opened; the request never left.
    Connect,
    /// No answer (or no more body) within the timeout.
    Timeout,
    /// The body was cut short or could not be read.
    Body,
    /// The TLS handshake failed: the server's certificate is not trusted (add its CA with
    /// `add_ca_certificates`), or the server refused ours. Nothing was sent; repeating cannot
    /// help, so it is never retried, and its kind is [`ErrorKind::Other`].
    Tls,
    /// Anything else the HTTP client reported.
    Other,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Connect => "connect",
            TransportKind::Timeout => "timeout",
            TransportKind::Body => "body",
            TransportKind::Tls => "tls",
            TransportKind::Other => "other",
        })
    }
}

/// An error status from the API, with the server's own words.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// Route that was called, e.g. `files/get_metadata`.
    pub route: String,
    /// HTTP status.
    pub status: u16,
    /// `error_summary` for JSON errors (e.g. `path/not_found/..`), or the text body of a 400/5xx.
    pub summary: String,
    /// The `error` member of a JSON error envelope: the route's error union, undecoded.
    pub error: Option<serde_json::Value>,
    /// `user_message.text` when the server sent one.
    pub user_message: Option<String>,
    /// `X-Dropbox-Request-Id` of the answer, for support requests.
    pub request_id: Option<String>,
    /// `Retry-After` (header, seconds or an HTTP date) or `retry_after` (body), when the server
    /// gave one.
    pub retry_after: Option<Duration>,
    /// Whether the route is declared idempotent, so that a status that does not prove the
    /// server did nothing (408, 500, 502, 504 ...) may be repeated. Otherwise such an error is
    /// [in doubt](Error::is_in_doubt).
    pub repeatable: bool,
}

impl ApiError {
    /// A failure the server reported inside a successful answer (a batch entry, an async
    /// job's status), as if the route had answered 409 with `error`. The summary is the tag
    /// chain (`path/conflict/file`).
    pub(crate) fn reported(route: &str, error: serde_json::Value) -> Self {
        let mut api = ApiError {
            route: route.to_owned(),
            status: 409,
            summary: String::new(),
            error: Some(error),
            user_message: None,
            request_id: None,
            retry_after: None,
            repeatable: false,
        };
        api.summary = api.tags().join("/");
        api
    }

    /// Decodes the `error` member as the route's typed error union (e.g. `GetMetadataError`).
    ///
    /// Returns `None` when there is no JSON error or it does not fit `E`.
    pub fn route_error<E: DeserializeOwned>(&self) -> Option<E> {
        self.error
            .as_ref()
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    }

    /// The chain of `.tag`s of the error union, outermost first: `["path", "not_found"]`.
    pub fn tags(&self) -> Vec<String> {
        let mut tags = Vec::new();
        let mut current = self.error.as_ref();
        while let Some(serde_json::Value::Object(map)) = current {
            let Some(tag) = map.get(".tag").and_then(|t| t.as_str()) else {
                break;
            };
            tags.push(tag.to_owned());
            current = map.get(tag).or_else(|| inlined_union(map));
        }
        if tags.is_empty() && !self.summary.is_empty() && self.error.is_some() {
            // Fall back on the human summary (`path/not_found/..`), prefix-matched like OpenDAL.
            tags = self
                .summary
                .split('/')
                .map(|s| s.trim_end_matches('.').to_owned())
                .filter(|s| !s.is_empty())
                .collect();
        }
        tags
    }

    /// Whether any tag of the error chain equals `tag` (`err.has_tag("not_found")`).
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags().iter().any(|t| t == tag)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: HTTP {}: {}", self.route, self.status, self.summary)?;
        if let Some(m) = &self.user_message {
            write!(f, " ({m})")?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request id {id}]")?;
        }
        Ok(())
    }
}

/// What an error means, whatever route produced it.
///
/// The Content Server client of this family has the same kinds with the same meanings, so a
/// caller can treat failures on either side alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The path, id, rev, session, cursor, job or link does not exist.
    NotFound,
    /// Something is already where the call would write: a file or folder at the path or in
    /// the way of it (`conflict`; Dropbox reports a write in update mode whose rev is no longer
    /// the latest the same way), a shared link, a share, a property group.
    AlreadyExists,
    /// A precondition failed: a rev does not match, an upload offset differs, a file request is
    /// (not) closed.
    Conflict,
    /// The token is valid but may not do this (including a missing OAuth scope).
    PermissionDenied,
    /// The token is missing, invalid or expired.
    Unauthenticated,
    /// The request is malformed or a value is not allowed (bad path, disallowed name ...).
    InvalidInput,
    /// The account or team is out of space.
    InsufficientSpace,
    /// Too many requests or write operations: wait and try again.
    RateLimited,
    /// The server or the network is failing; trying later may work.
    Unavailable,
    /// The bytes do not hash to what was expected.
    ContentMismatch,
    /// The answer could not be understood.
    Decode,
    /// Anything else.
    Other,
}

impl Error {
    /// The semantic kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidRequest { .. } => ErrorKind::InvalidInput,
            Error::Transport {
                kind: TransportKind::Tls,
                ..
            } => ErrorKind::Other,
            Error::Transport { .. } => ErrorKind::Unavailable,
            Error::RateLimited { .. } => ErrorKind::RateLimited,
            Error::Auth { tag, .. } if tag.as_deref() == Some("missing_scope") => {
                ErrorKind::PermissionDenied
            }
            Error::Auth { .. } => ErrorKind::Unauthenticated,
            Error::Decode { .. } => ErrorKind::Decode,
            Error::ContentHashMismatch { .. } => ErrorKind::ContentMismatch,
            Error::Source { .. } => ErrorKind::Other,
            Error::Api(api) => api_kind(api),
        }
    }

    /// Whether repeating the same call later may succeed. The retry policy asks this, and only
    /// this, to decide.
    ///
    /// A route declared idempotent is repeated after any transient failure: 408, 429, 5xx but
    /// 501, `too_many_write_operations`, connect errors, timeouts and broken bodies. Any other
    /// route is repeated only when the server certainly did not act: a connect error, a 429,
    /// `too_many_write_operations`, or a 503 with `Retry-After`. Its other failures are returned
    /// at once, [in doubt](Error::is_in_doubt).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport {
                kind: TransportKind::Tls,
                ..
            } => false,
            Error::Transport {
                kind, repeatable, ..
            } => *kind == TransportKind::Connect || *repeatable,
            Error::RateLimited { .. } => true,
            Error::Api(api) => match api.status {
                429 => true,
                409 => api.has_tag("too_many_write_operations"),
                503 if api.retry_after.is_some() => true,
                501 => false,
                408 | 500..=599 => api.repeatable,
                _ => false,
            },
            _ => false,
        }
    }

    /// Whether the request reached the server and may have been carried out although the call
    /// failed: a call of a route that is not idempotent that timed out, whose answer broke or
    /// could not be decoded, or that got a 408, a 5xx (but 501) or a 503 without `Retry-After`. The client never repeats
    /// such a call; look at the target (does the file exist, at which rev?) before trying again.
    pub fn is_in_doubt(&self) -> bool {
        match self {
            Error::Transport {
                kind, repeatable, ..
            } => !*repeatable && !matches!(kind, TransportKind::Connect | TransportKind::Tls),
            Error::Decode { repeatable, .. } => !*repeatable,
            Error::Api(api) => {
                !api.repeatable
                    && match api.status {
                        503 => api.retry_after.is_none(),
                        501 => false,
                        408 | 500..=599 => true,
                        _ => false,
                    }
            }
            _ => false,
        }
    }

    /// The server's wait hint, when it gave one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } => Some(*retry_after),
            Error::Api(api) => api.retry_after,
            _ => None,
        }
    }

    /// The API error details, when the server answered with an error status.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(api) => Some(api),
            _ => None,
        }
    }

    /// The route whose call failed.
    pub fn route(&self) -> &str {
        match self {
            Error::InvalidRequest { route, .. }
            | Error::Transport { route, .. }
            | Error::RateLimited { route, .. }
            | Error::Auth { route, .. }
            | Error::Decode { route, .. }
            | Error::ContentHashMismatch { route, .. }
            | Error::Source { route, .. } => route,
            Error::Api(api) => &api.route,
        }
    }

    pub(crate) fn invalid(route: &str, message: impl Into<String>) -> Self {
        Error::InvalidRequest {
            route: route.to_owned(),
            message: message.into(),
        }
    }

    pub(crate) fn timeout(route: &str, repeatable: bool, what: &str) -> Self {
        Error::Transport {
            route: route.to_owned(),
            kind: TransportKind::Timeout,
            repeatable,
            source: Box::new(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                what.to_owned(),
            )),
        }
    }

    /// A decode error about an answer that changes nothing (a read, a job check, a header).
    pub(crate) fn decode(route: &str, message: impl fmt::Display, body: &[u8]) -> Self {
        Error::Decode {
            route: route.to_owned(),
            message: message.to_string(),
            excerpt: excerpt(body),
            repeatable: true,
        }
    }

    pub(crate) fn transport(route: &str, repeatable: bool, source: reqwest::Error) -> Self {
        let kind = if is_tls_failure(&source) {
            TransportKind::Tls
        } else if source.is_connect() {
            TransportKind::Connect
        } else if source.is_timeout() {
            TransportKind::Timeout
        } else if source.is_body() || source.is_decode() {
            TransportKind::Body
        } else {
            TransportKind::Other
        };
        Error::Transport {
            route: route.to_owned(),
            kind,
            repeatable,
            // Never let a URL with a query (it could carry a secret) into the message.
            source: Box::new(source.without_url()),
        }
    }
}

/// Whether a transport failure is the TLS handshake's: the server's certificate is not
/// trusted, or it refused ours. Nothing was sent, and repeating cannot help.
pub(crate) fn is_tls_failure(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        // `io::Error::source` skips the error it wraps (and I/O errors wrap each other): look
        // inside each one.
        let mut inner: &(dyn std::error::Error + 'static) = e;
        loop {
            if inner.is::<rustls::Error>() {
                return true;
            }
            match inner
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
            {
                Some(wrapped) => inner = wrapped,
                None => break,
            }
        }
        current = e.source();
    }
    false
}

/// The union inside a member whose value is a struct. Such a struct's fields sit next to `.tag`
/// (`{".tag": "path", "reason": {".tag": "conflict", ...}, "upload_session_id": ...}` for
/// `UploadError.path`); when exactly one of them is a union, the tag chain continues there.
fn inlined_union(map: &serde_json::Map<String, serde_json::Value>) -> Option<&serde_json::Value> {
    let mut unions = map
        .iter()
        .filter(|(key, value)| key.as_str() != ".tag" && value.get(".tag").is_some());
    match (unions.next(), unions.next()) {
        (Some((_, value)), None) => Some(value),
        _ => None,
    }
}

fn api_kind(api: &ApiError) -> ErrorKind {
    match api.status {
        400 => return ErrorKind::InvalidInput,
        401 => return ErrorKind::Unauthenticated,
        403 => return ErrorKind::PermissionDenied,
        404 => return ErrorKind::NotFound,
        422 => return ErrorKind::PermissionDenied,
        429 => return ErrorKind::RateLimited,
        500..=599 => return ErrorKind::Unavailable,
        _ => {}
    }
    for tag in api.tags() {
        let kind = match tag.as_str() {
            "not_found"
            | "invalid_cursor"
            | "invalid_async_job_id"
            | "shared_link_not_found"
            | "invalid_before_rev"
            | "template_not_found"
            | "property_group_not_found"
            | "reset" => ErrorKind::NotFound,
            "conflict"
            | "shared_link_already_exists"
            | "already_shared"
            | "property_group_already_exists" => ErrorKind::AlreadyExists,
            "incorrect_offset" | "closed" | "not_closed" => ErrorKind::Conflict,
            "insufficient_space" | "insufficient_quota" => ErrorKind::InsufficientSpace,
            "too_many_write_operations" | "too_many_requests" | "rate_limit" => {
                ErrorKind::RateLimited
            }
            "no_write_permission"
            | "no_permission"
            | "access_denied"
            | "team_folder"
            | "restricted_content"
            | "access_restricted"
            | "app_lacks_access"
            | "not_authorized"
            | "email_unverified"
            | "email_not_verified" => ErrorKind::PermissionDenied,
            "malformed_path" | "disallowed_name" | "invalid_argument" | "validation_error"
            | "payload_too_large" | "too_large" | "invalid_settings" | "not_file"
            | "not_folder" => ErrorKind::InvalidInput,
            "content_hash_mismatch" => ErrorKind::ContentMismatch,
            _ => continue,
        };
        return kind;
    }
    ErrorKind::Other
}

/// The first 300 characters of a body, as text, for error messages.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out: String = text.chars().take(300).collect();
    if text.chars().count() > 300 {
        out.push('…');
    }
    out
}

/// A `Result` whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn api(error: serde_json::Value) -> ApiError {
        ApiError {
            route: "files/upload".into(),
            status: 409,
            summary: String::new(),
            error: Some(error),
            user_message: None,
            request_id: None,
            retry_after: None,
            repeatable: false,
        }
    }

    #[test]
    fn tags_follow_unions_inside_inlined_structs() {
        // UploadError.path is the struct UploadWriteFailed {reason: WriteError, upload_session_id}.
        let failed = api(json!({
            ".tag": "path",
            "reason": {".tag": "conflict", "conflict": {".tag": "file"}},
            "upload_session_id": "abc"
        }));
        assert_eq!(failed.tags(), ["path", "conflict", "file"]);
        assert_eq!(api_kind(&failed), ErrorKind::AlreadyExists);
        let busy = api(json!({
            ".tag": "path",
            "reason": {".tag": "too_many_write_operations"},
            "upload_session_id": "abc"
        }));
        assert!(Error::Api(Box::new(busy)).is_retryable());
        // A struct with no union field (or several) ends the chain.
        let offset = api(json!({".tag": "incorrect_offset", "correct_offset": 10}));
        assert_eq!(offset.tags(), ["incorrect_offset"]);
    }
}
