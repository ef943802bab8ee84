//! Stateful emulators of the Dropbox API v2 and the OpenText Content Server REST API, with
//! fault injection, for tests, examples and benchmarks that must not need a real account.
//!
//! [`start`] runs both emulators in-process on loopback ports and returns a [`Sandbox`] handle
//! with their base URLs; the `ecm-sandbox` binary does the same from the command line and prints
//! `dropbox <url>` and `contentserver <url>` on stdout.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use sandbox::{start, FaultRule, SandboxConfig};
//!
//! let sandbox = start(SandboxConfig::new()).await?;
//! println!("Dropbox at {}", sandbox.dropbox_url());
//! println!("Content Server at {}", sandbox.contentserver_url());
//! // The second upload fails with 503.
//! sandbox.dropbox_faults().add(FaultRule::status("/2/files/upload", 503).with_nth(2)).unwrap();
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Both servers also serve a sandbox-only admin API (`/__sandbox/faults`, `/__sandbox/stats`,
//! `/__sandbox/manifest`; see the crate README) and count requests per route. Fixed credentials: Dropbox token [`dropbox::STATIC_TOKEN`] (`sandbox-token`), OAuth
//! app key `sandbox-app`, secret `sandbox-secret`, refresh token `sandbox-refresh`; Content
//! Server user `admin`, password `admin`.

mod admin;
pub mod config;
pub mod contentserver;
pub mod dropbox;
pub mod faults;
mod layer;
mod limit;
pub mod seed;
mod server;
pub mod stats;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;

pub use config::{FaultTarget, SandboxConfig, TlsFiles};
pub use faults::{FaultRule, FaultRuleError, Faults, LostAnswer, ServerKind};
pub use seed::Seed;
pub use stats::Stats;

use contentserver::{ContentServer, CsConfig};
use dropbox::{Dropbox, DropboxConfig, WebhookConfig};
use layer::LayerState;
use server::RunningServer;

/// A running sandbox: both emulators, their faults and stats. Dropping it stops the servers;
/// [`Sandbox::shutdown`] also waits for them.
#[derive(Debug)]
pub struct Sandbox {
    dropbox: Dropbox,
    contentserver: ContentServer,
    dropbox_server: Option<RunningServer>,
    contentserver_server: Option<RunningServer>,
    dropbox_faults: Faults,
    contentserver_faults: Faults,
    dropbox_stats: Stats,
    contentserver_stats: Stats,
    cs_prefix: String,
    data_dir: PathBuf,
    // Removed when the sandbox is dropped (declared last: dropped after the servers).
    _temp: Option<tempfile::TempDir>,
}

impl Sandbox {
    /// Base URL of the Dropbox emulator (every host's routes on one port), e.g.
    /// `http://127.0.0.1:40123`.
    pub fn dropbox_url(&self) -> String {
        self.server(&self.dropbox_server).base_url()
    }

    /// Base URL of the Content Server emulator including the prefix, e.g.
    /// `http://127.0.0.1:40124/otcs/cs.exe`.
    pub fn contentserver_url(&self) -> String {
        format!("{}{}", self.contentserver_origin(), self.cs_prefix)
    }

    /// Base URL of the Content Server emulator without the prefix (where `/__sandbox/*` is).
    pub fn contentserver_origin(&self) -> String {
        self.server(&self.contentserver_server).base_url()
    }

    fn server<'a>(&self, s: &'a Option<RunningServer>) -> &'a RunningServer {
        s.as_ref()
            .expect("servers live until shutdown consumes the sandbox")
    }

    /// The Dropbox listening address.
    pub fn dropbox_addr(&self) -> std::net::SocketAddr {
        self.server(&self.dropbox_server).local_addr()
    }

    /// The Content Server listening address.
    pub fn contentserver_addr(&self) -> std::net::SocketAddr {
        self.server(&self.contentserver_server).local_addr()
    }

    /// The Dropbox manifest of seeded ids (also `GET /__sandbox/manifest`).
    pub fn dropbox_manifest(&self) -> serde_json::Value {
        self.dropbox.manifest()
    }

    /// The Content Server manifest of seeded ids (also `GET /__sandbox/manifest`).
    pub fn contentserver_manifest(&self) -> serde_json::Value {
        self.contentserver.manifest()
    }

    /// The fault rules of the Dropbox emulator (add, list, remove at run time).
    pub fn dropbox_faults(&self) -> &Faults {
        &self.dropbox_faults
    }

    /// The fault rules of the Content Server emulator.
    pub fn contentserver_faults(&self) -> &Faults {
        &self.contentserver_faults
    }

    /// Request counts of the Dropbox emulator.
    pub fn dropbox_stats(&self) -> &Stats {
        &self.dropbox_stats
    }

    /// Request counts of the Content Server emulator.
    pub fn contentserver_stats(&self) -> &Stats {
        &self.contentserver_stats
    }

    /// The Dropbox emulator itself.
    pub fn dropbox(&self) -> &Dropbox {
        &self.dropbox
    }

    /// The Content Server emulator itself.
    pub fn contentserver(&self) -> &ContentServer {
        &self.contentserver
    }

    /// Where contents are stored (`dropbox/` and `contentserver/` below it).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Stops both servers: no new connections, open requests get a short grace period.
    pub async fn shutdown(mut self) {
        let a = self.dropbox_server.take();
        let b = self.contentserver_server.take();
        if let Some(a) = a {
            a.shutdown().await;
        }
        if let Some(b) = b {
            b.shutdown().await;
        }
    }
}

