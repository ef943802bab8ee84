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
/// The server's hint is its `Retry-After` header (seconds or an HTTP date). When the server
/// asked us to slow down (429, or 503 with `Retry-After`) and the hint is longer than
/// `max_server_delay`, waiting would overrun `total_budget`, or the tries ran out, the call ends
/// with [`Error::RateLimited`] so that the caller can reschedule the work instead of sleeping
/// for minutes; any other failure ends with the last error.
///
/// The Dropbox client of this family has the same policy with the same builder.
///
/// ```
/// use std::time::Duration;
/// use contentserver_client::RetryPolicy;
/// let policy = RetryPolicy::default()
///     .max_attempts(6)
///     .total_budget(Duration::from_secs(120))
///     .on_retry(|event| eprintln!("retrying {} in {:?}", event.call, event.delay));
/// # let _ = policy;
/// ```
#[derive(Clone)]
pub struct RetryPolicy {
    max_attempts: u32,
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
    /// The call being retried: method and path, e.g. `POST api/v2/nodes`.
    pub call: &'a str,
    /// The try that just failed (1 = the first).
    pub attempt: u32,
    /// How long the policy waits before the next try.
    pub delay: Duration,
    /// Why the try failed.
    pub error: &'a Error,
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

impl Default for RetryPolicy {
    /// 5 tries, backoff 1 s doubling to 30 s (as pyxecm) with 20 % jitter, a 2-minute budget,
    /// server hints honoured up to 60 s.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            multiplier: 2.0,
            jitter: 0.2,
            total_budget: Duration::from_secs(120),
            max_server_delay: Duration::from_secs(60),
            on_retry: None,
            sleeper: None,
        }
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
    match error {
        Error::RateLimited { .. } => true,
        Error::Api {
            status,
            retry_after,
            ..
        } => *status == 429 || (*status == 503 && retry_after.is_some()),
        _ => false,
    }
}

/// The policy's verdict after a failed try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Sleep this long, then try again.
    Wait(Duration),
    /// Stop and return the error as it is.
    GiveUp,
    /// Stop and tell the caller to come back after this long.
    RateLimited(Duration),
}

/// Parses a `Retry-After` header value: delta seconds or an HTTP date.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let delta = date.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::Method;

    fn answer(status: u16, retry_after: Option<Duration>, repeatable: bool) -> Error {
        Error::Api {
            method: Method::POST,
            path: "p".into(),
            status,
            message: String::new(),
            detail: None,
            transient: false,
            retry_after,
            repeatable,
        }
    }

    fn unavailable(retry_after: Option<Duration>) -> Error {
        answer(503, retry_after, true)
    }

    #[test]
    fn backoff_grows_and_caps() {
        let p = RetryPolicy::default().jitter(0.0);
        assert_eq!(p.backoff(1), Duration::from_secs(1));
        assert_eq!(p.backoff(2), Duration::from_secs(2));
        assert_eq!(p.backoff(3), Duration::from_secs(4));
        assert_eq!(p.backoff(10), Duration::from_secs(30));
        let j = RetryPolicy::default().jitter(0.5);
        for _ in 0..100 {
            let Decision::Wait(d) = j.decide(1, Duration::ZERO, &unavailable(None)) else {
                panic!("a 503 is retried");
            };
            assert!(d <= Duration::from_secs(1) && d >= Duration::from_millis(500));
        }
    }

    #[test]
    fn decisions() {
        let p = RetryPolicy::default().jitter(0.0);
        assert_eq!(
            p.decide(1, Duration::ZERO, &unavailable(None)),
            Decision::Wait(Duration::from_secs(1))
        );
        // The server hint wins when longer.
        let seven = Some(Duration::from_secs(7));
        assert_eq!(
            p.decide(1, Duration::ZERO, &unavailable(seven)),
            Decision::Wait(Duration::from_secs(7))
        );
        // Too long a hint: come back later, at once.
        let long = Duration::from_secs(600);
        assert_eq!(
            p.decide(1, Duration::ZERO, &unavailable(Some(long))),
            Decision::RateLimited(long)
        );
        // Attempts exhausted: a 503 without a hint is a plain failure, a 429 a rate limit.
        assert_eq!(
            p.decide(5, Duration::ZERO, &unavailable(None)),
            Decision::GiveUp
        );
        assert_eq!(
            p.decide(5, Duration::ZERO, &answer(429, None, false)),
            Decision::RateLimited(Duration::from_secs(16)),
            "without a hint, come back after the policy's next wait"
        );
        // A gateway error with a long hint is not a rate limit: it is returned as it is.
        assert_eq!(
            p.decide(1, Duration::ZERO, &answer(502, Some(long), true)),
            Decision::GiveUp
        );
        // Budget exhausted.
        assert_eq!(
            p.decide(1, Duration::from_secs(120), &unavailable(None)),
            Decision::GiveUp
        );
        assert_eq!(
            RetryPolicy::never().decide(1, Duration::ZERO, &unavailable(None)),
            Decision::GiveUp
        );
    }

    #[test]
    fn writes_are_repeated_only_when_the_server_did_nothing() {
        let p = RetryPolicy::default().jitter(0.0);
        for status in [408, 500, 502, 503, 504] {
            assert_eq!(
                p.decide(1, Duration::ZERO, &answer(status, None, false)),
                Decision::GiveUp,
                "{status} on a write"
            );
            assert!(answer(status, None, false).is_in_doubt() || status == 500);
        }
        let hint = Some(Duration::from_secs(2));
        assert_eq!(
            p.decide(1, Duration::ZERO, &answer(503, hint, false)),
            Decision::Wait(Duration::from_secs(2))
        );
        assert!(matches!(
            p.decide(1, Duration::ZERO, &answer(429, None, false)),
            Decision::Wait(_)
        ));
        assert!(!answer(429, None, false).is_in_doubt());
        assert!(!answer(503, hint, false).is_in_doubt());
        for status in [408, 502, 503, 504] {
            assert!(matches!(
                p.decide(1, Duration::ZERO, &answer(status, None, true)),
                Decision::Wait(_)
            ));
        }
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
        assert_eq!(parse_retry_after("99999999999999999999"), None);
    }
}
