//! `version_sync` (use case 5) against the sandbox's demo seed: the three documents of
//! `Collaboration/Joint Venture` (advanced versioning) are paired with `/Joint Venture`.
//! Each case checks both sides and the store's three-way state (last synced CS version,
//! Dropbox rev, content hash); a second run changes nothing; lost answers and stops at every
//! failpoint end in the same state.

#[path = "version_sync/review.rs"]
mod review;
mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use dropbox_client::models::files::{CommitInfo, Metadata, RelocationArg, WriteMode};
use dropbox_client::ContentHasher;
use ecm_bridge::flows::version_sync::{
    ConflictPolicy, DeletionPolicy, SyncAction, SyncConfig, SyncReport, SyncRunner, VersionSync,
};
use ecm_bridge::runner::Failpoint;
use ecm_bridge::state::{DocRecord, DocStatus, Store};
use ecm_bridge::Error;
use sandbox::{FaultRule, LostAnswer};
use support::Env;

const DB: &str = "/Joint Venture";
const TERMS: &str = "Term Sheet.docx";
const BUDGET: &str = "Budget 2027.xlsx";
const PLAN: &str = "Site Plan.pdf";

fn config(conflict: ConflictPolicy, deletion: DeletionPolicy) -> SyncConfig {
    SyncConfig {
        conflict,
        deletion,
        ..SyncConfig::demo()
    }
}

async fn build(env: &Env, state: Arc<dyn Store>, c: SyncConfig) -> SyncRunner {
    VersionSync::new(env.dropbox.clone(), env.cs.clone(), state, c)
        .build()
        .await
        .unwrap()
}

async fn node(env: &Env, name: &str) -> Option<i64> {
    let ews = env.cs.nodes().enterprise_workspace().await.unwrap();
    env.cs
        .nodes()
        .resolve_path(ews.id, &["Collaboration", "Joint Venture", name])
        .await
        .unwrap()
        .map(|n| n.id)
}

fn db_path(name: &str) -> String {
    format!("{DB}/{name}")
}

/// The file at `path`: (id, rev, content hash), or `None`.
async fn file(env: &Env, path: &str) -> Option<(String, String, String)> {
    match env.dropbox.files().get_metadata(path.to_owned()).await {
        Ok(Metadata::File(f)) => Some((f.id, f.rev, f.content_hash.unwrap_or_default())),
        _ => None,
    }
}

/// The Dropbox file names in the folder, sorted.
async fn names(env: &Env) -> Vec<String> {
    use futures::TryStreamExt;
    let mut out: Vec<String> = env
        .dropbox
        .files()
        .list_folder(DB)
        .into_stream()
        .try_collect::<Vec<_>>()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| match m {
            Metadata::File(f) => Some(f.name),
            _ => None,
        })
        .collect();
    out.sort();
    out
}

/// Uploads `text` over the file at `path` by its rev (a collaborator's edit).
async fn edit(env: &Env, path: &str, text: &str) -> String {
    edit_at(env, path, text, None).await
}

/// [`edit`], modified at `when` on the collaborator's machine.
async fn edit_at(
    env: &Env,
    path: &str,
    text: &str,
    when: Option<chrono::DateTime<chrono::Utc>>,
) -> String {
    let (_, rev, _) = file(env, path).await.unwrap();
    let mut commit = CommitInfo::new(path.to_owned()).mode(WriteMode::Update(rev));
    if let Some(t) = when {
        commit = commit.client_modified(t);
    }
    env.dropbox
        .files()
        .upload_bytes(commit, Bytes::from(text.to_owned()))
        .await
        .unwrap()
        .rev
}

/// Adds `text` as a new major CS version; answers its sequence number.
async fn cs_version(env: &Env, node: i64, text: &str) -> i64 {
    env.cs
        .documents()
        .add_version(
            node,
            contentserver_client::UploadBody::from_bytes(Bytes::from(text.to_owned())),
        )
        .major(true)
        .send()
        .await
        .unwrap();
    latest(env, node).await.0
}

/// The latest CS version: (sequence number, is major).
async fn latest(env: &Env, node: i64) -> (i64, bool) {
    let v = env.cs.documents().latest_version(node).await.unwrap();
    (
        v.version_number.unwrap(),
        v.number().map(|n| n.is_major()).unwrap_or(true),
    )
}

