//! The one place where requests are sent: the three route styles (rpc, upload, download),
//! authentication and its refresh, the retry loop, and the mapping of error answers.

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE, RANGE, RETRY_AFTER};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::time::Instant;

use crate::client::{Client, Host};
use crate::error::{excerpt, ApiError, Error, Result};
use crate::retry::{parse_retry_after, Decision};
use crate::route::{Idempotency, Route};

/// The three ways Dropbox routes carry their argument and result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// Argument and result as JSON bodies.
    Rpc,
    /// Argument in `Dropbox-API-Arg`, raw bytes up, JSON result down.
    Upload,
    /// Argument in `Dropbox-API-Arg`, raw bytes down, result in `Dropbox-API-Result`.
    Download,
}

/// Everything needed to send (and resend) one call. Its `Debug` leaves out the argument,
/// which can hold a secret (a link password).
pub(crate) struct Call<'a> {
    pub route: &'a str,
    pub host: Host,
    pub style: Style,
    /// The argument as JSON text.
    pub arg: String,
    /// Upload bytes (cheap to clone, so a retry resends all of them).
    pub body: Bytes,
    /// Whether repeating the call after a timeout or broken answer is harmless (from the
    /// route's [`Idempotency`]).
    pub idempotent: bool,
    /// Routes with `auth: noauth` (longpoll) carry no `Authorization` header.
    pub noauth: bool,
    /// `Range` header of a download.
    pub range: Option<String>,
    /// Overrides the client's per-request time limit.
    pub timeout: Option<Duration>,
}

impl std::fmt::Debug for Call<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("route", &self.route)
            .field("host", &self.host)
            .field("style", &self.style)
            .field("idempotent", &self.idempotent)
            .finish_non_exhaustive()
    }
}

impl<'a> Call<'a> {
    pub(crate) fn new(route: &'a str, host: Host, style: Style, arg: String) -> Self {
        Call {
            route,
            host,
            style,
            arg,
            body: Bytes::new(),
            idempotent: false,
            noauth: false,
            range: None,
            timeout: None,
        }
    }
}

/// Encodes a value as JSON that is safe in an HTTP header: every character outside printable
/// ASCII (0x7F and above) is written `\uXXXX`, characters beyond the BMP as a UTF-16 surrogate
/// pair (`😀` → `\ud83d\ude00`). Control characters are already escaped by JSON itself.
///
/// ```
/// let arg = dropbox_client::header_safe_json(&serde_json::json!({"path": "/é😀\u{7f}"})).unwrap();
/// assert_eq!(arg, r#"{"path":"/\u00e9\ud83d\ude00\u007f"}"#);
/// ```
pub fn header_safe_json<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let json = serde_json::to_string(value)?;
    Ok(ascii_escape(&json))
}

