//! A state file of the second schema version (mappings, intents, failures, steps, audit),
//! written here with that version's own SQL, opens and shows its documents as records.

use rusqlite::{params, Connection};
use serde_json::Value;

use super::schema::{V1, V2, V3};
use super::SqliteStore;
use crate::model::{ContentHash, DocRef};
use crate::state::{
    DocStatus, DocumentStore, StateStore, StepState, STEP_SINK_DEFERRED, STEP_SINK_DEFERRED_STARTED,
};

const F: &str = "archive_on_approval";

fn old_file(path: &std::path::Path) {
    let c = Connection::open(path).unwrap();
    c.execute_batch(V1).unwrap();
    c.execute_batch(V2).unwrap();
    c.pragma_update(None, "user_version", 2).unwrap();
    let mapping = |source: &str, target: &str, hooks: bool, at: &str| {
        let key = DocRef::parse_marker(source).unwrap().key();
        c.execute(
            "INSERT INTO mappings (flow, source_key, source, target, location, hooks_done, recorded)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![F, key, source, target, format!("Archive/{key}"), hooks, at],
        )
        .unwrap();
    };
    // a: two versions, the second finished. b: written, its workflow start under way.
    // c: an intent and no mapping. d: a new version failing after r1 was written. e: dead.
    mapping(
        "dropbox:id:a@r1",
        "cs:100@1",
        true,
        "2026-01-01T10:00:00+00:00",
    );
    mapping(
        "dropbox:id:a@r2",
        "cs:100@2",
        true,
        "2026-01-02T10:00:00+00:00",
    );
    mapping(
        "dropbox:id:b@r1",
        "cs:200@1",
        false,
        "2026-01-01T11:00:00+00:00",
    );
    mapping(
        "dropbox:id:d@r1",
        "cs:400@1",
        true,
        "2026-01-01T12:00:00+00:00",
    );
    c.execute(
        "INSERT INTO intents (flow, source_key, source, started) VALUES (?1, ?2, ?3, ?4)",
        params![
            F,
            "dropbox:id:c",
            "dropbox:id:c@r1",
            "2026-01-03T09:00:00+00:00"
        ],
    )
    .unwrap();
    let failure = |source: &str, path: Option<&str>, attempts: u32, dead: bool| {
        let key = DocRef::parse_marker(source).unwrap().key();
        c.execute(
            "INSERT INTO failures (flow, source_key, source, path, error, attempts, dead, updated)
             VALUES (?1, ?2, ?3, ?4, 'HTTP 503', ?5, ?6, '2026-01-03T10:00:00+00:00')",
            params![F, key, source, path, attempts, dead],
        )
        .unwrap();
    };
    failure("dropbox:id:d@r2", Some("/Projects/D.pdf"), 2, false);
    // The intent of d's failed write stays behind it (the runner keeps it, the write may be
    // in doubt): the failure is later, so d is failed.
    c.execute(
        "INSERT INTO intents (flow, source_key, source, started) VALUES (?1, ?2, ?3, ?4)",
        params![
            F,
            "dropbox:id:d",
            "dropbox:id:d@r2",
            "2026-01-03T09:59:00+00:00"
        ],
    )
    .unwrap();
    failure("dropbox:id:e@r1", None, 5, true);
    // f: failed, then a run began a new version and stopped: pending, attempts kept.
    failure("dropbox:id:f@r1", None, 1, false);
    c.execute(
        "INSERT INTO intents (flow, source_key, source, started) VALUES (?1, ?2, ?3, ?4)",
        params![
            F,
            "dropbox:id:f",
            "dropbox:id:f@r2",
            "2026-01-04T09:00:00+00:00"
        ],
    )
    .unwrap();
    c.execute(
        "INSERT INTO steps (flow, source, step, done) VALUES (?1, ?2, ?3, ?4)",
        params![
            F,
            "dropbox:id:b@r1",
            STEP_SINK_DEFERRED_STARTED,
            "2026-01-01T11:00:01+00:00"
        ],
    )
    .unwrap();
    for (source, step) in [
        ("dropbox:id:a@r2", STEP_SINK_DEFERRED_STARTED),
        ("dropbox:id:a@r2", STEP_SINK_DEFERRED),
    ] {
        c.execute(
            "INSERT INTO steps (flow, source, step, done) VALUES (?1, ?2, ?3, ?4)",
            params![F, source, step, "2026-01-02T10:00:01+00:00"],
        )
        .unwrap();
    }
    for (source, path, hash) in [
        ("dropbox:id:a@r1", "/Projects/Old A.pdf", "dropbox:aa01"),
        ("dropbox:id:a@r2", "/Projects/A.pdf", "dropbox:aa02"),
        ("dropbox:id:b@r1", "/Projects/B.pdf", "dropbox:bb01"),
        ("dropbox:id:e@r0", "/Projects/E.pdf", "dropbox:ee00"),
    ] {
        c.execute(
            "INSERT INTO audit (time, flow, source, source_hash, path, target, account, action,
                 outcome)
             VALUES ('2026-01-01T00:00:00+00:00', ?1, ?2, ?3, ?4, NULL, NULL, 'create', 'ok')",
            params![F, source, hash, path],
        )
        .unwrap();
    }
}

