//! Publishes selected Content Server documents to Dropbox for outside collaborators, and
//! withdraws those no longer selected (use case 2).
//!
//! With no configuration it starts the sandbox in-process with its demo seed: the documents
//! of `Published/Outside Counsel` with `Publication.External = yes` go to `/Shared/Outside
//! Counsel`, shared with an outside member, each with a view-only link that expires in 30
//! days. It then shows a withdrawal: one document's value is set to `no` and the next run
//! removes its copy and revokes its link. Real servers are named by `DROPBOX_TOKEN`,
//! `CS_URL`, `CS_USER` and `CS_PASSWORD`; `--config` reads the flow's settings from TOML
//! (the fields of `PublishConfig`), and `--state` keeps the state in a SQLite file.
//!
//! ```sh
//! cargo run -p ecm-examples --bin publish_to_dropbox
//! cargo run -p ecm-examples --bin publish_to_dropbox -- --config publish.toml --state publish.db
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use contentserver_client::api::categories::{AttrKey, AttrValue, CategoryValues};
use contentserver_client::Credentials;
use ecm_bridge::connectors::dropbox::Role;
use ecm_bridge::connectors::dropbox::SHARE_LINK_STEP;
use ecm_bridge::flows::publish_to_dropbox::{
    FolderShareConfig, MemberConfig, PublishConfig, PublishReport, PublishToDropbox,
};
use ecm_bridge::state::{MemoryStore, SqliteStore, Store};

/// Publish selected Content Server documents to Dropbox.
#[derive(Debug, Parser)]
struct Args {
    /// A TOML file with the flow's settings (default: the demo's).
    #[arg(long)]
    config: Option<PathBuf>,
    /// A SQLite state file (default: in memory).
    #[arg(long)]
    state: Option<PathBuf>,
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
        Some(path) => PublishConfig::load(path)?,
        None => PublishConfig::demo(),
    };
    let state: Arc<dyn Store> = match &args.state {
        Some(path) => Arc::new(SqliteStore::open(path)?),
        None => Arc::new(MemoryStore::new()),
    };
    let (dropbox, cs, sandbox) = match (env("DROPBOX_TOKEN"), env("CS_URL")) {
        (Some(token), Some(url)) => {
            let dropbox = dropbox_client::Client::builder()
                .access_token(dropbox_client::Secret::new(token))
                .build()?;
            let (user, password) = (
                env("CS_USER").ok_or("set CS_USER")?,
                env("CS_PASSWORD").ok_or("set CS_PASSWORD")?,
            );
            let cs = contentserver_client::Client::builder(url)
                .credentials(Credentials::password(user, password))
                .build()?;
            (dropbox, cs, None)
        }
        (None, None) => {
            let sandbox = sandbox::start(sandbox::SandboxConfig::new()).await?;
            let dropbox = dropbox_client::Client::builder()
                .base_url(sandbox.dropbox_url().parse()?)
                .access_token("sandbox-token")
                .build()?;
            let cs = contentserver_client::Client::builder(sandbox.contentserver_url())
                .credentials(Credentials::password("admin", "admin"))
                .build()?;
            if args.config.is_none() {
                config.folder_share = Some(FolderShareConfig {
                    members: vec![MemberConfig {
                        email: "counsel@lawfirm.example".into(),
                        role: Role::Viewer,
                    }],
                    member_policy: Some("anyone".into()),
                    ..FolderShareConfig::default()
                });
            }
            println!(
                "Running against the sandbox (Dropbox {}, Content Server {})",
                sandbox.dropbox_url(),
                sandbox.contentserver_url()
            );
            (dropbox, cs, Some(sandbox))
        }
        _ => return Err("set both DROPBOX_TOKEN and CS_URL (or neither, for the sandbox)".into()),
    };
    let record_category = config.record_category.clone();
    let bar = ecm_examples::progress::RunBar::new("published");
    let publisher = PublishToDropbox::new(dropbox, cs.clone(), state.clone(), config)
        .on_progress(bar.events())
        .build()
        .await?;

    let report = bar.run(publisher.run_once()).await?;
    print_report(
        &report,
        &state,
        publisher.flow().name(),
        &cs,
        &record_category,
    )
    .await?;

    if sandbox.is_some() && args.config.is_none() {
        // The demo's withdrawal: the first document published is set to External = no.
        if let Some(w) = report.run.written.first() {
            let node = w.source.node_id().ok_or("not a CS document")?;
            set_external_no(&cs, node).await?;
            println!(
                "\nSet Publication.External = no on {}; running again.",
                w.path
            );
            let second = bar.run(publisher.run_once()).await?;
            print_report(
                &second,
                &state,
                publisher.flow().name(),
                &cs,
                &record_category,
            )
            .await?;
        }
    }
    if let Some(sandbox) = sandbox {
        sandbox.shutdown().await;
    }
    Ok(())
}

