//! One worker of `archive_on_approval` ([`ecm_bridge::runner::Flow::work`]) on a PostgreSQL
//! store, run until the feed is drained: the process the multi-worker kill test
//! (`tests/workers.rs`) starts, kills and restarts. Configured by environment:
//!
//! | variable | meaning |
//! |---|---|
//! | `ECM_PG_URL` | the PostgreSQL server |
//! | `WORKER_PG_SCHEMA` | the schema of the store (optional) |
//! | `WORKER_DROPBOX_URL`, `WORKER_CS_URL` | the Dropbox and Content Server base URLs |
//! | `WORKER_ID` | the worker's id |
//! | `WORKER_ROOT`, `WORKER_CS_FOLDER`, `WORKER_TAG` | source root, CS folder under the Enterprise Workspace, marking tag |
//! | `WORKER_RULES` | the rules (TOML) |
//! | `WORKER_LEASE_MS`, `WORKER_CONCURRENCY`, `WORKER_BATCH` | lease, documents at once, batch size |
//!
//! Prints one line `taken=<n> fenced=<n> listed=<n>` at the end; exits 1 on an error.

use std::sync::Arc;
use std::time::Duration;

use ecm_bridge::flows::archive_on_approval::{Approval, ArchiveOnApproval, Marking};
use ecm_bridge::rules::Rules;
use ecm_bridge::state::{PostgresOptions, PostgresStore};

fn var(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

fn num(name: &str, default: u64) -> Result<u64, String> {
    match std::env::var(name) {
        Ok(v) => v.parse().map_err(|e| format!("{name}={v:?}: {e}")),
        Err(_) => Ok(default),
    }
}

async fn work() -> Result<String, String> {
    let options = PostgresOptions {
        schema: std::env::var("WORKER_PG_SCHEMA").ok(),
        pool_size: 4,
    };
    let store = PostgresStore::connect_from_env(&options)
        .await
        .map_err(|e| format!("connecting the store: {}", e.chain()))?;
    let dropbox = dropbox_client::Client::builder()
        .base_url(
            var("WORKER_DROPBOX_URL")?
                .parse()
                .map_err(|e| format!("WORKER_DROPBOX_URL: {e}"))?,
        )
        .access_token("sandbox-token")
        .build()
        .map_err(|e| format!("dropbox client: {e}"))?;
    let cs = contentserver_client::Client::builder(var("WORKER_CS_URL")?)
        .credentials(contentserver_client::Credentials::password(
            "admin", "admin",
        ))
        .build()
        .map_err(|e| format!("content server client: {e}"))?;
    let rules =
        Rules::from_toml(&var("WORKER_RULES")?).map_err(|e| format!("rules: {}", e.chain()))?;
    let flow = ArchiveOnApproval::new(dropbox, cs, Arc::new(store))
        .source_root(var("WORKER_ROOT")?)
        .approval(Approval::default().folder("**/Approved"))
        .cs_folder(None, var("WORKER_CS_FOLDER")?)
        .rules(rules)
        .marking(Marking::default().tag(var("WORKER_TAG")?))
        .concurrency(num("WORKER_CONCURRENCY", 8)? as usize)
        .build()
        .map_err(|e| format!("building the flow: {}", e.chain()))?;
    let out = flow
        .work(var("WORKER_ID")?)
        .lease(Duration::from_millis(num("WORKER_LEASE_MS", 30_000)?))
        .batch(num("WORKER_BATCH", 64)? as usize)
        .until_drained()
        .await
        .map_err(|e| format!("working: {}", e.chain()))?;
    Ok(format!(
        "taken={} fenced={} listed={}",
        out.taken, out.fenced, out.batches_listed
    ))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    match work().await {
        Ok(line) => println!("{line}"),
        Err(e) => {
            eprintln!("archive_worker: {e}");
            std::process::exit(1);
        }
    }
}
