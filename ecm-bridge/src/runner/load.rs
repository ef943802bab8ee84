//! Adaptive load: the runner's concurrency toward each server, lowered when the server asks
//! it to slow down and raised again as calls succeed (additive increase, multiplicative
//! decrease).
//!
//! Each flow keeps one [`AdaptiveLimit`] per server ([`crate::sink::Sink::server`]), starting
//! at the flow's concurrency. A document's write holds a permit of its sink's server for as
//! long as it runs. A throttle (429, Dropbox's `too_many_write_operations`, 503) halves the
//! limit, at most once per generation: the throttles of calls that began before the last
//! decrease say nothing new and are not counted again, so a burst of refusals from one
//! overloaded moment halves it once. Each write that ends without a throttle adds `1/limit`
//! (one per limit's worth of successes). The limit stays within 1 ..= the flow's concurrency.
//!
//! The runner sees a throttle when a write fails with one. The clients retry most throttles
//! themselves, out of the runner's sight; to count those too, give each client's retry
//! policy the hook of this module ([`dropbox_retry_hook`], [`cs_retry_hook`]): it reports to
//! the permit of the document whose call was refused (a task-local set around each write).
//! A client that waits out a refusal's `Retry-After` (or any backoff) sends nothing meanwhile;
//! with [`retry_sleep`] as its policy's sleeper the write gives its place back for the wait
//! and takes one again before it retries, so the places under the limit are the writes that
//! are sending.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::future::BoxFuture;

use serde::Serialize;
use tokio::sync::Notify;

/// The limit of one server.
#[derive(Debug)]
pub struct AdaptiveLimit {
    server: String,
    max: usize,
    state: Mutex<State>,
    freed: Notify,
}

#[derive(Debug)]
struct State {
    limit: f64,
    in_flight: usize,
    generation: u64,
    throttles: u64,
    decreases: u64,
    lowest: usize,
}

/// A snapshot of one server's limit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LimitSnapshot {
    /// The server ([`crate::sink::Sink::server`]).
    pub server: String,
    /// Writes allowed at once now.
    pub limit: usize,
    /// The flow's concurrency: the most it is raised to.
    pub max: usize,
    /// Writes under way.
    pub in_flight: usize,
    /// Throttles reported.
    pub throttles: u64,
    /// Times the limit was halved.
    pub decreases: u64,
    /// The lowest limit so far.
    pub lowest: usize,
}

