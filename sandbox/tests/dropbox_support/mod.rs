//! Raw-HTTP helpers for the Dropbox emulator tests (shared by the `dropbox_*` test crates).

#![allow(dead_code)]

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use sandbox::{start, Sandbox, SandboxConfig};
use serde_json::{json, Value};

pub const TOKEN: &str = "sandbox-token";
pub const TOKEN_2: &str = "sandbox-token-2";

/// A running sandbox and a client for it.
pub struct Db {
    pub sandbox: Sandbox,
    pub http: reqwest::Client,
    pub url: String,
}

/// A response: status, headers, body text and body as JSON (Null when not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Reply {
    async fn read(r: reqwest::Response) -> Reply {
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.expect("body");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            text,
            json,
        }
    }

    /// Asserts 200 and returns the JSON.
    #[track_caller]
    pub fn ok(self) -> Value {
        assert_eq!(self.status, StatusCode::OK, "body: {}", self.text);
        self.json
    }

    /// Asserts a 409 whose `error_summary` starts with `prefix`, returns the `error`.
    #[track_caller]
    pub fn conflict(self, prefix: &str) -> Value {
        assert_eq!(self.status, StatusCode::CONFLICT, "body: {}", self.text);
        assert_eq!(
            self.headers["content-type"], "application/json",
            "409 bodies are JSON"
        );
        let summary = self.json["error_summary"].as_str().unwrap_or_default();
        assert!(
            summary.starts_with(prefix),
            "summary {summary:?} does not start with {prefix:?}"
        );
        self.json["error"].clone()
    }
}

/// JSON made "HTTP header safe" as Dropbox's JSON-encoding page asks: 0x7F and every
/// non-ASCII character as `\uXXXX` (UTF-16 units).
pub fn header_json(value: &Value) -> String {
    let mut out = String::new();
    for c in value.to_string().chars() {
        if (c as u32) < 0x7F {
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

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .tcp_nodelay(true)
        .build()
        .expect("client")
}

impl Db {
    pub async fn start() -> Db {
        Db::with(SandboxConfig::new()).await
    }

    pub async fn with(config: SandboxConfig) -> Db {
        let sandbox = start(config).await.expect("sandbox starts");
        let url = sandbox.dropbox_url();
        Db {
            sandbox,
            http: client(),
            url,
        }
    }

    pub async fn rpc(&self, route: &str, arg: Value) -> Reply {
        self.rpc_with(TOKEN, &[], route, arg).await
    }

    pub async fn rpc_with(
        &self,
        token: &str,
        headers: &[(&str, &str)],
        route: &str,
        arg: Value,
    ) -> Reply {
        let mut req = self
            .http
            .post(format!("{}/2/{route}", self.url))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(arg.to_string());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Reply::read(req.send().await.expect("request")).await
    }

    pub async fn upload(&self, route: &str, arg: Value, body: impl Into<reqwest::Body>) -> Reply {
        self.upload_with(TOKEN, route, arg, body).await
    }

    pub async fn upload_with(
        &self,
        token: &str,
        route: &str,
        arg: Value,
        body: impl Into<reqwest::Body>,
    ) -> Reply {
        let r = self
            .http
            .post(format!("{}/2/{route}", self.url))
            .bearer_auth(token)
            .header("content-type", "application/octet-stream")
            .header("dropbox-api-arg", header_json(&arg))
            .body(body)
            .send()
            .await
            .expect("request");
        Reply::read(r).await
    }

    /// Uploads `data` to `path` (mode add) and returns the metadata.
    pub async fn put(&self, path: &str, data: &[u8]) -> Value {
        self.upload("files/upload", json!({"path": path}), data.to_vec())
            .await
            .ok()
    }

    /// Downloads a path: (status, Dropbox-API-Result, bytes).
    pub async fn get(&self, path: &str) -> (StatusCode, Value, Vec<u8>) {
        let r = self
            .http
            .post(format!("{}/2/files/download", self.url))
            .bearer_auth(TOKEN)
            .header("dropbox-api-arg", header_json(&json!({"path": path})))
            .send()
            .await
            .expect("request");
        let status = r.status();
        let result = r
            .headers()
            .get("dropbox-api-result")
            .and_then(|v| serde_json::from_slice(v.as_bytes()).ok())
            .unwrap_or(Value::Null);
        let body = r.bytes().await.expect("body").to_vec();
        (status, result, body)
    }

    pub async fn admin_get(&self, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .expect("request");
        json_body(r).await
    }
}

/// Names of the entries of a listing result.
pub fn names(result: &Value) -> Vec<String> {
    result["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// `content_hash` of bytes (the published algorithm, written out independently).
pub fn content_hash(data: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut overall = Sha256::new();
    for block in data.chunks(4 * 1024 * 1024) {
        overall.update(Sha256::digest(block));
    }
    hex::encode(overall.finalize())
}

/// The JSON body of a response.
pub async fn json_body(r: reqwest::Response) -> Value {
    let text = r.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}
