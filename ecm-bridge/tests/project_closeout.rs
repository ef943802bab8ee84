//! End to end against the sandbox: the demo's `Projects/P-1042 Riverside Tower` is closed out
//! into a business workspace under hold; both sides are read back (every file's bytes at its
//! path in CS, the RM class, the hold, the empty folder, the manifest, the Dropbox folder in
//! the archive area); a second run changes nothing; lost answers and stops at every
//! finaliser step and at the runner's failpoints end in the same state; an unprovable
//! closeout moves nothing and says what is missing; a 10,000-file tree is closed out.

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dropbox_client::models::files::{CommitInfo, ListFolderArg, Metadata};
use ecm_bridge::flows::project_closeout::{Closeout, CloseoutConfig, ProjectCloseout};
use ecm_bridge::runner::{Failpoint, RetryPolicy};
use ecm_bridge::state::{MemoryStore, Store};
use futures::{StreamExt, TryStreamExt};
use sandbox::{FaultRule, LostAnswer};
use support::Env;

const PROJECT: &str = "/Projects/P-1042 Riverside Tower";
const ARCHIVED: &str = "/Archive/Projects/P-1042 Riverside Tower";
const HOLD: &str = "Riverside Tower Litigation";
const CLASS: &str = "PRJ-10 Project Records";

fn retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        multiplier: 2,
        jitter: false,
    }
}

/// The closeout as the example configures it: a workspace of type `Project` from the seed's
/// template, with the `Project Closeout` category values, the project class and the hold.
fn config(env: &Env) -> CloseoutConfig {
    let m = env.sandbox.contentserver_manifest();
    let ws = &m["workspace_types"]["Project"];
    let category = m["categories"]["Project Closeout"]["id"].as_i64().unwrap();
    CloseoutConfig::from_toml(&format!(
        r#"
project_folder = "{PROJECT}"
rm_class = "{CLASS}"
hold = "{HOLD}"
[target]
kind = "workspace"
type_id = {}
template_id = {}
category_id = {category}
values = {{ "Project Id" = "{{project_id}}", "Closed On" = "2026-03-31" }}
"#,
        ws["id"], ws["templates"]["Project Workspace Template"]
    ))
    .unwrap()
}

fn closeout(env: &Env, state: Arc<dyn Store>) -> ProjectCloseout {
    ProjectCloseout::new(env.dropbox.clone(), env.cs.clone(), state, config(env)).retry(retry())
}

/// Every file under `root` in Dropbox: relative path → (bytes).
async fn dropbox_tree(env: &Env, root: &str) -> (BTreeMap<String, bytes::Bytes>, Vec<String>) {
    let mut files = BTreeMap::new();
    let mut folders = Vec::new();
    let entries: Vec<Metadata> = env
        .dropbox
        .files()
        .list_folder(ListFolderArg::new(root).recursive(true))
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    for e in entries {
        match e {
            Metadata::File(f) => {
                let p = f.path_display.unwrap();
                let rel = p[root.len() + 1..].to_owned();
                files.insert(rel, env.dropbox_bytes(&p).await);
            }
            Metadata::Folder(f) => {
                let p = f.path_display.unwrap();
                if p.len() > root.len() {
                    folders.push(p[root.len() + 1..].to_owned());
                }
            }
            _ => {}
        }
    }
    (files, folders)
}

