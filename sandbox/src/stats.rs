//! Request counts per route, and the route keys both the counts and fault selectors use.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

/// Counts of requests per route key. Cheap to clone; clones share the counts.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    inner: Arc<Mutex<Counts>>,
}

#[derive(Debug, Default)]
struct Counts {
    total: u64,
    routes: BTreeMap<String, u64>,
    limited: u64,
}

impl Stats {
    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts one request for `key`.
    pub(crate) fn record(&self, key: &str) {
        let mut counts = self.lock();
        counts.total += 1;
        match counts.routes.get_mut(key) {
            Some(n) => *n += 1,
            None => {
                counts.routes.insert(key.to_owned(), 1);
            }
        }
    }

    /// Counts one write refused by the server's write limit (it is also counted as a request
    /// of its route).
    pub(crate) fn record_limited(&self) {
        self.lock().limited += 1;
    }

    /// Writes refused by the server's write limit ([`crate::SandboxConfig::write_limit`])
    /// since the last reset.
    pub fn limited(&self) -> u64 {
        self.lock().limited
    }

    /// The number of requests counted for `key` since the last reset.
    pub fn count(&self, key: &str) -> u64 {
        self.lock().routes.get(key).copied().unwrap_or(0)
    }

    /// The number of requests counted since the last reset.
    pub fn total(&self) -> u64 {
        self.lock().total
    }

    /// `{"total": N, "routes": {"<key>": n, ...}, "limited": N}`, as served by
    /// `GET /__sandbox/stats` (`limited`: writes the write limit refused).
    pub fn snapshot(&self) -> Value {
        let counts = self.lock();
        json!({ "total": counts.total, "routes": counts.routes, "limited": counts.limited })
    }

    /// Forgets every count.
    pub fn reset(&self) {
        *self.lock() = Counts::default();
    }
}

/// The route key of a Dropbox request: its path (`/2/files/upload`, `/oauth2/token`).
pub(crate) fn dropbox_key(path: &str) -> String {
    path.to_owned()
}

/// The route key of a Content Server request: `METHOD /path` with the CGI prefix removed and
/// every all-digit segment replaced by `{id}` (`GET /api/v2/nodes/{id}/nodes`).
pub(crate) fn contentserver_key(method: &str, path: &str, prefix: &str) -> String {
    let path = if !prefix.is_empty() && path.starts_with(prefix) {
        let rest = &path[prefix.len()..];
        if rest.is_empty() || rest.starts_with('/') {
            rest
        } else {
            path
        }
    } else {
        path
    };
    let mut key = String::with_capacity(method.len() + path.len() + 8);
    key.push_str(method);
    key.push(' ');
    if path.is_empty() {
        key.push('/');
    }
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            key.push('/');
        }
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            key.push_str("{id}");
        } else {
            key.push_str(segment);
        }
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contentserver_keys_strip_the_prefix_and_ids() {
        let p = "/otcs/cs.exe";
        assert_eq!(
            contentserver_key("GET", "/otcs/cs.exe/api/v2/nodes/2000/nodes", p),
            "GET /api/v2/nodes/{id}/nodes"
        );
        assert_eq!(
            contentserver_key("POST", "/api/v1/auth", p),
            "POST /api/v1/auth"
        );
        assert_eq!(
            contentserver_key("GET", "/otcs/cs.exe.old/api", p),
            "GET /otcs/cs.exe.old/api"
        );
        assert_eq!(contentserver_key("GET", "/otcs/cs.exe", p), "GET /");
    }

    #[test]
    fn counts_and_reset() {
        let s = Stats::default();
        s.record("/2/files/upload");
        s.record("/2/files/upload");
        s.record("/2/users/get_current_account");
        assert_eq!(
            s.snapshot(),
            json!({"total": 3, "routes": {"/2/files/upload": 2, "/2/users/get_current_account": 1}, "limited": 0})
        );
        assert_eq!(s.count("/2/files/upload"), 2);
        s.reset();
        assert_eq!(s.total(), 0);
    }
}
