//! `all_revisions` against the sandbox: every Dropbox revision of each file of the demo's
//! `Projects/P-1042 Riverside Tower` becomes a CS version, oldest first, each once, also
//! when a run stops between two revisions or loses the answer to a version's write.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use dropbox_client::models::files::{CommitInfo, ListFolderArg, Metadata, WriteMode};
use ecm_bridge::flows::project_closeout::{Closeout, CloseoutConfig, ProjectCloseout};
use ecm_bridge::runner::RetryPolicy;
use ecm_bridge::state::Store;
use futures::TryStreamExt;
use sandbox::{FaultRule, LostAnswer};
use support::Env;

const PROJECT: &str = "/Projects/P-1042 Riverside Tower";

/// Each file of the project (relative path) → the bytes of its revisions, oldest first.
type Revisions = BTreeMap<String, Vec<Bytes>>;

/// Adds revisions to two of the demo's files (the contract 3 in all, the site plan 2);
/// answers every file's revisions and the revs the contract's uploads made.
async fn add_revisions(env: &Env) -> (Revisions, Vec<String>) {
    let mut out = Revisions::new();
    let entries: Vec<Metadata> = env
        .dropbox
        .files()
        .list_folder(ListFolderArg::new(PROJECT).recursive(true))
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    for e in entries {
        if let Metadata::File(f) = e {
            let p = f.path_display.unwrap();
            out.insert(
                p[PROJECT.len() + 1..].to_owned(),
                vec![env.dropbox_bytes(&p).await],
            );
        }
    }
    assert_eq!(out.len(), 4);
    let mut contract_revs = Vec::new();
    for (rel, n) in [
        ("Contracts/Main Contract.pdf", 2),
        ("Drawings/Site Plan.pdf", 1),
    ] {
        for i in 0..n {
            let body = Bytes::from(format!("{rel}, revision {}\n", i + 2).repeat(50 + i));
            let meta = env
                .dropbox
                .files()
                .upload(
                    CommitInfo::new(format!("{PROJECT}/{rel}")).mode(WriteMode::Overwrite),
                    futures::stream::iter([Ok::<_, std::io::Error>(body.clone())]),
                )
                .await
                .unwrap();
            if rel.starts_with("Contracts") {
                contract_revs.push(meta.rev);
            }
            out.get_mut(rel).unwrap().push(body);
        }
    }
    (out, contract_revs)
}

fn closeout(env: &Env, state: Arc<dyn Store>, attempts: u32) -> ProjectCloseout {
    let config = CloseoutConfig::from_toml(&format!(
        "project_folder = \"{PROJECT}\"\nall_revisions = true\n[target]\nkind = \"folder\"\npath = \"Closed Projects\"\n"
    ))
    .unwrap();
    ProjectCloseout::new(env.dropbox.clone(), env.cs.clone(), state, config).retry(RetryPolicy {
        max_attempts: attempts,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        multiplier: 2,
        jitter: false,
    })
}

/// Every file's CS document has exactly its revisions as versions, oldest first, byte for
/// byte, and each version's description names the revision it came from once.
async fn assert_versions(env: &Env, root: i64, revisions: &Revisions) {
    for (rel, revs) in revisions {
        let segs: Vec<&str> = rel.split('/').collect();
        let node = env
            .cs
            .nodes()
            .resolve_path(root, &segs)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{rel} not in CS"));
        let versions = env.cs_versions(node.id).await;
        assert_eq!(versions.len(), revs.len(), "{rel}: versions {versions:?}");
        for (i, bytes) in revs.iter().enumerate() {
            let n = versions[i].version_number.unwrap();
            assert_eq!(n, i as i64 + 1);
            assert_eq!(
                &env.cs_bytes(node.id, Some(n)).await,
                bytes,
                "{rel}: version {n}"
            );
        }
    }
}

async fn closed(c: &ProjectCloseout) -> i64 {
    match c.run().await.unwrap() {
        Closeout::Closed { summary, .. } => summary.root,
        other => panic!("not closed: {}", other.summary()),
    }
}

