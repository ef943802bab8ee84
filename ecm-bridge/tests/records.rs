//! The document records the runner saves through its one `settle` path: every outcome of a
//! document (written, unchanged, failed, dead) with its status, version, path, hash, target,
//! sink or route, attempts, last error and run; and "unchanged" by content hash and path.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use ecm_bridge::model::{Body, Checkpoint, ContentHash, DocRef, Document};
use ecm_bridge::runner::{Flow, RetryPolicy, DEFAULT_SINK};
use ecm_bridge::sink::{Receipt, RenamePolicy, Sink, WriteAction, WriteContext};
use ecm_bridge::source::{Item, Source};
use ecm_bridge::state::{DocStatus, DocumentStore, MemoryStore, StateStore};
use ecm_bridge::transform::{filter, route, Outcome};
use ecm_bridge::{Error, Result, Step};
use futures::future::FutureExt;
use futures::stream::{self, BoxStream, StreamExt};

/// Pages of documents; checkpoint `p{n}` after page n; `fetch` finds the latest of an id.
#[derive(Default)]
struct Pages(Mutex<Vec<Vec<Document>>>);

impl Pages {
    fn push(&self, docs: Vec<Document>) {
        self.0.lock().unwrap().push(docs);
    }
}

#[async_trait]
impl Source for Pages {
    async fn changes(&self, since: Option<Checkpoint>) -> Result<BoxStream<'static, Result<Item>>> {
        let start = since.map_or(0, |c| c.0[1..].parse::<usize>().unwrap() + 1);
        let mut items = Vec::new();
        for (n, page) in self.0.lock().unwrap().iter().enumerate().skip(start) {
            for (i, d) in page.iter().enumerate() {
                let item = Item::upsert(d.clone());
                items.push(Ok(if i + 1 == page.len() {
                    item.with_checkpoint(Checkpoint(format!("p{n}")))
                } else {
                    item
                }));
            }
        }
        Ok(stream::iter(items).boxed())
    }

    async fn fetch(&self, id: &DocRef) -> Result<Option<Document>> {
        let pages = self.0.lock().unwrap();
        Ok(pages
            .iter()
            .rev()
            .flat_map(|p| p.iter().rev())
            .find(|d| d.source.id == id.id)
            .cloned())
    }
}

/// Keeps every write; a document whose path contains "broken" fails (not retryable), one
/// whose path contains "conflict" is refused as a conflict at the target.
#[derive(Default)]
struct Keep {
    writes: Mutex<Vec<(DocRef, Bytes)>>,
    conflict_attempts: AtomicUsize,
    /// Targets moved, with the path of the document they were moved for.
    moves: Mutex<Vec<(DocRef, String)>>,
}

impl Keep {
    fn writes_of(&self, id: &str) -> usize {
        let w = self.writes.lock().unwrap();
        w.iter().filter(|(r, _)| r.id == id).count()
    }
}

#[async_trait]
impl Sink for Keep {
    async fn write(&self, doc: &Document, ctx: &WriteContext) -> Result<Receipt> {
        if doc.path.contains("conflict") {
            self.conflict_attempts.fetch_add(1, Ordering::SeqCst);
            return Err(Error::conflict(
                &doc.path,
                Step::Write,
                "edited at the target",
            ));
        }
        if doc.path.contains("broken") {
            return Err(Error::governance(
                &doc.path,
                Step::Write,
                "broken on purpose",
            ));
        }
        let chunks: Vec<Bytes> = doc.body.open().await?.map(|c| c.unwrap()).collect().await;
        let n = {
            let mut w = self.writes.lock().unwrap();
            w.push((doc.source.clone(), Bytes::from(chunks.concat())));
            w.len() as i64
        };
        Ok(Receipt {
            target: DocRef::cs(1000, n),
            bytes: doc.size,
            sent_hashes: Vec::new(),
            action: if ctx.previous.is_some() {
                WriteAction::AddedVersion
            } else {
                WriteAction::Created
            },
            location: format!("keep/{}", doc.path),
        })
    }

    async fn find_existing(&self, _doc: &Document, _ctx: &WriteContext) -> Result<Option<Receipt>> {
        Ok(None)
    }

    fn describe(&self, doc: &Document) -> String {
        format!("keep/{}", doc.path)
    }

    async fn relocate(&self, doc: &Document, target: &DocRef) -> Result<String> {
        self.moves
            .lock()
            .unwrap()
            .push((target.clone(), doc.path.clone()));
        Ok(format!("keep/{}", doc.path))
    }
}

