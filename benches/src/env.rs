//! The sandbox the harness measures against: started in this process (the large-file
//! transfers run in child processes, so their peak RSS is theirs alone), its latency set and
//! its requests counted over its admin API (`/__sandbox/faults`, `/__sandbox/stats`), as any
//! client of the `ecm-sandbox` binary would.

use std::collections::BTreeMap;
use std::path::Path;

use contentserver_client::Credentials;
use serde_json::{json, Value};

use crate::{ctx, Result};

/// Dropbox access token of the sandbox's first account.
pub const DROPBOX_TOKEN: &str = "sandbox-token";

/// A running sandbox and the URLs of its two servers.
pub struct Bench {
    sandbox: sandbox::Sandbox,
    http: reqwest::Client,
    /// Where both servers keep their contents (removed with the sandbox).
    _data: tempfile::TempDir,
}

/// Requests counted per route on both servers (`/__sandbox/stats`).
#[derive(Debug, Clone, Default)]
pub struct Counts {
    /// Dropbox routes (`/2/files/upload`).
    pub dropbox: BTreeMap<String, u64>,
    /// Content Server routes (`POST /api/v2/nodes`).
    pub cs: BTreeMap<String, u64>,
}

impl Counts {
    /// Requests on Dropbox.
    pub fn dropbox_total(&self) -> u64 {
        self.dropbox.values().sum()
    }

    /// Requests on Content Server.
    pub fn cs_total(&self) -> u64 {
        self.cs.values().sum()
    }

    /// Requests on both.
    pub fn total(&self) -> u64 {
        self.dropbox_total() + self.cs_total()
    }

    /// Each route's requests per file, most first: `"CS POST /api/v2/nodes 1.00"`.
    pub fn per_file(&self, files: usize) -> Vec<(String, f64)> {
        let n = files.max(1) as f64;
        let mut all: Vec<(String, f64)> = self
            .dropbox
            .iter()
            .map(|(k, v)| (format!("Dropbox {k}"), *v as f64 / n))
            .chain(
                self.cs
                    .iter()
                    .map(|(k, v)| (format!("CS {k}"), *v as f64 / n)),
            )
            .collect();
        all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        all
    }
}

impl Bench {
    /// Starts the sandbox (demo seed) with its contents in a new directory under `data_parent`.
    pub async fn start(data_parent: &Path) -> Result<Bench> {
        Bench::start_with(data_parent, sandbox::SandboxConfig::new()).await
    }

    /// Like [`Bench::start`] with `config` (its data directory replaced): a fault seed, a
    /// write limit.
    pub async fn start_with(data_parent: &Path, config: sandbox::SandboxConfig) -> Result<Bench> {
        let data = ctx(
            tempfile::Builder::new()
                .prefix("ecm-bench-")
                .tempdir_in(data_parent),
            format!("sandbox data dir under {}", data_parent.display()),
        )?;
        let sandbox = ctx(
            sandbox::start(config.data_dir(data.path())).await,
            "starting the sandbox",
        )?;
        Ok(Bench {
            sandbox,
            http: reqwest::Client::new(),
            _data: data,
        })
    }

    /// The sandbox itself: its fault rules and counters, in this process.
    pub fn sandbox(&self) -> &sandbox::Sandbox {
        &self.sandbox
    }

    /// The Dropbox base URL.
    pub fn dropbox_url(&self) -> String {
        self.sandbox.dropbox_url()
    }

    /// The Content Server base URL (with the CGI prefix).
    pub fn cs_url(&self) -> String {
        self.sandbox.contentserver_url()
    }

    /// A Dropbox client of the first account.
    pub fn dropbox(&self) -> Result<dropbox_client::Client> {
        dropbox_client(&self.dropbox_url())
    }

    /// A Content Server client logged in as `admin`.
    pub fn cs(&self) -> Result<contentserver_client::Client> {
        cs_client(&self.cs_url())
    }

    fn admin_urls(&self, path: &str) -> [String; 2] {
        [
            format!("{}/__sandbox/{path}", self.dropbox_url()),
            format!("{}/__sandbox/{path}", self.sandbox.contentserver_origin()),
        ]
    }

