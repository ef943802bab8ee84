//! The behaviour every [`DocumentStore`] must have: run against [`super::MemoryStore`],
//! [`super::SqliteStore`] in memory, and on disk (then reopened, [`after_reopen`]).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;

use super::*;
use crate::model::{Checkpoint, ContentHash, DocRef};

const FLOW: &str = "docs";

/// A fixed clock: the decisions under test never read the real one.
fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + secs, 0).single().unwrap()
}

fn rec(id: &str, rev: &str, path: &str, status: DocStatus, run: RunId) -> DocRecord {
    let mut r = DocRecord::new(FLOW, DocRef::dropbox(id, rev), Some(path.into()), run);
    r.status = status;
    r
}

/// Everything: records, history, steps (and their audit lines), runs, the after-run view, paths, claims, checkpoints
/// and jobs.
pub(crate) async fn run(store: Arc<dyn Store>) {
    records_and_history(&*store).await;
    paths(&*store).await;
    steps(&*store).await;
    audited_steps(&*store).await;
    step_history(&*store).await;
    runs_and_after_run(&*store).await;
    concurrent_claimers(store.clone()).await;
    leases_and_fencing(&*store).await;
    checkpoints(&*store).await;
    jobs(store.clone()).await;
}

async fn records_and_history(s: &dyn DocumentStore) {
    let key = DocRef::dropbox("id:a", "r1").key();
    assert_eq!(s.record(FLOW, &key).await.unwrap(), None);

    let mut a = rec("id:a", "r1", "/Projects/A.pdf", DocStatus::Pending, 1);
    a.size = Some(42);
    a.hash = Some(ContentHash::dropbox("ab12"));
    let created = a.created;
    assert!(s.save_record(&a, None).await.unwrap());
    assert_eq!(s.record(FLOW, &key).await.unwrap(), Some(a.clone()));
    assert_eq!(a.path_lower.as_deref(), Some("/projects/a.pdf"));

    // Written, then done, in the same run: one history line for r1, the last status.
    a.status = DocStatus::Written;
    a.target = Some(DocRef::cs(100, 1));
    a.location = Some("Enterprise/Archive/A.pdf".into());
    a.sink = Some("cs".into());
    a.created = Utc::now() + chrono::Duration::days(1);
    a.updated = Utc::now();
    assert!(s.save_record(&a, None).await.unwrap());
    a.status = DocStatus::Done;
    assert!(s.save_record(&a, None).await.unwrap());
    let got = s.record(FLOW, &key).await.unwrap().unwrap();
    assert_eq!(got.created, created, "the first save's time is kept");
    assert_eq!(
        (got.status, got.target.clone(), got.sink.as_deref()),
        (DocStatus::Done, Some(DocRef::cs(100, 1)), Some("cs"))
    );
    assert_eq!(got.hash, Some(ContentHash::dropbox("ab12")));

    // A new version fails in run 2, then waits for a check.
    let mut b = got.clone();
    b.source = DocRef::dropbox("id:a", "r2");
    b.status = DocStatus::Failed;
    b.attempts = 2;
    b.last_error = Some("boom".into());
    b.run = 2;
    assert!(s.save_record(&b, None).await.unwrap());
    let h = s.history(FLOW, &key).await.unwrap();
    let lines: Vec<(Option<&str>, DocStatus, RunId)> = h
        .iter()
        .map(|e| (e.source.version.as_deref(), e.status, e.run))
        .collect();
    assert_eq!(
        lines,
        [
            (Some("r1"), DocStatus::Done, 1),
            (Some("r2"), DocStatus::Failed, 2)
        ]
    );
    assert!(s.history("other", &key).await.unwrap().is_empty());

    let failed = s.records_by_status(FLOW, DocStatus::Failed).await.unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        (failed[0].attempts, failed[0].last_error.as_deref()),
        (2, Some("boom"))
    );
    assert!(s
        .records_by_status(FLOW, DocStatus::Done)
        .await
        .unwrap()
        .is_empty());

    // Due checks: only awaiting records whose time has come, earliest first.
    for (id, at) in [("id:w1", 30), ("id:w2", 10), ("id:w3", 100)] {
        let mut w = rec(id, "r1", &format!("/wait/{id}"), DocStatus::Awaiting, 2);
        w.next_check = Some(t(at));
        assert!(s.save_record(&w, None).await.unwrap());
    }
    let mut not_awaiting = rec("id:w4", "r1", "/wait/w4", DocStatus::Done, 2);
    not_awaiting.next_check = Some(t(0));
    assert!(s.save_record(&not_awaiting, None).await.unwrap());
    let due: Vec<String> = s
        .due_checks(FLOW, t(30))
        .await
        .unwrap()
        .iter()
        .map(|r| r.source.id.clone())
        .collect();
    assert_eq!(due, ["id:w2", "id:w1"]);
    assert_eq!(
        s.due_checks(FLOW, t(30)).await.unwrap()[0].next_check,
        Some(t(10))
    );
    assert!(s.due_checks("other", t(1000)).await.unwrap().is_empty());
}