/// What was published (with the link and the record in CS) and withdrawn.
async fn print_report(
    report: &PublishReport,
    state: &Arc<dyn Store>,
    flow: &str,
    cs: &contentserver_client::Client,
    record_category: &str,
) -> Result<(), BoxError> {
    println!("\n{}", report.summary());
    if let Some(id) = &report.shared_folder_id {
        println!("  shared folder id {id}");
    }
    for w in &report.run.written {
        println!("  published {} -> {}", w.path, w.location);
        let version = w.source.version.clone().unwrap_or_default();
        let steps = state.steps(flow, &w.source.key(), &version).await?;
        if let Some(url) = steps
            .iter()
            .find(|s| s.name == SHARE_LINK_STEP)
            .and_then(|s| s.output.as_ref())
            .and_then(|o| o.get("url"))
            .and_then(|u| u.as_str())
        {
            println!("    link {url} (view only, expiring)");
        }
        if let Some(node) = w.source.node_id() {
            for cat in cs.categories().list(node).await? {
                if cat.name.as_deref() != Some(record_category) {
                    continue;
                }
                for a in &cat.attributes {
                    if let (Some(name), Some(v)) = (&a.name, cat.values.get(&a.key)) {
                        if name.starts_with("Published") {
                            println!("    CS {record_category}.{name} = {v}");
                        }
                    }
                }
            }
        }
    }
    for s in &report.run.skipped {
        println!("  not selected {}: {}", s.path, s.reason);
    }
    for f in &report.run.failed {
        println!("  FAILED {}: {}", f.path.as_deref().unwrap_or("?"), f.error);
    }
    for w in &report.withdrawn {
        println!(
            "  withdrawn {} from {} ({}; {} link(s) revoked)",
            w.path.as_deref().unwrap_or("?"),
            w.location,
            w.reason,
            w.links_revoked
        );
    }
    for f in &report.withdraw_failed {
        println!(
            "  withdrawal FAILED {}: {}",
            f.path.as_deref().unwrap_or("?"),
            f.error
        );
    }
    Ok(())
}

async fn set_external_no(cs: &contentserver_client::Client, node: i64) -> Result<(), BoxError> {
    let cats = cs.categories().list(node).await?;
    let cat = cats
        .iter()
        .find(|c| c.name.as_deref() == Some("Publication"))
        .ok_or("no Publication category")?;
    let key = cat
        .attributes
        .iter()
        .find(|a| a.name.as_deref() == Some("External"))
        .ok_or("no External attribute")?;
    let attr: i64 = key
        .key
        .rsplit('_')
        .next()
        .and_then(|k| k.parse().ok())
        .ok_or("an attribute key without an id")?;
    let values = CategoryValues::new()
        .category(cat.id)
        .set(AttrKey::attr(cat.id, attr), AttrValue::Text("no".into()));
    cs.categories().update(node, cat.id, &values).await?;
    Ok(())
}