/// A document `id` at `rev` and `path` (kept without its leading `/`) with `content` (its hash is the content itself, which
/// is all the runner compares).
fn doc(id: &str, rev: &str, path: &str, content: &str) -> Document {
    let bytes = Bytes::from(content.to_owned());
    let b = bytes.clone();
    let body = Body::new(move || {
        let b = b.clone();
        async move {
            let s: ecm_bridge::model::ByteStream = stream::iter([Ok(b)]).boxed();
            Ok(s)
        }
        .boxed()
    });
    let mut d = Document::new(
        DocRef::dropbox(format!("id:{id}"), rev),
        path,
        bytes.len() as u64,
        body,
    );
    d.hash = Some(ContentHash::dropbox(format!("h-{content}")));
    d
}

fn fast() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        jitter: false,
        ..RetryPolicy::default()
    }
}

fn flow(source: &Arc<Pages>, sink: &Arc<Keep>, store: &Arc<MemoryStore>) -> Flow {
    Flow::builder("t")
        .source_arc(source.clone())
        .sink_arc(sink.clone())
        .route("special", sink.clone())
        .transform(filter(
            |d: &Document| !d.path.contains("skip"),
            "not wanted",
        ))
        .transform(route(|d: &Document| d.path.contains("special"), "special"))
        .store(store.clone())
        .retry(RetryPolicy::none())
        .dead_letter_after(2)
        .build()
        .unwrap()
}

#[tokio::test]
async fn every_outcome_of_a_document_saves_its_record() {
    let source = Arc::new(Pages::default());
    source.push(vec![
        doc("a", "1", "/f/a.pdf", "A"),
        doc("s", "1", "/f/skip.pdf", "S"),
        doc("r", "1", "/f/special.pdf", "R"),
        doc("b", "1", "/f/broken.pdf", "B"),
    ]);
    let sink = Arc::new(Keep::default());
    let store = Arc::new(MemoryStore::new());

    let r1 = flow(&source, &sink, &store).run_once().await.unwrap();
    let run1 = r1.run.expect("a run id");
    assert_eq!(r1.written.len(), 2, "{}", r1.summary());
    let a = store.record("t", "dropbox:id:a").await.unwrap().unwrap();
    assert_eq!(a.status, DocStatus::Done);
    assert_eq!(a.source.version.as_deref(), Some("1"));
    assert_eq!(a.path.as_deref(), Some("f/a.pdf"));
    assert_eq!(a.size, Some(1));
    assert_eq!(a.hash, Some(ContentHash::dropbox("h-A")));
    assert!(a.target.is_some());
    assert_eq!(a.location.as_deref(), Some("keep/f/a.pdf"));
    assert_eq!(a.sink.as_deref(), Some(DEFAULT_SINK));
    assert_eq!(a.attempts, 1);
    assert_eq!(a.run, run1);
    let r = store.record("t", "dropbox:id:r").await.unwrap().unwrap();
    assert_eq!(
        r.sink.as_deref(),
        Some("special"),
        "the route that wrote it"
    );
    let b = store.record("t", "dropbox:id:b").await.unwrap().unwrap();
    assert_eq!(b.status, DocStatus::Failed);
    assert_eq!(b.attempts, 1);
    assert!(b
        .last_error
        .as_deref()
        .unwrap()
        .contains("broken on purpose"));
    assert!(
        store.record("t", "dropbox:id:s").await.unwrap().is_none(),
        "a skip keeps the last record, and there is none"
    );

    // The next run: the failure is retried and now dead (the runner decides); the written
    // one is not in the feed again, and keeps its record.
    let r2 = flow(&source, &sink, &store).run_once().await.unwrap();
    assert_eq!(r2.failed.len(), 1, "{}", r2.summary());
    assert!(r2.failed[0].dead);
    let b = store.record("t", "dropbox:id:b").await.unwrap().unwrap();
    assert_eq!(b.status, DocStatus::Dead);
    assert_eq!(b.attempts, 2);
    assert_eq!(b.run, r2.run.unwrap());
    let a = store.record("t", "dropbox:id:a").await.unwrap().unwrap();
    assert_eq!(a.run, run1);

    // The same version listed again is unchanged: the record is read, not saved again (it
    // keeps the run that last changed it, which is what `after_run` reads).
    source.push(vec![doc("a", "1", "/f/a.pdf", "A")]);
    let r3 = flow(&source, &sink, &store).run_once().await.unwrap();
    assert_eq!(r3.unchanged, 1, "{}", r3.summary());
    let a = store.record("t", "dropbox:id:a").await.unwrap().unwrap();
    assert_eq!(a.status, DocStatus::Done);
    assert_eq!(a.run, run1);
    assert_eq!(sink.writes_of("id:a"), 1);
}