#[tokio::test]
async fn a_state_file_of_the_current_schema_migrates_into_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    old_file(&path);
    let store = SqliteStore::open(&path).unwrap();
    let version: i64 = store
        .with(|c| c.query_row("PRAGMA user_version", [], |r| r.get(0)))
        .await
        .unwrap();
    assert_eq!(version, 4);

    let rec = |id: &str| {
        let store = store.clone();
        let key = format!("dropbox:{id}");
        async move { store.record(F, &key).await.unwrap().unwrap() }
    };
    let a = rec("id:a").await;
    assert_eq!(
        (a.source.clone(), a.target.clone(), a.status, a.run),
        (
            DocRef::dropbox("id:a", "r2"),
            Some(DocRef::cs(100, 2)),
            DocStatus::Done,
            0
        )
    );
    assert_eq!(a.path.as_deref(), Some("/Projects/A.pdf"));
    assert_eq!(a.path_lower.as_deref(), Some("/projects/a.pdf"));
    assert_eq!(a.hash, Some(ContentHash::dropbox("aa02")));
    assert_eq!(a.location.as_deref(), Some("Archive/dropbox:id:a"));
    assert_eq!(a.created.to_rfc3339(), "2026-01-01T10:00:00+00:00");
    let history: Vec<(String, DocStatus)> = store
        .history(F, "dropbox:id:a")
        .await
        .unwrap()
        .into_iter()
        .map(|h| (h.target.unwrap().marker(), h.status))
        .collect();
    assert_eq!(
        history,
        [
            ("cs:100@1".into(), DocStatus::Done),
            ("cs:100@2".into(), DocStatus::Done)
        ]
    );

    let b = rec("id:b").await;
    assert_eq!(
        (b.status, b.target),
        (DocStatus::Written, Some(DocRef::cs(200, 1)))
    );
    let steps = store.steps(F, "dropbox:id:b", "r1").await.unwrap();
    assert_eq!(steps.len(), 1);
    assert_eq!(
        (steps[0].name.as_str(), steps[0].state),
        ("workflow", StepState::Started),
        "a workflow start under way stays in doubt, under the CS sink's step name"
    );
    let steps = store.steps(F, "dropbox:id:a", "r2").await.unwrap();
    assert_eq!(steps.len(), 1);
    assert_eq!(
        (steps[0].state, steps[0].output.clone()),
        (StepState::Done, None::<Value>)
    );

    let c = rec("id:c").await;
    assert_eq!(
        (c.status, c.target, c.path),
        (DocStatus::Pending, None, None)
    );
    assert_eq!(c.source, DocRef::dropbox("id:c", "r1"));

    let d = rec("id:d").await;
    assert_eq!(
        (
            d.source.clone(),
            d.status,
            d.attempts,
            d.last_error.as_deref()
        ),
        (
            DocRef::dropbox("id:d", "r2"),
            DocStatus::Failed,
            2,
            Some("HTTP 503")
        )
    );
    assert_eq!(
        d.target,
        Some(DocRef::cs(400, 1)),
        "r1 is still at the target"
    );
    assert_eq!(d.path.as_deref(), Some("/Projects/D.pdf"));

    let e = rec("id:e").await;
    assert_eq!((e.status, e.attempts), (DocStatus::Dead, 5));
    assert_eq!(
        e.path.as_deref(),
        Some("/Projects/E.pdf"),
        "from another version"
    );
    assert_eq!(e.hash, None, "a hash belongs to its version");

    let f = rec("id:f").await;
    assert_eq!(
        (f.source, f.status, f.attempts),
        (DocRef::dropbox("id:f", "r2"), DocStatus::Pending, 1)
    );

    let under = store.records_under(F, "/projects").await.unwrap();
    assert_eq!(under.len(), 4, "{under:?}");
    let view = store.after_run(F, 0).await.unwrap();
    let at_target: Vec<String> = view.iter().map(|h| h.source.marker()).collect();
    assert_eq!(
        at_target,
        ["dropbox:id:a@r2", "dropbox:id:b@r1", "dropbox:id:d@r1"]
    );

    // The tables of the first contract are gone; checkpoints and the audit trail stay.
    assert_eq!(old_tables(&store).await, 0);
    assert_eq!(StateStore::audit(&store, Some(F)).await.unwrap().len(), 4);
    assert!(store.begin_run(F).await.unwrap() >= 1);
}

