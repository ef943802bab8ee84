//! Job scopes driven from outside the runner: a [`JobSource`] that adds every document it lists
//! to a job and marks the listing finished when its feed ends, and [`JobSteps`], the named
//! steps of a job's finaliser (each begun once through the store's step log on the job's key),
//! run when [`DocumentStore::job_barrier`](crate::state::DocumentStore::job_barrier) is ready.
//!
//! The runner does not know about jobs; a flow that needs one wraps its source and, after a
//! run, calls [`JobSteps::barrier`] and then its finaliser's steps.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt};

use crate::error::{Error, Result};
use crate::model::{Checkpoint, DocRef, Document};
use crate::source::{Change, Item, Source};
use crate::state::{job_key, BeginStep, JobBarrier, StepRecord, StepState, Store};

/// A source whose listed documents become members of a job.
///
/// Each listed document (also one that could not be read) is added to the job before the
/// runner sees it, so a member never lacks its place in the barrier. When the feed ends
/// without an error, the job's listing is marked finished; a feed that failed leaves it open,
/// and the next run lists again.
pub struct JobSource<S> {
    inner: S,
    store: Arc<dyn Store>,
    flow: String,
    job: String,
}

impl<S> JobSource<S> {
    /// `inner`'s documents, added to `job` of `flow` in `store`.
    pub fn new(
        inner: S,
        store: Arc<dyn Store>,
        flow: impl Into<String>,
        job: impl Into<String>,
    ) -> Self {
        JobSource {
            inner,
            store,
            flow: flow.into(),
            job: job.into(),
        }
    }
}

#[async_trait]
impl<S: Source> Source for JobSource<S> {
    async fn changes(&self, since: Option<Checkpoint>) -> Result<BoxStream<'static, Result<Item>>> {
        let inner = self.inner.changes(since).await?;
        let failed = Arc::new(AtomicBool::new(false));
        let (store, flow, job) = (self.store.clone(), self.flow.clone(), self.job.clone());
        let add = {
            let (store, flow, job, failed) =
                (store.clone(), flow.clone(), job.clone(), failed.clone());
            move |item: Result<Item>| {
                let (store, flow, job, failed) =
                    (store.clone(), flow.clone(), job.clone(), failed.clone());
                async move {
                    let item = match item {
                        Ok(i) => i,
                        Err(e) => {
                            failed.store(true, Ordering::SeqCst);
                            return Err(e);
                        }
                    };
                    let key = match &item.change {
                        Change::Upsert(doc) => Some(doc.source.key()),
                        Change::Unreadable { source, .. } => Some(source.key()),
                        _ => None,
                    };
                    if let Some(key) = key {
                        if let Err(e) = store.add_to_job(&flow, &job, &key).await {
                            failed.store(true, Ordering::SeqCst);
                            return Err(e);
                        }
                    }
                    Ok(item)
                }
            }
        };
        let end = stream::once(async move {
            if failed.load(Ordering::SeqCst) {
                return None;
            }
            match store.finish_job_listing(&flow, &job).await {
                Ok(()) => None,
                Err(e) => Some(Err(e)),
            }
        })
        .filter_map(|x| async move { x });
        Ok(inner.then(add).chain(end).boxed())
    }

    async fn fetch(&self, id: &DocRef) -> Result<Option<Document>> {
        self.inner.fetch(id).await
    }

    async fn recheck(&self, ids: &[DocRef]) -> Result<Vec<Option<Document>>> {
        self.inner.recheck(ids).await
    }

    async fn wake(&self) -> Option<BoxStream<'static, ()>> {
        self.inner.wake().await
    }
}

/// The finaliser of one job: its barrier, and its steps, each kept in the step log under the
/// job's key ([`job_key`]) with version `""`, so each runs once and a stopped finaliser
/// resumes at the first step not done.
#[derive(Clone)]
pub struct JobSteps {
    store: Arc<dyn Store>,
    flow: String,
    job: String,
}

impl std::fmt::Debug for JobSteps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobSteps")
            .field("flow", &self.flow)
            .field("job", &self.job)
            .finish_non_exhaustive()
    }
}

impl JobSteps {
    /// The finaliser of `job` of `flow`.
    pub fn new(store: Arc<dyn Store>, flow: impl Into<String>, job: impl Into<String>) -> Self {
        JobSteps {
            store,
            flow: flow.into(),
            job: job.into(),
        }
    }

    /// Where the job stands.
    pub async fn barrier(&self) -> Result<JobBarrier> {
        self.store.job_barrier(&self.flow, &self.job).await
    }

    /// The output of step `name` if it is done.
    pub async fn done(&self, name: &str) -> Result<Option<serde_json::Value>> {
        Ok(self
            .get(name)
            .await?
            .filter(|s| s.state == StepState::Done)
            .map(|s| s.output.unwrap_or(serde_json::Value::Null)))
    }

    /// Step `name` as the step log has it (`None`: never begun). The finaliser itself is
    /// [`STEP_FINALISE`](crate::state::STEP_FINALISE).
    pub async fn get(&self, name: &str) -> Result<Option<StepRecord>> {
        Ok(self
            .store
            .steps(&self.flow, &job_key(&self.job), "")
            .await?
            .into_iter()
            .find(|s| s.name == name))
    }

