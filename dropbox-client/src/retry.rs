//! The retry policy: which failures are repeated, how long to wait, and when to give up.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;

use crate::error::Error;

/// How failed calls are repeated.
///
/// A call is repeated when [`Error::is_retryable`] says so, at most `max_attempts` times in all
/// (the first try counts). The wait before try *n* is `max(server hint, backoff)`, where backoff
/// grows from `initial_backoff` by `multiplier` up to `max_backoff`, with random jitter taken off.
/// The server's hint comes from the `Retry-After` header (seconds or an HTTP date) or Dropbox's
/// `retry_after` body field. When the server asked us to slow down (429,
/// `too_many_write_operations`, or 503 with `Retry-After`) and the hint is longer than
/// `max_server_delay`, waiting would overrun `total_budget`, or the tries ran out, the call ends
/// with [`Error::RateLimited`] so that the caller can reschedule the work instead of sleeping
/// for minutes; any other failure ends with the last error.
///
/// The Content Server client of this family has the same policy with the same builder.
///
/// ```
/// use std::time::Duration;
/// use dropbox_client::RetryPolicy;
/// let policy = RetryPolicy::default()
///     .max_attempts(6)
///     .total_budget(Duration::from_secs(120))
///     .on_retry(|event| eprintln!("retrying {} in {:?}", event.call, event.delay));
/// # let _ = policy;
/// ```
#[derive(Clone)]
pub struct RetryPolicy {
    pub(crate) max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    multiplier: f64,
    jitter: f64,
    total_budget: Duration,
    max_server_delay: Duration,
    on_retry: Option<RetryCallback>,
    sleeper: Option<Sleeper>,
}

/// How the policy waits between tries (default: `tokio::time::sleep`).
pub type Sleeper = Arc<dyn Fn(Duration) -> BoxFuture<'static, ()> + Send + Sync>;

/// The `on_retry` callback.
type RetryCallback = Arc<dyn Fn(&RetryEvent) + Send + Sync>;

/// What the `on_retry` callback is told before each wait.
#[derive(Debug)]
pub struct RetryEvent<'a> {
    /// The call being retried: its route, e.g. `files/upload`.
    pub call: &'a str,
    /// The try that just failed (1 = the first).
    pub attempt: u32,
    /// How long the policy waits before the next try.
    pub delay: Duration,
    /// Why the try failed.
    pub error: &'a Error,
}

impl Default for RetryPolicy {
    /// 5 tries, backoff 250 ms doubling to 16 s with 50 % jitter, a 2-minute budget, server
    /// hints honoured up to 60 s.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(16),
            multiplier: 2.0,
            jitter: 0.5,
            total_budget: Duration::from_secs(120),
            max_server_delay: Duration::from_secs(60),
            on_retry: None,
            sleeper: None,
        }
    }
}

impl fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("max_attempts", &self.max_attempts)
            .field("initial_backoff", &self.initial_backoff)
            .field("max_backoff", &self.max_backoff)
            .field("multiplier", &self.multiplier)
            .field("jitter", &self.jitter)
            .field("total_budget", &self.total_budget)
            .field("max_server_delay", &self.max_server_delay)
            .field("on_retry", &self.on_retry.is_some())
            .field("sleeper", &self.sleeper.is_some())
            .finish()
    }
}

impl RetryPolicy {
    /// A policy that never repeats a call.
    pub fn never() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// Tries in all, the first included (at least 1).
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    /// Wait before the second try.
    pub fn initial_backoff(mut self, d: Duration) -> Self {
        self.initial_backoff = d;
        self
    }

    /// Longest computed wait between two tries.
    pub fn max_backoff(mut self, d: Duration) -> Self {
        self.max_backoff = d;
        self
    }

    /// Growth of the wait from one try to the next (at least 1).
    pub fn multiplier(mut self, m: f64) -> Self {
        self.multiplier = if m.is_finite() { m.max(1.0) } else { 1.0 };
        self
    }