async fn old_tables(store: &SqliteStore) -> i64 {
    store
        .with(|c| {
            c.query_row(
                "SELECT count(*) FROM sqlite_master
                 WHERE name IN ('mappings', 'intents', 'failures', 'steps')",
                [],
                |r| r.get(0),
            )
        })
        .await
        .unwrap()
}

/// A file of schema 3, as the runner of that version left it: records beside the intents
/// and the string-named steps it still wrote.
#[tokio::test]
async fn a_state_file_of_schema_3_moves_its_intents_and_steps_into_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    {
        let c = Connection::open(&path).unwrap();
        c.execute_batch(V1).unwrap();
        c.execute_batch(V2).unwrap();
        c.execute_batch(V3).unwrap();
        c.pragma_update(None, "user_version", 3).unwrap();
        // g: r1 done, a write of r2 under way. h: written, its workflow start under way.
        // i: r1 failed at its write (the intent stays with the failure).
        for (id, source, target, status) in [
            ("g", "dropbox:id:g@r1", Some("cs:700@1"), "done"),
            ("h", "dropbox:id:h@r1", Some("cs:800@1"), "written"),
            ("i", "dropbox:id:i@r1", None, "failed"),
        ] {
            c.execute(
                "INSERT INTO records (flow, key, source, target, status, attempts, run, created,
                                      updated)
                 VALUES (?1, ?2, ?3, ?4, ?5, 1, 1, '2026-02-01T00:00:00+00:00',
                         '2026-02-01T00:00:00+00:00')",
                params![F, format!("dropbox:id:{id}"), source, target, status],
            )
            .unwrap();
        }
        for (id, source) in [("g", "dropbox:id:g@r2"), ("i", "dropbox:id:i@r1")] {
            c.execute(
                "INSERT INTO intents (flow, source_key, source, started)
                 VALUES (?1, ?2, ?3, '2026-02-02T00:00:00+00:00')",
                params![F, format!("dropbox:id:{id}"), source],
            )
            .unwrap();
        }
        c.execute(
            "INSERT INTO steps (flow, source, step, done)
             VALUES (?1, 'dropbox:id:h@r1', ?2, '2026-02-01T00:00:01+00:00')",
            params![F, STEP_SINK_DEFERRED_STARTED],
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let rec = |id: &str| {
        let store = store.clone();
        let key = format!("dropbox:{id}");
        async move { store.record(F, &key).await.unwrap().unwrap() }
    };
    let g = rec("id:g").await;
    assert_eq!(
        (g.source, g.status, g.target),
        (
            DocRef::dropbox("id:g", "r2"),
            DocStatus::Pending,
            Some(DocRef::cs(700, 1))
        ),
        "the write in doubt is pending; the target is still r1's"
    );
    let i = rec("id:i").await;
    assert_eq!((i.status, i.attempts), (DocStatus::Failed, 1));
    let steps = store.steps(F, "dropbox:id:h", "r1").await.unwrap();
    assert_eq!(
        steps
            .iter()
            .map(|s| (s.name.as_str(), s.state))
            .collect::<Vec<_>>(),
        [("workflow", StepState::Started)]
    );
    assert_eq!(old_tables(&store).await, 0);
}
