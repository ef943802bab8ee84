//! In-memory sources and sinks for the runner tests: a paged source with checkpoints, a sink
//! with scripted failures, and documents whose bodies count their openings.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use ecm_bridge::model::{Body, Checkpoint, ContentHash, DocRef, Document};
use ecm_bridge::runner::RetryPolicy;
use ecm_bridge::sink::{Receipt, Sink, WriteAction, WriteContext};
use ecm_bridge::source::{Change, Item, Source};
use ecm_bridge::verify::hash_stream;
use ecm_bridge::{Error, Result, Step};
use futures::future::FutureExt;
use futures::stream::{self, BoxStream, StreamExt};
use tokio::sync::Notify;

use super::store::Log;

pub fn log(l: &Log, s: impl Into<String>) {
    l.lock().unwrap().push(s.into());
}

/// Pages of documents; checkpoint `p{n}` after page n; `fetch` returns the current version.
pub struct MemSource {
    pub pages: Mutex<Vec<Vec<Document>>>,
    pub current: Mutex<HashMap<String, Document>>,
    pub fetches: AtomicUsize,
}

impl MemSource {
    pub fn new(pages: Vec<Vec<Document>>) -> Arc<Self> {
        let current = pages
            .iter()
            .flatten()
            .map(|d| (d.source.id.clone(), d.clone()))
            .collect();
        Arc::new(MemSource {
            pages: Mutex::new(pages),
            current: Mutex::new(current),
            fetches: AtomicUsize::new(0),
        })
    }

    pub fn push_page(&self, docs: Vec<Document>) {
        for d in &docs {
            self.current
                .lock()
                .unwrap()
                .insert(d.source.id.clone(), d.clone());
        }
        self.pages.lock().unwrap().push(docs);
    }
}

#[async_trait]
impl Source for MemSource {
    async fn changes(&self, since: Option<Checkpoint>) -> Result<BoxStream<'static, Result<Item>>> {
        let start = since
            .map(|c| c.0[1..].parse::<usize>().unwrap() + 1)
            .unwrap_or(0);
        let mut items = Vec::new();
        for (n, page) in self.pages.lock().unwrap().iter().enumerate().skip(start) {
            let last = page.len() - 1;
            for (i, d) in page.iter().enumerate() {
                let item = Item::upsert(d.clone());
                items.push(Ok(if i == last {
                    item.with_checkpoint(Checkpoint(format!("p{n}")))
                } else {
                    item
                }));
            }
        }
        Ok(stream::iter(items).boxed())
    }

    async fn fetch(&self, id: &DocRef) -> Result<Option<Document>> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        Ok(self.current.lock().unwrap().get(&id.id).cloned())
    }
}

/// A feed of pages of changes; `fetch` answers the documents not deleted since.
#[derive(Default)]
pub struct Feed {
    pub pages: Mutex<Vec<Vec<Change>>>,
    pub current: Mutex<HashMap<String, Document>>,
}

impl Feed {
    pub fn push(&self, page: Vec<Change>) {
        let mut current = self.current.lock().unwrap();
        for c in &page {
            match c {
                Change::Upsert(d) => {
                    current.insert(d.source.id.clone(), (**d).clone());
                }
                Change::Deleted { path } => {
                    let p = path.to_lowercase();
                    current.retain(|_, d| {
                        let dp = d.path.to_lowercase();
                        dp != p && !dp.starts_with(&format!("{p}/"))
                    });
                }
                _ => {}
            }
        }
        self.pages.lock().unwrap().push(page);
    }
}

fn copy(c: &Change) -> Change {
    match c {
        Change::Upsert(d) => Change::Upsert(d.clone()),
        Change::Deleted { path } => Change::Deleted { path: path.clone() },
        _ => Change::Nothing,
    }
}

#[async_trait]
impl Source for Feed {
    async fn changes(&self, since: Option<Checkpoint>) -> Result<BoxStream<'static, Result<Item>>> {
        let start = since.map_or(0, |c| c.0.parse::<usize>().unwrap() + 1);
        let mut items = Vec::new();
        for (n, page) in self.pages.lock().unwrap().iter().enumerate().skip(start) {
            for (i, c) in page.iter().enumerate() {
                let mut item = Item {
                    change: copy(c),
                    checkpoint: None,
                };
                if i + 1 == page.len() {
                    item = item.with_checkpoint(Checkpoint(n.to_string()));
                }
                items.push(Ok(item));
            }
        }
        Ok(stream::iter(items).boxed())
    }

    async fn fetch(&self, id: &DocRef) -> Result<Option<Document>> {
        Ok(self.current.lock().unwrap().get(&id.id).cloned())
    }
}