/// Reads the CS side back and asserts it is the Dropbox tree: each file once with its bytes,
/// classified and held; the empty folder; the manifest (CSV and JSON Lines) naming each file
/// with its node; the Dropbox folder in the archive area.
async fn assert_closed(
    env: &Env,
    files: &BTreeMap<String, bytes::Bytes>,
    folders: &[String],
    root: i64,
) {
    let nodes = env.cs.nodes();
    let ws = env.cs.workspaces().get(root).await.unwrap();
    assert_eq!(ws.name, "P-1042 Riverside Tower");
    let cats = env.cs.categories().list(root).await.unwrap();
    let pc = cats
        .iter()
        .find(|c| c.name.as_deref() == Some("Project Closeout"))
        .expect("workspace has the Project Closeout category");
    let pid = pc
        .attributes
        .iter()
        .find(|a| a.name.as_deref() == Some("Project Id"))
        .unwrap();
    assert_eq!(pc.values.get(&pid.key).cloned().unwrap(), "P-1042");
    for (rel, bytes) in files {
        let segs: Vec<&str> = rel.split('/').collect();
        let node = nodes
            .resolve_path(root, &segs)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{rel} not in CS"));
        assert_eq!(&env.cs_bytes(node.id, None).await, bytes, "{rel}: bytes");
        assert_eq!(
            env.cs_versions(node.id).await.len(),
            1,
            "{rel}: one version"
        );
        let rm = env.cs.records().details(node.id).await.unwrap();
        assert_eq!(rm.records[0].name.as_deref(), Some(CLASS), "{rel}");
        assert!(env.has_hold(node.id, HOLD).await, "{rel}: not held");
    }
    for f in folders {
        let segs: Vec<&str> = f.split('/').collect();
        assert!(
            nodes.resolve_path(root, &segs).await.unwrap().is_some(),
            "folder {f} not in CS"
        );
    }
    assert!(env.has_hold(root, HOLD).await, "root not held");
    let root_rm = env.cs.records().details(root).await.unwrap();
    assert_eq!(root_rm.records.len(), 1, "root classified once");
    assert_eq!(root_rm.records[0].name.as_deref(), Some(CLASS));
    // The manifest, both forms.
    let csv = nodes
        .find_child(root, "P-1042 Riverside Tower manifest.csv")
        .await
        .unwrap()
        .expect("CSV manifest filed");
    let text = String::from_utf8(env.cs_bytes(csv.id, None).await.to_vec()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "path,size,content_hash,node,version,status");
    assert_eq!(lines.len(), files.len() + 1, "{text}");
    for rel in files.keys() {
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&format!("{rel},")) && l.ends_with(",done")),
            "{rel} not in the manifest: {text}"
        );
    }
    let jsonl = nodes
        .find_child(root, "P-1042 Riverside Tower manifest.jsonl")
        .await
        .unwrap()
        .expect("JSON Lines manifest filed");
    let text = String::from_utf8(env.cs_bytes(jsonl.id, None).await.to_vec()).unwrap();
    assert_eq!(text.lines().count(), files.len());
    // Dropbox: moved as a whole.
    let (archived, _) = dropbox_tree(env, ARCHIVED).await;
    assert_eq!(&archived, files, "the archive area holds the project");
    assert!(env
        .dropbox
        .files()
        .get_metadata(PROJECT)
        .await
        .is_err_and(|e| e.kind() == dropbox_client::ErrorKind::NotFound));
}

async fn add_empty_folder(env: &Env) {
    env.dropbox
        .files()
        .create_folder(format!("{PROJECT}/Correspondence/2026"))
        .await
        .unwrap();
}

async fn run_to_close(c: &ProjectCloseout) -> i64 {
    match c.run().await.unwrap() {
        Closeout::Closed { summary, .. } => summary.root,
        other => panic!("not closed: {}", other.summary()),
    }
}

#[tokio::test]
async fn closes_out_the_demo_project_into_a_workspace_under_hold_and_a_second_run_changes_nothing()
{
    let env = Env::start().await;
    add_empty_folder(&env).await;
    let (files, folders) = dropbox_tree(&env, PROJECT).await;
    assert_eq!(files.len(), 4);
    let state: Arc<dyn Store> = env.state();
    let c = closeout(&env, state.clone());
    let done = c.run().await.unwrap();
    let Closeout::Closed { summary, report } = &done else {
        panic!("{}", done.summary());
    };
    assert_eq!(report.written.len(), 4);
    assert_eq!(summary.files, 4);
    assert_eq!(
        summary.bytes,
        files.values().map(|b| b.len() as u64).sum::<u64>()
    );
    assert_eq!(summary.folders as usize, folders.len());
    assert_eq!(
        summary.held,
        4 + 3,
        "the items, the two manifests and the root"
    );
    assert_closed(&env, &files, &folders, summary.root).await;

    let stats = env.sandbox.contentserver_stats().total();
    let again = c.run().await.unwrap();
    let Closeout::Closed {
        summary: s2,
        report,
    } = &again
    else {
        panic!("{}", again.summary());
    };
    assert_eq!(s2, summary);
    assert!(report.written.is_empty());
    assert_eq!(
        env.sandbox.contentserver_stats().total(),
        stats,
        "a second run calls CS not at all"
    );
    assert_closed(&env, &files, &folders, summary.root).await;
}

