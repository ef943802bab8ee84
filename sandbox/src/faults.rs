//! Fault injection shared by both emulators: rules, their grammar, and the decision per request.
//!
//! A rule has a **route selector**, one **action** and an optional **trigger**:
//!
//! * selector `route=`: `*` (every route, the default), an exact route key (`/2/files/upload`,
//!   `POST /api/v2/nodes`), a key without its method (`/api/v1/nodes/{id}/content` matches every
//!   method), or a prefix ending in `*` (`/2/files/*`);
//! * action (exactly one): `latency=MS`, `status=CODE`, `retry_after=S` (a 429 with that
//!   `Retry-After`; `status=429` alone means `retry_after=1`), `reset` (the connection is reset
//!   mid-request), `truncate=BYTES` (the response body stops after that many bytes),
//!   `expire` (every token or ticket issued so far expires now; the request then proceeds);
//! * trigger: `rate=P` (each matching call with probability P, drawn from a generator seeded with
//!   the fault seed), `nth=N` (the Nth matching call), `every=N` (every Nth matching call; with
//!   `nth`, the Nth and every N calls after it), `count=N` (fire at most N times). Without a
//!   trigger a rule fires on every matching call; `nth` alone fires once.
//!
//! On the command line a rule is written `key=value` pairs separated by commas, e.g.
//! `route=/2/files/upload,status=503,nth=2`; over the admin API it is the same keys as a JSON
//! object, e.g. `{"route":"/2/files/upload","status":503,"nth":2}`.

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// One fault rule: where it applies, what it does and when it fires (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// Route selector: `*`, an exact route key, a key without method, or a prefix ending in `*`.
    #[serde(default = "all_routes")]
    pub route: String,
    /// Added latency before the request is handled, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<u64>,
    /// Answer with this HTTP status instead of handling the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Answer 429 with this `Retry-After` (seconds) and the server's rate-limit body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// Reset the connection (TCP RST) instead of answering.
    #[serde(default, skip_serializing_if = "is_false")]
    pub reset: bool,
    /// Cut the response body short after this many bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncate: Option<u64>,
    /// Expire every token (Dropbox) or ticket (Content Server) issued so far, then proceed.
    #[serde(default, skip_serializing_if = "is_false")]
    pub expire: bool,
    /// Fire on each matching call with this probability (0..=1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Fire on the Nth matching call (1-based).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nth: Option<u64>,
    /// Fire on every Nth matching call (after `nth` when both are given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<u64>,
    /// Fire at most this many times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

