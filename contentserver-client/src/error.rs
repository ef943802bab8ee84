//! The one error type of this crate, its semantic [`ErrorKind`], and the retry decision.

use std::fmt;
use std::time::Duration;

use reqwest::Method;

/// A boxed error source kept inside [`Error::Transport`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong when talking to Content Server.
///
/// The variants say whether the request reached the server:
/// [`Error::InvalidRequest`] was never sent, [`Error::Transport`] may or may not have reached it,
/// [`Error::Api`], [`Error::Auth`], [`Error::RateLimited`] and [`Error::Decode`] carry the
/// server's answer. Secrets (passwords, tickets) never appear in any variant.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request was not sent: it was invalid before it left the client.
    #[error("request not sent: {message}")]
    InvalidRequest {
        /// What is wrong with the request.
        message: String,
    },

    /// The request did not complete at the HTTP level (connect, timeout, broken body).
    #[error("{method} {path}: {kind} error: {source}")]
    Transport {
        /// HTTP method of the request.
        method: Method,
        /// Path of the request under the base URL (no query string).
        path: String,
        /// What part of the exchange failed.
        kind: TransportKind,
        /// The underlying error.
        #[source]
        source: BoxError,
        /// Whether the call is safe to repeat after a timeout or a broken answer: an idempotent
        /// method (GET, PUT, DELETE), or a POST that only reads (search).
        repeatable: bool,
    },

    /// Content Server answered with an error status (or an `error` field).
    #[error("{method} {path}: HTTP {status}: {message}")]
    Api {
        /// HTTP method of the request.
        method: Method,
        /// Path of the request under the base URL (no query string).
        path: String,
        /// HTTP status code (or the `statusCode` of a `suppress_response_codes` answer).
        status: u16,
        /// The server's `error` message, or the text of a non-JSON error page.
        message: String,
        /// The server's `errorDetail`, when it sent one.
        detail: Option<String>,
        /// `true` when the answer is a known transient error page (an HTML "Please try again"
        /// page, "Error Processing Request", ...).
        transient: bool,
        /// The server's `Retry-After` hint, when it sent one.
        retry_after: Option<Duration>,
        /// Whether the call is safe to repeat (see [`Error::Transport`]). A status that does
        /// not prove the server did nothing (408, 502, 504, a "try again" page) is repeated
        /// only when this is `true`; otherwise the error is [in doubt](Error::is_in_doubt).
        repeatable: bool,
    },

    /// Logging in failed, or a call stayed unauthorized after a fresh login.
    #[error("authentication failed on {path}: {message}")]
    Auth {
        /// Path of the request that failed.
        path: String,
        /// HTTP status, when the server answered.
        status: Option<u16>,
        /// The server's message or the reason (never a secret).
        message: String,
    },

    /// The server answered but the body could not be decoded as expected.
    #[error("{method} {path}: cannot decode response (HTTP {status}): {reason}; body starts with {excerpt:?}")]
    Decode {
        /// HTTP method of the request.
        method: Method,
        /// Path of the request under the base URL (no query string).
        path: String,
        /// HTTP status of the answer.
        status: u16,
        /// What did not match.
        reason: String,
        /// The start of the body (HTML pages are kept as text).
        excerpt: String,
        /// `true` when the body was not JSON at all (e.g. a proxy page), as opposed to JSON of
        /// an unexpected shape.
        not_json: bool,
        /// Whether the call is safe to repeat (see [`Error::Transport`]).
        repeatable: bool,
    },

    /// The server asked us to slow down (HTTP 429, or 503 with `Retry-After`) and the retry
    /// policy stopped waiting: the hint is longer than
    /// [`max_server_delay`](crate::RetryPolicy::max_server_delay), it would overrun the total
    /// budget, or the tries ran out. Nothing was done; come back after `retry_after`.
    /// A rate-limited answer that the policy still waits out is an [`Error::Api`] with status
    /// 429, seen only by the `on_retry` callback.
    #[error("{method} {path}: rate limited (retry after {retry_after:?})")]
    RateLimited {
        /// HTTP method of the request.
        method: Method,
        /// Path of the request under the base URL.
        path: String,
        /// How long to wait before coming back: the server's `Retry-After`, or the policy's
        /// next wait when the server gave none.
        retry_after: Duration,
    },

    /// A retryable failure happened on an upload whose body is a one-shot stream: it cannot be
    /// sent again, so the call was not retried.
    #[error("upload body is a one-shot stream that cannot be re-sent, so the call was not retried: {source}")]
    NotRetried {
        /// The failure that would otherwise have been retried.
        #[source]
        source: Box<Error>,
    },
}