fn ascii_escape(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut units = [0u16; 2];
    for c in json.chars() {
        if (c as u32) < 0x7F {
            out.push(c);
        } else {
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

pub(crate) fn to_json<A: Serialize + ?Sized>(route: &str, arg: &A) -> Result<String> {
    serde_json::to_string(arg).map_err(|e| Error::invalid(route, format!("argument: {e}")))
}

/// Reads a successful answer's body and decodes it as JSON.
pub(crate) async fn read_json<R: DeserializeOwned>(
    route: &str,
    idempotent: bool,
    resp: reqwest::Response,
) -> Result<R> {
    let body = resp
        .bytes()
        .await
        .map_err(|e| Error::transport(route, idempotent, e))?;
    from_json(route, &body).map_err(|e| match e {
        Error::Decode {
            route,
            message,
            excerpt,
            ..
        } => Error::Decode {
            route,
            message,
            excerpt,
            repeatable: idempotent,
        },
        other => other,
    })
}

pub(crate) fn from_json<R: DeserializeOwned>(route: &str, body: &[u8]) -> Result<R> {
    // A `Void` result arrives as `null` or an empty body; `()` decodes from `null`.
    let body: &[u8] = if body.is_empty() { b"null" } else { body };
    serde_json::from_slice(body).map_err(|e| Error::decode(route, e, body))
}

impl Client {
    /// Calls an RPC route with a JSON argument and decodes its JSON result.
    pub(crate) async fn rpc<A, R>(&self, route: Route, arg: &A) -> Result<R>
    where
        A: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        self.rpc_named(route.name, route.idempotency, arg).await
    }

    /// [`rpc`](Self::rpc) for a route named at run time (the raw escape hatch).
    pub(crate) async fn rpc_named<A, R>(
        &self,
        route: &str,
        idempotency: Idempotency,
        arg: &A,
    ) -> Result<R>
    where
        A: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let idempotent = idempotency.is_idempotent();
        let mut call = Call::new(route, Host::Api, Style::Rpc, to_json(route, arg)?);
        call.idempotent = idempotent;
        let resp = self.execute(&call).await?;
        read_json(route, idempotent, resp).await
    }

    /// Calls an upload-style route with `body` and decodes its JSON result.
    pub(crate) async fn upload_call<A, R>(&self, route: Route, arg: &A, body: Bytes) -> Result<R>
    where
        A: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        self.upload_named(route.name, route.idempotency, arg, body)
            .await
    }

    /// [`upload_call`](Self::upload_call) for a route named at run time.
    pub(crate) async fn upload_named<A, R>(
        &self,
        route: &str,
        idempotency: Idempotency,
        arg: &A,
        body: Bytes,
    ) -> Result<R>
    where
        A: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let idempotent = idempotency.is_idempotent();
        let mut call = Call::new(route, Host::Content, Style::Upload, to_json(route, arg)?);
        call.body = body;
        call.idempotent = idempotent;
        let resp = self.execute(&call).await?;
        read_json(route, idempotent, resp).await
    }

    /// Calls a download-style route; returns the decoded `Dropbox-API-Result` and the response,
    /// whose body the caller streams.
    pub(crate) async fn download_call<A, R>(
        &self,
        route: Route,
        arg: &A,
        range: Option<String>,
    ) -> Result<(R, reqwest::Response)>
    where
        A: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        self.download_named(route.name, route.idempotency, arg, range)
            .await
    }

    /// [`download_call`](Self::download_call) for a route named at run time.
    pub(crate) async fn download_named<A, R>(
        &self,
        route: &str,
        idempotency: Idempotency,
        arg: &A,
        range: Option<String>,
    ) -> Result<(R, reqwest::Response)>
    where
        A: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let mut call = Call::new(route, Host::Content, Style::Download, to_json(route, arg)?);
        call.idempotent = idempotency.is_idempotent();
        call.range = range;
        let resp = self.execute(&call).await?;
        let header = resp
            .headers()
            .get("Dropbox-API-Result")
            .ok_or_else(|| Error::decode(route, "no Dropbox-API-Result header", b""))?;
        let text = String::from_utf8_lossy(header.as_bytes()).into_owned();
        let result = from_json(route, text.as_bytes())?;
        Ok((result, resp))
    }

    /// Sends a call under the retry policy until it succeeds (2xx) or fails for good.
    pub(crate) async fn execute(&self, call: &Call<'_>) -> Result<reqwest::Response> {
        let policy = &self.inner.retry;
        let started = Instant::now();
        let mut attempt = 0u32;
        let mut refreshed = false;
        // Time the policy asked to wait: counts toward the budget even if a custom sleeper
        // returns early.
        let mut waited = Duration::ZERO;
        loop {
            attempt += 1;
            let token = if call.noauth {
                None
            } else {
                match self.inner.auth.token().await {
                    Ok(t) => Some(t),
                    Err(e) => return Err(e),
                }
            };
            let sent = Instant::now();
            let outcome = self
                .send_once(call, token.as_ref().map(|t| t.expose()))
                .await;
            count_request(&outcome, sent.elapsed());
            let error = match outcome {
                Ok(resp) => return Ok(resp),
                Err(e) => e,
            };
            if let (Error::Auth { tag, .. }, Some(token)) = (&error, &token) {
                if !refreshed && tag.as_deref() == Some("expired_access_token") {
                    refreshed = true;
                    if self.inner.auth.refresh(token).await?.is_some() {
                        attempt -= 1; // a refresh is not a retry
                        continue;
                    }
                }
                return Err(error);
            }
            match policy.decide(attempt, started.elapsed().max(waited), &error) {
                Decision::Wait(delay) => {
                    tracing::debug!(route = call.route, attempt, ?delay, error = %error, "retrying dropbox call");
                    metrics::counter!("ecm_retries_total", "server" => "dropbox").increment(1);
                    policy.notify(&crate::retry::RetryEvent {
                        call: call.route,
                        attempt,
                        delay,
                        error: &error,
                    });
                    waited += delay;
                    policy.sleep(delay).await;
                }
                Decision::GiveUp => return Err(error),
                Decision::RateLimited(retry_after) => {
                    let reason = rate_limit_reason(&error);
                    return Err(Error::RateLimited {
                        route: call.route.to_owned(),
                        retry_after,
                        reason,
                    });
                }
            }
        }
    }

    async fn send_once(&self, call: &Call<'_>, token: Option<&str>) -> Result<reqwest::Response> {
        let url = self
            .host_url(call.host)
            .join(&format!("2/{}", call.route))
            .map_err(|e| Error::invalid(call.route, e.to_string()))?;
        let mut req = self.inner.http.post(url);
        let mut headers = HeaderMap::new();
        if let Some(token) = token {
            let mut v = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                Error::invalid(call.route, "the access token is not a valid header value")
            })?;
            v.set_sensitive(true);
            headers.insert(AUTHORIZATION, v);
        }
        let team = &self.team;
        for (name, value) in [
            ("Dropbox-API-Select-User", &team.select_user),
            ("Dropbox-API-Select-Admin", &team.select_admin),
            ("Dropbox-API-Path-Root", &team.path_root),
        ] {
            if let Some(value) = value {
                let v = HeaderValue::from_str(&ascii_escape(value))
                    .map_err(|_| Error::invalid(call.route, format!("bad {name} header")))?;
                headers.insert(name, v);
            }
        }
        let timeout = call.timeout.unwrap_or(match call.style {
            Style::Upload => self.inner.upload_timeout,
            _ => self.inner.timeout,
        });
        match call.style {
            Style::Rpc => {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                req = req.body(call.arg.clone()).timeout(timeout);
            }
            Style::Upload => {
                headers.insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/octet-stream"),
                );
                headers.insert("Dropbox-API-Arg", arg_header(call)?);
                req = req.body(call.body.clone()).timeout(timeout);
            }
            Style::Download => {
                headers.insert("Dropbox-API-Arg", arg_header(call)?);
                if let Some(range) = &call.range {
                    headers.insert(
                        RANGE,
                        HeaderValue::from_str(range)
                            .map_err(|_| Error::invalid(call.route, "bad range"))?,
                    );
                }
                // No total time limit: the body may be large. Waiting for the head is bounded
                // below, and the body stream has an idle limit.
            }
        }
        let send = req.headers(headers).send();
        let resp = if call.style == Style::Download {
            match tokio::time::timeout(timeout, send).await {
                Ok(r) => r,
                Err(_) => {
                    return Err(Error::timeout(
                        call.route,
                        call.idempotent,
                        "no answer within the time limit",
                    ))
                }
            }
        } else {
            send.await
        }
        .map_err(|e| Error::transport(call.route, call.idempotent, e))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let headers = resp.headers().clone();
        let body = resp
            .bytes()
            .await
            .map_err(|e| Error::transport(call.route, call.idempotent, e))?;
        Err(error_from_answer(
            call.route,
            call.idempotent,
            status.as_u16(),
            &headers,
            &body,
        ))
    }
}