impl AdaptiveLimit {
    /// A limit for `server` starting (and capped) at `max` (at least 1).
    pub fn new(server: impl Into<String>, max: usize) -> Arc<AdaptiveLimit> {
        let max = max.max(1);
        Arc::new(AdaptiveLimit {
            server: server.into(),
            max,
            state: Mutex::new(State {
                limit: max as f64,
                in_flight: 0,
                generation: 0,
                throttles: 0,
                decreases: 0,
                lowest: max,
            }),
            freed: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until fewer than the limit's writes are under way, and takes a place.
    pub async fn acquire(self: &Arc<Self>) -> Permit {
        loop {
            let freed = self.freed.notified();
            {
                let mut st = self.lock();
                if st.in_flight < st.limit.floor() as usize {
                    st.in_flight += 1;
                    return Permit {
                        limit: self.clone(),
                        generation: st.generation,
                        throttled: false,
                        succeeded: false,
                        paused: false,
                    };
                }
            }
            freed.await;
        }
    }

    /// Waits for a place like [`AdaptiveLimit::acquire`] and takes it for a paused permit;
    /// returns the generation it resumes in.
    async fn take_place(&self) -> u64 {
        loop {
            let freed = self.freed.notified();
            {
                let mut st = self.lock();
                if st.in_flight < st.limit.floor() as usize {
                    st.in_flight += 1;
                    return st.generation;
                }
            }
            freed.await;
        }
    }

    /// A throttle from a call begun in `generation`: halves the limit if nothing halved it
    /// since that call began.
    fn throttle(&self, generation: u64) {
        let mut st = self.lock();
        st.throttles += 1;
        metrics::counter!("ecm_throttles_total", "server" => self.server.clone()).increment(1);
        if generation == st.generation {
            st.limit = (st.limit / 2.0).max(1.0);
            st.generation += 1;
            st.decreases += 1;
            st.lowest = st.lowest.min(st.limit.floor() as usize);
            tracing::info!(server = %self.server, limit = st.limit.floor() as usize, "server asks to slow down; concurrency lowered");
            metrics::gauge!("ecm_concurrency", "server" => self.server.clone())
                .set(st.limit.floor());
        }
    }

    /// The current state.
    pub fn snapshot(&self) -> LimitSnapshot {
        let st = self.lock();
        LimitSnapshot {
            server: self.server.clone(),
            limit: st.limit.floor() as usize,
            max: self.max,
            in_flight: st.in_flight,
            throttles: st.throttles,
            decreases: st.decreases,
            lowest: st.lowest,
        }
    }
}

/// A place under an [`AdaptiveLimit`], given back when dropped.
#[derive(Debug)]
pub struct Permit {
    limit: Arc<AdaptiveLimit>,
    generation: u64,
    throttled: bool,
    succeeded: bool,
    /// Its place is given back while the write waits ([`retry_sleep`]).
    paused: bool,
}

impl Permit {
    /// Gives the place back while the write waits; [`retry_sleep`] takes one again. `false`
    /// when it was given back already (another call of the same write is waiting): only the
    /// wait that gave it back takes one again.
    fn pause(&mut self) -> bool {
        if self.paused {
            return false;
        }
        self.paused = true;
        self.limit.lock().in_flight -= 1;
        self.limit.freed.notify_waiters();
        true
    }

    /// The server asked to slow down during this write.
    pub fn throttled(&mut self) {
        if !self.throttled {
            self.throttled = true;
            self.limit.throttle(self.generation);
        }
    }

    /// The write finished; unless it was throttled, the limit grows by `1/limit`.
    pub fn succeeded(&mut self) {
        self.succeeded = true;
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut st = self.limit.lock();
        if !self.paused {
            st.in_flight -= 1;
        }
        if self.succeeded && !self.throttled && st.limit < self.limit.max as f64 {
            st.limit = (st.limit + 1.0 / st.limit).min(self.limit.max as f64);
            metrics::gauge!("ecm_concurrency", "server" => self.limit.server.clone())
                .set(st.limit.floor());
        }
        drop(st);
        self.limit.freed.notify_waiters();
    }
}

/// A flow's limits, one per server, made on first use.
#[derive(Debug, Default)]
pub(crate) struct Limits {
    max: usize,
    by_server: Mutex<BTreeMap<String, Arc<AdaptiveLimit>>>,
}

impl Limits {
    pub(crate) fn new(max: usize) -> Limits {
        Limits {
            max,
            by_server: Mutex::default(),
        }
    }

    pub(crate) fn of(&self, server: &str) -> Arc<AdaptiveLimit> {
        let mut map = self.by_server.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(server.to_owned())
            .or_insert_with(|| AdaptiveLimit::new(server, self.max))
            .clone()
    }

    pub(crate) fn snapshot(&self) -> Vec<LimitSnapshot> {
        let map = self.by_server.lock().unwrap_or_else(|e| e.into_inner());
        map.values().map(|l| l.snapshot()).collect()
    }
}

/// The write under way in this task: its permit, and the server it is for.
pub(crate) struct Current {
    pub server: String,
    pub permit: Mutex<Permit>,
    pub limits: Arc<Limits>,
}

tokio::task_local! {
    pub(crate) static CURRENT: Arc<Current>;
}

/// Reports a throttle from `server` to the write under way in this task: its permit when the
/// write is toward that server, else that server's limit in the same flow. Outside a write
/// (a listing, a step) it does nothing.
pub fn throttled(server: &str) {
    let _ = CURRENT.try_with(|c| {
        if c.server == server {
            c.permit
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .throttled();
        } else {
            let l = c.limits.of(server);
            let generation = l.lock().generation;
            l.throttle(generation);
        }
    });
}

/// The sleeper of a client's retry policy (`RetryPolicy::sleep_with(retry_sleep)`, either
/// client) that waits `delay` without holding a place under the adaptive limit: inside a
/// write, its permit gives its place back for the wait, and takes one again (waiting for it
/// like a new write) before the call is repeated. Outside a write it only sleeps.
pub fn retry_sleep(delay: Duration) -> BoxFuture<'static, ()> {
    let current = CURRENT.try_with(Arc::clone).ok();
    Box::pin(async move {
        let Some(current) = current else {
            tokio::time::sleep(delay).await;
            return;
        };
        let limit = {
            let mut permit = current.permit.lock().unwrap_or_else(|e| e.into_inner());
            permit.pause().then(|| permit.limit.clone())
        };
        tokio::time::sleep(delay).await;
        let Some(limit) = limit else {
            // Another call of this write gave the place back and takes it again.
            return;
        };
        let generation = limit.take_place().await;
        // No await since the place was taken: a cancelled wait either holds no place (the
        // permit is still paused) or has resumed.
        let mut permit = current.permit.lock().unwrap_or_else(|e| e.into_inner());
        permit.paused = false;
        permit.generation = generation;
    })
}

/// Whether a Dropbox answer is a throttle: 429, `too_many_write_operations`, 503.
pub fn is_dropbox_throttle(e: &dropbox_client::Error) -> bool {
    e.kind() == dropbox_client::ErrorKind::RateLimited
        || e.api()
            .is_some_and(|a| a.status == 503 || a.has_tag("too_many_write_operations"))
}

/// Whether a Content Server answer is a throttle: 429, 503.
pub fn is_cs_throttle(e: &contentserver_client::Error) -> bool {
    e.kind() == contentserver_client::ErrorKind::RateLimited || e.status() == Some(503)
}

/// Whether a runner error is a server's throttle.
pub(crate) fn is_throttle(e: &crate::Error) -> bool {
    match e {
        crate::Error::Dropbox { source, .. } => is_dropbox_throttle(source),
        crate::Error::ContentServer { source, .. } => is_cs_throttle(source),
        _ => false,
    }
}

/// The `on_retry` hook of a Dropbox client's retry policy that reports its throttles to the
/// runner ([`throttled`] with `"dropbox"`):
/// `RetryPolicy::default().on_retry(ecm_bridge::runner::load::dropbox_retry_hook)`.
pub fn dropbox_retry_hook(event: &dropbox_client::RetryEvent<'_>) {
    if is_dropbox_throttle(event.error) {
        throttled(crate::connectors::dropbox::SERVER);
    }
}

/// The `on_retry` hook of a Content Server client's retry policy that reports its throttles
/// to the runner ([`throttled`] with `"contentserver"`).
pub fn cs_retry_hook(event: &contentserver_client::RetryEvent<'_>) {
    if is_cs_throttle(event.error) {
        throttled(crate::connectors::contentserver::SERVER);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn halves_once_per_generation_and_grows_back() {
        let l = AdaptiveLimit::new("cs", 8);
        // Four writes begun together, all refused: one halving, not four.
        let mut permits = Vec::new();
        for _ in 0..4 {
            permits.push(l.acquire().await);
        }
        for p in &mut permits {
            p.throttled();
        }
        drop(permits);
        let s = l.snapshot();
        assert_eq!((s.limit, s.throttles, s.decreases), (4, 4, 1));
        // A refusal of a write begun after the halving halves again; never below 1.
        for want in [2, 1, 1] {
            let mut p = l.acquire().await;
            p.throttled();
            drop(p);
            assert_eq!(l.snapshot().limit, want);
        }
        // Successes raise it by one per limit's worth, up to the maximum.
        let mut seen = vec![];
        for _ in 0..40 {
            let mut p = l.acquire().await;
            p.succeeded();
            drop(p);
            seen.push(l.snapshot().limit);
        }
        // 1 → 2 → 2.5 → 2.9 → 3.24: about one more per limit's worth of successes.
        assert_eq!(&seen[..4], [2, 2, 2, 3]);
        assert_eq!(*seen.last().unwrap(), 8);
        assert_eq!(l.snapshot().lowest, 1);
    }

    #[tokio::test]
    async fn a_retry_wait_gives_the_place_back_and_takes_one_again() {
        let limits = Arc::new(Limits::new(1));
        let l = limits.of("cs");
        let current = Arc::new(Current {
            server: "cs".into(),
            permit: Mutex::new(l.acquire().await),
            limits: limits.clone(),
        });
        // Called inside the write's scope, as a client's retry loop calls its sleeper.
        let waiting = tokio::spawn(
            CURRENT.scope(current.clone(), async { retry_sleep(Duration::ZERO).await }),
        );
        // The only place is free while the write waits: another write gets it.
        let other = l.acquire().await;
        assert_eq!(l.snapshot().in_flight, 1);
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "resumed without a place");
        drop(other);
        waiting.await.unwrap();
        assert_eq!(
            l.snapshot().in_flight,
            1,
            "the waiting write has its place again"
        );
        drop(current);
        assert_eq!(l.snapshot().in_flight, 0);
        // Outside a write it only sleeps.
        retry_sleep(Duration::ZERO).await;
    }

    #[tokio::test]
    async fn two_waits_of_one_write_take_one_place_again() {
        let limits = Arc::new(Limits::new(2));
        let l = limits.of("cs");
        let current = Arc::new(Current {
            server: "cs".into(),
            permit: Mutex::new(l.acquire().await),
            limits: limits.clone(),
        });
        // Two calls of the one write wait at once (both in its scope).
        let (a, b) = tokio::join!(
            CURRENT.scope(current.clone(), async { retry_sleep(Duration::ZERO).await }),
            CURRENT.scope(current.clone(), async { retry_sleep(Duration::ZERO).await }),
        );
        let ((), ()) = (a, b);
        assert_eq!(l.snapshot().in_flight, 1, "one place for the one write");
        drop(current);
        assert_eq!(l.snapshot().in_flight, 0, "no place leaked");
    }

    #[tokio::test]
    async fn a_paused_permit_dropped_gives_back_nothing_more() {
        let limits = Arc::new(Limits::new(2));
        let l = limits.of("cs");
        let mut p = l.acquire().await;
        let _q = l.acquire().await;
        p.pause();
        assert_eq!(l.snapshot().in_flight, 1);
        drop(p);
        assert_eq!(l.snapshot().in_flight, 1);
    }

    #[tokio::test]
    async fn waits_while_the_limit_is_taken() {
        let l = AdaptiveLimit::new("cs", 1);
        let p = l.acquire().await;
        let waiting = tokio::spawn({
            let l = l.clone();
            async move { l.acquire().await.limit.snapshot().in_flight }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(p);
        assert_eq!(waiting.await.unwrap(), 1);
    }
}
