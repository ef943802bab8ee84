//! The backup flow's shared test parts (moved from `tests/backup.rs` so that the fault matrix
//! in `tests/reliability.rs` can reuse them): the demo's members and team space, the clients of
//! each space, the seed, the flow as the tests configure it, and both sides read back.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use contentserver_client::api::nodes::Node;
use contentserver_client::models::NodeType;
use dropbox_client::models::files::{
    CommitInfo, ListFolderArg, Metadata, RelocationArg, WriteMode,
};
use ecm_bridge::flows::backup::{Backup, BackupConfig, TEAM_SPACE};
use ecm_bridge::runner::RetryPolicy;
use ecm_bridge::state::Store;
use futures::TryStreamExt;

use super::Env;
pub const DANA: &str = "dana@example.com";
pub const OLU: &str = "olu@example.org";
pub const OLU_FILES: [&str; 3] = [
    "/Notes/Kickoff.txt",
    "/Notes/Minutes/2026-01.txt",
    "/Budget.xlsx",
];
pub const CAMPAIGN: &str = "/Marketing/Campaign 2026";
pub const BRIEF: &str = "/Marketing/Campaign 2026/Drafts/Brief.docx";
pub const BANNER: &str = "/Marketing/Campaign 2026/Drafts/Banner v1.png";
pub const Q3: &str = "/Finance/Reports/Q3 Report.xlsx";
pub const Q3_MOVED: &str = "/Finance/Archive/Q3 Report.xlsx";

pub fn retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        multiplier: 2,
        jitter: false,
    }
}

/// A client with the sandbox's team token (no select header).
pub fn team(env: &Env) -> dropbox_client::Client {
    dropbox_client::Client::builder()
        .base_url(env.sandbox.dropbox_url().parse().unwrap())
        .access_token("sandbox-team-token")
        .retry_policy(
            dropbox_client::RetryPolicy::default()
                .initial_backoff(Duration::from_millis(5))
                .max_backoff(Duration::from_millis(50)),
        )
        .build()
        .unwrap()
}

pub fn olu(env: &Env) -> dropbox_client::Client {
    team(env).as_user("dbmid:olu")
}

pub fn team_space(env: &Env) -> dropbox_client::Client {
    team(env).as_user("dbmid:dana").with_path_root(
        dropbox_client::models::common::PathRoot::NamespaceId("3000".into()),
    )
}

/// The client of a space.
pub fn space(env: &Env, space: &str) -> dropbox_client::Client {
    match space {
        TEAM_SPACE => team_space(env),
        OLU => olu(env),
        _ => env.dropbox.clone(),
    }
}

pub async fn put(client: &dropbox_client::Client, path: &str, text: &str) {
    client
        .files()
        .upload(
            CommitInfo::new(path).mode(WriteMode::Overwrite),
            futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from(text.to_owned()))]),
        )
        .await
        .unwrap();
}

pub async fn seed_olu(env: &Env) {
    for p in OLU_FILES {
        put(&olu(env), p, &format!("Olu's {p}\n")).await;
    }
}

pub fn config() -> BackupConfig {
    BackupConfig::from_toml(&format!(
        "team_space = true\nmembers = [\"{DANA}\", \"{OLU}\"]\ntarget = \"Backup\"\n"
    ))
    .unwrap()
}

pub fn backup(env: &Env, state: Arc<dyn Store>) -> Backup {
    Backup::new(team(env), env.cs.clone(), state, config()).retry(retry())
}

/// Every file of a space: path → bytes.
pub async fn dropbox_files(client: &dropbox_client::Client) -> BTreeMap<String, Bytes> {
    let entries: Vec<Metadata> = client
        .files()
        .list_folder(ListFolderArg::new("").recursive(true))
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    let mut out = BTreeMap::new();
    for e in entries {
        if let Metadata::File(f) = e {
            let p = f.path_display.unwrap();
            let bytes = client
                .files()
                .download(p.clone())
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            out.insert(p, bytes);
        }
    }
    out
}

