//! The wire form of the Dropbox API: argument parsing (JSON body, `Dropbox-API-Arg` header,
//! `arg` query parameter), error envelopes and responses exactly as the real server sends them.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

/// How a route call failed, before it is shaped into the real server's response.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// 400 with a plain-text body (malformed input); the route name is prefixed on output.
    BadRequest(String),
    /// 409 with `{"error_summary", "error"}`: the route's error union.
    Route(Value),
    /// 401 with an `AuthError` tag.
    Auth(&'static str),
    /// 422 with a `PathRootError`.
    PathRoot(Value),
    /// 500 with a plain-text body.
    Internal(String),
}

impl ApiError {
    /// 409 with the route error `{".tag": outer, outer: {".tag": inner}}`.
    pub(crate) fn nested(outer: &str, inner: &str) -> ApiError {
        ApiError::Route(json!({ ".tag": outer, outer: { ".tag": inner } }))
    }

    /// 409 with the route error `{".tag": tag}`.
    pub(crate) fn tag(tag: &str) -> ApiError {
        ApiError::Route(json!({ ".tag": tag }))
    }

    /// 409 with `{".tag": outer, outer: value}`.
    pub(crate) fn with(outer: &str, value: Value) -> ApiError {
        ApiError::Route(json!({ ".tag": outer, outer: value }))
    }

    /// Shapes the error as the real server does for `route` (e.g. `files/upload`).
    pub(crate) fn into_response(self, route: &str) -> Response {
        match self {
            ApiError::BadRequest(msg) => text(
                StatusCode::BAD_REQUEST,
                format!("Error in call to API function \"{route}\": {msg}"),
            ),
            ApiError::Route(error) => json_response(
                StatusCode::CONFLICT,
                &json!({ "error_summary": summary(&error), "error": error }),
            ),
            ApiError::Auth(tag) => json_response(
                StatusCode::UNAUTHORIZED,
                &json!({ "error_summary": format!("{tag}/.."), "error": { ".tag": tag } }),
            ),
            ApiError::PathRoot(error) => json_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                &json!({ "error_summary": summary(&error), "error": error }),
            ),
            ApiError::Internal(msg) => text(StatusCode::INTERNAL_SERVER_ERROR, msg),
        }
    }
}

impl From<std::io::Error> for ApiError {
    fn from(e: std::io::Error) -> Self {
        tracing::warn!(error = %e, "sandbox storage failed");
        ApiError::Internal(format!("sandbox storage error: {e}"))
    }
}

/// `error_summary`: the tag path joined with `/`, plus the dots the real server appends.
pub(crate) fn summary(error: &Value) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let mut current = error;
    while let Some(tag) = current.get(".tag").and_then(Value::as_str) {
        parts.push(tag);
        match current.get(tag).or_else(|| current.get("reason")) {
            Some(next) if next.get(".tag").is_some() => current = next,
            _ => break,
        }
    }
    format!("{}/..", parts.join("/"))
}

