//! Calls the Dropbox emulator over raw HTTP and checks every answer against the Stone table:
//! the route's result type on 200, its error type on 409, `AuthError` on 401, `AccessError` on
//! 403, `PathRootError` on 422, `RateLimitError` on 429; 400 must be plain text. What each call
//! found is collected, so one run reports every problem, and which routes answered with success
//! is recorded for the coverage check against the manifest.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Mutex;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{Prim, Spec, Ty};

/// The emulator's access token of the first account.
pub const TOKEN: &str = "sandbox-token";

/// One request: the URL path (`/2/files/upload`), auth, extra headers, argument and body.
pub struct Req {
    pub path: String,
    pub auth: Auth,
    pub headers: Vec<(String, String)>,
    pub arg: Value,
    pub body: Vec<u8>,
}

/// How a request authenticates.
pub enum Auth {
    Bearer(String),
    Basic(String, String),
    None,
}

impl Req {
    /// A call of `route` (`files/list_folder`) with the first account's token.
    pub fn new(route: &str, arg: Value) -> Req {
        Req {
            path: format!("/2/{route}"),
            auth: Auth::Bearer(TOKEN.to_owned()),
            headers: Vec::new(),
            arg,
            body: Vec::new(),
        }
    }

    /// With another bearer token.
    pub fn token(mut self, token: &str) -> Req {
        self.auth = Auth::Bearer(token.to_owned());
        self
    }

    /// With another kind of auth.
    pub fn auth(mut self, auth: Auth) -> Req {
        self.auth = auth;
        self
    }

    /// With one more header.
    pub fn header(mut self, name: &str, value: &str) -> Req {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// With a request body (upload style).
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Req {
        self.body = body.into();
        self
    }
}

/// An answer: status, headers, the JSON result (body, or `Dropbox-API-Result` for downloads)
/// and the body bytes.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
    pub bytes: Vec<u8>,
}

#[derive(Default)]
struct Log {
    problems: Vec<String>,
    ok: BTreeSet<String>,
    errors: BTreeMap<String, BTreeSet<String>>,
}

/// The spec, a running sandbox and what was found so far.
pub struct Ctx {
    pub spec: Spec,
    pub sandbox: sandbox::Sandbox,
    pub url: String,
    http: reqwest::Client,
    log: Mutex<Log>,
}

