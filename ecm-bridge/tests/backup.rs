//! End to end against the sandbox: two members' folders and the team space backed up into
//! CS through the team headers; both sides read back (every file's bytes at its CS path, one
//! version each); a second run changes nothing; a change becomes a new CS version, a
//! deletion is recorded by the run that saw it and kept in CS, a move keeps its CS document
//! (moved to match); restores by run and by time, to a new folder and to the original paths
//! (with and without overwrite), verified by hash; idle and failure alerts with their exit
//! status; lost answers and stops at every failpoint, in a full and an incremental run, end
//! in the same state; a large tree (`BACKUP_FILES`).

mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use dropbox_client::models::files::CommitInfo;
use ecm_bridge::flows::backup::{Alert, Backup, BackupRun, TEAM_SPACE};
use ecm_bridge::flows::backup_restore::{RestorePoint, RestoreRequest, RestoreTo};
use ecm_bridge::runner::Failpoint;
use ecm_bridge::state::{DocStatus, MemoryStore, Store};
use futures::{StreamExt, TryStreamExt};
use sandbox::{FaultRule, LostAnswer};
use support::backup::*;
use support::Env;

async fn run(b: &Backup) -> BackupRun {
    let r = b.run().await.unwrap();
    eprintln!("{}", r.summary());
    r
}