fn all_routes() -> String {
    "*".to_owned()
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl FaultRule {
    fn empty(route: impl Into<String>) -> FaultRule {
        FaultRule {
            route: route.into(),
            latency: None,
            status: None,
            retry_after: None,
            reset: false,
            truncate: None,
            expire: false,
            rate: None,
            nth: None,
            every: None,
            count: None,
        }
    }

    /// Adds `latency` before every matching request.
    pub fn latency(route: impl Into<String>, latency: Duration) -> FaultRule {
        FaultRule {
            latency: Some(latency.as_millis() as u64),
            ..FaultRule::empty(route)
        }
    }

    /// Answers matching requests with `status` (a plain error body for the server's kind).
    pub fn status(route: impl Into<String>, status: u16) -> FaultRule {
        FaultRule {
            status: Some(status),
            ..FaultRule::empty(route)
        }
    }

    /// Answers matching requests with 429, `Retry-After: retry_after_secs` and the server's
    /// rate-limit body.
    pub fn rate_limited(route: impl Into<String>, retry_after_secs: u64) -> FaultRule {
        FaultRule {
            retry_after: Some(retry_after_secs),
            ..FaultRule::empty(route)
        }
    }

    /// Resets the connection of matching requests after their headers were read.
    pub fn reset(route: impl Into<String>) -> FaultRule {
        FaultRule {
            reset: true,
            ..FaultRule::empty(route)
        }
    }

    /// Cuts the response bodies of matching requests short after `bytes` bytes.
    pub fn truncate(route: impl Into<String>, bytes: u64) -> FaultRule {
        FaultRule {
            truncate: Some(bytes),
            ..FaultRule::empty(route)
        }
    }

    /// Expires every access token or ticket issued so far when a matching request arrives.
    pub fn expire(route: impl Into<String>) -> FaultRule {
        FaultRule {
            expire: true,
            ..FaultRule::empty(route)
        }
    }

    /// Fires with probability `p` (drawn from the seeded generator).
    pub fn with_rate(mut self, p: f64) -> FaultRule {
        self.rate = Some(p);
        self
    }

    /// Fires on the `n`th matching call (1-based).
    pub fn with_nth(mut self, n: u64) -> FaultRule {
        self.nth = Some(n);
        self
    }

    /// Fires on every `n`th matching call.
    pub fn with_every(mut self, n: u64) -> FaultRule {
        self.every = Some(n);
        self
    }

    /// Fires at most `n` times.
    pub fn with_count(mut self, n: u64) -> FaultRule {
        self.count = Some(n);
        self
    }

    /// Checks that the rule has exactly one action and a coherent trigger.
    pub fn validate(&self) -> Result<(), FaultRuleError> {
        let actions = [
            self.latency.is_some(),
            self.status.is_some() || self.retry_after.is_some(),
            self.reset,
            self.truncate.is_some(),
            self.expire,
        ]
        .iter()
        .filter(|a| **a)
        .count();
        if actions != 1 {
            return Err(FaultRuleError(format!(
                "a fault rule needs exactly one action (latency, status/retry_after, reset, \
                 truncate or expire), found {actions}"
            )));
        }
        if let Some(status) = self.status {
            if !(100..=599).contains(&status) {
                return Err(FaultRuleError(format!(
                    "status {status} is not an HTTP status"
                )));
            }
            if self.retry_after.is_some() && status != 429 {
                return Err(FaultRuleError(
                    "retry_after goes with status 429 only".into(),
                ));
            }
        }
        if let Some(rate) = self.rate {
            if !(0.0..=1.0).contains(&rate) {
                return Err(FaultRuleError(format!("rate {rate} is not within 0..=1")));
            }
            if self.nth.is_some() || self.every.is_some() {
                return Err(FaultRuleError(
                    "rate cannot be combined with nth or every".into(),
                ));
            }
        }
        if self.nth == Some(0) || self.every == Some(0) {
            return Err(FaultRuleError("nth and every count from 1".into()));
        }
        if self.route.is_empty() {
            return Err(FaultRuleError(
                "route must not be empty (use * for all)".into(),
            ));
        }
        Ok(())
    }

    fn matches(&self, key: &str) -> bool {
        let route = self.route.as_str();
        if route == "*" {
            return true;
        }
        if let Some(prefix) = route.strip_suffix('*') {
            return key.starts_with(prefix) || path_part(key).starts_with(prefix);
        }
        key == route || path_part(key) == route
    }

    /// Whether the `n`th matching call (1-based) fires, before the count limit.
    fn triggers(&self, n: u64, rng: &mut fastrand::Rng) -> bool {
        if let Some(rate) = self.rate {
            return rng.f64() < rate;
        }
        match (self.nth, self.every) {
            (Some(nth), Some(every)) => n >= nth && (n - nth) % every == 0,
            (Some(nth), None) => n == nth,
            (None, Some(every)) => n % every == 0,
            (None, None) => true,
        }
    }
}

/// The path of a route key: `POST /api/v2/nodes` → `/api/v2/nodes`.
fn path_part(key: &str) -> &str {
    key.split_once(' ').map_or(key, |(_, path)| path)
}

/// A fault rule that could not be parsed or does not make sense.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid fault rule: {0}")]
pub struct FaultRuleError(String);

impl FromStr for FaultRule {
    type Err = FaultRuleError;

    /// Parses the command-line grammar: `key=value` pairs separated by commas; `reset` and
    /// `expire` may be written without a value.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut rule = FaultRule::empty("*");
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part.split_once('=').unwrap_or((part, ""));
            let value = value.trim();
            let num = |what: &str| -> Result<u64, FaultRuleError> {
                value
                    .parse()
                    .map_err(|_| FaultRuleError(format!("{what}={value:?} is not a whole number")))
            };
            let flag = || -> Result<bool, FaultRuleError> {
                match value {
                    "" | "true" | "1" => Ok(true),
                    "false" | "0" => Ok(false),
                    other => Err(FaultRuleError(format!("{key}={other:?} is not a boolean"))),
                }
            };
            match key.trim() {
                "route" => rule.route = value.to_owned(),
                "latency" | "latency_ms" => rule.latency = Some(num("latency")?),
                "status" => {
                    rule.status = Some(
                        u16::try_from(num("status")?)
                            .map_err(|_| FaultRuleError(format!("status={value} is too large")))?,
                    )
                }
                "retry_after" => rule.retry_after = Some(num("retry_after")?),
                "reset" => rule.reset = flag()?,
                "truncate" => rule.truncate = Some(num("truncate")?),
                "expire" => rule.expire = flag()?,
                "rate" => {
                    rule.rate =
                        Some(value.parse().map_err(|_| {
                            FaultRuleError(format!("rate={value:?} is not a number"))
                        })?)
                }
                "nth" => rule.nth = Some(num("nth")?),
                "every" => rule.every = Some(num("every")?),
                "count" => rule.count = Some(num("count")?),
                other => {
                    return Err(FaultRuleError(format!(
                        "unknown key {other:?} (expected route, latency, status, retry_after, \
                         reset, truncate, expire, rate, nth, every or count)"
                    )))
                }
            }
        }
        rule.validate()?;
        Ok(rule)
    }
}