impl Ctx {
    /// Loads `spec/` and `extra/` and starts a sandbox with the demo seed.
    pub async fn start() -> Ctx {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/stone");
        let spec = Spec::load(&[&dir.join("spec"), &dir.join("extra")]).expect("the Stone table");
        let sandbox = sandbox::start(sandbox::SandboxConfig::new())
            .await
            .expect("sandbox starts");
        let url = sandbox.dropbox_url();
        let http = reqwest::Client::builder()
            .tcp_nodelay(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Ctx {
            spec,
            sandbox,
            url,
            http,
            log: Mutex::new(Log::default()),
        }
    }

    fn log(&self) -> std::sync::MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a problem found outside the type checks (a wrong status, say).
    pub fn problem(&self, message: String) {
        self.log().problems.push(message);
    }

    /// The spec route of a URL path; the OAuth token endpoint is `oauth2/token` in `extra/`.
    fn route(&self, path: &str) -> Option<&super::Route> {
        let key = match path {
            "/oauth2/token" | "/1/oauth2/token" => "/2/oauth2/token",
            other => other,
        };
        self.spec.routes.get(key)
    }

    /// Sends `req` as its route's style says and checks the answer.
    pub async fn call(&self, req: Req) -> Reply {
        let Some(route) = self.route(&req.path).cloned() else {
            self.problem(format!(
                "{}: no Stone route in tests/stone (add it to extra/ if the spec lacks it)",
                req.path
            ));
            return Reply {
                status: StatusCode::NOT_IMPLEMENTED,
                headers: HeaderMap::new(),
                json: Value::Null,
                bytes: Vec::new(),
            };
        };
        let mut rb = self.http.post(format!("{}{}", self.url, req.path));
        rb = match &req.auth {
            Auth::Bearer(token) => rb.bearer_auth(token),
            Auth::Basic(user, password) => rb.basic_auth(user, Some(password)),
            Auth::None => rb,
        };
        let oauth = req.path.ends_with("oauth2/token");
        rb = if oauth {
            let form: BTreeMap<String, String> = serde_json::from_value(req.arg.clone())
                .expect("OAuth arguments are a map of strings");
            rb.form(&form)
        } else if route.style == "rpc" {
            rb.header("content-type", "application/json")
                .body(req.arg.to_string())
        } else {
            rb.header("dropbox-api-arg", req.arg.to_string())
                .header("content-type", "application/octet-stream")
                .body(req.body.clone())
        };
        for (name, value) in &req.headers {
            rb = rb.header(name, value);
        }
        let response = rb.send().await.expect("request");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body").to_vec();
        let download = route.style == "download" && status == StatusCode::OK;
        let json = if download {
            headers
                .get("dropbox-api-result")
                .and_then(|v| serde_json::from_slice(v.as_bytes()).ok())
                .unwrap_or(Value::Null)
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        let reply = Reply {
            status,
            headers,
            json,
            bytes,
        };
        self.check(&req.path, &route, oauth, &reply);
        reply
    }

    fn check(&self, path: &str, route: &super::Route, oauth: bool, reply: &Reply) {
        let at = path.trim_start_matches("/2/");
        let text = || String::from_utf8_lossy(&reply.bytes).into_owned();
        let named = |ns: &str, name: &str| Ty::Named {
            ns: ns.to_owned(),
            name: name.to_owned(),
        };
        let content_type = reply
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let problems = match reply.status.as_u16() {
            200 => {
                let unit = route.result == Ty::Prim(Prim::Void);
                if route.style != "download" && content_type != "application/json" {
                    vec![format!("{at}: 200 with Content-Type {content_type:?}")]
                } else if reply.json.is_null() && !unit {
                    vec![format!("{at}: 200 without a JSON result: {}", text())]
                } else if unit && route.style != "download" && text().trim() != "null" {
                    vec![format!(
                        "{at}: a Void result is the body `null`, got {:?}",
                        text()
                    )]
                } else {
                    self.log().ok.insert(path.to_owned());
                    self.spec.check(&route.result, &reply.json, at)
                }
            }
            400 | 401 if oauth => self.spec.check(&route.error, &reply.json, at),
            400 => match content_type.starts_with("text/plain") {
                true => Vec::new(),
                false => vec![format!(
                    "{at}: 400 must be plain text, got {content_type:?}"
                )],
            },
            status => {
                let ty = match status {
                    409 => route.error.clone(),
                    401 => named("auth", "AuthError"),
                    403 => named("auth", "AccessError"),
                    422 => named("common", "PathRootError"),
                    429 => named("auth", "RateLimitError"),
                    _ => {
                        self.problem(format!("{at}: unexpected status {status}: {}", text()));
                        return;
                    }
                };
                let tag = reply.json["error"][".tag"]
                    .as_str()
                    .unwrap_or("?")
                    .to_owned();
                self.log()
                    .errors
                    .entry(path.to_owned())
                    .or_default()
                    .insert(format!("{status} {tag}"));
                self.spec.check_error(&ty, &reply.json, at)
            }
        };
        self.log().problems.extend(problems);
    }

    /// Calls `route` with the first account's token and expects 200.
    pub async fn ok(&self, route: &str, arg: Value) -> Value {
        self.expect_ok(Req::new(route, arg)).await
    }

    /// Sends `req` and expects 200; returns the result.
    pub async fn expect_ok(&self, req: Req) -> Value {
        let path = req.path.clone();
        let reply = self.call(req).await;
        if reply.status != StatusCode::OK {
            self.problem(format!(
                "{path}: expected 200, got {}: {}",
                reply.status,
                String::from_utf8_lossy(&reply.bytes)
            ));
        }
        reply.json
    }

    /// Calls `route` and expects a 409 whose `error_summary` starts with `summary`; returns
    /// the `error`.
    pub async fn err(&self, route: &str, arg: Value, summary: &str) -> Value {
        self.expect_status(Req::new(route, arg), 409, summary).await
    }

    /// Sends `req` and expects `status` with an `error_summary` starting with `summary`.
    pub async fn expect_status(&self, req: Req, status: u16, summary: &str) -> Value {
        let path = req.path.clone();
        let reply = self.call(req).await;
        let got = reply.json["error_summary"].as_str().unwrap_or_default();
        if reply.status.as_u16() != status || !got.starts_with(summary) {
            self.problem(format!(
                "{path}: expected {status} {summary}, got {} {}",
                reply.status,
                String::from_utf8_lossy(&reply.bytes)
            ));
        }
        reply.json["error"].clone()
    }

    /// Uploads `body` through an upload-style route and expects 200.
    pub async fn upload(&self, route: &str, arg: Value, body: &[u8]) -> Value {
        self.expect_ok(Req::new(route, arg).body(body.to_vec()))
            .await
    }

    /// Whether the manifest lists `path` (for calls of routes other branches add).
    pub fn serves(&self, path: &str) -> bool {
        self.routes().iter().any(|r| r == path)
    }

    /// The routes the emulator serves, from its manifest.
    pub fn routes(&self) -> Vec<String> {
        let manifest = self.sandbox.dropbox_manifest();
        serde_json::from_value(manifest["routes"].clone()).unwrap_or_default()
    }

    /// The manifest over HTTP (`GET /__sandbox/manifest`).
    pub async fn manifest(&self) -> Value {
        let r = self
            .http
            .get(format!("{}/__sandbox/manifest", self.url))
            .send()
            .await
            .expect("manifest");
        let bytes = r.bytes().await.expect("manifest body");
        serde_json::from_slice(&bytes).expect("manifest JSON")
    }

    /// Panics with every problem found, and with every served route that never answered 200
    /// to a checked call (except `exempt`, routes whose answer is not JSON).
    pub fn finish(&self, served: &[String], exempt: &[&str]) {
        let log = self.log();
        let mut report = log.problems.clone();
        for path in served {
            if !log.ok.contains(path) && !exempt.contains(&path.as_str()) {
                report.push(format!(
                    "{path}: served (manifest) but no checked success answer: add a call in \
                     tests/stone_conformance/"
                ));
            }
        }
        let errors: Vec<String> = log
            .errors
            .iter()
            .map(|(path, seen)| format!("{path}: {seen:?}"))
            .collect();
        eprintln!(
            "checked {} routes with success answers; error answers checked:\n  {}",
            log.ok.len(),
            errors.join("\n  ")
        );
        assert!(
            report.is_empty(),
            "{} conformance problems:\n{}",
            report.len(),
            report.join("\n")
        );
    }
}

/// `{".tag": tag}`.
pub fn tag(tag: &str) -> Value {
    json!({ ".tag": tag })
}