#[tokio::test]
async fn a_new_version_with_the_same_bytes_and_path_is_unchanged() {
    let source = Arc::new(Pages::default());
    source.push(vec![doc("x", "1", "/f/x.pdf", "same")]);
    let sink = Arc::new(Keep::default());
    let store = Arc::new(MemoryStore::new());
    let r1 = flow(&source, &sink, &store).run_once().await.unwrap();
    assert_eq!(r1.written.len(), 1, "{}", r1.summary());
    let target = store
        .record("t", "dropbox:id:x")
        .await
        .unwrap()
        .unwrap()
        .target;

    // A copy and move back: a new rev, the same bytes at the same path.
    source.push(vec![doc("x", "2", "/F/X.pdf", "same")]);
    let r2 = flow(&source, &sink, &store).run_once().await.unwrap();
    assert_eq!(r2.written.len(), 0, "{}", r2.summary());
    assert_eq!(r2.unchanged, 1);
    assert_eq!(sink.writes_of("id:x"), 1, "no new version at the target");
    let x = store.record("t", "dropbox:id:x").await.unwrap().unwrap();
    assert_eq!(x.status, DocStatus::Done);
    assert_eq!(
        x.source.version.as_deref(),
        Some("2"),
        "the record follows the source's version"
    );
    assert_eq!(x.target, target, "and keeps its target");

    // Other bytes at the same path are a new version of the same target document.
    source.push(vec![doc("x", "3", "/f/x.pdf", "other")]);
    let r3 = flow(&source, &sink, &store).run_once().await.unwrap();
    assert_eq!(r3.count(WriteAction::AddedVersion), 1, "{}", r3.summary());
    assert_eq!(sink.writes_of("id:x"), 2);
}

#[tokio::test]
async fn a_rename_at_the_source_keeps_the_pairing_and_records_the_new_path() {
    let source = Arc::new(Pages::default());
    source.push(vec![doc("m", "1", "/f/m.pdf", "bytes")]);
    let sink = Arc::new(Keep::default());
    let store = Arc::new(MemoryStore::new());
    flow(&source, &sink, &store).run_once().await.unwrap();
    let before = store.record("t", "dropbox:id:m").await.unwrap().unwrap();

    // Renamed and moved, the same bytes: record only (the target stays where it is).
    source.push(vec![doc("m", "2", "/g/renamed.pdf", "bytes")]);
    let r2 = flow(&source, &sink, &store).run_once().await.unwrap();
    assert_eq!(r2.written.len(), 0, "{}", r2.summary());
    assert_eq!(r2.moved.len(), 1);
    assert_eq!(r2.moved[0].from, "f/m.pdf");
    assert_eq!(r2.moved[0].to, "g/renamed.pdf");
    assert_eq!(sink.writes_of("id:m"), 1, "no second target document");
    let after = store.record("t", "dropbox:id:m").await.unwrap().unwrap();
    assert_eq!(after.path.as_deref(), Some("g/renamed.pdf"));
    assert_eq!(after.path_lower.as_deref(), Some("g/renamed.pdf"));
    assert_eq!(after.target, before.target);
    assert!(
        store.records_under("t", "f").await.unwrap().is_empty(),
        "the path index follows the rename"
    );

    // Renamed again with new bytes: a new version of the same target document.
    source.push(vec![doc("m", "3", "/h/m.pdf", "changed")]);
    let r3 = flow(&source, &sink, &store).run_once().await.unwrap();
    assert_eq!(r3.count(WriteAction::AddedVersion), 1, "{}", r3.summary());
    let last = store.record("t", "dropbox:id:m").await.unwrap().unwrap();
    assert_eq!(last.path.as_deref(), Some("h/m.pdf"));
    assert_eq!(
        last.target.map(|t| t.id),
        before.target.map(|t| t.id),
        "the same target node"
    );
}