/// Which part of an HTTP exchange failed, for [`Error::Transport`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportKind {
    /// The connection could not be made (nothing was sent).
    Connect,
    /// A timeout fired (the server may have acted on the request).
    Timeout,
    /// The request or response body broke (e.g. a short download, a failing upload source).
    Body,
    /// The TLS handshake failed: the server's certificate is not trusted (add its CA with
    /// `add_ca_certificates`), or the server refused ours. Nothing was sent; repeating cannot
    /// help, so it is never retried, and its kind is [`ErrorKind::Other`].
    Tls,
    /// Any other transport failure.
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

/// What an error means, whatever call produced it. Derived from the HTTP status **and** the
/// server's message (Content Server reports a missing node as 400 or 500, a duplicate name as
/// 500).
///
/// The Dropbox client of this family has the same kinds with the same meanings, so a caller can
/// treat failures on either side alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The node, version, member, hold or other object does not exist (or is invisible to the
    /// caller).
    NotFound,
    /// Something with that name already exists where the call would create it.
    AlreadyExists,
    /// A precondition failed: the object changed since it was read (a stale `metadata_token`,
    /// HTTP 409 edit conflict), or it is reserved by someone else.
    Conflict,
    /// The caller may not do this, or a hold on the item forbids it.
    PermissionDenied,
    /// Missing, invalid or expired ticket; bad credentials.
    Unauthenticated,
    /// The request is malformed or a value is not allowed (bad parameters, a name too long).
    InvalidInput,
    /// The storage is full. Not reported by Content Server today; kept so both clients share
    /// one vocabulary.
    InsufficientSpace,
    /// The server asked us to slow down.
    RateLimited,
    /// The server or the network is failing; trying later may work.
    Unavailable,
    /// The bytes do not hash to what was expected. Not reported by Content Server, which has
    /// no content hash (a download cut short of its `Content-Length` is a
    /// [`TransportKind::Body`] failure); kept so both clients share one vocabulary.
    ContentMismatch,
    /// The answer could not be understood.
    Decode,
    /// Anything else.
    Other,
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

/// Phrases of Content Server / IIS error pages that mean "try again later".
const TRANSIENT_PAGE_PHRASES: &[&str] = &[
    "please try again",
    "error processing request",
    "content server client error",
    "service unavailable",
    "temporarily unavailable",
];

/// Whether an error page text is one of the known transient pages.
pub(crate) fn is_transient_page(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    TRANSIENT_PAGE_PHRASES.iter().any(|p| lower.contains(p))
}

/// Whether a method is idempotent by HTTP semantics (safe to repeat after a timeout).
pub(crate) fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
    )
}

fn kind_from_message(message: &str) -> Option<ErrorKind> {
    let m = message.to_ascii_lowercase();
    if m.contains("already exists") {
        Some(ErrorKind::AlreadyExists)
    } else if m.contains("edit conflict") {
        Some(ErrorKind::Conflict)
    } else if m.contains("mappings registry") {
        // Unknown REST path: not a missing object, so not NotFound.
        Some(ErrorKind::Other)
    } else if m.contains("could not get a node")
        || m.contains("could not locate node")
        || m.contains("does not exist")
        || m.contains("not found")
        || m.contains("could not be found")
        || m.contains("could not be accessed")
        || m.contains("error getting node")
    {
        // "could not be accessed. Either it does not exist or you do not have permission"
        // is how CS hides invisible nodes: treat it as NotFound.
        Some(ErrorKind::NotFound)
    } else if m.contains("insufficient permission")
        || m.contains("permission denied")
        || m.contains("not have permission")
        || m.contains("access denied")
        || m.contains("under hold")
        || m.contains("under a hold")
        || m.contains("on hold")
    {
        // A records-management hold forbids deleting or versioning the item; the wording
        // of real servers is UNCONFIRMED, so any "under/on hold" phrase counts.
        Some(ErrorKind::PermissionDenied)
    } else if m.contains("authentication required") || m.contains("invalid username/password") {
        Some(ErrorKind::Unauthenticated)
    } else {
        None
    }
}