    /// Runs step `name` once: a done step gives its output back without running; a step
    /// found `started` (a run stopped while it was under way) is first looked for with
    /// `check` (`Some(output)`: it happened) and run only when not found. An error marks the
    /// step failed (begun again next time) and is returned.
    pub async fn step<R, RF, C, CF>(
        &self,
        name: &str,
        run: R,
        check: C,
    ) -> Result<serde_json::Value>
    where
        R: FnOnce() -> RF,
        RF: Future<Output = Result<serde_json::Value>>,
        C: FnOnce() -> CF,
        CF: Future<Output = Result<Option<serde_json::Value>>>,
    {
        let key = job_key(&self.job);
        let begun = self.store.begin_step(&self.flow, &key, "", name).await?;
        let found = match begun {
            BeginStep::Began(_) => None,
            BeginStep::Exists(s) if s.state == StepState::Done => {
                return Ok(s.output.unwrap_or(serde_json::Value::Null));
            }
            BeginStep::Exists(_) => check().await?,
        };
        let output = match found {
            Some(out) => out,
            None => match run().await {
                Ok(out) => out,
                Err(e) => {
                    self.store
                        .fail_step(&self.flow, &key, "", name, &e.to_string())
                        .await?;
                    return Err(e);
                }
            },
        };
        self.store
            .finish_step(&self.flow, &key, "", name, &output)
            .await?;
        Ok(output)
    }

    /// Begins the finaliser itself; `Some(output)` when it is done already.
    pub async fn begin(&self) -> Result<Option<serde_json::Value>> {
        match self.store.begin_finalise(&self.flow, &self.job).await? {
            BeginStep::Exists(s) if s.state == StepState::Done => {
                Ok(Some(s.output.unwrap_or(serde_json::Value::Null)))
            }
            _ => Ok(None),
        }
    }

    /// Marks the finaliser done with `output`.
    pub async fn finish(&self, output: &serde_json::Value) -> Result<()> {
        if self
            .store
            .finish_finalise(&self.flow, &self.job, output)
            .await?
        {
            Ok(())
        } else {
            Err(Error::Config(format!(
                "job {}: the finaliser was not begun",
                self.job
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;
    use crate::model::Body;
    use crate::state::MemoryStore;

    /// Two documents, then an error when `fail`.
    struct Two {
        fail: bool,
    }

    #[async_trait]
    impl Source for Two {
        async fn changes(&self, _: Option<Checkpoint>) -> Result<BoxStream<'static, Result<Item>>> {
            let mut items: Vec<Result<Item>> = ["id:a", "id:b"]
                .into_iter()
                .map(|id| {
                    Ok(Item::upsert(Document::new(
                        DocRef::dropbox(id, "1"),
                        format!("{id}.txt"),
                        1,
                        Body::from_bytes("x"),
                    )))
                })
                .collect();
            if self.fail {
                items.push(Err(Error::Config("listing broke".into())));
            }
            Ok(stream::iter(items).boxed())
        }

        async fn fetch(&self, _: &DocRef) -> Result<Option<Document>> {
            Ok(None)
        }
    }

    async fn drain(s: &dyn Source) {
        let mut feed = s.changes(None).await.unwrap();
        while feed.next().await.is_some() {}
    }

    #[tokio::test]
    async fn listed_documents_join_the_job_and_only_a_whole_listing_finishes_it() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        drain(&JobSource::new(Two { fail: true }, store.clone(), "f", "j")).await;
        let b = store.job_barrier("f", "j").await.unwrap();
        assert_eq!(b.members, 2);
        assert!(
            !b.listing_finished,
            "a feed that failed leaves the listing open"
        );
        drain(&JobSource::new(
            Two { fail: false },
            store.clone(),
            "f",
            "j",
        ))
        .await;
        let b = store.job_barrier("f", "j").await.unwrap();
        assert_eq!((b.members, b.listing_finished), (2, true));
        assert!(!b.ready(), "members without records block the barrier");
    }

    #[tokio::test]
    async fn a_job_step_runs_once_and_a_started_one_is_checked_first() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let steps = JobSteps::new(store.clone(), "f", "j");
        let runs = AtomicUsize::new(0);
        for _ in 0..2 {
            let out = steps
                .step(
                    "manifest",
                    || async {
                        runs.fetch_add(1, Ordering::SeqCst);
                        Ok(serde_json::json!({"node": 7}))
                    },
                    || async { Ok(None) },
                )
                .await
                .unwrap();
            assert_eq!(out["node"], 7);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        // A step left `started` (a stop while it ran) is looked for before it runs again.
        store
            .begin_step("f", &job_key("j"), "", "move")
            .await
            .unwrap();
        let out = steps
            .step(
                "move",
                || async { panic!("found at the target: not run again") },
                || async { Ok(Some(serde_json::json!({"to": "/Archive"}))) },
            )
            .await
            .unwrap();
        assert_eq!(out["to"], "/Archive");
        assert_eq!(steps.done("move").await.unwrap(), Some(out));
        // An error fails the step; the next call runs it again.
        let err = steps
            .step(
                "hold",
                || async { Err(Error::Config("hold refused".into())) },
                || async { Ok(None) },
            )
            .await;
        assert!(err.is_err());
        let again = steps
            .step(
                "hold",
                || async { Ok(serde_json::json!(1)) },
                || async { Ok(None) },
            )
            .await
            .unwrap();
        assert_eq!(again, 1);
    }
}
