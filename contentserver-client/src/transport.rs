//! The one place that sends requests: URL under the CS prefix, form or multipart encoding,
//! the `OTCSTicket` header, re-login on `401`, the retry policy, error mapping and JSON decoding.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::Method;
use serde_json::Value;
use url::Url;

use crate::auth::{Session, TicketSnapshot};
use crate::error::{
    is_idempotent, is_tls_failure, is_transient_page, BoxError, Error, Result, TransportKind,
};
use crate::retry::{parse_retry_after, Decision, RetryEvent, RetryPolicy};
use crate::secret::Secret;
use crate::upload::UploadBody;

/// The request header that carries the ticket, and the response header that refreshes it.
pub(crate) const TICKET_HEADER: &str = "OTCSTicket";

/// Characters escaped in one path segment.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'\\')
    .add(b'^')
    .add(b'|');

/// Percent-encodes one path segment (names, business object ids).
pub(crate) fn segment(value: &str) -> String {
    utf8_percent_encode(value, SEGMENT).to_string()
}

/// How a call authenticates.
#[derive(Clone)]
pub(crate) enum AuthMode {
    /// With the session's `OTCSTicket` (logging in when needed, re-login on 401).
    Ticket,
    /// Without any credentials (`ping`, password login).
    None,
    /// With one header holding a secret (the OTDS exchanges).
    Header(&'static str, Secret),
}

/// The file part of a multipart request.
#[derive(Clone, Debug)]
pub(crate) struct FilePart {
    pub(crate) file_name: String,
    pub(crate) mime_type: String,
    pub(crate) body: UploadBody,
}

/// The body of a call. Never JSON: CS reads form fields only.
#[derive(Clone)]
pub(crate) enum CallBody {
    Empty,
    Form(Vec<(String, String)>),
    Multipart {
        fields: Vec<(String, String)>,
        file: FilePart,
    },
}

/// One request, described independently of any attempt to send it.
///
/// Not `Debug`: form fields may hold a password.
#[derive(Clone)]
pub(crate) struct Call {
    pub(crate) method: Method,
    pub(crate) path: String,
    query: Vec<(String, Option<String>)>,
    body: CallBody,
    auth: AuthMode,
    /// Declared safe or unsafe to repeat, overriding what the method says (see
    /// [`Call::safe_to_repeat`] and [`Call::unsafe_to_repeat`]).
    repeat_override: Option<bool>,
    /// The answer holds a secret (the login's ticket): errors never quote it.
    secret_answer: bool,
}

impl Call {
    /// A call of `method` on `path` (relative to the base URL, e.g. `api/v2/nodes/5`).
    pub(crate) fn new(method: Method, path: impl Into<String>) -> Self {
        Call {
            method,
            path: path.into(),
            query: Vec::new(),
            body: CallBody::Empty,
            auth: AuthMode::Ticket,
            repeat_override: None,
            secret_answer: false,
        }
    }

    /// Declares a POST safe to repeat after a timeout, a broken answer or a proxy's 502/504:
    /// it only reads (search, get several nodes) or only logs in. Every other POST creates or
    /// changes something and is repeated only when the server certainly did nothing (see
    /// [`Error::is_retryable`]).
    pub(crate) fn safe_to_repeat(mut self) -> Self {
        self.repeat_override = Some(true);
        self
    }

    /// Declares a PUT that moves something on and cannot be repeated harmlessly: initiating a
    /// draft process, acting on a workflow task. It is treated like a write POST.
    pub(crate) fn unsafe_to_repeat(mut self) -> Self {
        self.repeat_override = Some(false);
        self
    }

    /// Declares that the answer holds a secret (a login's ticket), so that an error about it
    /// never quotes the body.
    pub(crate) fn secret_answer(mut self) -> Self {
        self.secret_answer = true;
        self
    }

    /// Whether repeating the call after a timeout or a broken answer is harmless.
    pub(crate) fn repeatable(&self) -> bool {
        self.repeat_override
            .unwrap_or_else(|| is_idempotent(&self.method))
    }

