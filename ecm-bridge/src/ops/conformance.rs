//! The operator's view on every store: run by the tests of each store (memory and SQLite
//! below, PostgreSQL in `state/postgres/tests.rs`).

use std::sync::Arc;

use chrono::{Duration, Utc};

use super::*;
use crate::model::DocRef;
use crate::state::{AuditEntry, DocRecord, DocStatus, Store};

fn record(key: &str, status: DocStatus, run: u64) -> DocRecord {
    let mut r = DocRecord::new(
        "f",
        DocRef::dropbox(format!("id:{key}"), "r1"),
        Some(format!("/In/{key}.pdf")),
        run,
    );
    r.status = status;
    r
}

/// What every store must give the operator.
pub(crate) async fn run(store: Arc<dyn Store>) {
    let s = &*store;
    let now = Utc::now();
    // Whole seconds, an hour ago: every store keeps it exactly, and it is before the
    // operator's changes below.
    let t0 = chrono::DateTime::from_timestamp(now.timestamp() - 3600, 0).unwrap();
    let run1 = s.begin_run("f").await.unwrap();
    let mut counts = RunCounts::new();
    counts.insert("written".into(), 3);
    s.finish_run(run1, &counts, &serde_json::json!({}))
        .await
        .unwrap();

    let mut failed = record("failed", DocStatus::Failed, run1);
    failed.attempts = 2;
    failed.last_error = Some("CS POST nodes: 503".into());
    let mut dead = record("dead", DocStatus::Dead, run1);
    dead.attempts = 5;
    dead.last_error = Some("CS POST nodes: 500, again".into());
    let mut conflict = record("conflict", DocStatus::Conflict, run1);
    conflict.target = Some(DocRef::cs(400, 2));
    conflict.last_error = Some("the target changed on its side".into());
    let mut quarantined = record("quarantined", DocStatus::Quarantined, run1);
    quarantined.last_error = Some("rule malware".into());
    let mut due = record("due", DocStatus::Awaiting, run1);
    due.next_check = Some(now - Duration::minutes(5));
    let mut later = record("later", DocStatus::Awaiting, run1);
    later.next_check = Some(now + Duration::hours(1));
    let done = record("done", DocStatus::Done, run1);
    for r in [&failed, &dead, &conflict, &quarantined, &due, &later, &done] {
        assert!(s.save_record(r, None).await.unwrap());
        s.append_audit(&AuditEntry {
            time: t0,
            flow: "f".into(),
            source: r.source.clone(),
            source_hash: None,
            path: r.path.clone(),
            target: r.target.clone(),
            account: Some("dana, \"ops\"".into()),
            action: "create".into(),
            outcome: "ok".into(),
            run: Some(run1),
        })
        .await
        .unwrap();
    }

    // Status: every state counted, the runs, the awaiting and the due ones.
    assert_eq!(flows(s).await.unwrap(), ["f"]);
    let st = status(s, "f", 5, now).await.unwrap();
    assert_eq!(st.documents.len(), DocStatus::ALL.len());
    for (name, n) in [
        ("failed", 1),
        ("dead", 1),
        ("conflict", 1),
        ("quarantined", 1),
        ("awaiting", 2),
        ("done", 1),
        ("pending", 0),
    ] {
        assert_eq!(st.documents[name], n, "{name}");
    }
    assert_eq!(st.runs.len(), 1);
    assert_eq!(st.runs[0].counts["written"], 3);
    let awaiting: Vec<&str> = st.awaiting.iter().map(|d| d.key.as_str()).collect();
    assert_eq!(awaiting, ["dropbox:id:due", "dropbox:id:later"]);
    let due_keys: Vec<&str> = st.due.iter().map(|d| d.key.as_str()).collect();
    assert_eq!(due_keys, ["dropbox:id:due"]);

    // Failures with their errors; a requeue of one key, then refusal of a key not failed.
    let fl = failures(s, "f").await.unwrap();
    let got: Vec<(&str, DocStatus, u32)> = fl
        .iter()
        .map(|d| (d.key.as_str(), d.status, d.attempts))
        .collect();
    assert_eq!(
        got,
        [
            ("dropbox:id:dead", DocStatus::Dead, 5),
            ("dropbox:id:failed", DocStatus::Failed, 2)
        ]
    );
    assert_eq!(fl[0].error.as_deref(), Some("CS POST nodes: 500, again"));
    let changed = retry(s, "f", &Selection::Keys(vec!["dropbox:id:dead".into()]))
        .await
        .unwrap();
    assert!(changed.run > run1);
    let back = s.record("f", "dropbox:id:dead").await.unwrap().unwrap();
    assert_eq!(
        (back.status, back.attempts, back.run),
        (DocStatus::Failed, 0, changed.run)
    );
    assert_eq!(
        back.last_error.as_deref(),
        Some("CS POST nodes: 500, again")
    );
    let refused = retry(s, "f", &Selection::Keys(vec!["dropbox:id:done".into()])).await;
    let msg = refused.unwrap_err().to_string();
    assert!(
        msg.contains("dropbox:id:done") && msg.contains("it is done"),
        "{msg}"
    );
    let all = retry(s, "f", &Selection::All).await.unwrap();
    assert_eq!(all.documents.len(), 2);
    assert!(all.documents.iter().all(|d| d.attempts == 0));

    // Conflicts and quarantines; each policy, and the refusals.
    let cf: Vec<String> = conflicts(s, "f")
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.key)
        .collect();
    assert_eq!(cf, ["dropbox:id:conflict", "dropbox:id:quarantined"]);
    let accept = resolve(s, "f", "dropbox:id:quarantined", Resolve::Accept).await;
    assert!(accept
        .unwrap_err()
        .to_string()
        .contains("nothing at the target"));
    resolve(s, "f", "dropbox:id:conflict", Resolve::Accept)
        .await
        .unwrap();
    let r = s.record("f", "dropbox:id:conflict").await.unwrap().unwrap();
    assert_eq!(
        (r.status, r.target),
        (DocStatus::Done, Some(DocRef::cs(400, 2)))
    );
    resolve(s, "f", "dropbox:id:quarantined", Resolve::Retry)
        .await
        .unwrap();
    let r = s
        .record("f", "dropbox:id:quarantined")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.status, DocStatus::Failed);
    assert!(resolve(s, "f", "dropbox:id:quarantined", Resolve::Dismiss)
        .await
        .is_err());
    assert!(conflicts(s, "f").await.unwrap().is_empty());
    assert_eq!("dismiss".parse::<Resolve>().unwrap(), Resolve::Dismiss);
    assert!("overwrite".parse::<Resolve>().is_err());

    // The operator's changes are runs of their own, with counts.
    let history = runs(s, "f", None).await.unwrap();
    let ops: Vec<(&str, u64)> = history
        .iter()
        .skip(1)
        .map(|r| {
            let (k, v) = r.counts.iter().next().unwrap();
            (k.as_str(), *v)
        })
        .collect();
    assert_eq!(
        ops,
        [("retry", 1), ("retry", 2), ("resolve", 1), ("resolve", 1)]
    );
    assert!(history.iter().all(|r| r.finished.is_some()));
    assert_eq!(last_runs(s, "f", 2).await.unwrap()[0].id, history[4].id);

    // The audit trail by document, by run, by time; JSON lines and CSV.
    let by_doc = AuditFilter {
        document: Some("dropbox:id:dead".into()),
        ..AuditFilter::default()
    };
    let trail = audit::audit(s, &by_doc).await.unwrap();
    let actions: Vec<&str> = trail.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["create", "requeue", "requeue"]);
    let by_version = AuditFilter {
        document: Some("dropbox:id:dead@r2".into()),
        ..AuditFilter::default()
    };
    assert!(audit::audit(s, &by_version).await.unwrap().is_empty());
    let by_run = AuditFilter {
        run: Some(changed.run),
        ..AuditFilter::default()
    };
    assert_eq!(audit::audit(s, &by_run).await.unwrap().len(), 1);
    let span = AuditFilter {
        flow: Some("f".into()),
        since: Some(t0),
        until: Some(t0 + Duration::seconds(1)),
        ..AuditFilter::default()
    };
    assert_eq!(audit::audit(s, &span).await.unwrap().len(), 7);
    let entries = audit::audit(s, &AuditFilter::default()).await.unwrap();
    assert_eq!(entries.len(), 7 + 1 + 2 + 1 + 1);
    let mut jsonl = Vec::new();
    audit::write(&entries, AuditFormat::JsonLines, &mut jsonl).unwrap();
    let parsed: Vec<AuditEntry> = String::from_utf8(jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(parsed, entries);
    let mut csv = Vec::new();
    audit::write(&entries[..1], AuditFormat::Csv, &mut csv).unwrap();
    let csv = String::from_utf8(csv).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next().unwrap(), audit::CSV_COLUMNS.join(","));
    let row = lines.next().unwrap();
    assert!(
        row.contains(&format!(
            ",f,{run1},create,ok,dropbox:id:failed@r1,/In/failed.pdf,,,"
        )),
        "{row}"
    );
    assert!(row.ends_with("\"dana, \"\"ops\"\"\""), "{row}");
}

#[tokio::test]
async fn conforms_in_memory() {
    run(Arc::new(crate::state::MemoryStore::new())).await;
}

#[tokio::test]
async fn conforms_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::state::SqliteStore::open(dir.path().join("ops.db")).unwrap();
    run(Arc::new(store)).await;
}
