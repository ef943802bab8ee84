//! `ecm-sandbox`: runs the Dropbox and Content Server emulators until SIGINT or SIGTERM.
//!
//! Contract: as soon as both servers listen it prints exactly two lines on stdout,
//! `dropbox <base-url>` and `contentserver <base-url-with-prefix>`, and nothing else.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use sandbox::{FaultRule, FaultTarget, SandboxConfig, Seed};

const CREDENTIALS: &str = "\
Default credentials:
  Dropbox   access token  sandbox-token       (first account, Dana Demo)
            access token  sandbox-token-2     (second account, Olu Outside)
            team token    sandbox-team-token  (with Dropbox-API-Select-User: dbmid:dana | dbmid:olu)
            OAuth app key sandbox-app, app secret sandbox-secret, refresh token sandbox-refresh
  Content Server  user admin, password admin

Fault rules (--fault, --dropbox-fault, --contentserver-fault; repeatable):
  comma-separated key=value pairs, e.g. 'route=/2/files/upload,status=503,nth=2'
  route=*|<route key>|<prefix>*   action: latency=MS | status=CODE | retry_after=S | reset |
  truncate=BYTES | expire | lose=502|504|reset|stall [hold=MS] (handled, then the answer lost)
  trigger: rate=P | nth=N | every=N | count=N";

/// Stateful Dropbox and Content Server emulators with fault injection.
#[derive(Debug, Parser)]
#[command(name = "ecm-sandbox", version, after_help = CREDENTIALS)]
struct Args {
    /// Address of the Dropbox emulator.
    #[arg(long, default_value = "127.0.0.1:0")]
    dropbox_addr: SocketAddr,
    /// Address of the Content Server emulator.
    #[arg(long, default_value = "127.0.0.1:0")]
    contentserver_addr: SocketAddr,
    /// Content Server CGI prefix (the API is also served at the root).
    #[arg(long, default_value = "/otcs/cs.exe")]
    cs_prefix: String,
    /// Where file contents are stored (default: a temporary directory removed at exit).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Seed data: demo or empty.
    #[arg(long, default_value = "demo")]
    seed: Seed,
    /// Latency added to every request, in milliseconds.
    #[arg(long)]
    latency_ms: Option<u64>,
    /// Certificate chain (PEM) to serve https with; needs --tls-key.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// Private key (PEM) to serve https with; needs --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// CA certificates (PEM): require clients to present a certificate they signed (mutual
    /// TLS); needs --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_client_ca: Option<PathBuf>,
    /// Fault rule for both servers.
    #[arg(long = "fault", value_name = "RULE")]
    faults: Vec<FaultRule>,
    /// Fault rule for the Dropbox emulator.
    #[arg(long = "dropbox-fault", value_name = "RULE")]
    dropbox_faults: Vec<FaultRule>,
    /// Fault rule for the Content Server emulator.
    #[arg(long = "contentserver-fault", value_name = "RULE")]
    contentserver_faults: Vec<FaultRule>,
    /// Seed of the fault generator (rate rules).
    #[arg(long, default_value_t = 0)]
    fault_seed: u64,
    /// Lifetime of Dropbox OAuth access tokens, in seconds.
    #[arg(long, default_value_t = 14400)]
    token_lifetime_secs: u64,
    /// Fixed lifetime of Content Server tickets, in seconds.
    #[arg(long)]
    ticket_ttl_secs: Option<u64>,
    /// Idle lifetime of Content Server tickets, in seconds.
    #[arg(long)]
    ticket_idle_ttl_secs: Option<u64>,
    /// URL to send Dropbox webhook notifications to.
    #[arg(long)]
    webhook_url: Option<String>,
    /// App secret that signs webhook notifications.
    #[arg(long, default_value = "sandbox-secret")]
    webhook_secret: String,
}

fn config(args: Args) -> SandboxConfig {
    let mut config = SandboxConfig::new()
        .dropbox_addr(args.dropbox_addr)
        .contentserver_addr(args.contentserver_addr)
        .cs_prefix(args.cs_prefix)
        .seed(args.seed)
        .fault_seed(args.fault_seed)
        .token_lifetime(Duration::from_secs(args.token_lifetime_secs));
    if let Some(dir) = args.data_dir {
        config = config.data_dir(dir);
    }
    if let Some(ms) = args.latency_ms {
        config = config.latency(Duration::from_millis(ms));
    }
    if let (Some(cert), Some(key)) = (args.tls_cert, args.tls_key) {
        config = config.tls(cert, key);
    }
    if let Some(ca) = args.tls_client_ca {
        config = config.tls_client_ca(ca);
    }
    for (target, rules) in [
        (FaultTarget::Both, args.faults),
        (FaultTarget::Dropbox, args.dropbox_faults),
        (FaultTarget::ContentServer, args.contentserver_faults),
    ] {
        for rule in rules {
            config = config.fault(target, rule);
        }
    }
    if let Some(secs) = args.ticket_ttl_secs {
        config = config.ticket_ttl(Duration::from_secs(secs));
    }
    if let Some(secs) = args.ticket_idle_ttl_secs {
        config = config.ticket_idle_ttl(Duration::from_secs(secs));
    }
    if let Some(url) = args.webhook_url {
        config = config.webhook(url, args.webhook_secret);
    }
    config
}

/// SIGINT and SIGTERM, registered before the servers start so an early signal is not lost.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn register() -> std::io::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    async fn wait(mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ecm-sandbox: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let signals = match Signals::register() {
            Ok(s) => s,
            Err(e) => {
                eprintln!("ecm-sandbox: cannot handle signals: {e}");
                return ExitCode::FAILURE;
            }
        };
        let sandbox = match sandbox::start(config(args)).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("ecm-sandbox: {e}");
                return ExitCode::FAILURE;
            }
        };
        let mut out = std::io::stdout().lock();
        let printed = writeln!(out, "dropbox {}", sandbox.dropbox_url())
            .and_then(|()| writeln!(out, "contentserver {}", sandbox.contentserver_url()))
            .and_then(|()| out.flush());
        drop(out);
        if let Err(e) = printed {
            eprintln!("ecm-sandbox: cannot write to stdout: {e}");
            return ExitCode::FAILURE;
        }
        signals.wait().await;
        sandbox.shutdown().await;
        ExitCode::SUCCESS
    })
}
