//! Shared helpers of the integration tests: clients against wiremock, form / `body` JSON /
//! multipart matchers and parsers.

#![allow(dead_code)]

use std::time::Duration;

use contentserver_client::{Client, Credentials, RetryPolicy};
use serde_json::Value;
use wiremock::{Match, MockServer, Request};

/// The CS prefix used by the "under a prefix" tests.
pub const PREFIX: &str = "/otcs/cs.exe";

/// A retry policy that retries at once (no real sleeps in tests).
pub fn fast_retry(attempts: u32) -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(attempts)
        .initial_backoff(Duration::ZERO)
        .max_backoff(Duration::ZERO)
        .jitter(0.0)
}

/// A client for `server` under `prefix` ("" for the root) with an existing ticket.
pub fn ticket_client(server: &MockServer, prefix: &str, ticket: &str) -> Client {
    Client::builder(format!("{}{prefix}", server.uri()))
        .credentials(Credentials::Ticket(ticket.into()))
        .retry_policy(fast_retry(3))
        .build()
        .unwrap()
}

/// A client for `server` under `prefix` that logs in with a password.
pub fn password_client(server: &MockServer, prefix: &str) -> Client {
    Client::builder(format!("{}{prefix}", server.uri()))
        .credentials(Credentials::password("admin", "pw-s3cret"))
        .retry_policy(fast_retry(3))
        .build()
        .unwrap()
}

/// The url-encoded form fields of a request, in order.
pub fn form_fields(request: &Request) -> Vec<(String, String)> {
    url::form_urlencoded::parse(&request.body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The value of form field `key` (url-encoded or a multipart text part).
pub fn field(request: &Request, key: &str) -> Option<String> {
    if is_multipart(request) {
        return multipart_parts(request)
            .into_iter()
            .find(|p| p.name == key && p.file_name.is_none())
            .map(|p| String::from_utf8(p.data).unwrap());
    }
    form_fields(request)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// The `body` form field parsed as JSON.
pub fn body_json(request: &Request) -> Option<Value> {
    field(request, "body").map(|b| serde_json::from_str(&b).unwrap())
}

fn is_multipart(request: &Request) -> bool {
    request
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"))
}

/// One part of a multipart body.
#[derive(Debug, Clone)]
pub struct Part {
    pub name: String,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

/// Parses a `multipart/form-data` body.
pub fn multipart_parts(request: &Request) -> Vec<Part> {
    let ct = request
        .headers
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap();
    let boundary = ct.split("boundary=").nth(1).unwrap().trim_matches('"');
    let delimiter = format!("--{boundary}");
    let body = &request.body;
    let mut parts = Vec::new();
    let positions: Vec<usize> = find_all(body, delimiter.as_bytes());
    for pair in positions.windows(2) {
        let start = pair[0] + delimiter.len() + 2; // skip CRLF
        let end = pair[1] - 2; // CRLF before the next delimiter
        let chunk = &body[start..end];
        let split = find_all(chunk, b"\r\n\r\n")[0];
        let headers = String::from_utf8_lossy(&chunk[..split]).to_string();
        let data = chunk[split + 4..].to_vec();
        let disposition = headers
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition"))
            .unwrap()
            .to_string();
        let attr = |key: &str| {
            disposition
                .split(';')
                .map(str::trim)
                .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
                .map(|v| v.trim_matches('"').to_string())
        };
        let content_type = headers
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-type"))
            .map(|l| l.split(':').nth(1).unwrap().trim().to_string());
        parts.push(Part {
            name: attr("name").unwrap(),
            file_name: attr("filename"),
            content_type,
            data,
        });
    }
    parts
}

fn find_all(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + needle.len() <= haystack.len() {
        if &haystack[i..i + needle.len()] == needle {
            out.push(i);
            i += needle.len();
        } else {
            i += 1;
        }
    }
    out
}

/// Matches a request whose form field `key` equals `value` (url-encoded or multipart).
pub struct FieldIs(pub &'static str, pub String);

impl Match for FieldIs {
    fn matches(&self, request: &Request) -> bool {
        field(request, self.0).as_deref() == Some(self.1.as_str())
    }
}

/// Matches a request whose `body` form field is this JSON.
pub struct BodyJsonIs(pub Value);

impl Match for BodyJsonIs {
    fn matches(&self, request: &Request) -> bool {
        body_json(request).as_ref() == Some(&self.0)
    }
}

/// Matches a request with no `OTCSTicket` header.
pub struct NoTicket;

impl Match for NoTicket {
    fn matches(&self, request: &Request) -> bool {
        !request.headers.contains_key("otcsticket")
    }
}

/// The requests `server` received for `path`.
pub async fn requests_to(server: &MockServer, method: &str, path: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == method && r.url.path() == path)
        .collect()
}

/// A v2 single node answer.
pub fn v2_node(id: i64, name: &str, node_type: i64) -> Value {
    serde_json::json!({
        "links": {"data": {"self": {"href": format!("/api/v2/nodes/{id}")}}},
        "results": {"data": {"properties": {
            "id": id, "name": name, "type": node_type, "parent_id": 2000,
            "container": node_type == 0, "size": 3, "volume_id": -2000
        }}}
    })
}

/// A v2 collection answer of nodes.
pub fn v2_nodes(items: &[(i64, &str)], page: u64, page_total: u64) -> Value {
    let results: Vec<Value> = items
        .iter()
        .map(|(id, name)| serde_json::json!({"data": {"properties": {"id": id, "name": name, "type": 144}}}))
        .collect();
    serde_json::json!({
        "collection": {"paging": {"page": page, "page_total": page_total, "limit": items.len(),
                                  "total_count": 0, "range_min": 0, "range_max": 0}},
        "results": results
    })
}