/// The three spaces' files, keyed `space:path`.
pub async fn all_files(env: &Env) -> BTreeMap<String, Bytes> {
    let mut out = BTreeMap::new();
    for s in [TEAM_SPACE, DANA, OLU] {
        for (p, b) in dropbox_files(&space(env, s)).await {
            out.insert(format!("{s}:{p}"), b);
        }
    }
    out
}

/// The CS folder of a space's backup.
pub fn cs_base(s: &str) -> String {
    match s {
        TEAM_SPACE => "Backup/Team space".into(),
        m => format!("Backup/Members/{m}"),
    }
}

/// Every document below `Backup` in CS: path (from `Backup/`) → (node id, versions, bytes of
/// the latest).
pub async fn cs_tree(env: &Env) -> BTreeMap<String, (i64, usize, Bytes)> {
    let nodes = env.cs.nodes();
    let ews = nodes.enterprise_workspace().await.unwrap();
    let mut out = BTreeMap::new();
    let Some(root) = nodes.resolve_path(ews.id, &["Backup"]).await.unwrap() else {
        return out;
    };
    let mut todo = vec![(root.id, "Backup".to_owned())];
    while let Some((id, path)) = todo.pop() {
        let children: Vec<Node> = nodes
            .children(id)
            .into_stream()
            .try_collect()
            .await
            .unwrap();
        for c in children {
            let p = format!("{path}/{}", c.name);
            if c.node_type == NodeType::Folder {
                todo.push((c.id, p));
            } else {
                let versions = env.cs_versions(c.id).await.len();
                out.insert(p, (c.id, versions, env.cs_bytes(c.id, None).await));
            }
        }
    }
    out
}

/// Asserts that every Dropbox file of the three spaces is in CS at its path with its bytes,
/// and returns the CS tree.
pub async fn assert_backed_up(env: &Env) -> BTreeMap<String, (i64, usize, Bytes)> {
    let tree = cs_tree(env).await;
    for (key, bytes) in all_files(env).await {
        let (s, p) = key.split_once(':').unwrap();
        let cs = format!("{}{p}", cs_base(s));
        let (_, _, got) = tree
            .get(&cs)
            .unwrap_or_else(|| panic!("{key} not in CS at {cs}: {:?}", tree.keys()));
        assert_eq!(got, &bytes, "{key}: bytes");
    }
    tree
}

/// Changes two files, deletes one and moves one (in three spaces).
pub async fn change(env: &Env) {
    put(&env.dropbox, BRIEF, "Brief, second draft\n").await;
    env.dropbox.files().delete(BANNER).await.unwrap();
    team_space(env)
        .files()
        .move_entry(RelocationArg::new(Q3, Q3_MOVED))
        .await
        .unwrap();
    put(&olu(env), "/Budget.xlsx", "Olu's budget, revised\n").await;
}

/// The final state both sides are compared by: the CS tree (paths, node ids left out,
/// version counts, bytes) and the records' statuses.
pub async fn final_state(env: &Env, b: &Backup) -> (BTreeMap<String, (usize, Bytes)>, Vec<String>) {
    let tree = cs_tree(env)
        .await
        .into_iter()
        .map(|(p, (_, v, bytes))| (p, (v, bytes)))
        .collect();
    let mut records = Vec::new();
    for root in b.roots().await.unwrap() {
        for r in b.state().records_under(&root.flow, "").await.unwrap() {
            records.push(format!("{}:{}:{}", root.flow, r.path.unwrap(), r.status));
        }
    }
    records.sort();
    (tree, records)
}

/// Runs until a run passes with no alert (at most six runs).
pub async fn run_clean(b: &Backup) {
    for _ in 0..6 {
        match b.run().await {
            Ok(r) if r.alerts.is_empty() => return,
            Ok(r) => eprintln!("{}", r.summary()),
            Err(e) => eprintln!("run: {e}"),
        }
    }
    panic!("no clean run within six");
}