#[tokio::test]
async fn backs_up_two_members_and_the_team_space_keeps_versions_deletions_and_moves_and_restores() {
    let env = Env::start().await;
    seed_olu(&env).await;
    let state: Arc<dyn Store> = env.state();
    let b = backup(&env, state.clone());
    let roots = b.roots().await.unwrap();
    assert_eq!(roots.len(), 3, "{roots:?}");

    let first = run(&b).await;
    assert_eq!(first.exit_code(), 0);
    let before = all_files(&env).await;
    assert_eq!(first.totals().0 as usize, before.len());
    let tree1 = assert_backed_up(&env).await;
    assert!(tree1.values().all(|(_, v, _)| *v == 1));

    // A second run changes nothing.
    let second = run(&b).await;
    assert_eq!(second.totals(), (0, 0, 0, 0, 0));
    assert_eq!(second.exit_code(), 0);
    assert_eq!(cs_tree(&env).await, tree1);

    change(&env).await;
    let third = run(&b).await;
    let (w, m, r, _, f) = third.totals();
    assert_eq!((w, m, r, f), (2, 1, 1, 0), "{}", third.summary());
    let tree3 = assert_backed_up(&env).await;
    let brief = format!("{}{BRIEF}", cs_base(DANA));
    assert_eq!(tree3[&brief].0, tree1[&brief].0, "same document");
    assert_eq!(tree3[&brief].1, 2, "a change is a new version");
    let banner = format!("{}{BANNER}", cs_base(DANA));
    assert_eq!(
        tree3[&banner], tree1[&banner],
        "a deletion keeps the CS document"
    );
    let (q3, q3_moved) = (
        format!("{}{Q3}", cs_base(TEAM_SPACE)),
        format!("{}{Q3_MOVED}", cs_base(TEAM_SPACE)),
    );
    assert!(!tree3.contains_key(&q3));
    assert_eq!(
        tree3[&q3_moved].0, tree1[&q3].0,
        "a move keeps the document"
    );
    assert_eq!(tree3[&q3_moved].1, 1);
    assert_eq!(tree3.len(), tree1.len(), "no second document");
    // The deletion is recorded with the run that saw it go.
    let dana_flow = &third.roots.iter().find(|r| r.space == DANA).unwrap();
    let gone = state
        .records_under(
            &dana_flow.flow,
            "Marketing/Campaign 2026/Drafts/Banner v1.png",
        )
        .await
        .unwrap();
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].status, DocStatus::Removed);
    assert_eq!(Some(gone[0].run), dana_flow.run);

    // Restore the campaign folder as it stood after the first run into a new folder.
    let restored = b
        .restore(&RestoreRequest {
            space: DANA.into(),
            path: CAMPAIGN.into(),
            at: RestorePoint::Run(first.id),
            to: RestoreTo::Folder("/Restored".into()),
        })
        .await
        .unwrap();
    eprintln!("{}", restored.summary());
    assert!(restored.failed.is_empty() && restored.kept.is_empty());
    let mut n = 0;
    for (key, bytes) in &before {
        let Some(rest) = key.strip_prefix(&format!("{DANA}:{CAMPAIGN}/")) else {
            continue;
        };
        n += 1;
        let at = format!("/Restored/Campaign 2026/{rest}");
        assert_eq!(&env.dropbox_bytes(&at).await, bytes, "{at}");
    }
    assert_eq!(restored.files.len(), n);
    assert!(restored
        .files
        .iter()
        .any(|f| f.path.ends_with("Banner v1.png")));

    // The team's Finance folder to its original paths, by time: Q3 comes back at its old
    // place; Q4 is there already.
    let restored = b
        .restore(&RestoreRequest {
            space: TEAM_SPACE.into(),
            path: "/Finance".into(),
            at: RestorePoint::Time(state.runs("backup").await.unwrap()[0].finished.unwrap()),
            to: RestoreTo::Original { overwrite: false },
        })
        .await
        .unwrap();
    assert_eq!(restored.run, first.id);
    assert_eq!(restored.files.len(), 2, "{}", restored.summary());
    assert_eq!(restored.files.iter().filter(|f| f.written).count(), 1);
    let team_bytes = dropbox_files(&team_space(&env)).await;
    assert_eq!(team_bytes[Q3], before[&format!("{TEAM_SPACE}:{Q3}")]);

    // One file to its original path: kept without overwrite, replaced with it.
    let req = |overwrite| RestoreRequest {
        space: DANA.into(),
        path: BRIEF.into(),
        at: RestorePoint::Run(first.id),
        to: RestoreTo::Original { overwrite },
    };
    let kept = b.restore(&req(false)).await.unwrap();
    assert_eq!(kept.kept, vec![BRIEF.to_owned()]);
    assert_eq!(
        &env.dropbox_bytes(BRIEF).await[..],
        b"Brief, second draft\n"
    );
    let replaced = b.restore(&req(true)).await.unwrap();
    assert_eq!(replaced.files.len(), 1);
    assert_eq!(
        env.dropbox_bytes(BRIEF).await,
        before[&format!("{DANA}:{BRIEF}")]
    );
    // Nothing backed up there: an error that says so.
    let err = b
        .restore(&RestoreRequest {
            space: DANA.into(),
            path: "/Nowhere".into(),
            at: RestorePoint::Run(first.id),
            to: RestoreTo::Folder("/R".into()),
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("nothing at"), "{err}");
}

#[tokio::test]
async fn a_failed_run_and_a_long_idle_time_raise_alerts_with_exit_statuses() {
    let env = Env::start().await;
    let state: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let now = Arc::new(Mutex::new(Utc::now()));
    let alerts = Arc::new(Mutex::new(Vec::<Alert>::new()));
    let mut config = config();
    config.members = vec![OLU.into()];
    config.team_space = false;
    config.alert_idle_after_secs = Some(3600);
    let b = {
        let (now, alerts) = (now.clone(), alerts.clone());
        Backup::new(team(&env), env.cs.clone(), state, config)
            .retry(retry())
            .clock(Arc::new(move || *now.lock().unwrap()))
            .on_alert(Arc::new(move |a| alerts.lock().unwrap().push(a.clone())))
    };
    seed_olu(&env).await;
    assert_eq!(run(&b).await.exit_code(), 0);
    // Nothing to do within the hour: fine; after it: idle.
    *now.lock().unwrap() += chrono::Duration::minutes(30);
    assert_eq!(run(&b).await.exit_code(), 0);
    *now.lock().unwrap() += chrono::Duration::minutes(31);
    let idle = run(&b).await;
    assert_eq!(idle.exit_code(), 2);
    assert!(matches!(idle.alerts[..], [Alert::Idle { .. }]));
    // A change resets it.
    put(&olu(&env), "/Budget.xlsx", "new\n").await;
    assert_eq!(run(&b).await.exit_code(), 0);

    // CS refuses every upload: the run fails (exit 1), the file is left for the next run.
    let rule = env
        .sandbox
        .contentserver_faults()
        .add(FaultRule::status("POST /api/v2/nodes/{id}/versions", 500))
        .unwrap();
    put(&olu(&env), "/Budget.xlsx", "newer\n").await;
    let failed = run(&b).await;
    assert_eq!(failed.exit_code(), 1);
    let Alert::Failed { what, .. } = &failed.alerts[0] else {
        panic!("{:?}", failed.alerts);
    };
    assert!(what[0].contains("Budget.xlsx"), "{what:?}");
    env.sandbox.contentserver_faults().remove(rule);
    let healed = run(&b).await;
    assert_eq!(healed.exit_code(), 0, "{}", healed.summary());
    assert_eq!(healed.totals().0, 1);
    let got = alerts.lock().unwrap().clone();
    assert_eq!(
        got.len(),
        2,
        "the hook saw the idle and the failure: {got:?}"
    );
}