#[tokio::test]
async fn a_rename_under_move_target_moves_the_target_and_makes_no_second_document() {
    let source = Arc::new(Pages::default());
    source.push(vec![doc("m", "1", "/f/m.pdf", "bytes")]);
    let sink = Arc::new(Keep::default());
    let store = Arc::new(MemoryStore::new());
    let moving = || {
        Flow::builder("t")
            .source_arc(source.clone())
            .sink_arc(sink.clone())
            .store(store.clone())
            .rename(RenamePolicy::MoveTarget)
            .build()
            .unwrap()
    };
    moving().run_once().await.unwrap();
    let before = store.record("t", "dropbox:id:m").await.unwrap().unwrap();
    let target = before.target.clone().unwrap();

    // Renamed with the same bytes: the target is moved, nothing written.
    source.push(vec![doc("m", "2", "/g/renamed.pdf", "bytes")]);
    let r2 = moving().run_once().await.unwrap();
    assert_eq!(r2.written.len(), 0, "{}", r2.summary());
    assert_eq!(r2.moved.len(), 1);
    assert_eq!(
        *sink.moves.lock().unwrap(),
        [(target.clone(), "g/renamed.pdf".to_owned())]
    );
    let after = store.record("t", "dropbox:id:m").await.unwrap().unwrap();
    assert_eq!(
        (after.path.as_deref(), after.location.as_deref()),
        (Some("g/renamed.pdf"), Some("keep/g/renamed.pdf"))
    );
    assert_eq!(after.target, Some(target.clone()));
    let audit = store.audit(Some("t")).await.unwrap();
    assert!(audit
        .iter()
        .any(|e| e.action == "move" && e.outcome == "from f/m.pdf"));

    // Renamed again with new bytes: moved, then a new version of the same target.
    source.push(vec![doc("m", "3", "/h/m.pdf", "changed")]);
    let r3 = moving().run_once().await.unwrap();
    assert_eq!(r3.count(WriteAction::AddedVersion), 1, "{}", r3.summary());
    assert_eq!(sink.moves.lock().unwrap().len(), 2);
    assert_eq!(sink.moves.lock().unwrap()[1].1, "h/m.pdf");
    assert_eq!(sink.writes_of("id:m"), 2, "one document, two versions");

    // Listed again: nothing moves.
    source.push(vec![doc("m", "3", "/h/m.pdf", "changed")]);
    moving().run_once().await.unwrap();
    assert_eq!(sink.moves.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn quarantines_and_conflicts_are_recorded_reported_and_not_retried() {
    let source = Arc::new(Pages::default());
    source.push(vec![
        doc("q", "1", "/f/virus.pdf", "Q"),
        doc("c", "1", "/f/conflict.pdf", "C"),
        doc("ok", "1", "/f/ok.pdf", "OK"),
    ]);
    let sink = Arc::new(Keep::default());
    let store = Arc::new(MemoryStore::new());
    let build = || {
        Flow::builder("t")
            .source_arc(source.clone())
            .sink_arc(sink.clone())
            .transform(|d: Document| {
                Ok(if d.path.contains("virus") {
                    Outcome::quarantine("malware signature")
                } else {
                    Outcome::Pass(d)
                })
            })
            .store(store.clone())
            .retry(fast())
            .build()
            .unwrap()
    };
    let r1 = build().run_once().await.unwrap();
    assert_eq!(r1.written.len(), 1, "{}", r1.summary());
    assert!(r1.failed.is_empty(), "{:?}", r1.failed);
    assert_eq!(r1.quarantined.len(), 1);
    assert_eq!(r1.quarantined[0].reason, "malware signature");
    assert_eq!(r1.conflicts.len(), 1);
    assert!(r1.conflicts[0].reason.contains("edited at the target"));
    assert_eq!(r1.counts()["quarantined"], 1);
    assert_eq!(r1.counts()["conflict"], 1);
    assert!(
        r1.summary()
            .contains("0 skipped, 1 quarantined, 1 conflicts, 0 failed"),
        "{}",
        r1.summary()
    );
    assert_eq!(
        sink.conflict_attempts.load(Ordering::SeqCst),
        1,
        "not retried in the run"
    );
    let q = store.record("t", "dropbox:id:q").await.unwrap().unwrap();
    assert_eq!(q.status, DocStatus::Quarantined);
    assert_eq!(q.last_error.as_deref(), Some("malware signature"));
    let c = store.record("t", "dropbox:id:c").await.unwrap().unwrap();
    assert_eq!(c.status, DocStatus::Conflict);
    for status in [DocStatus::Failed, DocStatus::Pending] {
        assert!(store
            .records_by_status("t", status)
            .await
            .unwrap()
            .is_empty());
    }

    // Nothing of them is taken up by the next run.
    let r2 = build().run_once().await.unwrap();
    assert_eq!(r2.retried, 0, "{}", r2.summary());
    assert!(r2.conflicts.is_empty() && r2.quarantined.is_empty());
    assert_eq!(sink.conflict_attempts.load(Ordering::SeqCst), 1);
}