    pub(crate) fn get(path: impl Into<String>) -> Self {
        Call::new(Method::GET, path)
    }
    pub(crate) fn post(path: impl Into<String>) -> Self {
        Call::new(Method::POST, path)
    }
    pub(crate) fn put(path: impl Into<String>) -> Self {
        Call::new(Method::PUT, path)
    }
    pub(crate) fn delete(path: impl Into<String>) -> Self {
        Call::new(Method::DELETE, path)
    }

    pub(crate) fn auth(mut self, auth: AuthMode) -> Self {
        self.auth = auth;
        self
    }

    /// Adds a query parameter (repeatable).
    pub(crate) fn query(mut self, key: impl Into<String>, value: impl ToString) -> Self {
        self.query.push((key.into(), Some(value.to_string())));
        self
    }

    /// Adds a query parameter when `value` is `Some`.
    pub(crate) fn query_opt(self, key: &str, value: Option<impl ToString>) -> Self {
        match value {
            Some(v) => self.query(key, v),
            None => self,
        }
    }

    /// Adds a value-less query flag such as `?metadata`.
    pub(crate) fn flag(mut self, key: impl Into<String>) -> Self {
        self.query.push((key.into(), None));
        self
    }

    fn push_field(&mut self, key: String, value: String) {
        match &mut self.body {
            CallBody::Form(fields) | CallBody::Multipart { fields, .. } => {
                fields.push((key, value))
            }
            CallBody::Empty => self.body = CallBody::Form(vec![(key, value)]),
        }
    }

    /// Adds a form field (url-encoded, or a text part of a multipart body). Repeatable.
    pub(crate) fn form(mut self, key: impl Into<String>, value: impl ToString) -> Self {
        self.push_field(key.into(), value.to_string());
        self
    }

    /// Adds a form field when `value` is `Some`.
    pub(crate) fn form_opt(self, key: &str, value: Option<impl ToString>) -> Self {
        match value {
            Some(v) => self.form(key, v),
            None => self,
        }
    }

    /// Puts all parameters as one JSON string into the form field `body`.
    pub(crate) fn body_json(self, value: &Value) -> Self {
        self.form("body", value.to_string())
    }

    /// Turns the body into `multipart/form-data` with a streamed file part named `file`.
    pub(crate) fn file(mut self, file: FilePart) -> Self {
        let fields = match std::mem::replace(&mut self.body, CallBody::Empty) {
            CallBody::Form(fields) | CallBody::Multipart { fields, .. } => fields,
            CallBody::Empty => Vec::new(),
        };
        self.body = CallBody::Multipart { fields, file };
        self
    }

    fn replayable(&self) -> bool {
        match &self.body {
            CallBody::Multipart { file, .. } => file.body.is_replayable(),
            _ => true,
        }
    }
}

/// A decoded JSON answer, with what is needed to report decode errors.
#[derive(Debug)]
pub(crate) struct Json {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) status: u16,
    pub(crate) value: Value,
    /// The `OTCSTicket` response header, if any.
    pub(crate) ticket: Option<Secret>,
    /// Whether the call was safe to repeat ([`Call::repeatable`]): a write whose answer cannot
    /// be read is in doubt, a read is not.
    pub(crate) repeatable: bool,
}

/// A successful answer whose body has not been read.
pub(crate) struct Streamed {
    pub(crate) headers: HeaderMap,
    pub(crate) body: BoxStream<'static, Result<Bytes>>,
}

enum Want {
    Json,
    Stream,
}

enum Outcome {
    Json(Json),
    Stream(Streamed),
}

/// Timeouts applied by the transport.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timeouts {
    /// Whole-request limit of ordinary calls; also the idle limit of uploads and downloads.
    pub(crate) request: Duration,
    /// Optional whole-request limit of uploads.
    pub(crate) upload: Option<Duration>,
}

