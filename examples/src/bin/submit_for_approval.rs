//! Hands Dropbox files over to a Content Server approval workflow and brings the outcome back
//! (use case 4).
//!
//! It starts the sandbox in-process with its demo seed. The demo's `Remote Work Policy.docx`
//! carries the stage tag `ready_for_approval`; the example moves `Travel Policy.docx` into a
//! stage folder (`For Approval`). The first run puts both into Content Server and starts a
//! `Policy Approval` process for each. Then it acts as the reviewer through the sandbox's task
//! action: it approves the first (both steps) and rejects the second, with comments. The next
//! run sees both processes ended: the approved file is tagged `approved` and moved to
//! `/HR/Policies/Approved`, the rejected one tagged `rejected` and moved to
//! `/HR/Policies/Rejected`, each with a `Review` property carrying the reviewer's comment; the
//! approved version is marked official in CS (`Approved On`).
//!
//! ```sh
//! cargo run -p ecm-examples --bin submit_for_approval
//! cargo run -p ecm-examples --bin submit_for_approval -- --config my-approval.toml
//! ```
//!
//! `--config` reads the flow's settings (`SubmitConfig`, TOML; every key optional), e.g.
//! `stage_tags = ["submit"]`, `[outcome] approved_folder = "/Approved"`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use contentserver_client::Credentials;
use dropbox_client::models::file_properties::TemplateFilterBase;
use dropbox_client::models::files::{GetMetadataArg, RelocationArg};
use ecm_bridge::flows::submit_for_approval::{OutcomeMarking, SubmitConfig, SubmitForApproval};
use ecm_bridge::state::SqliteStore;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Submit Dropbox files for approval in Content Server (on the sandbox).
#[derive(Debug, Parser)]
struct Args {
    /// A TOML file with the flow's settings (SubmitConfig).
    #[arg(long)]
    config: Option<PathBuf>,
}

const TAGGED: &str = "/HR/Policies/Drafts/Remote Work Policy.docx";
const DRAFT: &str = "/HR/Policies/Drafts/Travel Policy.docx";
const STAGED: &str = "/HR/Policies/For Approval/Travel Policy.docx";

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
    let config = match &args.config {
        Some(path) => SubmitConfig::load(path)?,
        None => SubmitConfig {
            // The example looks again at once instead of every five minutes.
            recheck_every_secs: Some(0),
            poll_every_secs: 0,
            outcome: OutcomeMarking {
                approved_folder: Some("/HR/Policies/Approved".into()),
                rejected_folder: Some("/HR/Policies/Rejected".into()),
                ..OutcomeMarking::default()
            },
            ..SubmitConfig::default()
        },
    };
    let sandbox = sandbox::start(sandbox::SandboxConfig::new()).await?;
    println!(
        "sandbox: Dropbox {}, Content Server {}",
        sandbox.dropbox_url(),
        sandbox.contentserver_url()
    );
    let dropbox = dropbox_client::Client::builder()
        .base_url(sandbox.dropbox_url().parse()?)
        .access_token("sandbox-token")
        .build()?;
    let cs = contentserver_client::Client::builder(sandbox.contentserver_url())
        .credentials(Credentials::password("admin", "admin"))
        .build()?;

    println!("{TAGGED} is tagged ready_for_approval");
    dropbox
        .files()
        .move_entry(RelocationArg::new(DRAFT, STAGED))
        .await?;
    println!("{DRAFT} moved into the stage folder: {STAGED}");

    let dir = std::env::temp_dir().join(format!("submit-for-approval-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let store = Arc::new(SqliteStore::open(dir.join("state.db"))?);
    let bar = ecm_examples::progress::RunBar::new("submitted");
    let flow = SubmitForApproval::new(dropbox.clone(), cs.clone(), store)
        .config(config)
        .on_progress(bar.events())
        .build()?;

    let first = bar.run(flow.run_once()).await?;
    println!("\nsubmit: {}", first.summary());
    let mut submitted = Vec::new();
    for w in &first.written {
        let Some(node) = w.target.as_ref().and_then(|t| t.node_id()) else {
            continue;
        };
        let process = cs
            .workflows()
            .attached_to(node)
            .first()
            .await?
            .ok_or("no process started")?;
        let at: Vec<&str> = process
            .current_steps
            .iter()
            .filter_map(|s| s.task_name.as_deref())
            .collect();
        println!(
            "  {} -> node {node}, process {} {:?} at {}",
            w.path,
            process.process_id.unwrap_or_default(),
            process.name.as_deref().unwrap_or_default(),
            at.join(", ")
        );
        submitted.push((w.path.clone(), node));
    }

    // The reviewer: approve the remote-work policy (both steps), reject the travel policy.
    println!("\nreviewer:");
    for (path, node) in &submitted {
        let approve = path.ends_with("Remote Work Policy.docx");
        loop {
            let Some(p) = cs.workflows().attached_to(*node).first().await? else {
                break;
            };
            let Some(task) = p.current_steps.first().and_then(|s| s.task()) else {
                break;
            };
            let step = p.current_steps[0].task_name.clone().unwrap_or_default();
            if approve {
                cs.workflows()
                    .approve(task)
                    .comment("Approved as written.")
                    .send()
                    .await?;
                println!("  {path}: {step}: approved");
            } else {
                cs.workflows()
                    .reject(task)
                    .comment("Needs a section on per-diem rates.")
                    .send()
                    .await?;
                println!("  {path}: {step}: rejected");
                break;
            }
        }
    }

    let second = bar.run(flow.run_once()).await?;
    println!("\noutcome: {}", second.summary());
    for f in &second.failed {
        println!(
            "  failed: {} ({})",
            f.path.as_deref().unwrap_or("?"),
            f.error
        );
    }
    let templates = dropbox
        .file_properties()
        .list_templates_for_user()
        .await?
        .template_ids;
    for folder in ["/HR/Policies/Approved", "/HR/Policies/Rejected"] {
        for entry in dropbox.files().list_folder(folder).send().await?.entries {
            let Some(path) = entry.path_display().map(str::to_owned) else {
                continue;
            };
            let tags = dropbox.files().get_tags([path.as_str()]).await?;
            let tags: Vec<&str> = tags.paths_to_tags[0]
                .tags
                .iter()
                .filter_map(|t| t.text())
                .collect();
            println!("  {path}  tags: {}", tags.join(", "));
            let meta = dropbox
                .files()
                .get_metadata(
                    GetMetadataArg::new(path.as_str())
                        .include_property_groups(TemplateFilterBase::FilterSome(templates.clone())),
                )
                .await?;
            for g in meta
                .as_file()
                .and_then(|f| f.property_groups.clone())
                .unwrap_or_default()
            {
                for field in g.fields.iter().filter(|f| !f.value.is_empty()) {
                    println!("    {:<12} {}", field.name, field.value);
                }
            }
        }
    }
    for (path, node) in &submitted {
        for cat in cs.categories().list(*node).await? {
            for attr in &cat.attributes {
                if attr.name.as_deref() == Some("Approved On") {
                    if let Some(v) = cat.values.get(&attr.key).filter(|v| !v.is_null()) {
                        println!("  CS node {node} ({path}): official, Approved On {v}");
                    }
                }
            }
        }
    }
    let third = bar.run(flow.run_once()).await?;
    println!("\nagain: {}", third.summary());
    let _ = std::fs::remove_dir_all(&dir);
    sandbox.shutdown().await;
    Ok(())
}
