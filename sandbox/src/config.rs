//! [`SandboxConfig`]: how [`crate::start`] sets both emulators up.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::faults::FaultRule;
use crate::seed::Seed;

/// Which server a fault rule given at start applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultTarget {
    /// The Dropbox emulator only.
    Dropbox,
    /// The Content Server emulator only.
    ContentServer,
    /// Both (each gets its own copy of the rule and its own counters).
    Both,
}

/// Certificate and key files (PEM) to serve https with.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The certificate chain (PEM).
    pub cert: PathBuf,
    /// The private key (PEM; PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Settings of a sandbox; build with [`SandboxConfig::new`] and the `with_*`/setter methods.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub(crate) dropbox_addr: SocketAddr,
    pub(crate) contentserver_addr: SocketAddr,
    pub(crate) cs_prefix: String,
    pub(crate) data_dir: Option<PathBuf>,
    pub(crate) seed: Seed,
    pub(crate) latency: Option<Duration>,
    pub(crate) token_lifetime: Duration,
    pub(crate) ticket_ttl: Option<Duration>,
    pub(crate) ticket_idle_ttl: Option<Duration>,
    pub(crate) tls: Option<TlsFiles>,
    pub(crate) tls_client_ca: Option<PathBuf>,
    pub(crate) faults: Vec<(FaultTarget, FaultRule)>,
    pub(crate) fault_seed: u64,
    pub(crate) webhook: Option<(String, String)>,
    pub(crate) webhook_debounce: Duration,
    pub(crate) write_limit: (usize, usize),
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig::new()
    }
}

impl SandboxConfig {
    /// Both servers on `127.0.0.1:0`, prefix `/otcs/cs.exe`, a temporary data directory, the
    /// demo seed, 4-hour OAuth tokens, tickets that never expire, plain http, no faults.
    pub fn new() -> SandboxConfig {
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        SandboxConfig {
            dropbox_addr: loopback,
            contentserver_addr: loopback,
            cs_prefix: "/otcs/cs.exe".to_owned(),
            data_dir: None,
            seed: Seed::Demo,
            latency: None,
            token_lifetime: Duration::from_secs(4 * 3600),
            ticket_ttl: None,
            ticket_idle_ttl: None,
            tls: None,
            tls_client_ca: None,
            faults: Vec::new(),
            fault_seed: 0,
            webhook: None,
            webhook_debounce: Duration::from_millis(100),
            write_limit: (0, 0),
        }
    }

    /// Where the Dropbox emulator listens.
    pub fn dropbox_addr(mut self, addr: SocketAddr) -> Self {
        self.dropbox_addr = addr;
        self
    }

    /// Where the Content Server emulator listens.
    pub fn contentserver_addr(mut self, addr: SocketAddr) -> Self {
        self.contentserver_addr = addr;
        self
    }

    /// The Content Server CGI prefix (default `/otcs/cs.exe`).
    pub fn cs_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.cs_prefix = prefix.into();
        self
    }

    /// Store contents in this directory instead of a temporary one (kept after shutdown).
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// The seed data (default [`Seed::Demo`]).
    pub fn seed(mut self, seed: Seed) -> Self {
        self.seed = seed;
        self
    }

    /// Latency added to every request on both servers (a `route=*,latency=…` fault rule).
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = Some(latency);
        self
    }

    /// Lifetime of Dropbox tokens issued by `/oauth2/token` (default 4 hours; zero makes every
    /// issued token expired at once).
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = lifetime;
        self
    }

    /// Fixed lifetime of Content Server tickets.
    pub fn ticket_ttl(mut self, ttl: Duration) -> Self {
        self.ticket_ttl = Some(ttl);
        self
    }

    /// Idle lifetime of Content Server tickets.
    pub fn ticket_idle_ttl(mut self, ttl: Duration) -> Self {
        self.ticket_idle_ttl = Some(ttl);
        self
    }

    /// Serve https with this certificate and key.
    pub fn tls(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.tls = Some(TlsFiles {
            cert: cert.into(),
            key: key.into(),
        });
        self
    }

    /// Require every https client to present a certificate signed by a CA of this PEM file
    /// (mutual TLS); needs [`tls`](SandboxConfig::tls). A client without one fails the
    /// handshake and reaches no route.
    pub fn tls_client_ca(mut self, ca: impl Into<PathBuf>) -> Self {
        self.tls_client_ca = Some(ca.into());
        self
    }

    /// A fault rule active from the start.
    pub fn fault(mut self, target: FaultTarget, rule: FaultRule) -> Self {
        self.faults.push((target, rule));
        self
    }

    /// A write capacity of `target`: a write (Content Server: any method but `GET`/`HEAD`,
    /// login aside; Dropbox: the `files/*` routes that change the tree) that arrives while `n`
    /// writes to that server are in flight is refused with 429 and `Retry-After: 1` (Dropbox:
    /// reason `too_many_write_operations`), and counted in its stats (`limited`,
    /// [`crate::Stats::limited`]). A write is in flight until its answer is returned, a
    /// `latency` rule's delay included. 0 (the default) removes the limit.
    pub fn write_limit(mut self, target: FaultTarget, n: usize) -> Self {
        if matches!(target, FaultTarget::Dropbox | FaultTarget::Both) {
            self.write_limit.0 = n;
        }
        if matches!(target, FaultTarget::ContentServer | FaultTarget::Both) {
            self.write_limit.1 = n;
        }
        self
    }

    /// The seed of the fault generator (`rate` rules), default 0.
    pub fn fault_seed(mut self, seed: u64) -> Self {
        self.fault_seed = seed;
        self
    }

    /// Send Dropbox webhook notifications to `url`, signed with `app_secret`.
    pub fn webhook(mut self, url: impl Into<String>, app_secret: impl Into<String>) -> Self {
        self.webhook = Some((url.into(), app_secret.into()));
        self
    }

    /// How long webhook changes are collected before one notification (default 100 ms).
    pub fn webhook_debounce(mut self, debounce: Duration) -> Self {
        self.webhook_debounce = debounce;
        self
    }
}
