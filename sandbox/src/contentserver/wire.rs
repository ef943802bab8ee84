//! What goes over the wire: request parsing (query, url-encoded or multipart forms, the `body`
//! JSON field, the ticket), the v1/v2 envelopes, and `{"error": ...}` errors.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{FromRequest, MatchedPath, Multipart, RawPathParams, Request};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, COOKIE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde_json::{json, Map, Value};

use super::blobs::Upload;
use super::ContentServer;

/// The most a form (not a file part) may carry; anything longer is read and refused.
const FORM_LIMIT: usize = 16 * 1024 * 1024;

/// The message CS answers an unknown path with.
pub(crate) const UNKNOWN_URL: &str = "The REST API URL could not be found in the mappings registry";

/// An error answered as `{"error": message}` with a status code.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    /// 400 with a message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// 500 with a message (CS's code for duplicates, permissions and many failures).
    pub fn server(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: message.into(),
        }
    }

    /// 401 "Authentication Required".
    pub fn unauthorized() -> Self {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            message: "Authentication Required".to_owned(),
        }
    }

    /// 409 for a stale metadata token.
    pub fn edit_conflict() -> Self {
        ApiError {
            status: StatusCode::CONFLICT,
            message: "Could not update metadata (edit conflict)".to_owned(),
        }
    }

    /// A missing parameter.
    pub fn missing(name: &str) -> Self {
        ApiError::bad_request(format!("Missing required parameter '{name}'."))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(json!({ "error": self.message }))).into_response()
    }
}

impl From<std::io::Error> for ApiError {
    fn from(err: std::io::Error) -> Self {
        tracing::warn!(error = %err, "content server storage error");
        ApiError::server(format!("Storage error: {err}"))
    }
}

/// What a handler returns.
pub(crate) type ApiResult = Result<Response, ApiError>;

/// Request parameters: the query string, then form fields, then the keys of a `body` JSON
/// field on top. Repeated keys keep every value; value-less flags hold an empty string.
#[derive(Debug, Default, Clone)]
pub(crate) struct Params {
    map: BTreeMap<String, Vec<Value>>,
}

impl Params {
    fn push(&mut self, key: String, value: Value) {
        self.map.entry(key).or_default().push(value);
    }

    fn push_pairs(&mut self, raw: &str) {
        for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
            self.push(k.into_owned(), Value::String(v.into_owned()));
        }
    }

    /// Merges a JSON object on top: each of its keys replaces what the fields said.
    fn merge_object(&mut self, obj: Map<String, Value>) {
        for (k, v) in obj {
            self.map.insert(k, vec![v]);
        }
    }

    /// Parses the `body` field, if any, and merges its keys on top of the plain fields.
    fn merge_body_field(&mut self) -> Result<(), ApiError> {
        let Some(raw) = self.map.get("body").and_then(|v| v.last()).cloned() else {
            return Ok(());
        };
        let parsed = match raw {
            Value::String(s) if s.trim().is_empty() => return Ok(()),
            Value::String(s) => serde_json::from_str::<Value>(&s).map_err(|_| {
                ApiError::bad_request("The 'body' parameter does not hold valid JSON.")
            })?,
            other => other,
        };
        match parsed {
            Value::Object(obj) => {
                self.merge_object(obj);
                Ok(())
            }
            _ => Err(ApiError::bad_request(
                "The 'body' parameter must hold a JSON object.",
            )),
        }
    }

    /// The last value given for `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key).and_then(|v| v.last())
    }

    /// Whether `key` was given at all (value-less flags such as `?metadata` count).
    pub fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// Every value given for `key`; a JSON array counts as its elements.
    pub fn all(&self, key: &str) -> Vec<Value> {
        let mut out = Vec::new();
        for v in self.map.get(key).into_iter().flatten() {
            match v {
                Value::Array(items) => out.extend(items.iter().cloned()),
                other => out.push(other.clone()),
            }
        }
        out
    }

    /// The value of `key` as text (numbers and booleans are written out); `None` when absent or
    /// null.
    pub fn str(&self, key: &str) -> Option<String> {
        self.get(key).and_then(value_text)
    }

    /// The value of `key` as an integer; numbers sent as strings are coerced.
    pub fn i64(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => match value_i64(v) {
                Some(n) => Ok(Some(n)),
                None if value_text(v).is_some_and(|s| s.is_empty()) => Ok(None),
                None => Err(ApiError::bad_request(format!(
                    "Invalid value for parameter '{key}'."
                ))),
            },
        }
    }

    /// The value of `key` as a boolean (`true`/`1`/`yes`, case-insensitive).
    pub fn bool(&self, key: &str) -> Option<bool> {
        self.get(key).map(value_bool)
    }

    /// Integers given as repeated keys, a JSON array, or one comma-separated string.
    pub fn ids(&self, key: &str) -> Result<Vec<i64>, ApiError> {
        let mut out = Vec::new();
        for v in self.all(key) {
            let text = value_text(&v).unwrap_or_default();
            for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                out.push(part.parse().map_err(|_| {
                    ApiError::bad_request(format!("Invalid value for parameter '{key}'."))
                })?);
            }
        }
        Ok(out)
    }

    /// Every key given.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.map.keys()
    }
}

