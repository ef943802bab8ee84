//! Keeps Content Server documents and Dropbox files in step, CS being the record (use
//! case 5).
//!
//! With no configuration it starts the sandbox in-process with its demo seed and walks
//! through the sync: the documents of `Collaboration/Joint Venture` are published to
//! `/Joint Venture`; a partner edits one in Dropbox (it comes into CS as a pending minor
//! version, then is accepted by promotion), CS issues a new version of another (it goes out
//! by rev), both sides change the third (kept both: the Dropbox edit becomes a conflicted
//! copy), and a file is renamed in Dropbox (the CS document follows). Each run prints its
//! report. Real servers are named by `DROPBOX_TOKEN`, `CS_URL`, `CS_USER` and
//! `CS_PASSWORD` (then one run is made); `--config` reads the settings from TOML (the fields
//! of `SyncConfig`), `--state` keeps the state in a SQLite file, `--force` passes the
//! mass-deletion guard, `--review-folder` makes a Dropbox edit wait as a document in
//! `{cs_folder} Review` (the record document untouched until it is accepted) instead of as a
//! minor version.
//!
//! ```sh
//! cargo run -p ecm-examples --bin version_sync
//! cargo run -p ecm-examples --bin version_sync -- --review-folder
//! cargo run -p ecm-examples --bin version_sync -- --config sync.toml --state sync.db
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use bytes::Bytes;
use clap::Parser;
use contentserver_client::Credentials;
use dropbox_client::models::files::{CommitInfo, Metadata, RelocationArg, WriteMode};
use ecm_bridge::flows::version_sync::{PendingMode, SyncConfig, SyncRunner, VersionSync};
use ecm_bridge::state::{MemoryStore, SqliteStore, Store};