    /// Fraction (0..=1) of the computed wait that may be taken off at random.
    pub fn jitter(mut self, j: f64) -> Self {
        self.jitter = if j.is_finite() {
            j.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self
    }

    /// Longest time a call may take, all tries and waits included.
    pub fn total_budget(mut self, d: Duration) -> Self {
        self.total_budget = d;
        self
    }

    /// Longest server-requested wait the policy sleeps through; above it the call returns
    /// [`Error::RateLimited`] at once.
    pub fn max_server_delay(mut self, d: Duration) -> Self {
        self.max_server_delay = d;
        self
    }

    /// A callback told before each wait, e.g. to count retries in metrics.
    pub fn on_retry(mut self, f: impl Fn(&RetryEvent) + Send + Sync + 'static) -> Self {
        self.on_retry = Some(Arc::new(f));
        self
    }

    /// Replaces how the policy waits between tries, e.g. to run waits on a scheduler of your own,
    /// or, in tests, to record them without sleeping. The time budget counts the waits the
    /// policy asked for even when the sleeper returns early.
    pub fn sleep_with(
        mut self,
        f: impl Fn(Duration) -> BoxFuture<'static, ()> + Send + Sync + 'static,
    ) -> Self {
        self.sleeper = Some(Arc::new(f));
        self
    }

    /// Waits `delay` with the configured sleeper.
    pub(crate) async fn sleep(&self, delay: Duration) {
        match &self.sleeper {
            Some(f) => f(delay).await,
            None => tokio::time::sleep(delay).await,
        }
    }

    /// Tells the `on_retry` callback, if any, about a coming wait.
    pub(crate) fn notify(&self, event: &RetryEvent<'_>) {
        if let Some(f) = &self.on_retry {
            f(event);
        }
    }

    /// The computed (hint-free) wait after the given failed try (1-based), before jitter.
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .multiplier
            .powi(attempt.saturating_sub(1).min(64) as i32);
        let secs = (self.initial_backoff.as_secs_f64() * exp).min(self.max_backoff.as_secs_f64());
        Duration::try_from_secs_f64(secs.max(0.0)).unwrap_or(self.max_backoff)
    }

    /// Decides what to do after try `attempt` failed with `error`, `elapsed` into the call.
    ///
    /// The wait is `max(server hint, jittered backoff)`. The policy stops when the hint is
    /// longer than `max_server_delay`, the tries ran out, or the wait would overrun the budget;
    /// a stop on a rate limit is [`Decision::RateLimited`] with that wait, any other stop
    /// [`Decision::GiveUp`].
    pub(crate) fn decide(&self, attempt: u32, elapsed: Duration, error: &Error) -> Decision {
        if !error.is_retryable() {
            return Decision::GiveUp;
        }
        let hint = error.retry_after();
        let computed = self.backoff(attempt);
        let jittered = computed.mul_f64(1.0 - self.jitter * fastrand::f64());
        let delay = hint.map_or(jittered, |h| h.max(jittered));
        let stop = hint.is_some_and(|h| h > self.max_server_delay)
            || attempt >= self.max_attempts
            || elapsed.saturating_add(delay) > self.total_budget;
        match (stop, is_rate_limit(error)) {
            (false, _) => Decision::Wait(delay),
            (true, true) => Decision::RateLimited(delay),
            (true, false) => Decision::GiveUp,
        }
    }
}

/// Whether the server asked us to slow down (and so certainly did nothing).
fn is_rate_limit(error: &Error) -> bool {
    matches!(error, Error::RateLimited { .. })
        || error.api().is_some_and(|a| {
            a.status == 429
                || (a.status == 503 && a.retry_after.is_some())
                || a.has_tag("too_many_write_operations")
        })
}

/// Parses a `Retry-After` header value: delta seconds or an HTTP date (RFC 9110). A date in
/// the past means "now".
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let delta = date.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

/// The policy's verdict after a failed try.
#[derive(Debug, PartialEq)]
pub(crate) enum Decision {
    /// Sleep this long, then try again.
    Wait(Duration),
    /// Stop and return the error as it is.
    GiveUp,
    /// Stop and tell the caller to come back after this long.
    RateLimited(Duration),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;

    fn api(status: u16, retry_after: Option<u64>) -> Error {
        Error::Api(Box::new(ApiError {
            route: "files/upload".into(),
            status,
            summary: String::new(),
            error: None,
            user_message: None,
            request_id: None,
            retry_after: retry_after.map(Duration::from_secs),
            repeatable: true,
        }))
    }

    fn write(status: u16, retry_after: Option<u64>) -> Error {
        let Error::Api(mut api) = api(status, retry_after) else {
            unreachable!()
        };
        api.repeatable = false;
        Error::Api(api)
    }