/// Sends calls. Shared by every clone of a `Client`.
pub(crate) struct Transport {
    pub(crate) http: reqwest::Client,
    pub(crate) base: String,
    pub(crate) timeouts: Timeouts,
    pub(crate) retry: RetryPolicy,
    pub(crate) session: Session,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("base", &self.base)
            .field("timeouts", &self.timeouts)
            .field("retry", &self.retry)
            .field("session", &self.session)
            .finish()
    }
}

/// Counts one request in the metrics ([`metrics`] facade, a no-op without a recorder):
/// `ecm_requests_total` by `server="contentserver"` and `status` (`ok`, the HTTP status of a
/// refusal, or `transport` when no answer came), and its time in the histogram
/// `ecm_request_duration_seconds`. The Dropbox client counts under the same names.
fn count_request(outcome: &Result<Outcome>, elapsed: std::time::Duration) {
    let status = match outcome {
        Ok(_) => "ok".to_owned(),
        Err(e) => match (e.status(), e) {
            (Some(s), _) => s.to_string(),
            (None, Error::Transport { .. }) => "transport".to_owned(),
            (None, _) => "error".to_owned(),
        },
    };
    metrics::counter!("ecm_requests_total", "server" => "contentserver", "status" => status)
        .increment(1);
    metrics::histogram!("ecm_request_duration_seconds", "server" => "contentserver")
        .record(elapsed.as_secs_f64());
}

impl Transport {
    /// Sends `call` and decodes its JSON answer.
    pub(crate) async fn json(&self, call: Call) -> Result<Json> {
        match self.run(&call, Want::Json).await? {
            Outcome::Json(json) => Ok(json),
            Outcome::Stream(_) => unreachable!("asked for JSON"),
        }
    }

    /// Sends `call` and returns its successful answer with the body as a stream.
    pub(crate) async fn stream(&self, call: Call) -> Result<Streamed> {
        match self.run(&call, Want::Stream).await? {
            Outcome::Stream(s) => Ok(s),
            Outcome::Json(_) => unreachable!("asked for a stream"),
        }
    }

    async fn run(&self, call: &Call, want: Want) -> Result<Outcome> {
        let started = tokio::time::Instant::now();
        let mut attempt: u32 = 0;
        let mut relogged = false;
        loop {
            attempt += 1;
            let snapshot = match call.auth {
                AuthMode::Ticket => Some(self.session.current(self).await?),
                _ => None,
            };
            let sent = tokio::time::Instant::now();
            let outcome = self.attempt(call, snapshot.as_ref(), &want).await;
            count_request(&outcome, sent.elapsed());
            let error = match outcome {
                Ok(outcome) => return Ok(outcome),
                Err(error) => error,
            };
            if let (Some(snapshot), Some(401)) = (&snapshot, error.status()) {
                if relogged {
                    return Err(Error::Auth {
                        path: call.path.clone(),
                        status: Some(401),
                        message: "still unauthorized after a fresh login".into(),
                    });
                }
                tracing::debug!(path = %call.path, "401: logging in again");
                self.session.login(self, snapshot.generation).await?;
                relogged = true;
                if !call.replayable() {
                    return Err(Error::NotRetried {
                        source: Box::new(error),
                    });
                }
                // The repeat after a re-login does not count as a retry attempt.
                attempt -= 1;
                continue;
            }
            match self.retry.decide(attempt, started.elapsed(), &error) {
                Decision::Wait(delay) => {
                    if !call.replayable() {
                        return Err(Error::NotRetried {
                            source: Box::new(error),
                        });
                    }
                    let name = format!("{} {}", call.method, call.path);
                    tracing::debug!(
                        call = %name, attempt, delay_ms = delay.as_millis() as u64,
                        error = %error, "retrying Content Server call"
                    );
                    metrics::counter!("ecm_retries_total", "server" => "contentserver")
                        .increment(1);
                    self.retry.notify(&RetryEvent {
                        call: &name,
                        attempt,
                        delay,
                        error: &error,
                    });
                    self.retry.sleep(delay).await;
                }
                Decision::RateLimited(retry_after) => {
                    return Err(Error::RateLimited {
                        method: call.method.clone(),
                        path: call.path.clone(),
                        retry_after,
                    })
                }
                Decision::GiveUp => return Err(error),
            }
        }
    }

