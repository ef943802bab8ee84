//! Files Dropbox intake files into Content Server by rules (use case 3): target folder,
//! category values and RM class from the rules; unclassified files quarantined; names CS
//! refuses adapted with the original kept; the flow woken by signed Dropbox webhooks.
//!
//! With no configuration it starts the sandbox in-process with its demo seed, drops a few
//! files into `/Intake/...` as an outside party would, serves a webhook endpoint on loopback
//! that the sandbox sends its signed notifications to, prints the dry-run plan, runs the flow
//! (watching), then drops one more file and shows the webhook waking the flow. Real servers
//! are named by `DROPBOX_TOKEN`, `CS_URL`, `CS_USER`, `CS_PASSWORD` (one run, no webhook).
//!
//! ```sh
//! cargo run -p ecm-examples --bin classify_and_route
//! cargo run -p ecm-examples --bin classify_and_route -- --dry-run
//! cargo run -p ecm-examples --bin classify_and_route -- --dry-run --json
//! cargo run -p ecm-examples --bin classify_and_route -- --config my-classify.toml
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use clap::Parser;
use contentserver_client::Credentials;
use dropbox_client::models::files::CommitInfo;
use ecm_bridge::flows::classify_and_route::{
    ClassifyAndRoute, ClassifyConfig, ClassifyFlow, ORIGINAL_NAME,
};
use ecm_bridge::runner::{Progress, Report};
use ecm_bridge::state::SqliteStore;
use ecm_bridge::webhook::{router, WakeHub, WebhookHandler};
use tokio::sync::mpsc;

/// The settings and rules used when `--config` is not given.
const DEFAULT_CONFIG: &str = include_str!("../../config/classify.toml");

/// What the demo drops into the intake folders: routed files, a name CS refuses, two names
/// that collide after case folding, and a file no rule classifies.
const DEMO_INTAKE: [&str; 6] = [
    "/Intake/Finance/INV-2026-001 Acme.pdf",
    "/Intake/Finance/INV-2026-002 Globex.pdf",
    "/Intake/Finance/Scans/inv-2026-002 globex.pdf",
    "/Intake/Projects/P-1042 Site Survey.pdf",
    "/Intake/Projects/P-1042 Minutes 12:30.docx",
    "/Intake/Finance/notes.bin",
];

/// The file dropped later, to show the webhook waking the flow.
const LATE_FILE: &str = "/Intake/Finance/INV-2026-100 Initech.pdf";

/// File Dropbox intake files into Content Server by rules.
#[derive(Debug, Parser)]
struct Args {
    /// A TOML file with the flow's settings and its `[[rule]]` tables (default: the bundled
    /// examples/config/classify.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The state file (default: a temporary one).
    #[arg(long)]
    state: Option<PathBuf>,
    /// Print the plan (file, matched rules, target, category values, RM class); change
    /// nothing.
    #[arg(long)]
    dry_run: bool,
    /// With `--dry-run`: print the plan as JSON instead of a table.
    #[arg(long)]
    json: bool,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let mut text = e.to_string();
            let mut source = e.source();
            while let Some(s) = source {
                text.push_str(&format!(": {s}"));
                source = s.source();
            }
            eprintln!("classify_and_route: {text}");
            ExitCode::FAILURE
        }
    }
}

/// The servers: real ones from the environment, else the sandbox with a webhook endpoint.
struct Target {
    dropbox: dropbox_client::Client,
    cs: contentserver_client::Client,
    /// The hub the webhook endpoint wakes (sandbox only).
    hub: Option<WakeHub>,
    _sandbox: Option<sandbox::Sandbox>,
}

async fn target() -> Result<Target, BoxError> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if let (Some(token), Some(url), Some(user), Some(password)) = (
        env("DROPBOX_TOKEN"),
        env("CS_URL"),
        env("CS_USER"),
        env("CS_PASSWORD"),
    ) {
        return Ok(Target {
            dropbox: dropbox_client::Client::new(token)?,
            cs: contentserver_client::Client::builder(url)
                .credentials(Credentials::password(user, password))
                .build()?,
            hub: None,
            _sandbox: None,
        });
    }
    // The endpoint first, so the sandbox can be told where to send its notifications.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/webhook", listener.local_addr()?);
    let hub = WakeHub::new();
    let handler = WebhookHandler::new(sandbox::dropbox::APP_SECRET, hub.clone());
    let app = axum::Router::new().nest_service("/webhook", router(handler));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("webhook endpoint stopped: {e}");
        }
    });
    let sandbox = sandbox::start(
        sandbox::SandboxConfig::new().webhook(url.clone(), sandbox::dropbox::APP_SECRET),
    )
    .await?;
    eprintln!(
        "Sandbox: Dropbox {} · Content Server {}",
        sandbox.dropbox_url(),
        sandbox.contentserver_url()
    );
    eprintln!("Webhook endpoint: {url} (notifications signed with the app secret)\n");
    let dropbox = dropbox_client::Client::builder()
        .base_url(sandbox.dropbox_url().parse()?)
        .access_token("sandbox-token")
        .build()?;
    let cs = contentserver_client::Client::builder(sandbox.contentserver_url())
        .credentials(Credentials::password("admin", "admin"))
        .build()?;
    for path in DEMO_INTAKE {
        let body = format!("{path}\nAn intake document of the classify_and_route demo.\n");
        dropbox
            .files()
            .upload_bytes(CommitInfo::new(path), Bytes::from(body))
            .await?;
    }
    eprintln!(
        "Dropped {} files into the intake folders.\n",
        DEMO_INTAKE.len()
    );
    Ok(Target {
        dropbox,
        cs,
        hub: Some(hub),
        _sandbox: Some(sandbox),
    })
}