async fn paths(s: &dyn DocumentStore) {
    let f = "paths";
    let mk = |id: &str, path: &str| {
        let mut r = DocRecord::new(f, DocRef::dropbox(id, "r1"), Some(path.into()), 1);
        r.status = DocStatus::Done;
        r
    };
    for (id, path) in [
        ("id:1", "/Projects/Ärger/Plan.pdf"),
        ("id:2", "/projects/ärger/sub/Deep.pdf"),
        ("id:3", "/Projects/ÄrgerNis/Other.pdf"),
        ("id:4", "/Elsewhere/x.pdf"),
    ] {
        assert!(s.save_record(&mk(id, path), None).await.unwrap());
    }
    // A source's own lowercased path wins over folding `path`.
    let mut own = mk("id:5", "/PROJECTS/ÄRGER/Caps.PDF");
    own.path_lower = Some("/projects/ärger/caps.pdf".into());
    assert!(s.save_record(&own, None).await.unwrap());
    let ids = |v: Vec<DocRecord>| {
        let mut ids: Vec<String> = v.into_iter().map(|r| r.source.id).collect();
        ids.sort();
        ids
    };
    assert_eq!(
        ids(s.records_under(f, "/PROJECTS/ÄRGER").await.unwrap()),
        ["id:1", "id:2", "id:5"]
    );
    assert_eq!(
        ids(s.records_under(f, "/projects/ärger/").await.unwrap()),
        ["id:1", "id:2", "id:5"]
    );
    assert_eq!(
        ids(s
            .records_under(f, "/Projects/Ärger/Plan.pdf")
            .await
            .unwrap()),
        ["id:1"]
    );
    assert_eq!(s.records_under(f, "").await.unwrap().len(), 5);
    assert_eq!(s.records_under(f, "/").await.unwrap().len(), 5);
    assert!(s.records_under(f, "/nothing").await.unwrap().is_empty());
    assert!(s.records_under("other", "/").await.unwrap().is_empty());
}