    fn url(&self, call: &Call) -> Result<Url> {
        let mut url = Url::parse(&format!("{}/{}", self.base, call.path))
            .map_err(|e| Error::invalid(format!("bad URL for {}: {e}", call.path)))?;
        if !call.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (key, value) in &call.query {
                match value {
                    Some(v) => pairs.append_pair(key, v),
                    None => pairs.append_key_only(key),
                };
            }
        }
        Ok(url)
    }

    fn transport_error(call: &Call, kind: TransportKind, source: BoxError) -> Error {
        Error::Transport {
            method: call.method.clone(),
            path: call.path.clone(),
            kind,
            source,
            repeatable: call.repeatable(),
        }
    }

    fn map_reqwest(call: &Call, e: reqwest::Error) -> Error {
        let kind = if is_tls_failure(&e) {
            TransportKind::Tls
        } else if e.is_connect() {
            TransportKind::Connect
        } else if e.is_timeout() {
            TransportKind::Timeout
        } else if e.is_body() || e.is_decode() {
            TransportKind::Body
        } else {
            TransportKind::Other
        };
        // `without_url`: the URL can carry query values; the ticket never goes there, but keep
        // errors short and predictable.
        Self::transport_error(call, kind, Box::new(e.without_url()))
    }

    async fn attempt(
        &self,
        call: &Call,
        snapshot: Option<&TicketSnapshot>,
        want: &Want,
    ) -> Result<Outcome> {
        let ticket = snapshot.map(|s| &s.ticket);
        let url = self.url(call)?;
        tracing::debug!(method = %call.method, path = %call.path, "Content Server call");
        let accept = match want {
            Want::Json => "application/json",
            Want::Stream => "*/*",
        };
        let mut request = self
            .http
            .request(call.method.clone(), url)
            .header(ACCEPT, accept);
        let secret_header = |name: &str, secret: &Secret| -> Result<HeaderValue> {
            let mut value = HeaderValue::from_str(secret.expose())
                .map_err(|_| Error::invalid(format!("the {name} value is not a valid header")))?;
            value.set_sensitive(true);
            Ok(value)
        };
        if let Some(ticket) = ticket {
            request = request.header(TICKET_HEADER, secret_header(TICKET_HEADER, ticket)?);
        }
        if let AuthMode::Header(name, secret) = &call.auth {
            request = request.header(*name, secret_header(name, secret)?);
        }
        let progress = Arc::new(AtomicU64::new(0));
        let mut is_upload = false;
        match &call.body {
            CallBody::Empty => {}
            CallBody::Form(fields) => request = request.form(fields),
            CallBody::Multipart { fields, file } => {
                is_upload = true;
                let mut form = reqwest::multipart::Form::new();
                for (key, value) in fields {
                    form = form.text(key.clone(), value.clone());
                }
                let stream = file.body.open(progress.clone()).await?;
                let part = reqwest::multipart::Part::stream_with_length(
                    reqwest::Body::wrap_stream(stream),
                    file.body.len(),
                )
                .file_name(file.file_name.clone())
                .mime_str(&file.mime_type)
                .map_err(|_| Error::invalid(format!("bad MIME type {:?}", file.mime_type)))?;
                request = request.multipart(form.part("file", part));
            }
        }
        let response = if is_upload {
            if let Some(total) = self.timeouts.upload {
                request = request.timeout(total);
            }
            self.send_watched(call, request, &progress).await?
        } else {
            match want {
                Want::Json => request
                    .timeout(self.timeouts.request)
                    .send()
                    .await
                    .map_err(|e| Self::map_reqwest(call, e))?,
                Want::Stream => tokio::time::timeout(self.timeouts.request, request.send())
                    .await
                    .map_err(|_| {
                        Self::transport_error(
                            call,
                            TransportKind::Timeout,
                            "no response headers within the request timeout".into(),
                        )
                    })?
                    .map_err(|e| Self::map_reqwest(call, e))?,
            }
        };
        let status = response.status();
        if !status.is_success() {
            return Err(self.error_from(call, response).await);
        }
        let refreshed = response
            .headers()
            .get(TICKET_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map(Secret::new);
        if let (AuthMode::Ticket, Some(fresh), Some(snapshot)) = (&call.auth, &refreshed, snapshot)
        {
            // A slow answer to a request sent before a re-login carries a ticket of the old
            // session: adopt only tickets of the login this request was sent under.
            self.session.adopt(fresh.clone(), snapshot.generation);
        }
        match want {
            Want::Json => {
                let bytes = tokio::time::timeout(self.timeouts.request, response.bytes())
                    .await
                    .map_err(|_| {
                        Self::transport_error(call, TransportKind::Timeout, "body timed out".into())
                    })?
                    .map_err(|e| Self::map_reqwest(call, e))?;
                let value = decode_json(call, status.as_u16(), &bytes)?;
                Ok(Outcome::Json(Json {
                    method: call.method.clone(),
                    path: call.path.clone(),
                    status: status.as_u16(),
                    value,
                    ticket: refreshed,
                    repeatable: call.repeatable(),
                }))
            }
            Want::Stream => Ok(Outcome::Stream(Streamed {
                headers: response.headers().clone(),
                body: watched_body(call, response, self.timeouts.request),
            })),
        }
    }

    /// Sends an upload. There is no overall limit unless one is configured, but the call fails
    /// when no body byte moves and no answer arrives for the request timeout.
    async fn send_watched(
        &self,
        call: &Call,
        request: reqwest::RequestBuilder,
        progress: &AtomicU64,
    ) -> Result<reqwest::Response> {
        let idle = self.timeouts.request;
        let send = request.send();
        tokio::pin!(send);
        let mut last = progress.load(Ordering::Relaxed);
        loop {
            tokio::select! {
                result = &mut send => return result.map_err(|e| Self::map_reqwest(call, e)),
                _ = tokio::time::sleep(idle) => {
                    let now = progress.load(Ordering::Relaxed);
                    if now == last {
                        return Err(Self::transport_error(
                            call,
                            TransportKind::Timeout,
                            format!("upload stalled: no progress for {idle:?} after {now} bytes").into(),
                        ));
                    }
                    last = now;
                }
            }
        }
    }

    /// Maps an error answer.
    async fn error_from(&self, call: &Call, response: reqwest::Response) -> Error {
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let is_json = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("json"));
        // Error bodies are small; a body that cannot be read is reported as empty.
        let bytes = tokio::time::timeout(self.timeouts.request, response.bytes())
            .await
            .ok()
            .and_then(|r| r.ok())
            .unwrap_or_default();
        error_from_body(call, status, retry_after, is_json, &bytes)
    }
}