    #[test]
    fn writes_are_repeated_only_when_the_server_did_nothing() {
        let p = RetryPolicy::default().jitter(0.0);
        for status in [408, 500, 502, 503, 504] {
            assert_eq!(
                p.decide(1, Duration::ZERO, &write(status, None)),
                Decision::GiveUp,
                "{status}"
            );
            assert!(write(status, None).is_in_doubt(), "{status}");
            assert!(matches!(
                p.decide(1, Duration::ZERO, &api(status, None)),
                Decision::Wait(_)
            ));
            assert!(!api(status, None).is_in_doubt());
        }
        assert_eq!(
            p.decide(1, Duration::ZERO, &write(503, Some(2))),
            Decision::Wait(Duration::from_secs(2))
        );
        assert!(!write(503, Some(2)).is_in_doubt());
        assert!(matches!(
            p.decide(1, Duration::ZERO, &write(429, Some(1))),
            Decision::Wait(_)
        ));
        assert!(!write(429, Some(1)).is_in_doubt());
        // A 503 whose hint is longer than the policy waits is a rate limit, not a failure.
        assert_eq!(
            p.decide(1, Duration::ZERO, &write(503, Some(3600))),
            Decision::RateLimited(Duration::from_secs(3600))
        );
    }

    #[test]
    fn a_long_hint_on_a_gateway_error_is_not_a_rate_limit() {
        let p = RetryPolicy::default().max_server_delay(Duration::from_secs(10));
        assert_eq!(
            p.decide(1, Duration::ZERO, &api(502, Some(300))),
            Decision::GiveUp
        );
    }

    #[test]
    fn huge_hints_do_not_overflow() {
        let p = RetryPolicy::default().max_server_delay(Duration::MAX);
        assert_eq!(
            p.decide(1, Duration::from_secs(1), &api(429, Some(u64::MAX))),
            Decision::RateLimited(Duration::from_secs(u64::MAX))
        );
        let p = RetryPolicy::default()
            .multiplier(f64::INFINITY)
            .max_attempts(100);
        assert!(matches!(
            p.decide(99, Duration::ZERO, &api(503, None)),
            Decision::Wait(_) | Decision::GiveUp
        ));
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after(" 5 "), Some(Duration::from_secs(5)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO)
        );
        let soon = (chrono::Utc::now() + chrono::Duration::seconds(30)).to_rfc2822();
        let parsed = parse_retry_after(&soon).expect("an HTTP date");
        assert!(parsed <= Duration::from_secs(30) && parsed >= Duration::from_secs(28));
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn backoff_grows_and_caps() {
        let p = RetryPolicy::default()
            .initial_backoff(Duration::from_secs(1))
            .max_backoff(Duration::from_secs(5))
            .jitter(0.0)
            .max_attempts(10);
        let waits: Vec<_> = (1..=5)
            .map(|n| p.decide(n, Duration::ZERO, &api(503, None)))
            .collect();
        assert_eq!(
            waits,
            [1, 2, 4, 5, 5].map(|s| Decision::Wait(Duration::from_secs(s)))
        );
    }

    #[test]
    fn server_hint_wins_over_shorter_backoff() {
        let p = RetryPolicy::default().jitter(0.0);
        assert_eq!(
            p.decide(1, Duration::ZERO, &api(429, Some(7))),
            Decision::Wait(Duration::from_secs(7))
        );
    }

    #[test]
    fn long_hint_returns_rate_limited_at_once() {
        let p = RetryPolicy::default().max_server_delay(Duration::from_secs(10));
        assert_eq!(
            p.decide(1, Duration::ZERO, &api(429, Some(300))),
            Decision::RateLimited(Duration::from_secs(300))
        );
    }

    #[test]
    fn not_retryable_and_501_give_up() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.decide(1, Duration::ZERO, &api(400, None)),
            Decision::GiveUp
        );
        assert_eq!(
            p.decide(1, Duration::ZERO, &api(501, None)),
            Decision::GiveUp
        );
        assert_eq!(
            p.decide(5, Duration::ZERO, &api(503, None)),
            Decision::GiveUp
        );
    }

    #[test]
    fn budget_is_respected() {
        let p = RetryPolicy::default()
            .jitter(0.0)
            .initial_backoff(Duration::from_secs(10))
            .total_budget(Duration::from_secs(15));
        assert_eq!(
            p.decide(1, Duration::from_secs(6), &api(503, None)),
            Decision::GiveUp
        );
    }
}