/// Counts one request in the metrics ([`metrics`] facade, a no-op without a recorder):
/// `ecm_requests_total` by `server="dropbox"` and `status` (`ok`, the HTTP status of a
/// refusal, or `transport` when no answer came), and its time in the histogram
/// `ecm_request_duration_seconds`. The Content Server client counts under the same names.
fn count_request(outcome: &Result<reqwest::Response>, elapsed: Duration) {
    let status = match outcome {
        Ok(_) => "ok".to_owned(),
        Err(e) => match (e.api(), e) {
            (Some(api), _) => api.status.to_string(),
            (None, Error::Auth { .. }) => "401".to_owned(),
            (None, Error::Transport { .. }) => "transport".to_owned(),
            (None, _) => "error".to_owned(),
        },
    };
    metrics::counter!("ecm_requests_total", "server" => "dropbox", "status" => status).increment(1);
    metrics::histogram!("ecm_request_duration_seconds", "server" => "dropbox")
        .record(elapsed.as_secs_f64());
}

fn arg_header(call: &Call<'_>) -> Result<HeaderValue> {
    HeaderValue::from_str(&ascii_escape(&call.arg))
        .map_err(|_| Error::invalid(call.route, "argument is not header-safe"))
}

fn rate_limit_reason(error: &Error) -> Option<String> {
    let api = error.api()?;
    let err = api.error.as_ref()?;
    err.get("reason")
        .and_then(|r| r.get(".tag"))
        .and_then(|t| t.as_str())
        .map(str::to_owned)
        .or_else(|| {
            api.has_tag("too_many_write_operations")
                .then(|| "too_many_write_operations".to_owned())
        })
}

