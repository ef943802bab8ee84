//! Takes documents that outside parties submit through a Dropbox file request into Content
//! Server, filed per request and submitter, owned, described and put into review (use case 7).
//!
//! It starts the sandbox in-process with its demo seed, creates a file request, submits two
//! files into it as two outside parties (the sandbox records them in the team log with the
//! name and e-mail they typed in), closes the request, and runs the flow twice: the first run
//! takes both in (the request's late files too), the second changes nothing. Then it shows each
//! filed document with its owner, its metadata and its review process at the first step.
//!
//! ```sh
//! cargo run -p ecm-examples --bin intake_to_workflow
//! cargo run -p ecm-examples --bin intake_to_workflow -- --config my-intake.toml
//! ```
//!
//! `--config` reads the flow's settings (`IntakeConfig`, TOML; every key optional), e.g.
//! `owner = { group = "Outside Counsel" }`, `cs_folder = "Submissions"`,
//! `[processed] move_to = "/Intake Processed"`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use contentserver_client::api::nodes::Node;
use contentserver_client::Credentials;
use dropbox_client::models::file_requests::{CreateFileRequestArgs, UpdateFileRequestArgs};
use ecm_bridge::connectors::contentserver::Owner;
use ecm_bridge::flows::intake_to_workflow::{IntakeConfig, IntakeToWorkflow};
use ecm_bridge::model::Grant;
use ecm_bridge::state::SqliteStore;
use futures::TryStreamExt;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Take file-request submissions into Content Server (on the sandbox).
#[derive(Debug, Parser)]
struct Args {
    /// A TOML file with the flow's settings (IntakeConfig).
    #[arg(long)]
    config: Option<PathBuf>,
}

/// The submissions of the demo: file, submitter name, e-mail, contents.
const SUBMISSIONS: [(&str, &str, &str, &str); 2] = [
    (
        "Engagement Terms.pdf",
        "Avery Advocate",
        "avery@lawfirm.example",
        "%PDF-1.4\nEngagement terms, signed.\n",
    ),
    (
        "Conflict Check.docx",
        "Blake Barrister",
        "blake@chambers.example",
        "Conflict check: no conflicts found.\n",
    ),
];

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
        Some(path) => IntakeConfig::load(path)?,
        None => IntakeConfig {
            owner: Some(Owner::Group("Outside Counsel".into())),
            owner_permissions: Some(vec!["see".into(), "see_contents".into()]),
            permissions: vec![Grant {
                member: "Records Managers".into(),
                permissions: vec!["see".into(), "see_contents".into()],
            }],
            ..IntakeConfig::default()
        },
    };
    let sandbox = sandbox::start(sandbox::SandboxConfig::new()).await?;
    println!(
        "sandbox: Dropbox {}, Content Server {}",
        sandbox.dropbox_url(),
        sandbox.contentserver_url()
    );
    let base: reqwest::Url = sandbox.dropbox_url().parse()?;
    let client = |token: &str| {
        dropbox_client::Client::builder()
            .base_url(base.clone())
            .access_token(token)
            .build()
    };
    let dropbox = client("sandbox-token")?;
    let team = client("sandbox-team-token")?;
    let cs = contentserver_client::Client::builder(sandbox.contentserver_url())
        .credentials(Credentials::password("admin", "admin"))
        .build()?;

    // The request, and two outside parties submitting into it through its link.
    let request = dropbox
        .file_requests()
        .create(
            CreateFileRequestArgs::new("Outside counsel onboarding", "/Legal/Onboarding")
                .description("Send us your engagement documents."),
        )
        .await?;
    println!(
        "file request {:?} ({}) -> {}",
        request.title, request.id, request.url
    );
    for (name, who, email, bytes) in SUBMISSIONS {
        let mut url: reqwest::Url = sandbox.dropbox_url().parse()?;
        url.set_path(&format!("/__sandbox/file_requests/{}/submit", request.id));
        url.query_pairs_mut()
            .append_pair("name", name)
            .append_pair("submitter_name", who)
            .append_pair("submitter_email", email);
        reqwest::Client::new()
            .post(url)
            .body(bytes)
            .send()
            .await?
            .error_for_status()?;
        println!("  {who} <{email}> submitted {name}");
    }
    // Closed before the flow runs: its files are still taken in.
    dropbox
        .file_requests()
        .update(UpdateFileRequestArgs::new(request.id.clone()).open(false))
        .await?;
    println!("  request closed");

    let dir = std::env::temp_dir().join(format!("intake-to-workflow-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let store = Arc::new(SqliteStore::open(dir.join("state.db"))?);
    let cs_folder = config.cs_folder.clone();
    let bar = ecm_examples::progress::RunBar::new("taken in");
    let flow = IntakeToWorkflow::new(dropbox.clone(), cs.clone(), store)
        .team_log(team)
        .config(config)
        .on_progress(bar.events())
        .build()?;
    let first = bar.run(flow.run_once()).await?;
    println!("\nfirst run: {}", first.summary());
    for f in &first.failed {
        println!(
            "  failed: {} ({})",
            f.path.as_deref().unwrap_or("?"),
            f.error
        );
    }
    let second = bar.run(flow.run_once()).await?;
    println!("second run: {}", second.summary());

    // What was filed, read back from Content Server.
    let ews = cs.nodes().enterprise_workspace().await?;
    let path: Vec<&str> = cs_folder
        .split('/')
        .chain([request.title.as_str()])
        .collect();
    let Some(folder) = cs.nodes().resolve_path(ews.id, &path).await? else {
        return Err(format!("nothing filed under {}", path.join("/")).into());
    };
    let submitters: Vec<Node> = cs
        .nodes()
        .children(folder.id)
        .into_stream()
        .try_collect()
        .await?;
    for sub in submitters {
        let docs: Vec<Node> = cs
            .nodes()
            .children(sub.id)
            .into_stream()
            .try_collect()
            .await?;
        for doc in docs {
            println!(
                "\n{}/{}/{}  (node {})",
                path.join("/"),
                sub.name,
                doc.name,
                doc.id
            );
            let perms = cs.permissions().get(doc.id).await?;
            for p in perms.iter().filter(|p| p.kind != "public") {
                let who = match p.right_id {
                    Some(id) => cs
                        .members()
                        .get(id)
                        .await
                        .map(|m| m.name)
                        .unwrap_or_else(|_| id.to_string()),
                    None => "-".into(),
                };
                let names: Vec<String> = p.permissions.iter().map(serde_json_text).collect();
                println!("  {:<7} {who}: {}", p.kind, names.join(", "));
            }
            for cat in cs.categories().list(doc.id).await? {
                println!("  category {}", cat.name.as_deref().unwrap_or("?"));
                for attr in &cat.attributes {
                    if let Some(v) = cat.values.get(&attr.key).filter(|v| !v.is_null()) {
                        println!("    {:<16} {v}", attr.name.as_deref().unwrap_or("?"));
                    }
                }
            }
            for p in cs.workflows().attached_to(doc.id).send().await? {
                let step: Vec<&str> = p
                    .current_steps
                    .iter()
                    .filter_map(|s| s.task_name.as_deref())
                    .collect();
                println!(
                    "  process {} {:?}: at {}, due {}",
                    p.process_id.unwrap_or_default(),
                    p.name.as_deref().unwrap_or_default(),
                    step.join(", "),
                    p.due_date.map(|d| d.date().to_string()).unwrap_or_default()
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    sandbox.shutdown().await;
    Ok(())
}

/// A permission as CS spells it.
fn serde_json_text(p: &contentserver_client::Permission) -> String {
    serde_json::to_value(p)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{p:?}"))
}
