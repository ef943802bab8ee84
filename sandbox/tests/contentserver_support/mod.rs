//! Shared harness of the Content Server emulator tests: serves `ContentServer::router()` on
//! 127.0.0.1:0 and talks raw HTTP to it.

#![allow(dead_code)]

use axum::serve::ListenerExt;
use reqwest::{Method, RequestBuilder, StatusCode};
use sandbox::contentserver::{ContentServer, CsConfig};
use serde_json::Value;

/// A running emulator and a client for it.
pub struct Cs {
    /// Base URL including the prefix, e.g. `http://127.0.0.1:1234/otcs/cs.exe`.
    pub base: String,
    /// Base URL without the prefix.
    pub root: String,
    pub server: ContentServer,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// Starts an emulator with the demo seed.
pub async fn start() -> Cs {
    start_with(|_| {}).await
}

/// Starts an emulator after `tweak` adjusted its configuration.
pub async fn start_with(tweak: impl FnOnce(&mut CsConfig)) -> Cs {
    let dir = tempfile::tempdir().unwrap();
    let mut config = CsConfig::new(dir.path());
    tweak(&mut config);
    let prefix = config.prefix.clone();
    let server = ContentServer::new(config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let listener = listener.tap_io(|s| {
        let _ = s.set_nodelay(true);
    });
    let router = server.router();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    let http = reqwest::Client::builder()
        .tcp_nodelay(true)
        .build()
        .unwrap();
    Cs {
        base: format!("http://{addr}{prefix}"),
        root: format!("http://{addr}"),
        server,
        http,
        _dir: dir,
    }
}

impl Cs {
    /// A request to `path` (starting with `/api/`) under the prefix, with a ticket if given.
    pub fn req(&self, method: Method, ticket: &str, path: &str) -> RequestBuilder {
        let rb = self.http.request(method, format!("{}{path}", self.base));
        if ticket.is_empty() {
            rb
        } else {
            rb.header("OTCSTicket", ticket)
        }
    }

    /// Logs in by password and returns the ticket.
    pub async fn login(&self, user: &str, password: &str) -> String {
        let resp = self
            .req(Method::POST, "", "/api/v1/auth")
            .form(&[("username", user), ("password", password)])
            .send()
            .await
            .unwrap();
        let (status, body) = json(resp).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["ticket"].as_str().unwrap().to_owned()
    }

    /// GET, returning status and JSON.
    pub async fn get(&self, ticket: &str, path: &str) -> (StatusCode, Value) {
        json(self.req(Method::GET, ticket, path).send().await.unwrap()).await
    }

    /// A url-encoded write with a `body` JSON field.
    pub async fn body(
        &self,
        method: Method,
        ticket: &str,
        path: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let resp = self
            .req(method, ticket, path)
            .form(&[("body", body.to_string())])
            .send()
            .await
            .unwrap();
        json(resp).await
    }

    /// A url-encoded write with plain fields.
    pub async fn form(
        &self,
        method: Method,
        ticket: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let resp = self
            .req(method, ticket, path)
            .form(fields)
            .send()
            .await
            .unwrap();
        json(resp).await
    }

    /// Creates a folder and returns its id.
    pub async fn folder(&self, ticket: &str, parent: i64, name: &str) -> i64 {
        let (status, body) = self
            .body(
                Method::POST,
                ticket,
                "/api/v2/nodes",
                serde_json::json!({"type": 0, "parent_id": parent, "name": name}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["results"]["data"]["properties"]["id"]
            .as_i64()
            .unwrap()
    }

    /// Uploads a document (multipart `body` + `file`) and returns its id.
    pub async fn document(&self, ticket: &str, parent: i64, name: &str, bytes: Vec<u8>) -> i64 {
        let (status, body) = self.upload(ticket, parent, name, bytes).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["results"]["data"]["properties"]["id"]
            .as_i64()
            .unwrap()
    }

    /// Uploads a document and returns the raw answer.
    pub async fn upload(
        &self,
        ticket: &str,
        parent: i64,
        name: &str,
        bytes: Vec<u8>,
    ) -> (StatusCode, Value) {
        let body = serde_json::json!({"type": "144", "parent_id": parent.to_string(), "name": name, "roles": {}});
        let form = reqwest::multipart::Form::new()
            .text("body", body.to_string())
            .part(
                "file",
                reqwest::multipart::Part::bytes(bytes)
                    .file_name(name.to_owned())
                    .mime_str("application/pdf")
                    .unwrap(),
            );
        json(
            self.req(Method::POST, ticket, "/api/v2/nodes")
                .multipart(form)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Downloads content at `path`, returning status, Content-Length header and bytes.
    pub async fn bytes(&self, ticket: &str, path: &str) -> (StatusCode, Option<u64>, Vec<u8>) {
        let resp = self.req(Method::GET, ticket, path).send().await.unwrap();
        let status = resp.status();
        let len = resp
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        (status, len, resp.bytes().await.unwrap().to_vec())
    }

    /// The seeded id at `pointer` in the manifest (e.g. `/folders/Intake`).
    pub fn id(&self, pointer: &str) -> i64 {
        self.server
            .manifest()
            .pointer(pointer)
            .and_then(Value::as_i64)
            .unwrap_or_else(|| panic!("no manifest entry {pointer}"))
    }
}

/// Status and JSON body of a response.
pub async fn json(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let text = resp.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, value)
}
