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
//!   `expire` (every token or ticket issued so far expires now; the request then proceeds),
//!   `lose=502|504|reset|stall` (the request is **handled**, its write commits, and then the
//!   answer is lost: a proxy's 502 or 504 page, a connection reset, or a stall that holds the
//!   answer until the client gives up and disconnects, or `hold=MS` elapses, after which the
//!   connection is reset; `lose` takes any 5xx status);
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
use tokio::sync::watch;

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
    /// Handle the request (its write commits), then lose the answer in this way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lose: Option<LostAnswer>,
    /// With `lose=stall`: the longest the answer is held, in milliseconds, before the
    /// connection is reset (default [`DEFAULT_HOLD_MS`]); a client that disconnects first ends
    /// the hold at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<u64>,
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

/// How long `lose=stall` holds an answer when the rule sets no `hold`: two minutes, past the
/// usual 30-second client timeout, so the client gives up first.
pub const DEFAULT_HOLD_MS: u64 = 120_000;

/// How a `lose` rule loses the answer of a request it let the handler run for.
///
/// Written `502`, `504` (any 5xx), `reset` or `stall`; in JSON as that string or, for a
/// status, a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LostAnswer {
    /// The client gets this 5xx status with a proxy's HTML error page instead of the answer.
    Status(u16),
    /// The connection is reset (TCP RST) instead of answering.
    Reset,
    /// Nothing is sent until the client disconnects or the rule's `hold` elapses; then the
    /// connection is reset.
    Stall,
}

impl FromStr for LostAnswer {
    type Err = FaultRuleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "reset" => Ok(LostAnswer::Reset),
            "stall" => Ok(LostAnswer::Stall),
            other => match other.parse::<u16>() {
                Ok(status) if (500..=599).contains(&status) => Ok(LostAnswer::Status(status)),
                _ => Err(FaultRuleError(format!(
                    "lose={other:?} is not a 5xx status, reset or stall"
                ))),
            },
        }
    }
}

impl fmt::Display for LostAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LostAnswer::Status(status) => write!(f, "{status}"),
            LostAnswer::Reset => f.write_str("reset"),
            LostAnswer::Stall => f.write_str("stall"),
        }
    }
}

impl Serialize for LostAnswer {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LostAnswer {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Status(u16),
            Text(String),
        }
        let text = match Repr::deserialize(deserializer)? {
            Repr::Status(status) => status.to_string(),
            Repr::Text(text) => text,
        };
        text.parse().map_err(serde::de::Error::custom)
    }
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
            lose: None,
            hold: None,
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

    /// Lets matching requests run (their writes commit), then loses the answer as `how` says.
    pub fn lose(route: impl Into<String>, how: LostAnswer) -> FaultRule {
        FaultRule {
            lose: Some(how),
            ..FaultRule::empty(route)
        }
    }

    /// With [`LostAnswer::Stall`]: holds the answer at most `hold` before resetting.
    pub fn with_hold(mut self, hold: Duration) -> FaultRule {
        self.hold = Some(hold.as_millis() as u64);
        self
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
            self.lose.is_some(),
        ]
        .iter()
        .filter(|a| **a)
        .count();
        if actions != 1 {
            return Err(FaultRuleError(format!(
                "a fault rule needs exactly one action (latency, status/retry_after, reset, \
                 truncate, expire or lose), found {actions}"
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
        if let Some(LostAnswer::Status(status)) = self.lose {
            if !(500..=599).contains(&status) {
                return Err(FaultRuleError(format!("lose={status} is not a 5xx status")));
            }
        }
        if self.hold.is_some() && self.lose != Some(LostAnswer::Stall) {
            return Err(FaultRuleError("hold goes with lose=stall only".into()));
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
                "lose" => rule.lose = Some(value.parse()?),
                "hold" | "hold_ms" => rule.hold = Some(num("hold")?),
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
                         reset, truncate, expire, lose, hold, rate, nth, every or count)"
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
        if let Some(lose) = self.lose {
            write!(f, ",lose={lose}")?;
        }
        opt(f, "hold", self.hold)?;
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
    /// Run the handler, then lose its answer.
    Lost {
        /// The id of the rule that fired (its `lost` counter goes up once the handler ran).
        rule: u64,
        /// How the answer is lost.
        how: LostAnswer,
        /// With [`LostAnswer::Stall`]: how long the answer is held at most.
        hold: Duration,
    },
}

struct ActiveRule {
    id: u64,
    rule: FaultRule,
    matched: u64,
    fired: u64,
    lost: u64,
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
    /// Answers lost so far by `lose` rules after their handler ran (all rules together).
    lost: Arc<watch::Sender<u64>>,
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
            lost: Arc::new(watch::channel(0).0),
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
            lost: 0,
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
    /// calls the action was applied to; `lose` rules also `lost`: answers discarded after the
    /// handler ran, so the write is known to have committed), as served by
    /// `GET /__sandbox/faults`, plus `lost`: the total of every `lose` rule so far.
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
                    if r.rule.lose.is_some() {
                        map.insert("lost".into(), json!(r.lost));
                    }
                }
                v
            })
            .collect();
        json!({ "seed": inner.seed, "rules": rules, "lost": *self.lost.borrow() })
    }

    /// How many answers `lose` rules have discarded after their handler ran, since the start
    /// (not reset by [`Faults::clear`]).
    pub fn lost_answers(&self) -> u64 {
        *self.lost.borrow()
    }

    /// Waits until `lose` rules have discarded at least `n` answers in all, i.e. until the
    /// handlers of those requests have finished and their writes committed. A client whose
    /// own timeout fired during a stall cannot tell whether the handler has finished yet; this
    /// tells it without sleeping.
    pub async fn wait_lost(&self, n: u64) {
        let mut rx = self.lost.subscribe();
        // The sender lives as long as `self`, so this only ends when the count is reached.
        let _ = rx.wait_for(|lost| *lost >= n).await;
    }

    /// Counts one answer lost by rule `id` after its handler ran.
    pub(crate) fn answer_lost(&self, id: u64) {
        if let Some(active) = self.lock().rules.iter_mut().find(|r| r.id == id) {
            active.lost += 1;
        }
        self.lost.send_modify(|n| *n += 1);
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
                decision.answer = Some(if let Some(how) = rule.lose {
                    Injected::Lost {
                        rule: active.id,
                        how,
                        hold: Duration::from_millis(rule.hold.unwrap_or(DEFAULT_HOLD_MS)),
                    }
                } else if rule.reset {
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
mod tests;