#[tokio::test]
async fn every_revision_becomes_a_cs_version_oldest_first_and_a_second_run_changes_nothing() {
    let env = Env::start().await;
    let (revisions, _) = add_revisions(&env).await;
    let state: Arc<dyn Store> = env.state();
    let c = closeout(&env, state, 4);
    let done = c.run().await.unwrap();
    let Closeout::Closed { summary, report } = &done else {
        panic!("{}", done.summary());
    };
    assert_eq!(report.written.len(), 4);
    assert_eq!(summary.files, 4);
    let latest: u64 = revisions
        .values()
        .map(|r| r.last().unwrap().len() as u64)
        .sum();
    assert_eq!(
        summary.bytes, latest,
        "the manifest counts the current revisions"
    );
    assert_versions(&env, summary.root, &revisions).await;

    let stats = env.sandbox.contentserver_stats().total();
    assert!(matches!(c.run().await.unwrap(), Closeout::Closed { .. }));
    assert_eq!(env.sandbox.contentserver_stats().total(), stats);
    assert_versions(&env, summary.root, &revisions).await;
}

#[tokio::test]
async fn a_stop_or_a_lost_answer_between_revisions_writes_no_revision_twice() {
    // A stop before the contract's second revision (its first is written: the CS document
    // exists), then a restart.
    let env = Env::start().await;
    let (revisions, contract_revs) = add_revisions(&env).await;
    let state: Arc<dyn Store> = env.state();
    let stop = format!("revision:{}", contract_revs[0]);
    assert!(
        closeout(&env, state.clone(), 4)
            .stop_before(Arc::new(move |s| s == stop))
            .run()
            .await
            .is_err(),
        "not stopped"
    );
    let root = closed(&closeout(&env, state.clone(), 4)).await;
    assert_versions(&env, root, &revisions).await;

    // The first version added (a second revision) lands and its answer is lost; no retry in
    // the run, so the file fails and the next run finds the version instead of adding it.
    let env = Env::start().await;
    let (revisions, _) = add_revisions(&env).await;
    env.sandbox
        .contentserver_faults()
        .add(
            FaultRule::lose("POST /api/v2/nodes/{id}/versions", LostAnswer::Status(502))
                .with_nth(1),
        )
        .unwrap();
    let state: Arc<dyn Store> = env.state();
    let first = closeout(&env, state.clone(), 1).run().await.unwrap();
    let Closeout::Incomplete { missing, .. } = &first else {
        panic!(
            "closed although a version's answer was lost: {}",
            first.summary()
        );
    };
    assert!(missing.iter().any(|m| m.contains("failed")), "{missing:?}");
    let root = closed(&closeout(&env, state, 1)).await;
    assert_versions(&env, root, &revisions).await;
}

/// A file renamed during the project keeps the revisions it had under its earlier name: they
/// are listed by the file's id, not by its current path.
#[tokio::test]
async fn a_renamed_file_keeps_the_revisions_of_its_earlier_name() {
    use dropbox_client::models::files::RelocationArg;
    let env = Env::start().await;
    let (mut revisions, _) = add_revisions(&env).await;
    let (old, new) = ("Drawings/Site Plan.pdf", "Drawings/Site Plan (final).pdf");
    env.dropbox
        .files()
        .move_entry(RelocationArg::new(
            format!("{PROJECT}/{old}"),
            format!("{PROJECT}/{new}"),
        ))
        .await
        .unwrap();
    let body = Bytes::from("Site plan, final\n".repeat(40));
    env.dropbox
        .files()
        .upload(
            CommitInfo::new(format!("{PROJECT}/{new}")).mode(WriteMode::Overwrite),
            futures::stream::iter([Ok::<_, std::io::Error>(body.clone())]),
        )
        .await
        .unwrap();
    let mut revs = revisions.remove(old).unwrap();
    revs.push(body);
    assert_eq!(revs.len(), 3);
    revisions.insert(new.to_owned(), revs);
    let root = closed(&closeout(&env, env.state(), 4)).await;
    assert_versions(&env, root, &revisions).await;
}