#[tokio::test]
async fn runs_on_a_schedule_in_process_until_stopped() {
    let env = Env::start().await;
    seed_olu(&env).await;
    let mut config = config();
    config.team_space = false;
    config.members = vec![OLU.into()];
    // Stopped once two runs finished (the progress hook sees each root's run end); the
    // stop is checked before every tick, so no third run starts.
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let tx = Mutex::new(Some(tx));
    let finished = AtomicU64::new(0);
    let b = Backup::new(
        team(&env),
        env.cs.clone(),
        Arc::new(MemoryStore::new()),
        config,
    )
    .retry(retry())
    .on_progress(Arc::new(move |p| {
        if matches!(p, ecm_bridge::runner::Progress::RunFinished(_))
            && finished.fetch_add(1, Ordering::SeqCst) + 1 == 2
        {
            if let Some(tx) = tx.lock().unwrap().take() {
                let _ = tx.send(());
            }
        }
    }));
    let runs = b
        .run_every(Duration::from_millis(1), async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].totals().0, OLU_FILES.len() as u64, "first run full");
    assert_eq!(runs[1].totals(), (0, 0, 0, 0, 0), "second run incremental");
    assert!(runs.iter().all(|r| r.exit_code() == 0));
}

#[tokio::test]
async fn lost_answers_and_stops_at_every_failpoint_end_in_the_same_state() {
    // The reference: a clean full run, the changes, a clean incremental run.
    let env = Env::start().await;
    seed_olu(&env).await;
    let b = backup(&env, Arc::new(MemoryStore::new()));
    run_clean(&b).await;
    change(&env).await;
    run_clean(&b).await;
    let want = final_state(&env, &b).await;

    // Lost answers on the CS writes (document, version, move) and a reset listing.
    let env = Env::start().await;
    seed_olu(&env).await;
    let cs = env.sandbox.contentserver_faults();
    for route in ["POST /api/v2/nodes", "POST /api/v2/nodes/{id}/versions"] {
        cs.add(FaultRule::lose(route, LostAnswer::Status(502)).with_nth(2))
            .unwrap();
    }
    cs.add(FaultRule::lose("PUT /api/v2/nodes/{id}", LostAnswer::Status(502)).with_nth(1))
        .unwrap();
    env.sandbox
        .dropbox_faults()
        .add(FaultRule::reset("/2/files/list_folder/continue").with_nth(1))
        .unwrap();
    let b = backup(&env, Arc::new(MemoryStore::new()));
    run_clean(&b).await;
    change(&env).await;
    run_clean(&b).await;
    assert_eq!(final_state(&env, &b).await, want, "lost answers");

    // Stops at each failpoint (the 3rd time it is reached in the full run, the 1st in the
    // incremental one), each followed by a restart. (A backup document has no steps after
    // its write, so `AfterStep`/`AfterSteps` are never reached.)
    for point in [
        Failpoint::BeforePending,
        Failpoint::BeforeWrite,
        Failpoint::AfterWrite,
        Failpoint::AfterRecord,
        Failpoint::BeforeCheckpoint,
    ] {
        let env = Env::start().await;
        seed_olu(&env).await;
        let state: Arc<dyn Store> = env.state();
        let stop = |b: Backup, nth: u64| {
            let seen = Arc::new(AtomicU64::new(0));
            b.failpoint(Arc::new(move |p: Failpoint| {
                p == point && seen.fetch_add(1, Ordering::SeqCst) + 1 == nth
            }))
        };
        let stopped = stop(backup(&env, state.clone()), 3).run().await;
        assert!(stopped.is_err(), "{point:?}: not stopped in the full run");
        run_clean(&backup(&env, state.clone())).await;
        change(&env).await;
        let stopped = stop(backup(&env, state.clone()), 1).run().await;
        assert!(
            stopped.is_err(),
            "{point:?}: not stopped in the incremental run"
        );
        run_clean(&backup(&env, state.clone())).await;
        let b = backup(&env, state);
        assert_eq!(final_state(&env, &b).await, want, "{point:?}");
        assert_eq!(
            run(&b).await.totals(),
            (0, 0, 0, 0, 0),
            "{point:?}: nothing left"
        );
    }
}