/// A JSON value as text, the way a form would have carried it.
pub(crate) fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        other => Some(other.to_string()),
    }
}

/// A JSON value as an integer: numbers, or strings holding one.
pub(crate) fn value_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A JSON value as a boolean: `true`, `"true"`, `1`, `"1"`, `"yes"` (any case).
pub(crate) fn value_bool(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_i64().is_some_and(|n| n != 0),
        Value::String(s) => matches!(s.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes"),
        _ => false,
    }
}

/// Where a successful authenticated call's fresh ticket goes; `ticket_header` writes it into
/// the response's `OTCSTicket` header.
#[derive(Clone, Default)]
pub(crate) struct TicketSlot(Arc<Mutex<Option<String>>>);

impl TicketSlot {
    /// Sets the ticket the response carries.
    pub fn set(&self, ticket: String) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(ticket);
    }

    /// Removes the ticket (the answer to a logout carries none).
    pub fn clear(&self) {
        self.take();
    }

    fn take(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// A parsed request: path parameters, merged parameters, an uploaded file, and who is calling.
pub(crate) struct Req {
    pub method: Method,
    /// The request path and query, as sent (for `links.data.self.href`).
    pub href: String,
    pub path: BTreeMap<String, String>,
    pub params: Params,
    pub upload: Option<Upload>,
    /// The authenticated user, when a valid ticket came with the request.
    pub user: Option<i64>,
    pub headers: HeaderMap,
    pub slot: TicketSlot,
}

impl Req {
    /// The calling user, or 401.
    pub fn user(&self) -> Result<i64, ApiError> {
        self.user.ok_or_else(ApiError::unauthorized)
    }

    /// A path parameter as text.
    pub fn path_str(&self, name: &str) -> &str {
        self.path.get(name).map(String::as_str).unwrap_or_default()
    }

    /// A path parameter that must be an integer; anything else names no node.
    pub fn path_i64(&self, name: &str) -> Result<i64, ApiError> {
        let raw = self.path_str(name);
        raw.parse()
            .map_err(|_| ApiError::bad_request(format!("Could not get a node for {raw}")))
    }

    /// The `{id}` path parameter.
    pub fn id(&self) -> Result<i64, ApiError> {
        self.path_i64("id")
    }

    /// The ticket the caller sent: the `OTCSTicket` header (any case), the `LLCookie` header
    /// pyxecm adds, or the `otcsticket`/`LLCookie` cookies.
    pub fn ticket_in(headers: &HeaderMap) -> Option<String> {
        for name in ["otcsticket", "llcookie"] {
            if let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) {
                if !v.trim().is_empty() {
                    return Some(v.trim().to_owned());
                }
            }
        }
        for cookies in headers.get_all(COOKIE) {
            let Ok(cookies) = cookies.to_str() else {
                continue;
            };
            for pair in cookies.split(';') {
                if let Some((k, v)) = pair.split_once('=') {
                    let k = k.trim();
                    if (k.eq_ignore_ascii_case("otcsticket") || k.eq_ignore_ascii_case("llcookie"))
                        && !v.trim().is_empty()
                    {
                        return Some(v.trim().to_owned());
                    }
                }
            }
        }
        None
    }
}

/// Reads the rest of a body and throws it away, so a keep-alive connection stays usable.
pub(crate) async fn drain(body: Body) {
    let mut body = body;
    while let Some(frame) = body.frame().await {
        if frame.is_err() {
            break;
        }
    }
}

impl FromRequest<ContentServer> for Req {
    type Rejection = Response;

