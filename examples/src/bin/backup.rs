//! Backs up team folders into Content Server and restores one (use case 8).
//!
//! With no arguments it starts the sandbox in-process with its demo seed, gives Olu (the
//! second member) a few files, and backs up Dana's and Olu's member folders and the team
//! space through the team token (members listed with `team/members/list_v2`). It then
//! changes, deletes and moves a few files, runs again (only the changes: a new CS version, a
//! deletion recorded, a CS document moved), and restores Dana's `Marketing/Campaign 2026` as
//! it stood after the first run into `/Restored`, comparing every restored file with the
//! bytes the first run saw.
//!
//! `--config backup.toml` gives the backup's settings (`BackupConfig`); `--every N` runs on a
//! schedule in-process instead (N seconds apart, until Ctrl-C). The exit status is the last
//! run's ([`BackupRun::exit_code`]: 1 failed, 2 idle too long), for cron.
//!
//! ```sh
//! cargo run -p ecm-examples --bin backup
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use clap::Parser;
use contentserver_client::Credentials;
use dropbox_client::models::files::{
    CommitInfo, ListFolderArg, Metadata, RelocationArg, WriteMode,
};
use ecm_bridge::flows::backup::{Backup, BackupConfig, BackupRun};
use ecm_bridge::flows::backup_restore::{RestorePoint, RestoreRequest, RestoreTo};
use ecm_bridge::state::MemoryStore;
use futures::TryStreamExt;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const DEMO: &str = r#"
team_space = true
members = ["dana@example.com", "olu@example.org"]
target = "Backup"
alert_idle_after_secs = 172800
"#;

const CAMPAIGN: &str = "/Marketing/Campaign 2026";

/// Back up team folders into Content Server; restore one.
#[derive(Debug, Parser)]
struct Args {
    /// A TOML file with the backup's settings (default: two members and the team space).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Run every N seconds in-process until Ctrl-C instead of the demo.
    #[arg(long)]
    every: Option<u64>,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("backup: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn put(client: &dropbox_client::Client, path: &str, text: &str) -> Result<(), BoxError> {
    let body = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from(text.to_owned()))]);
    client
        .files()
        .upload(CommitInfo::new(path).mode(WriteMode::Overwrite), body)
        .await?;
    Ok(())
}

/// The files below `folder`: path → bytes.
async fn files_under(
    client: &dropbox_client::Client,
    folder: &str,
) -> Result<BTreeMap<String, Bytes>, BoxError> {
    let entries: Vec<Metadata> = client
        .files()
        .list_folder(ListFolderArg::new(folder).recursive(true))
        .into_stream()
        .try_collect()
        .await?;
    let mut out = BTreeMap::new();
    for e in entries {
        if let Metadata::File(f) = e {
            let p = f.path_display.unwrap_or_default();
            let bytes = client.files().download(p.clone()).await?.bytes().await?;
            out.insert(p[folder.len()..].to_owned(), bytes);
        }
    }
    Ok(out)
}

fn print(run: &BackupRun) {
    for r in &run.roots {
        println!(
            "  {:<20} {:<8} {} written, {} moved, {} recorded deleted, {} unchanged{}",
            r.space,
            if r.folder.is_empty() {
                "(all)"
            } else {
                &r.folder
            },
            r.written,
            r.moved,
            r.removed,
            r.unchanged,
            r.error
                .as_deref()
                .map(|e| format!(", FAILED: {e}"))
                .unwrap_or_default()
        );
    }
    println!("  {}", run.summary());
}

async fn run(args: Args) -> Result<u8, BoxError> {
    let sandbox = sandbox::start(sandbox::SandboxConfig::new()).await?;
    let team = dropbox_client::Client::builder()
        .base_url(sandbox.dropbox_url().parse()?)
        .access_token("sandbox-team-token")
        .build()?;
    let cs = contentserver_client::Client::builder(sandbox.contentserver_url())
        .credentials(Credentials::password("admin", "admin"))
        .build()?;
    let config = match &args.config {
        Some(p) => BackupConfig::load(p)?,
        None => BackupConfig::from_toml(DEMO)?,
    };
    let bar = ecm_examples::progress::RunBar::new("backed up");
    let backup = Backup::new(team.clone(), cs, Arc::new(MemoryStore::new()), config)
        .on_progress(bar.events())
        .on_alert(Arc::new(|a| eprintln!("ALERT: {a:?}")));
    println!(
        "backup against the sandbox (Dropbox {}, Content Server {})",
        sandbox.dropbox_url(),
        sandbox.contentserver_url()
    );
    let dana = team.as_user("dbmid:dana");
    let olu = team.as_user("dbmid:olu");
    let team_space = dana.with_path_root(dropbox_client::models::common::PathRoot::NamespaceId(
        "3000".into(),
    ));
    for p in [
        "/Notes/Kickoff.txt",
        "/Notes/Minutes/2026-01.txt",
        "/Budget.xlsx",
    ] {
        put(&olu, p, &format!("Olu's {p}\n")).await?;
    }
    if let Some(secs) = args.every {
        println!("running every {secs} s until Ctrl-C");
        let stop = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        let runs = backup.run_every(Duration::from_secs(secs), stop).await?;
        for r in &runs {
            print(r);
        }
        sandbox.shutdown().await;
        return Ok(runs.last().map_or(0, |r| r.exit_code() as u8));
    }

    for r in backup.roots().await? {
        println!("  root {} {} -> CS {}", r.space, r.folder, r.cs_path);
    }
    let first = bar.run(backup.run()).await?;
    println!("First run (full):");
    print(&first);
    let campaign = files_under(&dana, CAMPAIGN).await?;

    println!(
        "\nChanges: Brief.docx edited, Banner v1.png deleted, Q3 Report moved, Olu's budget edited"
    );
    put(
        &dana,
        &format!("{CAMPAIGN}/Drafts/Brief.docx"),
        "Brief, second draft\n",
    )
    .await?;
    dana.files()
        .delete(format!("{CAMPAIGN}/Drafts/Banner v1.png"))
        .await?;
    team_space
        .files()
        .move_entry(RelocationArg::new(
            "/Finance/Reports/Q3 Report.xlsx",
            "/Finance/Archive/Q3 Report.xlsx",
        ))
        .await?;
    put(&olu, "/Budget.xlsx", "Olu's budget, revised\n").await?;
    let second = bar.run(backup.run()).await?;
    println!("Second run (incremental):");
    print(&second);

    let restored = backup
        .restore(&RestoreRequest {
            space: "dana@example.com".into(),
            path: CAMPAIGN.into(),
            at: RestorePoint::Run(first.id),
            to: RestoreTo::Folder("/Restored".into()),
        })
        .await?;
    println!(
        "\nRestore of {CAMPAIGN} as after run {} into /Restored:",
        first.id
    );
    println!("  {}", restored.summary());
    let back = files_under(&dana, "/Restored/Campaign 2026").await?;
    let matches = back == campaign;
    for (p, b) in &campaign {
        let same = back.get(p) == Some(b);
        println!("  {} {p}", if same { "same" } else { "DIFFERS" });
    }
    println!(
        "  restored folder {} the folder as the first run saw it ({} file(s))",
        if matches { "matches" } else { "does NOT match" },
        campaign.len()
    );
    sandbox.shutdown().await;
    Ok(if matches { second.exit_code() as u8 } else { 1 })
}