/// Turns an error answer into an [`Error`], keeping the server's own words.
pub(crate) fn error_from_answer(
    route: &str,
    repeatable: bool,
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
) -> Error {
    let request_id = headers
        .get("X-Dropbox-Request-Id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let header_retry = headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    let json: Option<serde_json::Value> = serde_json::from_slice(body)
        .ok()
        .filter(|v: &serde_json::Value| v.is_object());
    let summary = json
        .as_ref()
        .and_then(|j| j.get("error_summary"))
        .and_then(|s| s.as_str())
        .map(str::to_owned)
        .unwrap_or_else(|| excerpt(body).trim().to_owned());
    let error = json.as_ref().and_then(|j| j.get("error")).cloned();
    if status == 401 {
        let tag = error
            .as_ref()
            .and_then(|e| e.get(".tag"))
            .and_then(|t| t.as_str())
            .map(str::to_owned);
        return Error::Auth {
            route: route.to_owned(),
            status,
            tag,
            summary,
        };
    }
    let body_retry = error
        .as_ref()
        .and_then(|e| e.get("retry_after"))
        .and_then(|v| v.as_u64())
        .map(Duration::from_secs);
    let retry_after = match status {
        // The body's hint is Dropbox's own; the header is the HTTP one. Take the longer.
        429 => Some(
            body_retry
                .max(header_retry)
                .unwrap_or(Duration::from_secs(1)),
        ),
        _ => header_retry.or(body_retry),
    };
    let user_message = json
        .as_ref()
        .and_then(|j| j.get("user_message"))
        .and_then(|m| m.get("text"))
        .and_then(|t| t.as_str())
        .map(str::to_owned);
    Error::Api(Box::new(ApiError {
        route: route.to_owned(),
        status,
        summary,
        error,
        user_message,
        request_id,
        retry_after,
        repeatable,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_json_escapes_non_ascii_and_del_as_utf16() {
        let s = header_safe_json(&serde_json::json!({"path": "/é😀\u{1}\u{7f}x"})).unwrap();
        assert_eq!(s, r#"{"path":"/\u00e9\ud83d\ude00\u0001\u007fx"}"#);
        // It decodes back to the same value.
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back["path"], "/é😀\u{1}\u{7f}x");
    }
}
