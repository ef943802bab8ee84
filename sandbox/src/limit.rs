//! A server's write capacity ([`crate::SandboxConfig::write_limit`]): a write that arrives
//! while `n` writes to the same server are in flight is refused with 429 and `Retry-After`,
//! as a real server that is at capacity refuses it (Dropbox: `too_many_write_operations`).
//! Unlike a `rate=` fault it depends on the load: a client that sends fewer writes at once
//! meets fewer refusals.
//!
//! A write is in flight from the moment the layer lets it through (before any `latency` fault
//! rule's delay) until its handler's answer is returned (a `lose` rule's hold included).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::http::Method;

use crate::faults::ServerKind;

/// The in-flight writes of one server and the limit they are held to. Cheap to clone; clones
/// share the count.
#[derive(Debug, Clone)]
pub(crate) struct WriteLimit {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Writes allowed at once (0: no limit).
    limit: usize,
    in_flight: AtomicUsize,
}

/// A write's place under the limit, given back when dropped.
#[derive(Debug)]
pub(crate) struct Slot {
    inner: Arc<Inner>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.inner.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl WriteLimit {
    /// At most `limit` writes at once; 0 means no limit.
    pub(crate) fn new(limit: usize) -> WriteLimit {
        WriteLimit {
            inner: Arc::new(Inner {
                limit,
                in_flight: AtomicUsize::new(0),
            }),
        }
    }

    /// A place for one write, or `None` when the limit's writes are all in flight (the layer
    /// counts the refusal in [`crate::Stats::limited`]). Without a limit every write gets one.
    pub(crate) fn try_acquire(&self) -> Option<Slot> {
        let inner = &self.inner;
        let mut now = inner.in_flight.load(Ordering::Acquire);
        loop {
            if inner.limit > 0 && now >= inner.limit {
                return None;
            }
            match inner.in_flight.compare_exchange_weak(
                now,
                now + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    return Some(Slot {
                        inner: inner.clone(),
                    })
                }
                Err(seen) => now = seen,
            }
        }
    }

    /// Whether this server has a limit at all.
    pub(crate) fn is_limited(&self) -> bool {
        self.inner.limit > 0
    }
}

/// Whether a request with route key `key` writes: on Content Server every method but `GET`
/// and `HEAD`, except logging in (`POST /api/v1/auth`); on Dropbox the `files/*` routes that
/// change the tree (uploads, folders, copies, moves, deletes, tags, restores).
pub(crate) fn is_write(kind: ServerKind, method: &Method, key: &str) -> bool {
    match kind {
        ServerKind::ContentServer => {
            !matches!(*method, Method::GET | Method::HEAD) && !key.ends_with("/api/v1/auth")
        }
        ServerKind::Dropbox => {
            key.starts_with("/2/files/")
                && [
                    "upload",
                    "create_folder",
                    "copy",
                    "move",
                    "delete",
                    "tags/add",
                    "tags/remove",
                    "restore",
                ]
                .iter()
                .any(|w| key["/2/files/".len()..].starts_with(w))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_past_the_limit_and_frees_on_drop() {
        let l = WriteLimit::new(2);
        let a = l.try_acquire().expect("first");
        let b = l.try_acquire().expect("second");
        assert!(l.try_acquire().is_none(), "a third while two are in flight");
        drop(a);
        let c = l.try_acquire().expect("a place was freed");
        assert!(l.try_acquire().is_none());
        drop((b, c));
        let _d = l.try_acquire().expect("both freed");
        assert!(l.is_limited());
    }

    #[test]
    fn no_limit_never_refuses() {
        let l = WriteLimit::new(0);
        let slots: Vec<_> = (0..100).map(|_| l.try_acquire().unwrap()).collect();
        assert_eq!((slots.len(), l.is_limited()), (100, false));
    }

    #[test]
    fn which_requests_write() {
        let (db, cs) = (ServerKind::Dropbox, ServerKind::ContentServer);
        assert!(is_write(db, &Method::POST, "/2/files/upload"));
        assert!(is_write(
            db,
            &Method::POST,
            "/2/files/upload_session/finish_batch_v2"
        ));
        assert!(is_write(db, &Method::POST, "/2/files/tags/add"));
        assert!(!is_write(db, &Method::POST, "/2/files/download"));
        assert!(!is_write(db, &Method::POST, "/2/files/list_folder"));
        assert!(!is_write(db, &Method::POST, "/2/files/tags/get"));
        assert!(!is_write(db, &Method::POST, "/oauth2/token"));
        assert!(is_write(cs, &Method::POST, "POST /api/v2/nodes"));
        assert!(is_write(cs, &Method::PUT, "PUT /api/v2/nodes/{id}"));
        assert!(!is_write(cs, &Method::GET, "GET /api/v2/nodes/{id}"));
        assert!(!is_write(cs, &Method::POST, "POST /api/v1/auth"));
    }
}