/// Asserts the pair of `name` is in step: the store's three-way state is CS `version`, the
/// Dropbox file's current rev and its content hash, and both sides hold the same bytes.
async fn assert_in_step(env: &Env, s: &SyncRunner, name: &str, version: i64) -> DocRecord {
    let n = node(env, name).await.expect("CS document");
    let rec = s.pair(n).await.unwrap().expect("paired");
    let (id, rev, hash) = file(env, &db_path(name)).await.expect("Dropbox file");
    assert_eq!(rec.status, DocStatus::Done, "{name}: {rec:?}");
    assert_eq!(
        rec.source.version.as_deref(),
        Some(version.to_string().as_str()),
        "{name}"
    );
    let t = rec.target.clone().unwrap();
    assert_eq!(
        (t.id.as_str(), t.version.as_deref()),
        (id.as_str(), Some(rev.as_str())),
        "{name}"
    );
    assert_eq!(rec.hash.as_ref().unwrap().value, hash, "{name}");
    let cs = env.cs_bytes(n, Some(version)).await;
    assert_eq!(
        ContentHasher::hash(&cs),
        hash,
        "{name}: CS and Dropbox differ"
    );
    rec
}

fn quiet(r: &SyncReport) {
    assert!(!r.changed(), "a second run changed something:\n{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cs_version_goes_out_by_rev_and_a_second_run_changes_nothing() {
    let env = Env::start().await;
    let s = build(&env, env.state(), SyncConfig::demo()).await;
    let first = s.run_once().await.unwrap();
    assert_eq!(first.of(SyncAction::Published).len(), 3, "{first}");
    assert_eq!(names(&env).await, vec![BUDGET, PLAN, TERMS]);
    for name in [TERMS, BUDGET, PLAN] {
        assert_in_step(&env, &s, name, 1).await;
    }
    quiet(&s.run_once().await.unwrap());

    let terms = node(&env, TERMS).await.unwrap();
    let (id, rev, _) = file(&env, &db_path(TERMS)).await.unwrap();
    let v = cs_version(&env, terms, "Term Sheet v2: shares 60/40.").await;
    let out = s.run_once().await.unwrap();
    assert_eq!(out.of(SyncAction::SentOut).len(), 1, "{out}");
    let rec = assert_in_step(&env, &s, TERMS, v).await;
    // The same file, updated by rev: no second file.
    let t = rec.target.unwrap();
    assert_eq!(t.id, id);
    assert_ne!(t.version.as_deref(), Some(rev.as_str()));
    assert_eq!(names(&env).await.len(), 3);
    assert_eq!(
        env.dropbox_bytes(&db_path(TERMS)).await,
        "Term Sheet v2: shares 60/40."
    );
    quiet(&s.run_once().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropbox_edit_comes_in_pending_then_is_accepted_or_rejected() {
    let env = Env::start().await;
    let s = build(&env, env.state(), SyncConfig::demo()).await;
    s.run_once().await.unwrap();
    let terms = node(&env, TERMS).await.unwrap();
    let edit_rev = edit(&env, &db_path(TERMS), "Term Sheet, partner's edit.").await;
    let r = s.run_once().await.unwrap();
    assert_eq!(r.of(SyncAction::Pending).len(), 1, "{r}");
    // In CS: a minor version, not official; the record waits with the edit.
    let (seq, major) = latest(&env, terms).await;
    assert!(!major, "the edit must be a minor version");
    assert_eq!(
        env.cs_bytes(terms, Some(seq)).await,
        "Term Sheet, partner's edit."
    );
    let rec = s.pair(terms).await.unwrap().unwrap();
    assert_eq!(rec.status, DocStatus::Awaiting);
    assert_eq!(rec.source.version.as_deref(), Some("1"));
    let p = s.pending(terms).await.unwrap().unwrap();
    assert_eq!((p.rev.as_str(), p.version), (edit_rev.as_str(), seq));
    // Dropbox keeps the edit; the pending version is not sent back (no echo).
    assert_eq!(file(&env, &db_path(TERMS)).await.unwrap().1, edit_rev);
    quiet(&s.run_once().await.unwrap());

    s.accept(terms).await.unwrap();
    let r = s.run_once().await.unwrap();
    assert_eq!(r.of(SyncAction::Accepted).len(), 1, "{r}");
    let (official, major) = latest(&env, terms).await;
    assert!(major);
    let rec = assert_in_step(&env, &s, TERMS, official).await;
    assert_eq!(
        rec.target.unwrap().version.as_deref(),
        Some(edit_rev.as_str())
    );
    quiet(&s.run_once().await.unwrap());

    // A second edit, rejected: kept as a conflicted copy, the official version put back.
    edit(
        &env,
        &db_path(TERMS),
        "Term Sheet, an edit CS will not take.",
    )
    .await;
    let r = s.run_once().await.unwrap();
    assert_eq!(r.of(SyncAction::Pending).len(), 1, "{r}");
    s.reject(terms).await.unwrap();
    let r = s.run_once().await.unwrap();
    let rejected = r.of(SyncAction::Rejected);
    assert_eq!(rejected.len(), 1, "{r}");
    let (put_back, _) = latest(&env, terms).await;
    assert_in_step(&env, &s, TERMS, put_back).await;
    assert_eq!(
        env.dropbox_bytes(&db_path(TERMS)).await,
        "Term Sheet, partner's edit."
    );
    let copies: Vec<String> = names(&env)
        .await
        .into_iter()
        .filter(|n| n.contains("conflicted copy"))
        .collect();
    assert_eq!(copies.len(), 1, "{copies:?}");
    assert!(
        rejected[0].detail.contains(&copies[0]),
        "{}",
        rejected[0].detail
    );
    assert_eq!(
        env.dropbox_bytes(&format!("{DB}/{}", copies[0])).await,
        "Term Sheet, an edit CS will not take."
    );
    let again = s.run_once().await.unwrap();
    quiet(&again);
    assert_eq!(again.unpaired_dropbox, copies);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_sides_changing_follow_each_conflict_policy() {
    for policy in [
        ConflictPolicy::KeepBoth,
        ConflictPolicy::PreferCs,
        ConflictPolicy::PreferNewest,
        ConflictPolicy::FlagOnly,
    ] {
        let env = Env::start().await;
        let s = build(&env, env.state(), config(policy, DeletionPolicy::Mirror)).await;
        s.run_once().await.unwrap();
        let budget = node(&env, BUDGET).await.unwrap();
        let v = cs_version(&env, budget, "Budget, CS revision.").await;
        // The Dropbox edit is later than the CS version (prefer_newest takes it).
        let later = chrono::Utc::now() + chrono::Duration::hours(1);
        let edit_rev = edit_at(
            &env,
            &db_path(BUDGET),
            "Budget, partner's revision.",
            Some(later),
        )
        .await;
        let r = s.run_once().await.unwrap();
        let conflicts = r.conflicts();
        assert_eq!(conflicts.len(), 1, "{policy:?}: {r}");
        assert_eq!(conflicts[0].pair, format!("{BUDGET}"));
        let detail = conflicts[0].detail.clone();
        let copies: Vec<String> = names(&env)
            .await
            .into_iter()
            .filter(|n| n.contains("conflicted copy"))
            .collect();
        match policy {
            ConflictPolicy::KeepBoth => {
                assert_in_step(&env, &s, BUDGET, v).await;
                assert_eq!(copies.len(), 1);
                assert!(
                    detail.contains("kept both") && detail.contains(&copies[0]),
                    "{detail}"
                );
                let copy = env.dropbox_bytes(&format!("{DB}/{}", copies[0])).await;
                assert_eq!(copy, "Budget, partner's revision.");
            }
            ConflictPolicy::PreferCs => {
                assert_in_step(&env, &s, BUDGET, v).await;
                assert!(copies.is_empty());
                assert!(detail.contains(&edit_rev), "{detail}");
            }
            ConflictPolicy::PreferNewest => {
                assert!(detail.contains("Dropbox edit is newer"), "{detail}");
                let rec = s.pair(budget).await.unwrap().unwrap();
                assert_eq!(rec.status, DocStatus::Awaiting);
                assert_eq!(rec.source.version.as_deref(), Some(v.to_string().as_str()));
                let (seq, major) = latest(&env, budget).await;
                assert!(!major && seq > v);
                assert_eq!(
                    env.dropbox_bytes(&db_path(BUDGET)).await,
                    "Budget, partner's revision."
                );
            }
            ConflictPolicy::FlagOnly => {
                let rec = s.pair(budget).await.unwrap().unwrap();
                assert_eq!(rec.status, DocStatus::Conflict);
                assert_eq!(rec.source.version.as_deref(), Some("1"));
                assert_eq!(latest(&env, budget).await.0, v);
                assert_eq!(
                    env.dropbox_bytes(&db_path(BUDGET)).await,
                    "Budget, partner's revision."
                );
                let again = s.run_once().await.unwrap();
                assert_eq!(again.of(SyncAction::StillFlagged).len(), 1, "{again}");
            }
        }
        quiet(&s.run_once().await.unwrap());
        env.sandbox.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rename_on_each_side_is_followed() {
    let env = Env::start().await;
    let s = build(&env, env.state(), SyncConfig::demo()).await;
    s.run_once().await.unwrap();
    let plan = node(&env, PLAN).await.unwrap();
    let (id, _, _) = file(&env, &db_path(PLAN)).await.unwrap();
    env.cs
        .nodes()
        .rename(plan, "Site Plan A.pdf")
        .await
        .unwrap();
    let r = s.run_once().await.unwrap();
    assert_eq!(r.of(SyncAction::Renamed).len(), 1, "{r}");
    assert!(r.of(SyncAction::Deleted).is_empty() && r.of(SyncAction::Published).is_empty());
    assert_eq!(file(&env, &db_path("Site Plan A.pdf")).await.unwrap().0, id);
    assert!(file(&env, &db_path(PLAN)).await.is_none());
    let rec = assert_in_step(&env, &s, "Site Plan A.pdf", 1).await;
    assert_eq!(rec.path.as_deref(), Some("Site Plan A.pdf"));
    quiet(&s.run_once().await.unwrap());

    env.dropbox
        .files()
        .move_entry(RelocationArg::new(
            db_path("Site Plan A.pdf"),
            db_path("Site Plan B.pdf"),
        ))
        .await
        .unwrap();
    let r = s.run_once().await.unwrap();
    assert_eq!(r.of(SyncAction::Renamed).len(), 1, "{r}");
    assert_eq!(node(&env, "Site Plan B.pdf").await, Some(plan));
    let rec = assert_in_step(&env, &s, "Site Plan B.pdf", 1).await;
    assert_eq!(
        rec.location.as_deref(),
        Some(db_path("Site Plan B.pdf").as_str())
    );
    assert_eq!(r.pairs, 3);
    quiet(&s.run_once().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_on_each_side_follows_the_policy() {
    for policy in [
        DeletionPolicy::Mirror,
        DeletionPolicy::RecordOnly,
        DeletionPolicy::Restore,
    ] {
        let env = Env::start().await;
        let s = build(&env, env.state(), config(ConflictPolicy::KeepBoth, policy)).await;
        s.run_once().await.unwrap();
        let plan = node(&env, PLAN).await.unwrap();
        let terms = node(&env, TERMS).await.unwrap();
        // Deleted in Dropbox.
        env.dropbox.files().delete(db_path(PLAN)).await.unwrap();
        let r = s.run_once().await.unwrap();
        // Deleted in CS.
        env.cs.nodes().delete(terms).await.unwrap();
        let r2 = s.run_once().await.unwrap();
        match policy {
            DeletionPolicy::Mirror => {
                assert_eq!(r.of(SyncAction::Deleted).len(), 1, "{r}");
                assert_eq!(node(&env, PLAN).await, None);
                assert_eq!(r2.of(SyncAction::Deleted).len(), 1, "{r2}");
                assert!(file(&env, &db_path(TERMS)).await.is_none());
                for n in [plan, terms] {
                    assert_eq!(s.pair(n).await.unwrap().unwrap().status, DocStatus::Removed);
                }
                assert_eq!(names(&env).await, vec![BUDGET]);
            }
            DeletionPolicy::RecordOnly => {
                assert_eq!(node(&env, PLAN).await, Some(plan));
                assert!(file(&env, &db_path(TERMS)).await.is_some());
                for n in [plan, terms] {
                    assert_eq!(s.pair(n).await.unwrap().unwrap().status, DocStatus::Removed);
                }
            }
            DeletionPolicy::Restore => {
                assert_eq!(r.of(SyncAction::Restored).len(), 1, "{r}");
                assert_in_step(&env, &s, PLAN, 1).await;
                assert_eq!(r2.of(SyncAction::Restored).len(), 1, "{r2}");
                let again = node(&env, TERMS).await.expect("restored in CS");
                assert_ne!(again, terms);
                assert_eq!(
                    s.pair(terms).await.unwrap().unwrap().status,
                    DocStatus::Removed
                );
                assert_in_step(&env, &s, TERMS, 1).await;
            }
        }
        quiet(&s.run_once().await.unwrap());
        env.sandbox.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mass_deletion_guard_refuses_unless_forced() {
    let env = Env::start().await;
    let state: Arc<dyn Store> = env.state();
    let s = build(&env, state.clone(), SyncConfig::demo()).await;
    s.run_once().await.unwrap();
    for name in [PLAN, TERMS] {
        env.dropbox.files().delete(db_path(name)).await.unwrap();
    }
    let runs = state.runs("version_sync").await.unwrap().len();
    match s.run_once().await {
        Err(Error::Refused(why)) => assert!(why.contains("2 of 3"), "{why}"),
        other => panic!("not refused: {other:?}"),
    }
    // Nothing changed: both CS documents and their records stay.
    assert_eq!(state.runs("version_sync").await.unwrap().len(), runs);
    for name in [PLAN, TERMS] {
        let n = node(&env, name).await.expect("kept in CS");
        assert_eq!(s.pair(n).await.unwrap().unwrap().status, DocStatus::Done);
    }
    let forced = build(
        &env,
        state.clone(),
        SyncConfig {
            force: true,
            ..SyncConfig::demo()
        },
    )
    .await;
    let r = forced.run_once().await.unwrap();
    assert_eq!(r.of(SyncAction::Deleted).len(), 2, "{r}");
    assert_eq!(node(&env, PLAN).await, None);
    assert_eq!(node(&env, TERMS).await, None);
    assert_in_step(&env, &s, BUDGET, 1).await;
    quiet(&s.run_once().await.unwrap());
}

/// The scenario of the fault and crash tests, after a first run: an edit in Dropbox
/// (Term Sheet), a new CS version (Budget), and both (Site Plan: kept both).
async fn changes(env: &Env) -> i64 {
    edit(env, &db_path(TERMS), "Term Sheet, partner's edit.").await;
    let budget = node(env, BUDGET).await.unwrap();
    let v = cs_version(env, budget, "Budget, CS revision.").await;
    let plan = node(env, PLAN).await.unwrap();
    cs_version(env, plan, "Site Plan, CS revision.").await;
    edit(env, &db_path(PLAN), "Site Plan, partner's revision.").await;
    v
}

async fn assert_final(env: &Env, s: &SyncRunner, budget_v: i64) {
    let terms = node(env, TERMS).await.unwrap();
    let p = s.pending(terms).await.unwrap().expect("pending edit");
    let (seq, major) = latest(env, terms).await;
    assert!(!major);
    assert_eq!(p.version, seq, "exactly one minor version added");
    assert_eq!(
        env.cs
            .documents()
            .versions(terms)
            .send()
            .await
            .unwrap()
            .len(),
        2
    );
    assert_in_step(env, s, BUDGET, budget_v).await;
    assert_in_step(env, s, PLAN, 2).await;
    let mut n = names(env).await;
    n.retain(|x| x.contains("conflicted copy"));
    assert_eq!(n.len(), 1, "exactly one conflicted copy: {n:?}");
    assert_eq!(names(env).await.len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_answers_end_in_the_same_state() {
    let env = Env::start().await;
    let s = build(&env, env.state(), SyncConfig::demo()).await;
    env.sandbox
        .dropbox_faults()
        .add(FaultRule::lose("/2/files/upload", LostAnswer::Status(502)).with_nth(1))
        .unwrap();
    for _ in 0..3 {
        if s.run_once()
            .await
            .unwrap()
            .of(SyncAction::Failed)
            .is_empty()
        {
            break;
        }
    }
    let v = changes(&env).await;
    let db = env.sandbox.dropbox_faults();
    for route in ["/2/files/upload", "/2/files/copy_v2"] {
        db.add(FaultRule::lose(route, LostAnswer::Status(502)).with_nth(1))
            .unwrap();
    }
    env.sandbox
        .contentserver_faults()
        .add(FaultRule::lose("POST /api/v2/nodes/{id}/versions", LostAnswer::Reset).with_nth(1))
        .unwrap();
    let mut runs = 0;
    loop {
        runs += 1;
        let r = s.run_once().await.unwrap();
        if r.of(SyncAction::Failed).is_empty() {
            break;
        }
        assert!(runs < 4, "{r}");
    }
    assert!(env.sandbox.dropbox_faults().lost_answers() >= 3);
    assert!(env.sandbox.contentserver_faults().lost_answers() >= 1);
    assert_final(&env, &s, v).await;
    quiet(&s.run_once().await.unwrap());
}

/// Stops at the `n`th failpoint reached (1-based); records where.
fn stop_at(n: usize, hit: Arc<Mutex<Option<Failpoint>>>) -> ecm_bridge::runner::FailpointFn {
    let count = AtomicUsize::new(0);
    Arc::new(move |at| {
        let i = count.fetch_add(1, Ordering::SeqCst) + 1;
        if i == n {
            *hit.lock().unwrap() = Some(at);
            true
        } else {
            false
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_at_any_failpoint_and_restarted_ends_in_the_same_state() {
    let mut seen = Vec::new();
    for n in 1.. {
        let env = Env::start().await;
        let state: Arc<dyn Store> = env.state();
        let s = build(&env, state.clone(), SyncConfig::demo()).await;
        s.run_once().await.unwrap();
        let v = changes(&env).await;
        let hit = Arc::new(Mutex::new(None));
        let crashing = VersionSync::new(
            env.dropbox.clone(),
            env.cs.clone(),
            state.clone(),
            SyncConfig::demo(),
        )
        .failpoint(stop_at(n, hit.clone()))
        .build()
        .await
        .unwrap();
        match crashing.run_once().await {
            Err(Error::Stopped(_)) => {}
            Ok(_) => {
                assert!(n > 8, "only {n} failpoints?");
                break;
            }
            Err(e) => panic!("failpoint {n}: {}", e.chain()),
        }
        seen.push(hit.lock().unwrap().expect("stopped somewhere"));
        let r = s.run_once().await.unwrap();
        assert!(r.of(SyncAction::Failed).is_empty(), "failpoint {n}: {r}");
        assert_final(&env, &s, v).await;
        quiet(&s.run_once().await.unwrap());
        env.sandbox.shutdown().await;
    }
    for at in [
        Failpoint::BeforePending,
        Failpoint::BeforeWrite,
        Failpoint::AfterWrite,
        Failpoint::AfterRecord,
        Failpoint::AfterStep,
    ] {
        assert!(seen.contains(&at), "never stopped at {at:?}: {seen:?}");
    }
}

/// A run reports its progress: each pair (or new CS document) `Found` once and `Synced` once
/// with what was done, the same as the report says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_reports_each_pair_found_then_synced() {
    use ecm_bridge::runner::Progress;
    let env = Env::start().await;
    let events: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = events.clone();
    let s = VersionSync::new(
        env.dropbox.clone(),
        env.cs.clone(),
        env.state(),
        SyncConfig::demo(),
    )
    .on_progress(Arc::new(move |e: &Progress| {
        let line = match e {
            Progress::Found { path, .. } => format!("found {path}"),
            Progress::Synced { path, action, .. } => format!("{action} {path}"),
            _ => return,
        };
        seen.lock().unwrap().push(line);
    }))
    .build()
    .await
    .unwrap();
    let first = s.run_once().await.unwrap();
    let published: Vec<String> = first
        .of(SyncAction::Published)
        .iter()
        .map(|e| format!("published {}", e.pair))
        .collect();
    assert_eq!(published.len(), 3, "{first}");
    let got = std::mem::take(&mut *events.lock().unwrap());
    assert_eq!(got.len(), 6, "{got:?}");
    for pair in got.chunks(2) {
        assert!(pair[0].starts_with("found "), "{got:?}");
        assert!(published.contains(&pair[1]), "{got:?}");
        assert_eq!(pair[0]["found ".len()..], pair[1]["published ".len()..]);
    }
    s.run_once().await.unwrap();
    let again = events.lock().unwrap().clone();
    assert_eq!(again.len(), 6, "{again:?}");
    assert!(
        again
            .iter()
            .skip(1)
            .step_by(2)
            .all(|l| l.starts_with("unchanged ")),
        "{again:?}"
    );
}