/// A JSON response with `Content-Type: application/json` exactly.
pub(crate) fn json_response(status: StatusCode, value: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

/// A plain-text response.
pub(crate) fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

/// JSON with every non-ASCII character and DEL escaped as `\uXXXX` (UTF-16, astral characters
/// as surrogate pairs), safe for an HTTP header such as `Dropbox-API-Result`.
pub(crate) fn header_safe_json(value: &Value) -> String {
    let raw = value.to_string();
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if c.is_ascii() && c != '\u{7f}' {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// The header value of `Dropbox-API-Result`.
pub(crate) fn result_header(value: &Value) -> HeaderValue {
    HeaderValue::from_str(&header_safe_json(value)).unwrap_or(HeaderValue::from_static("null"))
}

const RPC_TYPES: [&str; 3] = [
    "application/json",
    "application/json; charset=utf-8",
    "text/plain; charset=dropbox-cors-hack",
];

/// The argument of an rpc route: the JSON body. A route whose argument is `Void` may come with
/// no body and no `Content-Type` (Dropbox's curl examples do); any other body needs one of the
/// rpc content types (`application/json`, ...), as the real server answers 400 otherwise.
pub(crate) fn rpc_arg(headers: &HeaderMap, body: &[u8]) -> Result<Value, ApiError> {
    let empty = body.iter().all(u8::is_ascii_whitespace);
    match headers.get(header::CONTENT_TYPE) {
        None if empty => return Ok(Value::Null),
        None => return Err(missing_type(&RPC_TYPES)),
        Some(ct) => check_type(ct.as_bytes(), &RPC_TYPES)?,
    }
    if empty {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body)
        .map_err(|_| ApiError::BadRequest("request body: could not decode input as JSON".into()))
}

const UPLOAD_TYPES: [&str; 2] = [
    "application/octet-stream",
    "text/plain; charset=dropbox-cors-hack",
];

/// `Expecting one of "a", "b".`
fn expecting(types: &[&str]) -> String {
    let quoted: Vec<String> = types.iter().map(|t| format!("\"{t}\"")).collect();
    format!("Expecting one of {}.", quoted.join(", "))
}

/// The 400 for a request without `Content-Type` (wording after the Dropbox forum thread
/// "Missing or empty HTTP "Content-Type" header").
fn missing_type(types: &[&str]) -> ApiError {
    ApiError::BadRequest(format!(
        "Missing or empty HTTP \"Content-Type\" header.  {}",
        expecting(types)
    ))
}

fn check_type(raw: &[u8], types: &[&str]) -> Result<(), ApiError> {
    let ct = String::from_utf8_lossy(raw).to_ascii_lowercase();
    let normalized = ct.replace(' ', "");
    if normalized.is_empty() {
        return Err(missing_type(types));
    }
    if types.iter().any(|t| t.replace(' ', "") == normalized) {
        return Ok(());
    }
    Err(ApiError::BadRequest(format!(
        "Bad HTTP \"Content-Type\" header: \"{ct}\".  {}",
        expecting(types)
    )))
}

/// The argument of an upload or download route: `Dropbox-API-Arg` or the `arg` query parameter.
/// The header must be "HTTP header safe" (Dropbox's JSON-encoding page): 0x7F and every
/// non-ASCII character escaped as `\uXXXX`. A raw byte outside printable ASCII is refused with
/// the text the real server gives for an undecodable header.
pub(crate) fn header_arg(headers: &HeaderMap, query: Option<&str>) -> Result<Value, ApiError> {
    const UNDECODABLE: &str = "HTTP header \"Dropbox-API-Arg\": could not decode input as JSON";
    let raw: Option<String> = match headers.get("dropbox-api-arg") {
        Some(v) => {
            if v.as_bytes().iter().any(|b| *b >= 0x7F) {
                return Err(ApiError::BadRequest(UNDECODABLE.into()));
            }
            Some(String::from_utf8_lossy(v.as_bytes()).into_owned())
        }
        None => query.and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "arg")
                .map(|(_, v)| v.into_owned())
        }),
    };
    let Some(raw) = raw else {
        return Err(ApiError::BadRequest(
            "Must provide HTTP header \"Dropbox-API-Arg\" or URL parameter \"arg\".".into(),
        ));
    };
    serde_json::from_str(&raw).map_err(|_| ApiError::BadRequest(UNDECODABLE.into()))
}

/// Checks the `Content-Type` of an upload: required, even with an empty body.
pub(crate) fn check_upload_type(headers: &HeaderMap) -> Result<(), ApiError> {
    match headers.get(header::CONTENT_TYPE) {
        None => Err(missing_type(&UPLOAD_TYPES)),
        Some(ct) => check_type(ct.as_bytes(), &UPLOAD_TYPES),
    }
}

/// Decodes an argument into its typed form, answering 400 as the real server does.
pub(crate) fn parse<T: DeserializeOwned>(arg: Value) -> Result<T, ApiError> {
    serde_json::from_value(arg).map_err(|e| ApiError::BadRequest(format!("request body: {e}")))
}

/// The tag of a union value: `"add"` or `{".tag": "add", ...}`.
pub(crate) fn union_tag(value: &Value) -> Option<&str> {
    match value {
        Value::String(s) => Some(s),
        Value::Object(map) => map.get(".tag").and_then(Value::as_str),
        _ => None,
    }
}

/// `common.DropboxTimestamp`: `%Y-%m-%dT%H:%M:%SZ`.
pub(crate) fn timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Parses a `common.DropboxTimestamp`.
pub(crate) fn parse_timestamp(field: &str, s: &str) -> Result<DateTime<Utc>, ApiError> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%SZ")
        .map(|t| t.and_utc())
        .map_err(|_| {
            ApiError::BadRequest(format!(
                "request body: {field}: '{s}' is not a valid timestamp (%Y-%m-%dT%H:%M:%SZ)"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_follow_nested_tags() {
        let e = json!({".tag": "path", "path": {".tag": "conflict", "conflict": {".tag": "file"}}});
        assert_eq!(summary(&e), "path/conflict/file/..");
        let e = json!({".tag": "path", "reason": {".tag": "conflict", "conflict": {".tag": "folder"}}, "upload_session_id": "x"});
        assert_eq!(summary(&e), "path/conflict/folder/..");
        assert_eq!(summary(&json!({".tag": "reset"})), "reset/..");
    }

    #[test]
    fn header_safe_json_escapes_non_ascii_as_utf16() {
        let v = json!({"name": "é😀\u{7f}"});
        assert_eq!(
            header_safe_json(&v),
            r#"{"name":"\u00e9\ud83d\ude00\u007f"}"#
        );
        let back: Value = serde_json::from_str(&header_safe_json(&v)).unwrap();
        assert_eq!(back, v);
    }
}