/// The error of an answer with status `status` and body `bytes`: the server's `error` and
/// `errorDetail` from a JSON body, the readable text of an HTML page otherwise.
pub(crate) fn error_from_body(
    call: &Call,
    status: u16,
    retry_after: Option<Duration>,
    is_json: bool,
    bytes: &[u8],
) -> Error {
    let (message, detail, transient) = match serde_json::from_slice::<Value>(bytes) {
        Ok(value) => {
            let (message, detail) = error_fields(&value);
            let transient = is_transient_page(&message);
            (message, detail, transient)
        }
        Err(_) => {
            let text = String::from_utf8_lossy(bytes);
            let looks_html = !is_json && text.trim_start().starts_with('<');
            let transient = looks_html && is_transient_page(&text);
            (page_text(&text), None, transient)
        }
    };
    Error::Api {
        method: call.method.clone(),
        path: call.path.clone(),
        status,
        message,
        detail,
        transient,
        retry_after,
        repeatable: call.repeatable(),
    }
}

/// The `error` and `errorDetail` of an error answer.
fn error_fields(value: &Value) -> (String, Option<String>) {
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    };
    let message = value.get("error").and_then(text).unwrap_or_default();
    let detail = value
        .get("errorDetail")
        .or_else(|| value.get("error_detail"))
        .and_then(text)
        .filter(|d| !d.is_empty());
    (message, detail)
}

