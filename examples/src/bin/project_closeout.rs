//! Closes out a finished Dropbox project folder into Content Server (use case 6).
//!
//! With no arguments it starts the sandbox in-process with its demo seed and closes out
//! `Projects/P-1042 Riverside Tower` into a business workspace created from the seed's
//! `Project Workspace Template` (with the `Project Closeout` category values), classified
//! `PRJ-10 Project Records` and under the `Riverside Tower Litigation` hold; the Dropbox
//! folder is then moved to `/Archive/Projects`. It prints the manifest summary, and runs a
//! second time to show that nothing changes.
//!
//! `--config closeout.toml` gives the closeout's settings (`CloseoutConfig`: project folder,
//! target, class, hold, archive area, delete flags); the servers stay the sandbox's.
//!
//! ```sh
//! cargo run -p ecm-examples --bin project_closeout
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use contentserver_client::Credentials;
use ecm_bridge::flows::project_closeout::{Closeout, CloseoutConfig, ProjectCloseout};
use ecm_bridge::state::MemoryStore;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Close out a Dropbox project folder into Content Server.
#[derive(Debug, Parser)]
struct Args {
    /// A TOML file with the closeout's settings (default: the demo project into a workspace).
    #[arg(long)]
    config: Option<PathBuf>,
}

/// The demo closeout, with the ids the sandbox's seed gave the workspace type, its template
/// and the `Project Closeout` category.
fn demo_config(manifest: &serde_json::Value) -> Result<CloseoutConfig, BoxError> {
    let ws = &manifest["workspace_types"]["Project"];
    let id = |v: &serde_json::Value, what: &str| {
        v.as_i64()
            .ok_or_else(|| format!("the sandbox's manifest has no {what}"))
    };
    let type_id = id(&ws["id"], "workspace type Project")?;
    let template = id(
        &ws["templates"]["Project Workspace Template"],
        "Project Workspace Template",
    )?;
    let category = id(
        &manifest["categories"]["Project Closeout"]["id"],
        "category Project Closeout",
    )?;
    Ok(CloseoutConfig::from_toml(&format!(
        r#"
project_folder = "/Projects/P-1042 Riverside Tower"
rm_class = "PRJ-10 Project Records"
hold = "Riverside Tower Litigation"
archive_to = "/Archive/Projects"
[target]
kind = "workspace"
type_id = {type_id}
template_id = {template}
category_id = {category}
values = {{ "Project Id" = "{{project_id}}", "Closed On" = "{{today}}" }}
"#
    ))?)
}

fn print(outcome: &Closeout) {
    let report = outcome.report();
    println!(
        "  runner: {} written, {} unchanged, {} failed",
        report.written.len(),
        report.unchanged,
        report.failed.len()
    );
    println!("  {}", outcome.summary());
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(2),
        Err(e) => {
            eprintln!("project_closeout: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `Ok(false)`: the closeout could not be proven (exit status 2).
async fn run(args: Args) -> Result<bool, BoxError> {
    let sandbox = sandbox::start(sandbox::SandboxConfig::new()).await?;
    let dropbox = dropbox_client::Client::builder()
        .base_url(sandbox.dropbox_url().parse()?)
        .access_token("sandbox-token")
        .build()?;
    let cs = contentserver_client::Client::builder(sandbox.contentserver_url())
        .credentials(Credentials::password("admin", "admin"))
        .build()?;
    let config = match &args.config {
        Some(p) => CloseoutConfig::load(p)?,
        None => demo_config(&sandbox.contentserver_manifest())?,
    };
    println!(
        "project_closeout of {} against the sandbox (Dropbox {}, Content Server {})",
        config.folder(),
        sandbox.dropbox_url(),
        sandbox.contentserver_url()
    );
    let bar = ecm_examples::progress::RunBar::new("filed");
    let closeout = ProjectCloseout::new(
        dropbox.clone(),
        cs.clone(),
        Arc::new(MemoryStore::new()),
        config.clone(),
    )
    .on_progress(bar.events());
    let first = bar.run(closeout.run()).await?;
    println!("First run:");
    print(&first);
    let Closeout::Closed { summary, .. } = &first else {
        sandbox.shutdown().await;
        return Ok(false);
    };
    // The manifest as filed in CS.
    let csv = cs
        .documents()
        .download(summary.manifest_csv)
        .send()
        .await?
        .bytes()
        .await?;
    let text = String::from_utf8_lossy(&csv);
    println!(
        "\nManifest (node {}, {} file(s)):",
        summary.manifest_csv,
        text.lines().count().saturating_sub(1)
    );
    for line in text.lines() {
        println!("  {line}");
    }
    let held = cs.records().node_holds(summary.root).await?;
    println!(
        "\nWorkspace node {} holds: {}",
        summary.root,
        held.iter()
            .map(|h| h.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let again = bar.run(closeout.run()).await?;
    println!("\nSecond run (nothing left to do):");
    print(&again);
    sandbox.shutdown().await;
    Ok(true)
}