impl fmt::Display for FaultRule {
    /// Writes the rule in the command-line grammar.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "route={}", self.route)?;
        let opt = |f: &mut fmt::Formatter<'_>, k: &str, v: Option<u64>| match v {
            Some(v) => write!(f, ",{k}={v}"),
            None => Ok(()),
        };
        opt(f, "latency", self.latency)?;
        opt(f, "status", self.status.map(u64::from))?;
        opt(f, "retry_after", self.retry_after)?;
        if self.reset {
            f.write_str(",reset")?;
        }
        opt(f, "truncate", self.truncate)?;
        if self.expire {
            f.write_str(",expire")?;
        }
        if let Some(rate) = self.rate {
            write!(f, ",rate={rate}")?;
        }
        opt(f, "nth", self.nth)?;
        opt(f, "every", self.every)?;
        opt(f, "count", self.count)
    }
}

/// Which emulator a fault layer belongs to: it decides the shape of injected error bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    /// Dropbox API v2: 429 bodies are `RateLimitError` envelopes, other errors plain text.
    Dropbox,
    /// Content Server REST: error bodies are `{"error": "..."}`.
    ContentServer,
}

/// What the fault layer does to one request.
#[derive(Debug, Default)]
pub(crate) struct Decision {
    /// Sum of the latencies of every firing latency rule.
    pub latency: Duration,
    /// Expire credentials before handling the request.
    pub expire: bool,
    /// Answer instead of handling the request.
    pub answer: Option<Injected>,
    /// Cut the response body after this many bytes.
    pub truncate: Option<u64>,
}

/// A reply the fault layer gives in place of the handler's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Injected {
    /// An error status; 429 carries its `Retry-After`.
    Status {
        /// The HTTP status.
        status: u16,
        /// `Retry-After` seconds for 429.
        retry_after: Option<u64>,
    },
    /// Reset the connection.
    Reset,
}

struct ActiveRule {
    id: u64,
    rule: FaultRule,
    matched: u64,
    fired: u64,
}

struct Inner {
    rules: Vec<ActiveRule>,
    next_id: u64,
    rng: fastrand::Rng,
    seed: u64,
}

/// The fault rules of one server, with their counters. Cheap to clone; clones share the rules.
#[derive(Clone)]
pub struct Faults {
    inner: Arc<Mutex<Inner>>,
    kind: ServerKind,
    on_expire: Arc<dyn Fn() + Send + Sync>,
}

impl fmt::Debug for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Faults")
            .field("kind", &self.kind)
            .field("rules", &self.list())
            .finish()
    }
}