/// Decodes a successful JSON answer. A body carrying a top-level `error` string is a failure
/// (as pyxecm treats it), with the status from `statusCode` when `suppress_response_codes` was
/// used.
pub(crate) fn decode_json(call: &Call, status: u16, bytes: &[u8]) -> Result<Value> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        // Lenient: an empty success body is taken as an empty result.
        return Ok(Value::Null);
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|e| Error::Decode {
        method: call.method.clone(),
        path: call.path.clone(),
        status,
        reason: format!("not JSON: {e}"),
        excerpt: if call.secret_answer {
            format!(
                "<{} bytes withheld: the answer may hold a ticket>",
                bytes.len()
            )
        } else {
            excerpt(&String::from_utf8_lossy(bytes))
        },
        not_json: true,
        repeatable: call.repeatable(),
    })?;
    if let Some(Value::String(message)) = value.get("error") {
        if !message.is_empty() {
            let (message, detail) = error_fields(&value);
            let status = value
                .get("statusCode")
                .and_then(Value::as_u64)
                .and_then(|s| u16::try_from(s).ok())
                .filter(|s| *s >= 400)
                .unwrap_or(500);
            return Err(Error::Api {
                method: call.method.clone(),
                path: call.path.clone(),
                status,
                transient: is_transient_page(&message),
                message,
                detail,
                retry_after: None,
                repeatable: call.repeatable(),
            });
        }
    }
    Ok(value)
}

/// The body of a download, with an idle timeout per chunk and a final length check.
fn watched_body(
    call: &Call,
    response: reqwest::Response,
    idle: Duration,
) -> BoxStream<'static, Result<Bytes>> {
    let expected = response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let encoded = response
        .headers()
        .get(reqwest::header::CONTENT_ENCODING)
        .is_some_and(|v| v != "identity");
    let expected = if encoded { None } else { expected };
    let call = call.clone();
    struct State {
        inner: BoxStream<'static, reqwest::Result<Bytes>>,
        seen: u64,
        done: bool,
        call: Call,
    }
    let state = State {
        inner: response.bytes_stream().boxed(),
        seen: 0,
        done: false,
        call,
    };
    stream::unfold(state, move |mut st| async move {
        if st.done {
            return None;
        }
        match tokio::time::timeout(idle, st.inner.next()).await {
            Err(_) => {
                st.done = true;
                let e = Transport::transport_error(
                    &st.call,
                    TransportKind::Timeout,
                    format!("download stalled for {idle:?} after {} bytes", st.seen).into(),
                );
                Some((Err(e), st))
            }
            Ok(Some(Ok(chunk))) => {
                st.seen += chunk.len() as u64;
                Some((Ok(chunk), st))
            }
            Ok(Some(Err(e))) => {
                st.done = true;
                let e = Transport::map_reqwest(&st.call, e);
                Some((Err(e), st))
            }
            Ok(None) => {
                st.done = true;
                match expected {
                    Some(n) if n != st.seen => {
                        let e = Transport::transport_error(
                            &st.call,
                            TransportKind::Body,
                            format!("download ended after {} of {n} bytes", st.seen).into(),
                        );
                        Some((Err(e), st))
                    }
                    _ => None,
                }
            }
        }
    })
    .boxed()
}

/// The start of a body, for error messages.
pub(crate) fn excerpt(text: &str) -> String {
    const MAX: usize = 300;
    match text.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// The readable text of an HTML error page (tags dropped, whitespace collapsed), shortened.
fn page_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(4096));
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    excerpt(&out.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_text_strips_tags() {
        assert_eq!(
            page_text("<html><title>Error</title><body><p>Please   try again</p></body></html>"),
            "Error Please try again"
        );
        assert_eq!(excerpt(&"é".repeat(400)).chars().count(), 301);
    }

    #[test]
    fn segments_are_escaped() {
        assert_eq!(segment("a b/c?d"), "a%20b%2Fc%3Fd");
    }
}