    /// Sets the latency added to every request on both servers (0: none), replacing every
    /// fault rule.
    pub async fn set_latency_ms(&self, ms: u64) -> Result<()> {
        for url in self.admin_urls("faults") {
            let r = ctx(self.http.delete(&url).send().await, format!("DELETE {url}"))?;
            ctx(r.error_for_status(), format!("DELETE {url}"))?;
            if ms > 0 {
                let r = ctx(
                    self.http
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(json!({ "route": "*", "latency": ms }).to_string())
                        .send()
                        .await,
                    format!("POST {url}"),
                )?;
                ctx(r.error_for_status(), format!("POST {url}"))?;
            }
        }
        Ok(())
    }

    /// Writes `files` small files of `size` bytes under `root` of Dropbox namespace
    /// `namespace`, `per_folder` to a folder, in one request (`POST /__sandbox/bulk_files`;
    /// file `i` is `{root}/d{i / per_folder:05}/f{i:06}.txt`).
    pub async fn bulk_files(
        &self,
        namespace: u64,
        root: &str,
        files: usize,
        per_folder: usize,
        size: usize,
    ) -> Result<()> {
        let url = format!("{}/__sandbox/bulk_files", self.dropbox_url());
        let r = ctx(
            self.http
                .post(&url)
                .header("content-type", "application/json")
                .body(
                    json!({"namespace": namespace, "root": root, "files": files,
                           "per_folder": per_folder, "size": size})
                    .to_string(),
                )
                .send()
                .await,
            format!("POST {url}"),
        )?;
        let status = r.status();
        let body = ctx(r.text().await, format!("POST {url}: body"))?;
        if !status.is_success() {
            return Err(format!("POST {url}: {status}: {body}").into());
        }
        Ok(())
    }

    /// Sets the request counts of both servers to zero.
    pub async fn reset_stats(&self) -> Result<()> {
        for url in self.admin_urls("stats/reset") {
            let r = ctx(self.http.post(&url).send().await, format!("POST {url}"))?;
            ctx(r.error_for_status(), format!("POST {url}"))?;
        }
        Ok(())
    }

    /// The request counts of both servers since the last reset.
    pub async fn stats(&self) -> Result<Counts> {
        let [d, c] = self.admin_urls("stats");
        Ok(Counts {
            dropbox: self.routes(&d).await?,
            cs: self.routes(&c).await?,
        })
    }

    async fn routes(&self, url: &str) -> Result<BTreeMap<String, u64>> {
        let body = ctx(
            ctx(self.http.get(url).send().await, format!("GET {url}"))?
                .bytes()
                .await,
            format!("GET {url}: body"),
        )?;
        let v: Value = ctx(serde_json::from_slice(&body), format!("GET {url}: JSON"))?;
        let routes = v["routes"]
            .as_object()
            .ok_or_else(|| format!("GET {url}: no routes object"))?;
        Ok(routes
            .iter()
            .map(|(k, n)| (k.clone(), n.as_u64().unwrap_or(0)))
            .collect())
    }

    /// The Content Server seed manifest (ids of categories, RM classes, groups, …).
    pub fn cs_manifest(&self) -> Value {
        self.sandbox.contentserver_manifest()
    }
}

/// A Dropbox client of the sandbox's first account at `url`.
pub fn dropbox_client(url: &str) -> Result<dropbox_client::Client> {
    dropbox_client_with(url, dropbox_client::RetryPolicy::default())
}

/// Like [`dropbox_client`] with `policy` as its retry policy.
pub fn dropbox_client_with(
    url: &str,
    policy: dropbox_client::RetryPolicy,
) -> Result<dropbox_client::Client> {
    let base = ctx(url.parse(), format!("Dropbox URL {url}"))?;
    ctx(
        dropbox_client::Client::builder()
            .base_url(base)
            .access_token(DROPBOX_TOKEN)
            .retry_policy(policy)
            .build(),
        "building the Dropbox client",
    )
}

/// A Content Server client logged in as the sandbox's `admin` at `url`.
pub fn cs_client(url: &str) -> Result<contentserver_client::Client> {
    cs_client_with(url, contentserver_client::RetryPolicy::default())
}

/// Like [`cs_client`] with `policy` as its retry policy.
pub fn cs_client_with(
    url: &str,
    policy: contentserver_client::RetryPolicy,
) -> Result<contentserver_client::Client> {
    ctx(
        contentserver_client::Client::builder(url.to_owned())
            .credentials(Credentials::password("admin", "admin"))
            .retry_policy(policy)
            .build(),
        "building the Content Server client",
    )
}