impl Faults {
    /// A rule set for a server of `kind`, drawing rates from a generator seeded with `seed`;
    /// `on_expire` runs when an `expire` rule fires.
    pub(crate) fn new(
        kind: ServerKind,
        seed: u64,
        on_expire: Arc<dyn Fn() + Send + Sync>,
    ) -> Faults {
        Faults {
            inner: Arc::new(Mutex::new(Inner {
                rules: Vec::new(),
                next_id: 1,
                rng: fastrand::Rng::with_seed(seed),
                seed,
            })),
            kind,
            on_expire,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The kind of server these faults answer for.
    pub fn kind(&self) -> ServerKind {
        self.kind
    }

    /// Adds a rule (after validating it) and returns its id.
    pub fn add(&self, rule: FaultRule) -> Result<u64, FaultRuleError> {
        rule.validate()?;
        let mut inner = self.lock();
        let id = inner.next_id;
        inner.next_id += 1;
        inner.rules.push(ActiveRule {
            id,
            rule,
            matched: 0,
            fired: 0,
        });
        Ok(id)
    }

    /// Removes one rule; returns whether it existed.
    pub fn remove(&self, id: u64) -> bool {
        let mut inner = self.lock();
        let before = inner.rules.len();
        inner.rules.retain(|r| r.id != id);
        inner.rules.len() != before
    }

    /// Removes every rule and re-seeds the generator, so a run can be replayed.
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.rules.clear();
        let seed = inner.seed;
        inner.rng = fastrand::Rng::with_seed(seed);
    }

    /// The rules with their ids and counters (`matched`: calls the selector matched, `fired`:
    /// calls the action was applied to), as served by `GET /__sandbox/faults`.
    pub fn list(&self) -> Value {
        let inner = self.lock();
        let rules: Vec<Value> = inner
            .rules
            .iter()
            .map(|r| {
                let mut v = serde_json::to_value(&r.rule).unwrap_or(Value::Null);
                if let Value::Object(map) = &mut v {
                    map.insert("id".into(), json!(r.id));
                    map.insert("matched".into(), json!(r.matched));
                    map.insert("fired".into(), json!(r.fired));
                    if let Some(ms) = r.rule.latency {
                        map.insert("delayed_ms".into(), json!(ms * r.fired));
                    }
                }
                v
            })
            .collect();
        json!({ "seed": inner.seed, "rules": rules })
    }

    /// Decides what happens to a request with route key `key` and updates the counters.
    pub(crate) fn decide(&self, key: &str) -> Decision {
        let mut decision = Decision::default();
        let mut guard = self.lock();
        let Inner { rules, rng, .. } = &mut *guard;
        for active in rules.iter_mut() {
            if !active.rule.matches(key) {
                continue;
            }
            active.matched += 1;
            if !active.rule.triggers(active.matched, rng) {
                continue;
            }
            let limit = active
                .rule
                .count
                .or(match (active.rule.nth, active.rule.every) {
                    (Some(_), None) => Some(1),
                    _ => None,
                });
            if limit.is_some_and(|limit| active.fired >= limit) {
                continue;
            }
            let rule = &active.rule;
            if let Some(ms) = rule.latency {
                decision.latency += Duration::from_millis(ms);
            } else if rule.expire {
                decision.expire = true;
            } else if let Some(bytes) = rule.truncate {
                if decision.truncate.is_none() {
                    decision.truncate = Some(bytes);
                }
            } else if decision.answer.is_none() {
                decision.answer = Some(if rule.reset {
                    Injected::Reset
                } else {
                    let status = rule.status.unwrap_or(429);
                    let retry_after = (status == 429).then(|| rule.retry_after.unwrap_or(1));
                    Injected::Status {
                        status,
                        retry_after,
                    }
                });
            } else {
                // Another rule already answers this request: this one did not act.
                continue;
            }
            active.fired += 1;
            tracing::debug!(rule = active.id, key, "fault fired");
        }
        decision
    }

    /// Runs the credential-expiry hook.
    pub(crate) fn expire_credentials(&self) {
        (self.on_expire)();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faults() -> Faults {
        Faults::new(ServerKind::Dropbox, 7, Arc::new(|| {}))
    }

    #[test]
    fn grammar_round_trips() {
        let rule: FaultRule = "route=/2/files/upload,status=503,nth=2".parse().unwrap();
        assert_eq!(rule, FaultRule::status("/2/files/upload", 503).with_nth(2));
        assert_eq!(rule.to_string().parse::<FaultRule>().unwrap(), rule);
        let rule: FaultRule = "reset,every=3,count=2".parse().unwrap();
        assert_eq!(rule, FaultRule::reset("*").with_every(3).with_count(2));
        assert!("route=*".parse::<FaultRule>().is_err(), "no action");
        assert!(
            "status=503,reset".parse::<FaultRule>().is_err(),
            "two actions"
        );
        assert!("status=503,rate=2".parse::<FaultRule>().is_err());
        assert!("status=503,colour=red".parse::<FaultRule>().is_err());
        assert!("status=500,retry_after=3".parse::<FaultRule>().is_err());
    }

    #[test]
    fn json_form_uses_the_same_keys() {
        let rule: FaultRule =
            serde_json::from_str(r#"{"route":"/2/files/*","retry_after":5,"count":1}"#).unwrap();
        assert_eq!(rule, FaultRule::rate_limited("/2/files/*", 5).with_count(1));
        assert!(serde_json::from_str::<FaultRule>(r#"{"bogus":1}"#).is_err());
    }

    #[test]
    fn selectors() {
        let exact = FaultRule::reset("/2/files/upload");
        assert!(exact.matches("/2/files/upload"));
        assert!(!exact.matches("/2/files/upload_session/start"));
        let prefix = FaultRule::reset("/2/files/*");
        assert!(prefix.matches("/2/files/upload_session/start"));
        assert!(!prefix.matches("/2/sharing/list_shared_links"));
        let cs = FaultRule::reset("/api/v2/nodes/{id}");
        assert!(cs.matches("GET /api/v2/nodes/{id}"));
        assert!(cs.matches("DELETE /api/v2/nodes/{id}"));
        assert!(FaultRule::reset("POST /api/*").matches("POST /api/v1/auth"));
        assert!(!FaultRule::reset("POST /api/v1/auth").matches("GET /api/v1/auth"));
    }

    #[test]
    fn nth_fires_once_every_repeats_and_count_limits() {
        let f = faults();
        f.add(FaultRule::status("/a", 503).with_nth(2)).unwrap();
        let hits: Vec<bool> = (0..5).map(|_| f.decide("/a").answer.is_some()).collect();
        assert_eq!(hits, [false, true, false, false, false]);

        let f = faults();
        f.add(FaultRule::status("/a", 503).with_every(2).with_count(2))
            .unwrap();
        let hits: Vec<bool> = (0..8).map(|_| f.decide("/a").answer.is_some()).collect();
        assert_eq!(hits, [false, true, false, true, false, false, false, false]);

        let f = faults();
        f.add(FaultRule::reset("*").with_nth(2).with_every(3))
            .unwrap();
        let hits: Vec<bool> = (0..9).map(|_| f.decide("/x").answer.is_some()).collect();
        assert_eq!(
            hits,
            [false, true, false, false, true, false, false, true, false]
        );
    }

    #[test]
    fn rates_are_deterministic_under_the_seed_and_clear_replays() {
        let run = |f: &Faults| -> Vec<bool> {
            (0..64).map(|_| f.decide("/r").answer.is_some()).collect()
        };
        let a = faults();
        a.add(FaultRule::status("*", 500).with_rate(0.5)).unwrap();
        let b = faults();
        b.add(FaultRule::status("*", 500).with_rate(0.5)).unwrap();
        let first = run(&a);
        assert_eq!(first, run(&b));
        assert!(first.iter().any(|x| *x) && first.iter().any(|x| !*x));
        a.clear();
        a.add(FaultRule::status("*", 500).with_rate(0.5)).unwrap();
        assert_eq!(run(&a), first);
    }

    #[test]
    fn latencies_add_up_and_first_answer_wins() {
        let f = faults();
        f.add(FaultRule::latency("*", Duration::from_millis(5)))
            .unwrap();
        f.add(FaultRule::latency("/a", Duration::from_millis(7)))
            .unwrap();
        f.add(FaultRule::rate_limited("/a", 3)).unwrap();
        let second = f.add(FaultRule::status("/a", 500)).unwrap();
        let d = f.decide("/a");
        assert_eq!(d.latency, Duration::from_millis(12));
        assert_eq!(
            d.answer,
            Some(Injected::Status {
                status: 429,
                retry_after: Some(3)
            })
        );
        let listed = f.list();
        let rule = listed["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == second)
            .unwrap();
        assert_eq!(rule["fired"], 0);
        assert_eq!(rule["matched"], 1);
        assert!(f.remove(second));
        assert!(!f.remove(second));
    }
}