/// How the sink treats one document.
#[derive(Clone, Default)]
pub struct Behaviour {
    /// Fail this many attempts with a retryable error before succeeding.
    pub transient_failures: usize,
    /// Write the bytes, then report a retryable error (the write is not recorded) this many times.
    pub lost_acks: usize,
    /// Always fail with a non-retryable error.
    pub broken: bool,
    /// Wait for this before writing.
    pub gate: Option<Arc<Notify>>,
    /// Release this after writing.
    pub release: Option<Arc<Notify>>,
}

#[derive(Default)]
pub struct MemSink {
    pub behaviour: Mutex<HashMap<String, Behaviour>>,
    /// marker → bytes, in write order.
    pub stored: Mutex<Vec<(DocRef, Bytes, Option<DocRef>)>>,
    pub attempts: Mutex<HashMap<String, usize>>,
    pub log: Log,
}

impl MemSink {
    pub fn set(&self, id: &str, b: Behaviour) {
        self.behaviour.lock().unwrap().insert(id.into(), b);
    }

    pub fn copies(&self, id: &str) -> usize {
        self.stored
            .lock()
            .unwrap()
            .iter()
            .filter(|(r, _, _)| r.id == id)
            .count()
    }
}

pub fn receipt(doc: &Document, n: usize, action: WriteAction, hash: String) -> Receipt {
    Receipt {
        target: DocRef::cs(1000 + n as i64, 1),
        bytes: doc.size,
        sent_hashes: vec![ContentHash::sha256(hash)],
        action,
        location: format!("mem/{}", doc.path),
    }
}

#[async_trait]
impl Sink for MemSink {
    async fn write(&self, doc: &Document, ctx: &WriteContext) -> Result<Receipt> {
        let id = doc.source.id.clone();
        let attempt = {
            let mut a = self.attempts.lock().unwrap();
            let n = a.entry(id.clone()).or_default();
            *n += 1;
            *n
        };
        let b = self
            .behaviour
            .lock()
            .unwrap()
            .get(&id)
            .cloned()
            .unwrap_or_default();
        if let Some(g) = &b.gate {
            g.notified().await;
        }
        if b.broken {
            return Err(Error::governance(
                &doc.path,
                Step::Write,
                "broken on purpose",
            ));
        }
        if attempt <= b.transient_failures {
            return Err(Error::Verify {
                doc: doc.path.clone(),
                expected: "x".into(),
                actual: "y".into(),
            });
        }
        let bytes: Vec<Bytes> = doc.body.open().await?.map(|c| c.unwrap()).collect().await;
        let bytes = Bytes::from(bytes.concat());
        let hash = hash_stream(stream::iter([Ok::<_, std::io::Error>(bytes.clone())]))
            .await
            .unwrap()
            .sha256
            .expect("hash_stream computes SHA-256");
        let n = {
            let mut s = self.stored.lock().unwrap();
            s.push((doc.source.clone(), bytes, ctx.previous.clone()));
            s.len()
        };
        log(&self.log, format!("write {id}"));
        if let Some(r) = &b.release {
            r.notify_one();
        }
        if attempt <= b.transient_failures + b.lost_acks {
            return Err(Error::Io {
                doc: doc.path.clone(),
                step: Step::Write,
                source: std::io::Error::other("connection reset after the write"),
            });
        }
        Ok(receipt(
            doc,
            n,
            if ctx.previous.is_some() {
                WriteAction::AddedVersion
            } else {
                WriteAction::Created
            },
            hash,
        ))
    }

    async fn find_existing(&self, doc: &Document, _ctx: &WriteContext) -> Result<Option<Receipt>> {
        let s = self.stored.lock().unwrap();
        Ok(s.iter().position(|(r, _, _)| *r == doc.source).map(|i| {
            let hash = hex_sha(&s[i].1);
            receipt(doc, i + 1, WriteAction::Adopted, hash)
        }))
    }

    fn describe(&self, doc: &Document) -> String {
        format!("mem/{}", doc.path)
    }
}

pub fn hex_sha(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

/// A document whose body counts its openings.
pub fn doc(id: &str, rev: &str, opens: &Arc<AtomicUsize>) -> Document {
    let content = Bytes::from(format!("content of {id} at {rev}"));
    let opens = opens.clone();
    let c = content.clone();
    let body = Body::new(move || {
        opens.fetch_add(1, Ordering::SeqCst);
        let c = c.clone();
        async move {
            let s: ecm_bridge::model::ByteStream = stream::iter([Ok(c)]).boxed();
            Ok(s)
        }
        .boxed()
    });
    let mut d = Document::new(
        DocRef::dropbox(format!("id:{id}"), rev),
        format!("f/{id}.pdf"),
        content.len() as u64,
        body,
    );
    d.hash = Some(ContentHash::sha256(hex_sha(&content)));
    d
}

pub fn fast() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        jitter: false,
        ..RetryPolicy::default()
    }
}
