//! Removals: a document gone from the source (a deleted file, everything under a deleted
//! folder, or one found gone when its failure is taken up) has the flow's removal policy
//! applied by the sink that wrote it, and is recorded `removed`, reported and audited. The
//! Content Server and Dropbox sinks' `remove`, and the Content Server sink's `relocate` (the
//! target of a renamed document moved), against the sandbox.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use dropbox_client::models::sharing::ListSharedLinksArg;
use ecm_bridge::connectors::contentserver::{CsSink, CsSource};
use ecm_bridge::connectors::dropbox::DropboxSink;
use ecm_bridge::model::{DocRef, Document, ShareSettings};
use ecm_bridge::runner::{Flow, RetryPolicy};
use ecm_bridge::sink::{Receipt, RemovalPolicy, Sink, WriteContext};
use ecm_bridge::source::Change;
use ecm_bridge::state::{DocStatus, DocumentStore, MemoryStore, StateStore};
use ecm_bridge::transform::map;
use ecm_bridge::{Error, Result};
use support::mem::*;
use support::Env;

/// A [`MemSink`] that records what it was asked to remove; fails the first `failures`.
#[derive(Default)]
struct Removing {
    inner: MemSink,
    failures: AtomicUsize,
    removed: Mutex<Vec<(DocRef, RemovalPolicy)>>,
}

#[async_trait]
impl Sink for Removing {
    async fn write(&self, doc: &Document, ctx: &WriteContext) -> Result<Receipt> {
        self.inner.write(doc, ctx).await
    }
    async fn find_existing(&self, doc: &Document, ctx: &WriteContext) -> Result<Option<Receipt>> {
        self.inner.find_existing(doc, ctx).await
    }
    fn describe(&self, doc: &Document) -> String {
        self.inner.describe(doc)
    }
    async fn remove(&self, target: &DocRef, policy: RemovalPolicy) -> Result<()> {
        if self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(Error::Config("the target is locked".into()));
        }
        self.removed.lock().unwrap().push((target.clone(), policy));
        Ok(())
    }
}

fn at(id: &str, path: &str, opens: &Arc<AtomicUsize>) -> Change {
    let mut d = doc(id, "1", opens);
    d.path = path.into();
    Change::Upsert(Box::new(d))
}

#[tokio::test(start_paused = true)]
async fn a_deleted_folder_removes_all_it_held_under_the_policy() {
    let opens = Arc::new(AtomicUsize::new(0));
    let feed = Arc::new(Feed::default());
    feed.push(vec![
        at("a", "Projects/P1/a.pdf", &opens),
        at("b", "Projects/P1/Drawings/b.pdf", &opens),
        at("c", "Projects/P10/c.pdf", &opens),
    ]);
    let sink = Arc::new(Removing::default());
    sink.failures.store(1, Ordering::SeqCst);
    let state = Arc::new(MemoryStore::new());
    let flow = Flow::builder("rm")
        .source_arc(feed.clone())
        .sink_arc(sink.clone())
        .state(state.clone())
        .removal(RemovalPolicy::Delete)
        .retry(RetryPolicy::none())
        .concurrency(1)
        .build()
        .unwrap();
    let r1 = flow.run_once().await.unwrap();
    assert_eq!(r1.written.len(), 3, "{}", r1.summary());

    // The folder goes (spelt in another case): a and b, not c (P10 is not under P1).
    feed.push(vec![Change::Deleted {
        path: "projects/p1".into(),
    }]);
    let r2 = flow.run_once().await.unwrap();
    assert_eq!(*r2.deleted, ["projects/p1"]);
    // One removal failed (the sink refused it once): failed, not removed, reported.
    assert_eq!(r2.removed.len(), 1, "{}", r2.summary());
    assert_eq!(r2.failed.len(), 1, "{:#?}", r2.failed);
    assert!(r2.failed[0].error.contains("the target is locked"));
    assert_eq!(r2.counts()["removed"], 1);
    let status = |id: &'static str| {
        let state = state.clone();
        async move {
            state
                .record("rm", &format!("dropbox:id:{id}"))
                .await
                .unwrap()
                .unwrap()
                .status
        }
    };
    assert_eq!(status("c").await, DocStatus::Done);

    // The next run takes the failure up, finds it gone at the source, and removes it.
    let r3 = flow.run_once().await.unwrap();
    assert!(r3.failed.is_empty(), "{:#?}", r3.failed);
    assert_eq!(r3.removed.len(), 1, "{}", r3.summary());
    for id in ["a", "b"] {
        assert_eq!(status(id).await, DocStatus::Removed, "{id}");
    }
    assert_eq!(status("c").await, DocStatus::Done);
    let removed = sink.removed.lock().unwrap().clone();
    let mut targets: Vec<_> = removed.iter().map(|(t, _)| t.to_string()).collect();
    targets.sort();
    assert_eq!(targets, ["cs:1001@1", "cs:1002@1"]);
    assert!(removed.iter().all(|(_, p)| *p == RemovalPolicy::Delete));
    let audit = state.audit(Some("rm")).await.unwrap();
    let removes: Vec<_> = audit.iter().filter(|e| e.action == "remove").collect();
    assert_eq!(removes.len(), 2);
    assert!(removes
        .iter()
        .all(|e| e.outcome == "delete" && e.run.is_some() && e.target.is_some()));
    // The restore view after the last run says so.
    let view = state.after_run("rm", r3.run.unwrap()).await.unwrap();
    let removed_in_view = view
        .iter()
        .filter(|h| h.status == DocStatus::Removed)
        .count();
    assert_eq!(removed_in_view, 2);
}