/// Keep CS documents and Dropbox files in step.
#[derive(Debug, Parser)]
struct Args {
    /// A TOML file with the flow's settings (default: the demo's).
    #[arg(long)]
    config: Option<PathBuf>,
    /// A SQLite state file (default: in memory).
    #[arg(long)]
    state: Option<PathBuf>,
    /// Run even if more than `max_delete_share` of the pairs would be deleted.
    #[arg(long)]
    force: bool,
    /// A Dropbox edit waits in CS as a document in the review folder (`pending =
    /// "review_folder"`), not as a minor version.
    #[arg(long)]
    review_folder: bool,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let mut text = e.to_string();
            let mut source = e.source();
            while let Some(s) = source {
                text.push_str(&format!(": {s}"));
                source = s.source();
            }
            eprintln!("error: {text}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), BoxError> {
    let mut config = match &args.config {
        Some(path) => SyncConfig::load(path)?,
        None => SyncConfig::demo(),
    };
    config.force |= args.force;
    if args.review_folder {
        config.pending = PendingMode::ReviewFolder;
    }
    let state: Arc<dyn Store> = match &args.state {
        Some(path) => Arc::new(SqliteStore::open(path)?),
        None => Arc::new(MemoryStore::new()),
    };
    let demo = match (env("DROPBOX_TOKEN"), env("CS_URL")) {
        (Some(_), Some(_)) => false,
        (None, None) => true,
        _ => return Err("set both DROPBOX_TOKEN and CS_URL (or neither, for the sandbox)".into()),
    };
    let (dropbox, cs, sandbox) = if demo {
        let sandbox = sandbox::start(sandbox::SandboxConfig::new()).await?;
        let dropbox = dropbox_client::Client::builder()
            .base_url(sandbox.dropbox_url().parse()?)
            .access_token("sandbox-token")
            .build()?;
        let cs = contentserver_client::Client::builder(sandbox.contentserver_url())
            .credentials(Credentials::password("admin", "admin"))
            .build()?;
        println!(
            "Running against the sandbox (Dropbox {}, Content Server {})",
            sandbox.dropbox_url(),
            sandbox.contentserver_url()
        );
        (dropbox, cs, Some(sandbox))
    } else {
        let dropbox = dropbox_client::Client::builder()
            .access_token(dropbox_client::Secret::new(
                env("DROPBOX_TOKEN").unwrap_or_default(),
            ))
            .build()?;
        let cs = contentserver_client::Client::builder(env("CS_URL").unwrap_or_default())
            .credentials(Credentials::password(
                env("CS_USER").ok_or("set CS_USER")?,
                env("CS_PASSWORD").ok_or("set CS_PASSWORD")?,
            ))
            .build()?;
        (dropbox, cs, None)
    };
    let folder = format!("/{}", config.dropbox_folder.trim_matches('/'));
    let bar = ecm_examples::progress::RunBar::new("synced");
    let sync = VersionSync::new(dropbox.clone(), cs.clone(), state, config)
        .on_progress(bar.events())
        .build()
        .await?;
    println!("\n# First run");
    print!("{}", bar.run(sync.run_once()).await?);
    if sandbox.is_none() || args.config.is_some() {
        return Ok(());
    }
    demo_changes(&sync, &bar, &dropbox, &cs, &folder).await
}

/// The demo's changes on both sides, a run after each step.
async fn demo_changes(
    sync: &SyncRunner,
    bar: &ecm_examples::progress::RunBar,
    dropbox: &dropbox_client::Client,
    cs: &contentserver_client::Client,
    folder: &str,
) -> Result<(), BoxError> {
    let ews = cs.nodes().enterprise_workspace().await?.id;
    let node = |name: &'static str| {
        let cs = cs.clone();
        async move {
            cs.nodes()
                .resolve_path(ews, &["Collaboration", "Joint Venture", name])
                .await?
                .map(|n| n.id)
                .ok_or_else(|| BoxError::from(format!("no {name}")))
        }
    };
    let edit = |name: &'static str, text: &'static str| {
        let dropbox = dropbox.clone();
        let path = format!("{folder}/{name}");
        async move {
            let Metadata::File(f) = dropbox.files().get_metadata(path.clone()).await? else {
                return Err(BoxError::from(format!("{path} is not a file")));
            };
            let commit = CommitInfo::new(path).mode(WriteMode::Update(f.rev));
            dropbox
                .files()
                .upload_bytes(commit, Bytes::from(text))
                .await?;
            Ok::<_, BoxError>(())
        }
    };

    println!("\n# A partner edits the Term Sheet in Dropbox; CS issues Budget 2027 v2; both change the Site Plan");
    edit("Term Sheet.docx", "Term Sheet, with the partner's changes.").await?;
    for (name, text) in [
        ("Budget 2027.xlsx", "Budget 2027, revised by finance."),
        ("Site Plan.pdf", "%PDF-1.4 Site Plan, phase 2 added in CS."),
    ] {
        cs.documents()
            .add_version(
                node(name).await?,
                contentserver_client::UploadBody::from_bytes(text),
            )
            .major(true)
            .send()
            .await?;
    }
    edit("Site Plan.pdf", "%PDF-1.4 Site Plan, the partner's markup.").await?;
    print!("{}", bar.run(sync.run_once()).await?);

    println!("\n# The Term Sheet's pending edit is accepted in CS (a new major version)");
    sync.accept(node("Term Sheet.docx").await?).await?;
    print!("{}", bar.run(sync.run_once()).await?);

    println!("\n# The partner renames Budget 2027.xlsx in Dropbox");
    dropbox
        .files()
        .move_entry(RelocationArg::new(
            format!("{folder}/Budget 2027.xlsx"),
            format!("{folder}/Budget 2027 (final).xlsx"),
        ))
        .await?;
    print!("{}", bar.run(sync.run_once()).await?);

    println!("\n# Nothing changed since: a second run does nothing");
    print!("{}", bar.run(sync.run_once()).await?);
    Ok(())
}