async fn steps(s: &dyn DocumentStore) {
    let key = "dropbox:id:a";
    let first = s.begin_step(FLOW, key, "r1", "workflow").await.unwrap();
    assert!(first.began());
    assert_eq!(
        (first.step().state, first.step().attempts),
        (StepState::Started, 1)
    );
    let again = s.begin_step(FLOW, key, "r1", "workflow").await.unwrap();
    assert!(!again.began(), "begun twice: the second did not begin");
    assert_eq!(again.step().state, StepState::Started);

    let out = json!({"process_id": 4711});
    assert!(s
        .finish_step(FLOW, key, "r1", "workflow", &out)
        .await
        .unwrap());
    assert!(!s
        .finish_step(FLOW, key, "r1", "workflow", &json!(1))
        .await
        .unwrap());
    let done = s.begin_step(FLOW, key, "r1", "workflow").await.unwrap();
    match done {
        BeginStep::Exists(step) => {
            assert_eq!(step.state, StepState::Done);
            assert_eq!(step.output, Some(out.clone()));
            assert!(step.finished.is_some());
        }
        BeginStep::Began(_) => panic!("a done step began again"),
    }

    // A failed step may be begun again.
    assert!(s
        .begin_step(FLOW, key, "r1", "share")
        .await
        .unwrap()
        .began());
    assert!(s
        .fail_step(FLOW, key, "r1", "share", "HTTP 503")
        .await
        .unwrap());
    assert!(!s.fail_step(FLOW, key, "r1", "share", "x").await.unwrap());
    let steps = s.steps(FLOW, key, "r1").await.unwrap();
    assert_eq!(steps[1].error.as_deref(), Some("HTTP 503"));
    assert_eq!(steps[1].state, StepState::Failed);
    let retry = s.begin_step(FLOW, key, "r1", "share").await.unwrap();
    assert!(retry.began());
    assert_eq!(
        (retry.step().attempts, retry.step().error.clone()),
        (2, None)
    );

    // An awaiting step keeps its output so far and is begun again; only a started step
    // becomes awaiting.
    assert!(s
        .begin_step(FLOW, key, "r1", "outcome")
        .await
        .unwrap()
        .began());
    let so_far = json!({"process_id": 4711, "polls": 1});
    assert!(s
        .await_step(FLOW, key, "r1", "outcome", &so_far)
        .await
        .unwrap());
    assert!(!s
        .await_step(FLOW, key, "r1", "outcome", &json!(2))
        .await
        .unwrap());
    let waiting = s.steps(FLOW, key, "r1").await.unwrap();
    assert_eq!(
        (waiting[2].state, waiting[2].output.clone()),
        (StepState::Awaiting, Some(so_far.clone()))
    );
    let polled = s.begin_step(FLOW, key, "r1", "outcome").await.unwrap();
    assert!(polled.began(), "an awaiting step is begun again");
    assert_eq!(
        (polled.step().state, polled.step().attempts),
        (StepState::Started, 2)
    );
    assert_eq!(polled.step().output, Some(so_far));
    assert!(!s
        .await_step(FLOW, key, "r1", "workflow", &json!(0))
        .await
        .unwrap());
    assert!(s
        .finish_step(FLOW, key, "r1", "outcome", &json!("approved"))
        .await
        .unwrap());

    assert!(!s
        .finish_step(FLOW, key, "r1", "absent", &json!(null))
        .await
        .unwrap());
    assert!(!s.fail_step(FLOW, key, "r1", "absent", "x").await.unwrap());
    let names: Vec<String> = s
        .steps(FLOW, key, "r1")
        .await
        .unwrap()
        .into_iter()
        .map(|st| st.name)
        .collect();
    assert_eq!(names, ["workflow", "share", "outcome"]);
    assert!(s.steps(FLOW, key, "r2").await.unwrap().is_empty());
    assert!(s.steps("other", key, "r1").await.unwrap().is_empty());
}

/// Step history: one step's records over every version of a document, oldest first, and
/// only that step's and that document's.
async fn step_history(s: &dyn Store) {
    let key = "dropbox:id:history";
    for (v, n) in [
        ("r1", "workflow"),
        ("r1", "mark"),
        ("r2", "workflow"),
        ("r3", "workflow"),
    ] {
        s.begin_step(FLOW, key, v, n).await.unwrap();
    }
    s.begin_step(FLOW, "dropbox:id:other", "r1", "workflow")
        .await
        .unwrap();
    s.finish_step(FLOW, key, "r1", "workflow", &json!({"process_id": 1}))
        .await
        .unwrap();
    let h = s.step_history(FLOW, key, "workflow").await.unwrap();
    let versions: Vec<&str> = h.iter().map(|r| r.version.as_str()).collect();
    assert_eq!(versions, ["r1", "r2", "r3"]);
    assert_eq!(h[0].output, Some(json!({"process_id": 1})));
    assert!(h.iter().all(|r| r.key == key && r.name == "workflow"));
    assert!(s
        .step_history(FLOW, key, "absent")
        .await
        .unwrap()
        .is_empty());
}