/// Starts both emulators as configured and returns once both listen.
pub async fn start(config: SandboxConfig) -> io::Result<Sandbox> {
    let (temp, data_dir) = match &config.data_dir {
        Some(dir) => (None, dir.clone()),
        None => {
            let temp = tempfile::Builder::new().prefix("ecm-sandbox-").tempdir()?;
            let path = temp.path().to_path_buf();
            (Some(temp), path)
        }
    };
    let dropbox = Dropbox::new(DropboxConfig {
        data_dir: data_dir.join("dropbox"),
        seed: config.seed,
        token_lifetime: config.token_lifetime,
        webhook: config.webhook.as_ref().map(|(url, secret)| WebhookConfig {
            url: url.clone(),
            app_secret: secret.clone(),
            debounce: config.webhook_debounce,
        }),
    })?;
    let contentserver = ContentServer::new(CsConfig {
        prefix: config.cs_prefix.clone(),
        data_dir: data_dir.join("contentserver"),
        seed: config.seed,
        ticket_ttl: config.ticket_ttl,
        ticket_idle_ttl: config.ticket_idle_ttl,
    })?;

    let dropbox_faults = {
        let d = dropbox.clone();
        Faults::new(
            ServerKind::Dropbox,
            config.fault_seed,
            Arc::new(move || d.expire_all_tokens()),
        )
    };
    let contentserver_faults = {
        let cs = contentserver.clone();
        Faults::new(
            ServerKind::ContentServer,
            config.fault_seed,
            Arc::new(move || cs.expire_all_tickets()),
        )
    };
    let invalid = |e: FaultRuleError| io::Error::new(io::ErrorKind::InvalidInput, e);
    if let Some(latency) = config.latency {
        dropbox_faults
            .add(FaultRule::latency("*", latency))
            .map_err(invalid)?;
        contentserver_faults
            .add(FaultRule::latency("*", latency))
            .map_err(invalid)?;
    }
    for (target, rule) in &config.faults {
        if matches!(target, FaultTarget::Dropbox | FaultTarget::Both) {
            dropbox_faults.add(rule.clone()).map_err(invalid)?;
        }
        if matches!(target, FaultTarget::ContentServer | FaultTarget::Both) {
            contentserver_faults.add(rule.clone()).map_err(invalid)?;
        }
    }
    let dropbox_stats = Stats::default();
    let contentserver_stats = Stats::default();

    let dropbox_app = {
        let layered = layer::wrap(
            dropbox.router(),
            LayerState {
                faults: dropbox_faults.clone(),
                stats: dropbox_stats.clone(),
                key: Arc::new(|_, path| stats::dropbox_key(path)),
                writes: limit::WriteLimit::new(config.write_limit.0),
            },
        );
        let d = dropbox.clone();
        layered
            .merge(admin::router(
                dropbox_faults.clone(),
                dropbox_stats.clone(),
                Arc::new(move || d.manifest()),
            ))
            .merge(dropbox.admin_router())
    };
    let contentserver_app = {
        let prefix = config.cs_prefix.clone();
        let layered = layer::wrap(
            contentserver.router(),
            LayerState {
                faults: contentserver_faults.clone(),
                stats: contentserver_stats.clone(),
                key: Arc::new(move |method, path| {
                    stats::contentserver_key(method.as_str(), path, &prefix)
                }),
                writes: limit::WriteLimit::new(config.write_limit.1),
            },
        );
        let cs = contentserver.clone();
        let admin = admin::router(
            contentserver_faults.clone(),
            contentserver_stats.clone(),
            Arc::new(move || cs.manifest()),
        );
        let mut app = layered.merge(admin.clone());
        if !config.cs_prefix.is_empty() && config.cs_prefix != "/" {
            app = app.merge(Router::new().nest(&config.cs_prefix, admin));
        }
        app
    };

    let tls = match &config.tls {
        Some(files) => Some(server::load_tls(
            &files.cert,
            &files.key,
            config.tls_client_ca.as_deref(),
        )?),
        None if config.tls_client_ca.is_some() => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "tls_client_ca needs tls (a server certificate and key)",
            ))
        }
        None => None,
    };
    let dropbox_listener = TcpListener::bind(config.dropbox_addr).await?;
    let contentserver_listener = TcpListener::bind(config.contentserver_addr).await?;
    let dropbox_server = RunningServer::start(dropbox_listener, dropbox_app, tls.clone())?;
    let contentserver_server =
        RunningServer::start(contentserver_listener, contentserver_app, tls)?;
    tracing::info!(
        dropbox = %dropbox_server.base_url(),
        contentserver = %contentserver_server.base_url(),
        "sandbox listening"
    );
    Ok(Sandbox {
        dropbox,
        contentserver,
        dropbox_server: Some(dropbox_server),
        contentserver_server: Some(contentserver_server),
        dropbox_faults,
        contentserver_faults,
        dropbox_stats,
        contentserver_stats,
        cs_prefix: config.cs_prefix,
        data_dir,
        _temp: temp,
    })
}