#[tokio::test(start_paused = true)]
async fn a_move_reported_as_a_deletion_removes_nothing() {
    let opens = Arc::new(AtomicUsize::new(0));
    let feed = Arc::new(Feed::default());
    feed.push(vec![at("a", "f/a.pdf", &opens)]);
    let sink = Arc::new(Removing::default());
    let state = Arc::new(MemoryStore::new());
    let flow = Flow::builder("rm")
        .source_arc(feed.clone())
        .sink_arc(sink.clone())
        .state(state.clone())
        .removal(RemovalPolicy::Delete)
        .build()
        .unwrap();
    flow.run_once().await.unwrap();
    // Moved: listed at its new path first (so the source has it), then deleted at the old.
    feed.push(vec![
        at("a", "g/a.pdf", &opens),
        Change::Deleted {
            path: "f/a.pdf".into(),
        },
    ]);
    let r = flow.run_once().await.unwrap();
    assert!(r.removed.is_empty(), "{}", r.summary());
    assert!(sink.removed.lock().unwrap().is_empty());
    assert_eq!(sink.inner.copies("id:a"), 1);
}

#[tokio::test(start_paused = true)]
async fn record_only_keeps_the_target() {
    let opens = Arc::new(AtomicUsize::new(0));
    let feed = Arc::new(Feed::default());
    feed.push(vec![at("a", "f/a.pdf", &opens)]);
    let sink = Arc::new(Removing::default());
    let state = Arc::new(MemoryStore::new());
    let flow = Flow::builder("rm")
        .source_arc(feed.clone())
        .sink_arc(sink.clone())
        .state(state.clone())
        .build()
        .unwrap();
    flow.run_once().await.unwrap();
    feed.push(vec![Change::Deleted {
        path: "f/a.pdf".into(),
    }]);
    let r = flow.run_once().await.unwrap();
    assert_eq!(r.removed.len(), 1);
    assert_eq!(r.removed[0].policy, RemovalPolicy::RecordOnly);
    assert!(
        sink.removed.lock().unwrap().is_empty(),
        "the sink is not asked"
    );
    let rec = state.record("rm", "dropbox:id:a").await.unwrap().unwrap();
    assert_eq!(rec.status, DocStatus::Removed);
    // Deleted again (a replayed feed): nothing more.
    feed.push(vec![Change::Deleted { path: "f".into() }]);
    let again = flow.run_once().await.unwrap();
    assert!(again.removed.is_empty(), "{}", again.summary());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cs_sink_deletes_the_node_or_records_only() {
    let env = Env::start().await;
    let report = env.flow().build().unwrap().run_once().await.unwrap();
    assert!(report.failed.is_empty(), "{:#?}", report.failed);
    let press = env.cs_doc("Press Release.pdf").await.unwrap();
    let sink = CsSink::new(env.cs.clone());
    let target = DocRef::cs(press.id, 1);

    sink.remove(&target, RemovalPolicy::RecordOnly)
        .await
        .unwrap();
    assert!(env.cs_doc("Press Release.pdf").await.is_some());
    let err = sink
        .remove(&target, RemovalPolicy::Revoke)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");

    sink.remove(&target, RemovalPolicy::Delete).await.unwrap();
    assert!(env.cs_doc("Press Release.pdf").await.is_none());
    assert!(env.cs_doc("Brand Guidelines.pdf").await.is_some());
    // Already gone: removed all the same.
    sink.remove(&target, RemovalPolicy::Delete).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dropbox_sink_revokes_its_links_and_deletes_its_file() {
    let env = Env::start().await;
    let ews = env.cs.nodes().enterprise_workspace().await.unwrap();
    let folder = env
        .cs
        .nodes()
        .resolve_path(ews.id, &["Published", "Outside Counsel"])
        .await
        .unwrap()
        .unwrap()
        .id;
    let flow = Flow::builder("publish")
        .source(CsSource::new(env.cs.clone(), folder))
        .transform(map(|mut d| {
            d.governance.share = Some(ShareSettings {
                link: true,
                audience: None,
                expires: None,
                allow_download: None,
            });
            d
        }))
        .sink(DropboxSink::new(env.dropbox.clone(), Some("/Shared/Out")))
        .state(Arc::new(MemoryStore::new()))
        .build()
        .unwrap();
    let report = flow.run_once().await.unwrap();
    assert!(report.failed.is_empty(), "{:#?}", report.failed);
    let written = &report.written[0];
    let target = written.target.clone().unwrap();
    let path = written.location.clone();
    let links = |path: String| {
        let dropbox = env.dropbox.clone();
        async move {
            dropbox
                .sharing()
                .list_shared_links(ListSharedLinksArg {
                    path: Some(path),
                    cursor: None,
                    direct_only: Some(true),
                })
                .await
                .unwrap()
                .links
                .len()
        }
    };
    assert_eq!(links(path.clone()).await, 1);
    let sink = DropboxSink::new(env.dropbox.clone(), Some("/Shared/Out"));

    sink.remove(&target, RemovalPolicy::Revoke).await.unwrap();
    assert_eq!(links(path.clone()).await, 0, "the link is revoked");
    assert!(env.dropbox.files().get_metadata(path.clone()).await.is_ok());

    sink.remove(&target, RemovalPolicy::Delete).await.unwrap();
    assert!(env
        .dropbox
        .files()
        .get_metadata(path.clone())
        .await
        .is_err());
    sink.remove(&target, RemovalPolicy::Delete).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cs_sink_moves_and_renames_its_node() {
    use ecm_bridge::model::{Body, Location};
    let env = Env::start().await;
    let report = env.flow().build().unwrap().run_once().await.unwrap();
    assert!(report.failed.is_empty(), "{:#?}", report.failed);
    let press = env.cs_doc("Press Release.pdf").await.unwrap();
    let sink = CsSink::new(env.cs.clone());
    let mut doc = Document::new(
        DocRef::dropbox("id:press", "2"),
        "Marketing/Moved/Press Release v2.pdf",
        1,
        Body::from_bytes("x"),
    );
    doc.governance.target = Some(Location::CsFolder {
        root: None,
        path: "Archive/Marketing/Moved".into(),
    });
    let target = DocRef::cs(press.id, 1);
    let location = sink.relocate(&doc, &target).await.unwrap();
    assert!(
        location.ends_with("Archive/Marketing/Moved/Press Release v2.pdf"),
        "{location}"
    );
    let ews = env.cs.nodes().enterprise_workspace().await.unwrap();
    let moved_to = env
        .cs
        .nodes()
        .resolve_path(ews.id, &["Archive", "Marketing", "Moved"])
        .await
        .unwrap()
        .expect("the folder was made");
    let node = env.cs.nodes().get(press.id).send().await.unwrap();
    assert_eq!(node.parent_id, Some(moved_to.id));
    assert_eq!(node.name, "Press Release v2.pdf");
    assert!(
        env.cs_doc("Press Release.pdf").await.is_none(),
        "moved, not copied"
    );
    // Already there: nothing changes.
    sink.relocate(&doc, &target).await.unwrap();
    assert_eq!(env.cs_versions(press.id).await.len(), 1);
}