/// A step finished with its audit line appends it once: not again when it is done already.
async fn audited_steps(s: &dyn Store) {
    let key = "dropbox:id:audited";
    let line = AuditEntry {
        time: t(0),
        flow: FLOW.into(),
        source: DocRef::dropbox("audited", "r1"),
        source_hash: None,
        path: Some("a/audited.pdf".into()),
        target: None,
        account: None,
        action: "step".into(),
        outcome: "mark: ok".into(),
        run: None,
    };
    let mine = |all: Vec<AuditEntry>| all.into_iter().filter(|e| e.path == line.path).count();
    let before = mine(s.audit(Some(FLOW)).await.unwrap());
    assert_eq!(before, 0);
    s.begin_step(FLOW, key, "r1", "mark").await.unwrap();
    let out = json!({"ok": true});
    assert!(s
        .finish_step_audited(FLOW, key, "r1", "mark", &out, std::slice::from_ref(&line))
        .await
        .unwrap());
    assert_eq!(mine(s.audit(Some(FLOW)).await.unwrap()), 1);
    assert!(!s
        .finish_step_audited(FLOW, key, "r1", "mark", &out, std::slice::from_ref(&line))
        .await
        .unwrap());
    assert_eq!(mine(s.audit(Some(FLOW)).await.unwrap()), 1, "audited twice");
    assert!(!s
        .finish_step_audited(FLOW, key, "r9", "absent", &out, std::slice::from_ref(&line))
        .await
        .unwrap());
    assert_eq!(mine(s.audit(Some(FLOW)).await.unwrap()), 1);
}

async fn runs_and_after_run(s: &dyn DocumentStore) {
    let f = "runs";
    let r1 = s.begin_run(f).await.unwrap();
    let other = s.begin_run("elsewhere").await.unwrap();
    let r2 = s.begin_run(f).await.unwrap();
    let r3 = s.begin_run(f).await.unwrap();
    assert!(
        r1 < other && other < r2 && r2 < r3,
        "{r1} {other} {r2} {r3}"
    );

    let save = |id: &str, rev: &str, status: DocStatus, target: Option<DocRef>, run: RunId| {
        let mut r = DocRecord::new(f, DocRef::dropbox(id, rev), Some(format!("/{id}")), run);
        r.status = status;
        r.target = target;
        async move { assert!(s.save_record(&r, None).await.unwrap()) }
    };
    save("id:a", "r1", DocStatus::Written, Some(DocRef::cs(1, 1)), r1).await;
    save("id:a", "r1", DocStatus::Done, Some(DocRef::cs(1, 1)), r1).await;
    save("id:a", "r2", DocStatus::Done, Some(DocRef::cs(1, 2)), r2).await;
    save("id:b", "r1", DocStatus::Written, Some(DocRef::cs(2, 1)), r2).await;
    save("id:c", "r1", DocStatus::Failed, None, r2).await;
    save("id:b", "r2", DocStatus::Failed, Some(DocRef::cs(2, 1)), r3).await;
    save("id:a", "r2", DocStatus::Removed, Some(DocRef::cs(1, 2)), r3).await;

    let view = |run: RunId| async move {
        s.after_run(f, run)
            .await
            .unwrap()
            .into_iter()
            .map(|h| (h.source.marker(), h.target.map(|t| t.marker()), h.status))
            .collect::<Vec<_>>()
    };
    let cs = |n: i64, v: i64| Some(DocRef::cs(n, v).marker());
    assert!(view(0).await.is_empty());
    assert_eq!(
        view(r1).await,
        [("dropbox:id:a@r1".into(), cs(1, 1), DocStatus::Done)]
    );
    assert_eq!(
        view(r2).await,
        [
            ("dropbox:id:a@r2".into(), cs(1, 2), DocStatus::Done),
            ("dropbox:id:b@r1".into(), cs(2, 1), DocStatus::Written),
        ]
    );
    assert_eq!(
        view(r3).await,
        [
            ("dropbox:id:a@r2".into(), cs(1, 2), DocStatus::Removed),
            ("dropbox:id:b@r1".into(), cs(2, 1), DocStatus::Written),
        ],
        "b's failed r2 leaves r1 at the target; c never reached it"
    );

    let counts = RunCounts::from([("written".to_owned(), 2), ("failed".to_owned(), 1)]);
    s.finish_run(r2, &counts, &json!({"summary": "2 written, 1 failed"}))
        .await
        .unwrap();
    let err = s.finish_run(r2, &counts, &json!({})).await.unwrap_err();
    assert!(err.to_string().contains("already finished"), "{err}");
    let err = s.finish_run(9_999, &counts, &json!({})).await.unwrap_err();
    assert!(err.to_string().contains("9999"), "{err}");
    let runs = s.runs(f).await.unwrap();
    assert_eq!(runs.iter().map(|r| r.id).collect::<Vec<_>>(), [r1, r2, r3]);
    assert!(runs[0].finished.is_none() && runs[0].counts.is_empty());
    assert_eq!(runs[1].counts, counts);
    assert_eq!(
        runs[1].report,
        Some(json!({"summary": "2 written, 1 failed"}))
    );
    assert!(runs[1].finished.is_some());
    assert!(runs.iter().all(|r| r.flow == f));
}