    async fn from_request(req: Request, cs: &ContentServer) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let path: BTreeMap<String, String> =
            match axum::RequestPartsExt::extract::<RawPathParams>(&mut parts).await {
                Ok(raw) => raw
                    .iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect(),
                Err(_) => BTreeMap::new(),
            };
        let matched = parts
            .extensions
            .get::<MatchedPath>()
            .map(|m| m.as_str().to_owned())
            .unwrap_or_default();
        let slot = parts
            .extensions
            .get::<TicketSlot>()
            .cloned()
            .unwrap_or_default();
        let href = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default();

        // Authenticate before reading the body, so a refused upload is drained, not stored.
        let public = matched.ends_with("/api/v1/ping") || matched.ends_with("/api/v1/auth");
        let user = match Req::ticket_in(&parts.headers) {
            Some(ticket) => match cs.authenticate(&ticket) {
                Ok((user, fresh)) => {
                    slot.set(fresh);
                    Some(user)
                }
                // A stale ticket does not stop a login or a ping.
                Err(_) if public => None,
                Err(err) => {
                    drain(body).await;
                    return Err(err.into_response());
                }
            },
            None if public => None,
            None => {
                drain(body).await;
                return Err(ApiError::unauthorized().into_response());
            }
        };

        let mut params = Params::default();
        if let Some(q) = parts.uri.query() {
            params.push_pairs(q);
        }
        let content_type = parts
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let headers = parts.headers.clone();
        let method = parts.method.clone();
        let request = Request::from_parts(parts, body);
        let upload = if content_type.starts_with("multipart/form-data") {
            read_multipart(request, cs, &mut params)
                .await
                .map_err(IntoResponse::into_response)?
        } else {
            read_form(request, &content_type, &mut params)
                .await
                .map_err(IntoResponse::into_response)?;
            None
        };
        params
            .merge_body_field()
            .map_err(IntoResponse::into_response)?;
        Ok(Req {
            method,
            href,
            path,
            params,
            upload,
            user,
            headers,
            slot,
        })
    }
}

/// Reads a url-encoded body into `params`; a non-empty JSON body is refused
/// ([`JSON_BODY_REFUSED`]). The whole body is always read, refused or not.
async fn read_form(req: Request, content_type: &str, params: &mut Params) -> Result<(), ApiError> {
    let mut body = req.into_body();
    let mut buf = Vec::new();
    let mut too_big = false;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| ApiError::bad_request("Could not read the request body."))?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > FORM_LIMIT {
                too_big = true;
            } else if !too_big {
                buf.extend_from_slice(&data);
            }
        }
    }
    if too_big {
        return Err(ApiError::bad_request(
            "The request body is too large for a form; send files as a multipart 'file' part.",
        ));
    }
    if buf.is_empty() {
        return Ok(());
    }
    if is_json_type(content_type) {
        return Err(ApiError::bad_request(JSON_BODY_REFUSED));
    }
    // Any other type (or none) is read as url-encoded fields, as a form would send them.
    params.push_pairs(&String::from_utf8_lossy(&buf));
    Ok(())
}

/// The answer to a JSON request body. CS reads form fields only (reference §2.1: "Content
/// Server doesn't support the application/json content type"); the reference records no
/// message for it. A real server would not read the JSON, so the call would fail for missing
/// parameters or, worse, succeed doing nothing; the sandbox refuses it outright with 400 and
/// this message, so a client that sends JSON finds out at once.
pub(crate) const JSON_BODY_REFUSED: &str = "The content type application/json is not \
supported: send the parameters as form fields (application/x-www-form-urlencoded or \
multipart/form-data), in a 'body' field where the API takes one.";

/// `application/json` or any `+json` type.
fn is_json_type(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence == "application/json" || essence.ends_with("+json")
}

/// Reads a multipart body: the `file` part is streamed to disk, other parts become fields.
async fn read_multipart(
    req: Request,
    cs: &ContentServer,
    params: &mut Params,
) -> Result<Option<Upload>, ApiError> {
    let bad = |_| ApiError::bad_request("Could not parse the multipart request body.");
    let mut multipart = Multipart::from_request(req, &())
        .await
        .map_err(|_| ApiError::bad_request("Could not parse the multipart request body."))?;
    let mut upload = None;
    let mut too_big = false;
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" && upload.is_none() {
            let file_name = field.file_name().unwrap_or("file").to_owned();
            let mime = field.content_type().map(str::to_owned);
            upload = Some(cs.blobs().receive(&mut field, file_name, mime).await?);
            continue;
        }
        let mut buf = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(bad)? {
            if buf.len() + chunk.len() > FORM_LIMIT {
                too_big = true;
            } else if !too_big {
                buf.extend_from_slice(&chunk);
            }
        }
        params.push(
            name,
            Value::String(String::from_utf8_lossy(&buf).into_owned()),
        );
    }
    if too_big {
        return Err(ApiError::bad_request("A multipart field is too large."));
    }
    Ok(upload)
}