#[tokio::test]
async fn an_unprovable_closeout_moves_nothing_and_says_what_is_missing() {
    let env = Env::start().await;
    let state: Arc<dyn Store> = env.state();
    // Content Server refuses every new document under the workspace, for a while.
    let rule = env
        .sandbox
        .contentserver_faults()
        .add(FaultRule::status("POST /api/v2/nodes", 403).with_count(100))
        .unwrap();
    let c = closeout(&env, state.clone());
    let first = c.run().await.unwrap();
    let Closeout::Incomplete { missing, .. } = &first else {
        panic!("closed although nothing was written: {}", first.summary());
    };
    for name in [
        "Drawings/Site Plan.pdf",
        "Drawings/Elevations.pdf",
        "Contracts/Main Contract.pdf",
        "Handover/Completion Certificate.pdf",
    ] {
        assert!(
            missing.iter().any(|m| m.starts_with(name)),
            "{name} not named: {missing:?}"
        );
    }
    assert!(missing.last().unwrap().contains("Dropbox lists 4 file(s)"));
    // Nothing moved.
    env.dropbox.files().get_metadata(PROJECT).await.unwrap();
    env.sandbox.contentserver_faults().remove(rule);
    let (files, folders) = dropbox_tree(&env, PROJECT).await;
    let root = run_to_close(&c).await;
    assert_closed(&env, &files, &folders, root).await;
}

#[tokio::test]
async fn lost_answers_and_stops_at_every_step_end_in_the_same_state() {
    // Lost answers: writes committed, answers lost, on the routes of the closeout.
    let env = Env::start().await;
    add_empty_folder(&env).await;
    let (files, folders) = dropbox_tree(&env, PROJECT).await;
    let cs = env.sandbox.contentserver_faults();
    for route in [
        "POST /api/v2/nodes",
        "POST /api/v2/businessworkspaces",
        "POST /api/v1/rmclassifications/applyhold",
        "POST /api/v1/nodes/{id}/rmclassifications",
    ] {
        cs.add(FaultRule::lose(route, LostAnswer::Status(502)).with_nth(1))
            .unwrap();
    }
    env.sandbox
        .dropbox_faults()
        .add(FaultRule::lose("/2/files/move_batch_v2", LostAnswer::Reset).with_nth(1))
        .unwrap();
    let c = closeout(&env, env.state());
    let mut root = None;
    for _ in 0..6 {
        match c.run().await {
            Ok(Closeout::Closed { summary, .. }) => {
                root = Some(summary.root);
                break;
            }
            Ok(other) => eprintln!("run: {}", other.summary()),
            Err(e) => eprintln!("run: {e}"),
        }
    }
    assert_closed(
        &env,
        &files,
        &folders,
        root.expect("closed within six runs"),
    )
    .await;

    // Stops before each step of the finaliser, then a restart.
    for step in [
        "target",
        "proof",
        "manifest",
        "classify_root",
        "hold",
        "move",
    ] {
        let env = Env::start().await;
        add_empty_folder(&env).await;
        let (files, folders) = dropbox_tree(&env, PROJECT).await;
        let state: Arc<dyn Store> = env.state();
        let stop = step.to_owned();
        let stopped = closeout(&env, state.clone())
            .stop_before(Arc::new(move |s| s == stop))
            .run()
            .await;
        assert!(stopped.is_err(), "{step}: not stopped");
        let root = run_to_close(&closeout(&env, state)).await;
        assert_closed(&env, &files, &folders, root).await;
    }

    // The runner's failpoints: the run stopped at the first of each, then a restart.
    for point in [
        Failpoint::BeforePending,
        Failpoint::BeforeWrite,
        Failpoint::AfterWrite,
        Failpoint::AfterRecord,
        Failpoint::BeforeCheckpoint,
    ] {
        let env = Env::start().await;
        let (files, folders) = dropbox_tree(&env, PROJECT).await;
        let state: Arc<dyn Store> = env.state();
        let seen = Arc::new(AtomicU64::new(0));
        let f = {
            let seen = seen.clone();
            Arc::new(move |p: Failpoint| p == point && seen.fetch_add(1, Ordering::SeqCst) == 0)
        };
        let stopped = closeout(&env, state.clone()).failpoint(f).run().await;
        assert!(
            !matches!(stopped, Ok(Closeout::Closed { .. })),
            "{point:?}: closed although stopped"
        );
        let root = run_to_close(&closeout(&env, state)).await;
        assert_closed(&env, &files, &folders, root).await;
    }
}