async fn concurrent_claimers(store: Arc<dyn DocumentStore>) {
    let lease = Duration::from_secs(60);
    for round in 0..8 {
        let key = format!("dropbox:id:race{round}");
        let gate = Arc::new(tokio::sync::Barrier::new(2));
        let tasks: Vec<_> = ["w1", "w2"]
            .into_iter()
            .map(|owner| {
                let (store, gate, key) = (store.clone(), gate.clone(), key.clone());
                tokio::spawn(async move {
                    gate.wait().await;
                    store.claim(FLOW, &key, owner, lease, t(0)).await.unwrap()
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.unwrap());
        }
        let winners: Vec<&Claim> = outcomes.iter().filter_map(|o| o.claimed()).collect();
        assert_eq!(winners.len(), 1, "round {round}: {outcomes:?}");
        assert_eq!(winners[0].token, 1);
        let held = outcomes
            .iter()
            .find_map(|o| match o {
                ClaimOutcome::Held(c) => Some(c),
                ClaimOutcome::Claimed(_) => None,
            })
            .unwrap();
        assert_eq!(held, winners[0], "the loser sees the winner's claim");
    }
}

async fn leases_and_fencing(s: &dyn DocumentStore) {
    let key = "dropbox:id:fenced";
    let lease = Duration::from_secs(60);
    let first = s.claim(FLOW, key, "w1", lease, t(0)).await.unwrap();
    let first = first.claimed().unwrap().clone();
    assert_eq!((first.token, first.lease_until), (1, t(60)));
    assert!(s
        .claim(FLOW, key, "w2", lease, t(59))
        .await
        .unwrap()
        .claimed()
        .is_none());
    assert!(
        matches!(
            s.claim(FLOW, key, "w1", lease, t(1)).await.unwrap(),
            ClaimOutcome::Held(_)
        ),
        "claiming again does not renew"
    );
    assert!(s
        .renew_claim(FLOW, key, "w1", 1, lease, t(30))
        .await
        .unwrap());
    assert!(s
        .claim(FLOW, key, "w2", lease, t(89))
        .await
        .unwrap()
        .claimed()
        .is_none());

    let mut r = rec("id:fenced", "r1", "/fenced.pdf", DocStatus::Pending, 1);
    assert!(s.save_record(&r, Some(1)).await.unwrap());

    // The lease ends; w2 takes over with a higher token; w1's late write is refused.
    let second = s.claim(FLOW, key, "w2", lease, t(90)).await.unwrap();
    let second = second.claimed().unwrap().clone();
    assert_eq!((second.token, second.owner.as_str()), (2, "w2"));
    r.status = DocStatus::Written;
    assert!(!s.save_record(&r, Some(1)).await.unwrap(), "stale token");
    assert_eq!(
        s.record(FLOW, &r.key()).await.unwrap().unwrap().status,
        DocStatus::Pending
    );
    assert!(!s
        .renew_claim(FLOW, key, "w1", 1, lease, t(91))
        .await
        .unwrap());
    assert!(!s.release_claim(FLOW, key, "w1", 1).await.unwrap());
    assert!(!s
        .renew_claim(FLOW, key, "w2", 1, lease, t(91))
        .await
        .unwrap());
    r.status = DocStatus::Done;
    assert!(s.save_record(&r, Some(2)).await.unwrap());
    assert_eq!(s.current_claim(FLOW, key).await.unwrap(), Some(second));

    // Released: free at once, the token count goes on, the released token writes nothing.
    assert!(s.release_claim(FLOW, key, "w2", 2).await.unwrap());
    assert_eq!(s.current_claim(FLOW, key).await.unwrap(), None);
    assert!(!s.save_record(&r, Some(2)).await.unwrap());
    let third = s.claim(FLOW, key, "w1", lease, t(91)).await.unwrap();
    assert_eq!(third.claimed().unwrap().token, 3);
    assert!(
        !s.save_record(&r, Some(4)).await.unwrap(),
        "a token never given"
    );
    assert!(s
        .current_claim(FLOW, "dropbox:id:never")
        .await
        .unwrap()
        .is_none());

    // The lister lease: the same claim on the reserved key.
    let lister = s.claim(FLOW, LISTER_KEY, "w1", lease, t(0)).await.unwrap();
    assert!(lister.claimed().is_some());
    assert!(matches!(
        s.claim(FLOW, LISTER_KEY, "w2", lease, t(10)).await.unwrap(),
        ClaimOutcome::Held(c) if c.owner == "w1"
    ));
    assert!(s
        .claim("other", LISTER_KEY, "w2", lease, t(10))
        .await
        .unwrap()
        .claimed()
        .is_some());
}

async fn checkpoints(s: &dyn DocumentStore) {
    let cp = |s: &str| Checkpoint(s.into());
    assert_eq!(s.partition_checkpoint(FLOW, "root").await.unwrap(), None);
    assert_eq!(
        s.swap_checkpoint(FLOW, "root", Some(1), &cp("x"))
            .await
            .unwrap(),
        CasOutcome::Stale(None)
    );
    assert_eq!(
        s.swap_checkpoint(FLOW, "root", None, &cp("c1"))
            .await
            .unwrap(),
        CasOutcome::Stored(1)
    );
    assert_eq!(
        s.swap_checkpoint(FLOW, "root", None, &cp("c1b"))
            .await
            .unwrap(),
        CasOutcome::Stale(Some(1))
    );
    assert_eq!(
        s.swap_checkpoint(FLOW, "root", Some(1), &cp("c2"))
            .await
            .unwrap(),
        CasOutcome::Stored(2)
    );
    assert_eq!(
        s.swap_checkpoint(FLOW, "root", Some(1), &cp("stale"))
            .await
            .unwrap(),
        CasOutcome::Stale(Some(2))
    );
    let got = s.partition_checkpoint(FLOW, "root").await.unwrap().unwrap();
    assert_eq!((got.checkpoint, got.version), (cp("c2"), 2));
    assert_eq!(s.partition_checkpoint(FLOW, "other").await.unwrap(), None);
    assert_eq!(
        s.swap_checkpoint(FLOW, "other", None, &cp("o1"))
            .await
            .unwrap(),
        CasOutcome::Stored(1)
    );
}

async fn jobs(store: Arc<dyn DocumentStore>) {
    let s = &*store;
    let job = "closeout-riverside";
    assert_eq!(s.job(FLOW, job).await.unwrap(), None);
    let unknown = s.job_barrier(FLOW, job).await.unwrap();
    assert!(!unknown.ready() && unknown.members == 0);

    let a = DocRef::dropbox("id:ja", "r1");
    let b = DocRef::dropbox("id:jb", "r1");
    s.add_to_job(FLOW, job, &a.key()).await.unwrap();
    s.add_to_job(FLOW, job, &b.key()).await.unwrap();
    s.add_to_job(FLOW, job, &b.key()).await.unwrap();
    assert_eq!(s.job_members(FLOW, job).await.unwrap(), [a.key(), b.key()]);
    let bar = s.job_barrier(FLOW, job).await.unwrap();
    assert_eq!(
        (bar.members, bar.unrecorded, bar.listing_finished),
        (2, 2, false)
    );
    assert!(!bar.ready());

    let save = |src: &DocRef, status: DocStatus| {
        let mut r = DocRecord::new(FLOW, src.clone(), Some(format!("/job/{}", src.id)), 5);
        r.status = status;
        async move { assert!(s.save_record(&r, None).await.unwrap()) }
    };
    save(&a, DocStatus::Done).await;
    save(&b, DocStatus::Pending).await;
    s.finish_job_listing(FLOW, job).await.unwrap();
    let finished = s.job(FLOW, job).await.unwrap().unwrap().listing_finished;
    assert!(finished.is_some());
    s.finish_job_listing(FLOW, job).await.unwrap();
    assert_eq!(
        s.job(FLOW, job).await.unwrap().unwrap().listing_finished,
        finished
    );
    let bar = s.job_barrier(FLOW, job).await.unwrap();
    assert_eq!(bar.unrecorded, 0);
    assert!(!bar.ready(), "b is pending: {bar:?}");
    for blocking in [DocStatus::Failed, DocStatus::Awaiting, DocStatus::Written] {
        save(&b, blocking).await;
        assert!(
            !s.job_barrier(FLOW, job).await.unwrap().ready(),
            "{blocking}"
        );
    }
    save(&b, DocStatus::Quarantined).await;
    let bar = s.job_barrier(FLOW, job).await.unwrap();
    assert!(bar.ready(), "{bar:?}");
    assert_eq!(
        bar.counts.into_iter().collect::<Vec<_>>(),
        [(DocStatus::Done, 1), (DocStatus::Quarantined, 1)]
    );

    // The finaliser runs once, even when two workers reach the barrier together.
    let gate = Arc::new(tokio::sync::Barrier::new(2));
    let tasks: Vec<_> = (0..2)
        .map(|_| {
            let (store, gate) = (store.clone(), gate.clone());
            tokio::spawn(async move {
                gate.wait().await;
                store.begin_finalise(FLOW, job).await.unwrap()
            })
        })
        .collect();
    let mut began = 0;
    for task in tasks {
        began += usize::from(task.await.unwrap().began());
    }
    assert_eq!(began, 1);
    let manifest = json!({"manifest_node": 9001});
    assert!(s.finish_finalise(FLOW, job, &manifest).await.unwrap());
    match s.begin_finalise(FLOW, job).await.unwrap() {
        BeginStep::Exists(step) => {
            assert_eq!((step.state, step.output), (StepState::Done, Some(manifest)));
            assert_eq!(
                (step.key, step.name),
                (job_key(job), STEP_FINALISE.to_owned())
            );
        }
        BeginStep::Began(_) => panic!("the finaliser began twice"),
    }
    assert!(!s.job_barrier(FLOW, "other").await.unwrap().ready());
}

/// What must survive a reopen of a store [`run`] used.
pub(crate) async fn after_reopen(s: &dyn DocumentStore) {
    let a = s.record(FLOW, "dropbox:id:a").await.unwrap().unwrap();
    assert_eq!((a.status, a.attempts), (DocStatus::Failed, 2));
    assert_eq!(s.history(FLOW, "dropbox:id:a").await.unwrap().len(), 2);
    let step = s.steps(FLOW, "dropbox:id:a", "r1").await.unwrap();
    assert_eq!(step[0].output, Some(json!({"process_id": 4711})));
    let runs = s.runs("runs").await.unwrap();
    assert_eq!(runs.len(), 3);
    let next = s.begin_run("runs").await.unwrap();
    assert!(next > runs[2].id, "run ids go on growing after a reopen");
    let c = s.claim(
        FLOW,
        "dropbox:id:fenced",
        "w9",
        Duration::from_secs(1),
        t(10_000),
    );
    assert_eq!(c.await.unwrap().claimed().unwrap().token, 4);
    let cp = s.partition_checkpoint(FLOW, "root").await.unwrap().unwrap();
    assert_eq!(cp.version, 2);
    assert!(s
        .job_barrier(FLOW, "closeout-riverside")
        .await
        .unwrap()
        .ready());
    assert!(!s
        .begin_finalise(FLOW, "closeout-riverside")
        .await
        .unwrap()
        .began());
}