/// A member's tree in 50 folders backed up, then one change: the state is in the store (the
/// runner streams the listing; the catalogue and records are one store entry per file). CI
/// runs 400 files; `BACKUP_FILES=10000 cargo test -p ecm-bridge --test backup a_large_tree`
/// runs the full tree.
#[tokio::test]
async fn a_large_tree_is_backed_up_and_then_only_what_changed() {
    let files_n: usize = std::env::var("BACKUP_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let started = std::time::Instant::now();
    let env = Env::start().await;
    let client = olu(&env);
    futures::stream::iter(0..files_n)
        .map(|i| {
            let files = client.files();
            async move {
                files
                    .upload(
                        CommitInfo::new(format!("/Big/F{:02}/file {i}.txt", i % 50)),
                        futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from(format!(
                            "file {i}\n"
                        )))]),
                    )
                    .await
                    .unwrap()
            }
        })
        .buffer_unordered(16)
        .for_each(|_| async {})
        .await;
    eprintln!("uploaded {files_n} in {:?}", started.elapsed());
    let mut config = config();
    config.team_space = false;
    config.members = vec![OLU.into()];
    config.concurrency = 16;
    let state: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let backup =
        || Backup::new(team(&env), env.cs.clone(), state.clone(), config.clone()).retry(retry());
    let first = run(&backup()).await;
    eprintln!("backed up in {:?}", started.elapsed());
    assert_eq!(first.totals().0 as usize, files_n);
    assert_eq!(first.exit_code(), 0);
    assert!(first.roots[0].complete);
    put(&client, "/Big/F07/file 7.txt", "changed\n").await;
    // The next run, as a new process would make it (no folder ids cached): the new version
    // goes to the paired document by id, with no folder looked up or listed.
    env.sandbox.contentserver_stats().reset();
    let second = run(&backup()).await;
    assert_eq!(second.totals(), (1, 0, 0, 0, 0));
    let cs = env.sandbox.contentserver_stats();
    assert_eq!(
        cs.count("GET /api/v2/nodes/{id}/nodes"),
        0,
        "{}",
        cs.snapshot()
    );
    assert_eq!(
        cs.count("POST /api/v2/nodes/{id}/versions"),
        1,
        "{}",
        cs.snapshot()
    );
    let ews = env.cs.nodes().enterprise_workspace().await.unwrap();
    let folder = env
        .cs
        .nodes()
        .resolve_path(ews.id, &["Backup", "Members", OLU, "Big", "F07"])
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
    assert_eq!(children.len(), files_n / 50);
}