/// A tree in 100 folders closed out into a plain CS folder: the state is in the store (the
/// proof streams Dropbox's listing page by page and reads one record per file). CI runs
/// 2,500 files (~30 s in a debug build on two shared cores); `CLOSEOUT_FILES=10000` runs the
/// full tree (~2.5 min there).
#[tokio::test]
async fn a_large_tree_is_closed_out() {
    let files_n: usize = std::env::var("CLOSEOUT_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_500);
    let started = std::time::Instant::now();
    let env = Env::start().await;
    let root = "/Projects/P-2000 Big Tree";
    futures::stream::iter(0..files_n)
        .map(|i| {
            let files = env.dropbox.files();
            async move {
                files
                    .upload(
                        CommitInfo::new(format!("{root}/F{:02}/file {i}.txt", i % 100)),
                        futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(
                            format!("file {i}\n"),
                        ))]),
                    )
                    .await
                    .unwrap()
            }
        })
        .buffer_unordered(16)
        .for_each(|_| async {})
        .await;
    eprintln!("uploaded {files_n} in {:?}", started.elapsed());
    let state: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let config = CloseoutConfig::from_toml(&format!(
        "project_folder = \"{root}\"\nconcurrency = 16\n[target]\nkind = \"folder\"\npath = \"Closed Projects\"\n"
    ))
    .unwrap();
    let c = ProjectCloseout::new(env.dropbox.clone(), env.cs.clone(), state.clone(), config)
        .retry(retry());
    let done = c.run().await.unwrap();
    eprintln!("closed out in {:?}", started.elapsed());
    let Closeout::Closed { summary, .. } = &done else {
        panic!("{}", done.summary());
    };
    assert_eq!(summary.files as usize, files_n);
    assert_eq!(summary.folders, 100);
    let members = state.job_members(&c.flow_name(), &c.job()).await.unwrap();
    assert_eq!(members.len(), files_n);
    let ews = env.cs.nodes().enterprise_workspace().await.unwrap();
    let folder = env
        .cs
        .nodes()
        .resolve_path(ews.id, &["Closed Projects", "P-2000 Big Tree", "F37"])
        .await
        .unwrap()
        .unwrap();
    let children: Vec<_> = env
        .cs
        .nodes()
        .children(folder.id)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(children.len(), files_n / 100);
}

#[tokio::test]
async fn a_file_renamed_before_the_closeout_is_proven_keeps_its_cs_document_moved_to_match() {
    let env = Env::start().await;
    let state: Arc<dyn Store> = env.state();
    let stopped = closeout(&env, state.clone())
        .stop_before(Arc::new(|s| s == "proof"))
        .run()
        .await;
    assert!(
        stopped.is_err(),
        "stopped after the writes, before the proof"
    );
    let c = closeout(&env, state.clone());
    env.dropbox
        .files()
        .move_entry(dropbox_client::models::files::RelocationArg::new(
            format!("{PROJECT}/Drawings/Elevations.pdf"),
            format!("{PROJECT}/Handover/Elevations (as built).pdf"),
        ))
        .await
        .unwrap();
    let (files, folders) = dropbox_tree(&env, PROJECT).await;
    let root = match c.run().await.unwrap() {
        Closeout::Closed { summary, .. } => summary.root,
        other => panic!("{}", other.summary()),
    };
    assert_closed(&env, &files, &folders, root).await;
    let old = env
        .cs
        .nodes()
        .resolve_path(root, &["Drawings", "Elevations.pdf"])
        .await
        .unwrap();
    assert!(old.is_none(), "the old path is gone in CS: {old:?}");
}

#[tokio::test]
async fn deletion_needs_both_flags_and_happens_only_after_the_move() {
    let env = Env::start().await;
    let text = |confirm: bool| {
        format!(
            "project_folder = \"{PROJECT}\"\ndelete_source = true\nconfirm_delete = {confirm}\n[target]\nkind = \"folder\"\npath = \"Closed Projects\"\n"
        )
    };
    let state: Arc<dyn Store> = env.state();
    let unconfirmed = CloseoutConfig::from_toml(&text(false)).unwrap();
    let err = ProjectCloseout::new(
        env.dropbox.clone(),
        env.cs.clone(),
        state.clone(),
        unconfirmed,
    )
    .run()
    .await
    .unwrap_err();
    assert!(err.to_string().contains("confirm_delete"), "{err}");
    env.dropbox.files().get_metadata(PROJECT).await.unwrap();

    let (files, _) = dropbox_tree(&env, PROJECT).await;
    let config = CloseoutConfig::from_toml(&text(true)).unwrap();
    let c = ProjectCloseout::new(env.dropbox.clone(), env.cs.clone(), state, config).retry(retry());
    let Closeout::Closed { summary, .. } = c.run().await.unwrap() else {
        panic!("not closed");
    };
    assert!(summary.deleted);
    assert_eq!(summary.files as usize, files.len());
    for path in [PROJECT, ARCHIVED] {
        assert!(env
            .dropbox
            .files()
            .get_metadata(path)
            .await
            .is_err_and(|e| e.kind() == dropbox_client::ErrorKind::NotFound));
    }
    // CS keeps everything.
    for (rel, bytes) in &files {
        let segs: Vec<&str> = rel.split('/').collect();
        let node = env
            .cs
            .nodes()
            .resolve_path(summary.root, &segs)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&env.cs_bytes(node.id, None).await, bytes);
    }
}