/// Answers every unknown path (and unknown method on a known path) as CS does, after reading
/// the whole request body.
pub(crate) async fn unknown_route(req: Request) -> Response {
    drain(req.into_body()).await;
    ApiError::bad_request(UNKNOWN_URL).into_response()
}

/// Middleware: gives each request a [`TicketSlot`], writes the fresh ticket into the
/// `OTCSTicket` header of successful answers, and applies `?suppress_response_codes`.
pub(crate) async fn ticket_header(mut req: Request, next: Next) -> Response {
    let slot = TicketSlot::default();
    req.extensions_mut().insert(slot.clone());
    let suppress = req.uri().query().is_some_and(|q| {
        url::form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "suppress_response_codes")
    });
    let mut resp = next.run(req).await;
    if resp.status().is_success() {
        if let Some(ticket) = slot.take() {
            if let Ok(v) = HeaderValue::from_str(&ticket) {
                resp.headers_mut().insert("OTCSTicket", v);
            }
        }
    }
    if suppress && is_json(resp.headers()) {
        let status = resp.status();
        let (mut parts, body) = resp.into_parts();
        let bytes = body
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        let mut value: Value = serde_json::from_slice(&bytes).unwrap_or_else(|_| json!({}));
        if let Value::Object(obj) = &mut value {
            obj.insert("statusCode".into(), json!(status.as_u16()));
        }
        parts.status = StatusCode::OK;
        parts.headers.remove(CONTENT_LENGTH);
        let body = serde_json::to_vec(&value).unwrap_or_default();
        return Response::from_parts(parts, Body::from(body));
    }
    resp
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// A 200 JSON answer.
pub(crate) fn json_ok(value: Value) -> Response {
    (StatusCode::OK, axum::Json(value)).into_response()
}

/// The v2 `links` object naming the request itself.
pub(crate) fn links(req: &Req) -> Value {
    json!({"data": {"self": {
        "body": "",
        "content_type": "",
        "href": req.href,
        "method": req.method.as_str(),
        "name": "",
    }}})
}

/// A v2 answer: `{"links": ..., "results": results}`.
pub(crate) fn v2(req: &Req, results: Value) -> Response {
    json_ok(json!({ "links": links(req), "results": results }))
}

/// A v2 single-object answer: `{"links": ..., "results": {"data": data}}`.
pub(crate) fn v2_data(req: &Req, data: Value) -> Response {
    v2(req, json!({ "data": data }))
}

/// Paging facts for `total` items, `page` 1-based, `limit` items a page.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Page {
    pub page: usize,
    pub limit: usize,
    pub total: usize,
}

impl Page {
    /// Reads `page` and `limit` from the parameters; without `limit` one page holds everything
    /// (the server default is UNCONFIRMED; returning all is the lenient choice), and `cap`
    /// bounds the page size when the server caps it.
    pub fn from_params(p: &Params, total: usize, cap: Option<usize>) -> Result<Page, ApiError> {
        let page = p.i64("page")?.unwrap_or(1).max(1) as usize;
        let mut limit = match p.i64("limit")? {
            Some(l) if l > 0 => l as usize,
            _ => cap.unwrap_or(total.max(1)),
        };
        if let Some(cap) = cap {
            limit = limit.min(cap);
        }
        Ok(Page { page, limit, total })
    }

    /// The index range of the page's items.
    pub fn range(&self) -> std::ops::Range<usize> {
        let start = (self.page - 1).saturating_mul(self.limit).min(self.total);
        let end = start.saturating_add(self.limit).min(self.total);
        start..end
    }

    /// The paging object of v1 browse results and v2 collections.
    pub fn json(&self) -> Value {
        let r = self.range();
        let page_total = self.total.div_ceil(self.limit.max(1)).max(1);
        json!({
            "limit": self.limit,
            "page": self.page,
            "page_total": page_total,
            "range_min": if r.is_empty() { 0 } else { r.start + 1 },
            "range_max": r.end,
            "total_count": self.total,
        })
    }
}

/// A v2 collection answer.
pub(crate) fn v2_collection(req: &Req, items: Vec<Value>, page: &Page, sort: &str) -> Response {
    json_ok(json!({
        "links": links(req),
        "collection": {
            "paging": page.json(),
            "sorting": {"sort": [{"key": "sort", "value": sort}]},
        },
        "results": items,
    }))
}