async fn run(args: Args) -> Result<(), BoxError> {
    let config = match &args.config {
        Some(p) => ClassifyConfig::load(p)?,
        None => ClassifyConfig::from_toml(DEFAULT_CONFIG)?,
    };
    let target = target().await?;
    let dir = ScratchDir::new()?;
    let state = args.state.clone().unwrap_or_else(|| dir.0.join("state.db"));
    let store = Arc::new(SqliteStore::open(&state)?);

    let (runs_tx, mut runs) = mpsc::unbounded_channel();
    let bar = ecm_examples::progress::RunBar::new("filed");
    let events = bar.events();
    let mut builder =
        ClassifyAndRoute::new(target.dropbox.clone(), target.cs.clone(), store, config)
            .on_progress(Arc::new(move |p: &Progress| {
                events(p);
                match p {
                    Progress::RunFinished(r) => {
                        let _ = runs_tx.send(Ok((**r).clone()));
                    }
                    Progress::RunFailed { error } => {
                        let _ = runs_tx.send(Err(error.clone()));
                    }
                    _ => {}
                }
            }));
    if let Some(hub) = &target.hub {
        // Woken by the webhook alone: no longpoll, and an hour between fallback runs.
        builder = builder.wake_hub(hub.clone()).longpoll(false);
    }
    let flow = builder.build()?;

    let plan = flow.plan().await?;
    if args.dry_run && args.json {
        println!("{}", serde_json::to_string_pretty(&plan)?);
        return Ok(());
    }
    println!("Plan (dry run; rules {}):\n{}", plan.rules, plan.table());
    if args.dry_run {
        return Ok(());
    }
    if target.hub.is_none() {
        let report = bar.run(flow.run_once()).await?;
        print_report(&report.run);
        return Ok(());
    }
    watch_with_webhook(&flow, &target, &mut runs).await
}

/// Watches: the first run files the intake; a late file's webhook wakes a second run.
async fn watch_with_webhook(
    flow: &ClassifyFlow,
    target: &Target,
    runs: &mut mpsc::UnboundedReceiver<Result<Report, String>>,
) -> Result<(), BoxError> {
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let watcher = {
        let f = flow.clone();
        tokio::spawn(async move {
            f.watch(Duration::from_secs(3600), async {
                let _ = stop_rx.await;
            })
            .await
        })
    };
    let wait = Duration::from_secs(60);
    let first = tokio::time::timeout(wait, runs.recv())
        .await?
        .ok_or("the flow stopped")??;
    print_report(&first);

    println!("\nA late file arrives: {LATE_FILE}");
    target
        .dropbox
        .files()
        .upload_bytes(
            CommitInfo::new(LATE_FILE),
            Bytes::from_static(b"late invoice\n"),
        )
        .await?;
    // Notifications of the first uploads may still wake runs that find nothing new: the run
    // to show is the one that files the late file.
    let late = LATE_FILE.trim_start_matches('/');
    let second = tokio::time::timeout(wait, async {
        loop {
            let report = runs.recv().await.ok_or("the flow stopped")??;
            if report.written.iter().any(|w| w.path == late) {
                return Ok::<_, BoxError>(report);
            }
        }
    })
    .await
    .map_err(|_| "no webhook woke the flow for the late file")??;
    println!("Woken by the signed webhook notification:");
    print_report(&second);
    let _ = stop_tx.send(());
    watcher.await??;
    Ok(())
}

fn print_report(report: &Report) {
    println!("\nFiled {}:", report.written.len());
    for w in &report.written {
        let rm = w.governance.rm_class.as_deref().unwrap_or("-");
        println!("  {} → {}  [RM {rm}]", w.path, w.location);
        for (cat, attrs) in &w.governance.categories {
            let values: Vec<String> = attrs.iter().map(|(a, v)| format!("{a}={v}")).collect();
            println!("      {cat}: {}", values.join("; "));
        }
        if let Some(o) = w.metadata.get(ORIGINAL_NAME) {
            println!("      adapted name; original kept: \"{o}\"");
        } else if !w
            .location
            .ends_with(w.path.rsplit('/').next().unwrap_or_default())
        {
            println!("      name taken in the folder after case folding; renamed, original kept");
        }
    }
    if !report.quarantined.is_empty() {
        println!("Quarantined {}:", report.quarantined.len());
        for q in &report.quarantined {
            println!("  {}: {}", q.path, q.reason);
        }
    }
    if !report.failed.is_empty() {
        println!("Failed {}:", report.failed.len());
        for f in &report.failed {
            println!("  {}: {}", f.path.as_deref().unwrap_or("?"), f.error);
        }
    }
    println!("{}", report.summary());
}

/// A fresh temporary directory for the state file, removed when dropped.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new() -> std::io::Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir =
            std::env::temp_dir().join(format!("classify_and_route-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(ScratchDir(dir))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