impl Error {
    /// The semantic kind of this error (by status and message).
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidRequest { .. } => ErrorKind::InvalidInput,
            Error::Transport {
                kind: TransportKind::Tls,
                ..
            } => ErrorKind::Other,
            Error::Transport { .. } => ErrorKind::Unavailable,
            Error::Api {
                status,
                message,
                transient,
                ..
            } => {
                if *transient {
                    return ErrorKind::Unavailable;
                }
                match status {
                    401 => ErrorKind::Unauthenticated,
                    409 => ErrorKind::Conflict,
                    429 => ErrorKind::RateLimited,
                    502..=504 => ErrorKind::Unavailable,
                    // CS documents 400 and 500 for most failures and the message tells them
                    // apart; 403 and 404 are UNCONFIRMED on real servers, so they are mapped by
                    // message first as well.
                    _ => kind_from_message(message).unwrap_or(match status {
                        400 => ErrorKind::InvalidInput,
                        403 => ErrorKind::PermissionDenied,
                        404 => ErrorKind::NotFound,
                        _ => ErrorKind::Other,
                    }),
                }
            }
            Error::Auth { .. } => ErrorKind::Unauthenticated,
            Error::Decode { .. } => ErrorKind::Decode,
            Error::RateLimited { .. } => ErrorKind::RateLimited,
            Error::NotRetried { source } => source.kind(),
        }
    }

    /// Whether repeating the same request may succeed. This is the only place that decides it.
    ///
    /// A call that is safe to repeat (GET, PUT, DELETE, or a POST that only reads, such as
    /// search) is repeated after any transient failure: 408, 429, 502, 503, 504, a known
    /// "Please try again" page, connect errors, timeouts, broken bodies and non-JSON answers.
    /// A call that creates or changes something is repeated only when the server certainly did
    /// not act on it: a connect error, a 429, or a 503 with `Retry-After`. Any other failure
    /// of such a call is returned at once, [in doubt](Error::is_in_doubt): a proxy's 502 or
    /// 504 usually means Content Server has already committed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::InvalidRequest { .. } | Error::Auth { .. } | Error::NotRetried { .. } => false,
            Error::Transport {
                kind: TransportKind::Tls,
                ..
            } => false,
            Error::Transport {
                kind, repeatable, ..
            } => *kind == TransportKind::Connect || *repeatable,
            Error::Api {
                status,
                transient,
                retry_after,
                repeatable,
                ..
            } => match status {
                429 => true,
                503 if retry_after.is_some() => true,
                _ => *repeatable && (*transient || matches!(status, 408 | 502..=504)),
            },
            Error::Decode {
                not_json,
                repeatable,
                ..
            } => *not_json && *repeatable,
            Error::RateLimited { .. } => true,
        }
    }

    /// Whether the request reached the server and may have been carried out although the call
    /// failed: a write that timed out, whose answer broke or was not JSON, or that got a 408,
    /// 502, 504, a 503 without `Retry-After`, or a "Please try again" page. The client never
    /// repeats such a call; look at the target (does the node or version exist?) before trying
    /// again.
    pub fn is_in_doubt(&self) -> bool {
        match self {
            Error::Transport {
                kind, repeatable, ..
            } => !*repeatable && !matches!(kind, TransportKind::Connect | TransportKind::Tls),
            Error::Api {
                status,
                transient,
                retry_after,
                repeatable,
                ..
            } => {
                !*repeatable
                    && (*transient
                        || matches!(status, 408 | 502 | 504)
                        || (*status == 503 && retry_after.is_none()))
            }
            Error::Decode { repeatable, .. } => !*repeatable,
            Error::NotRetried { source } => source.is_in_doubt(),
            _ => false,
        }
    }

    /// The server's `Retry-After` hint, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api { retry_after, .. } => *retry_after,
            Error::RateLimited { retry_after, .. } => Some(*retry_after),
            Error::NotRetried { source } => source.retry_after(),
            _ => None,
        }
    }

    /// The HTTP status of the server's answer, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } | Error::Decode { status, .. } => Some(*status),
            Error::Auth { status, .. } => *status,
            Error::RateLimited { .. } => Some(429),
            Error::NotRetried { source } => source.status(),
            _ => None,
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidRequest {
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, message: &str) -> Error {
        Error::Api {
            method: Method::GET,
            path: "api/v2/nodes/1".into(),
            status,
            message: message.into(),
            detail: None,
            transient: is_transient_page(message),
            retry_after: None,
            repeatable: true,
        }
    }

    #[test]
    fn kinds_by_status_and_message() {
        assert_eq!(
            api(500, "An item with the name 'a' already exists.").kind(),
            ErrorKind::AlreadyExists
        );
        assert_eq!(
            api(400, "Could not get a node for 5").kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            api(500, "Could not locate node: 5").kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            api(400, "The hold could not be found.").kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            api(400, "Sorry, the item you requested could not be accessed. Either it does not exist or you do not have permission to access it.").kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            api(500, "Insufficient permissions to perform that action").kind(),
            ErrorKind::PermissionDenied
        );
        assert_eq!(
            api(
                500,
                "The item 'a.pdf' cannot be deleted: it is under hold 'Litigation'."
            )
            .kind(),
            ErrorKind::PermissionDenied
        );
        assert_eq!(
            api(409, "Could not update metadata (edit conflict)").kind(),
            ErrorKind::Conflict
        );
        assert_eq!(
            api(401, "Authentication Required").kind(),
            ErrorKind::Unauthenticated
        );
        assert_eq!(api(400, "bad parameter").kind(), ErrorKind::InvalidInput);
        assert_eq!(api(404, "").kind(), ErrorKind::NotFound);
        assert_eq!(api(403, "").kind(), ErrorKind::PermissionDenied);
        assert_eq!(
            api(
                400,
                "The REST API URL could not be found in the mappings registry"
            )
            .kind(),
            ErrorKind::Other
        );
        assert_eq!(api(503, "").kind(), ErrorKind::Unavailable);
        assert_eq!(
            api(500, "Please try again later").kind(),
            ErrorKind::Unavailable
        );
    }

    #[test]
    fn retryable_decisions() {
        assert!(api(503, "").is_retryable());
        assert!(api(502, "").is_retryable());
        assert!(api(429, "").is_retryable());
        assert!(api(500, "Error Processing Request. Please try again").is_retryable());
        assert!(!api(500, "An item with the name 'a' already exists.").is_retryable());
        assert!(!api(400, "x").is_retryable());
        assert!(!api(501, "").is_retryable());
        let timeout = |method: Method| Error::Transport {
            repeatable: is_idempotent(&method),
            method,
            path: "p".into(),
            kind: TransportKind::Timeout,
            source: "t".into(),
        };
        assert!(timeout(Method::GET).is_retryable());
        assert!(!timeout(Method::POST).is_retryable());
        let read_only_post = Error::Transport {
            method: Method::POST,
            path: "api/v2/search".into(),
            kind: TransportKind::Timeout,
            source: "t".into(),
            repeatable: true,
        };
        assert!(read_only_post.is_retryable());
        let connect = Error::Transport {
            method: Method::POST,
            path: "p".into(),
            kind: TransportKind::Connect,
            source: "c".into(),
            repeatable: false,
        };
        assert!(connect.is_retryable());
        let wrapped = Error::NotRetried {
            source: Box::new(api(503, "")),
        };
        assert!(!wrapped.is_retryable());
        assert_eq!(wrapped.kind(), ErrorKind::Unavailable);
    }
}
