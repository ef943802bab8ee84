//! The retry policy: exponential back-off with jitter, a total budget, and `Retry-After`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::error::Error;

/// Called before each retry with the attempt number that failed (1 = the first try), the error
/// and the delay before the next attempt. Useful for metrics.
pub type OnRetry = Arc<dyn Fn(u32, &Error, Duration) + Send + Sync>;

/// How failed calls are retried.
///
/// Which errors are retried is decided by [`Error::is_retryable`]. The delay before attempt
/// `n + 1` is `max(server hint, backoff)`, where `backoff = min(initial * multiplier^(n-1), max)`
/// reduced by a random fraction up to `jitter`. When the server's `Retry-After` hint is longer
/// than `max_server_delay`, or the delay would overrun the total budget, the call fails at once
/// (a 429 as [`Error::RateLimited`]) so the caller can reschedule instead of sleeping.
///
/// The default mirrors pyxecm (1 s doubling, capped at 30 s) with 5 attempts and a 2 minute
/// budget.
#[derive(Clone)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    multiplier: f64,
    jitter: f64,
    total_budget: Duration,
    max_server_delay: Duration,
    on_retry: Option<OnRetry>,
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
            .finish()
    }
}

impl Default for RetryPolicy {
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
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries (one attempt).
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// Maximum number of attempts, counting the first (at least 1).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The delay before the first retry.
    pub fn with_initial_backoff(mut self, delay: Duration) -> Self {
        self.initial_backoff = delay;
        self
    }

    /// The cap of the computed back-off.
    pub fn with_max_backoff(mut self, delay: Duration) -> Self {
        self.max_backoff = delay;
        self
    }

    /// The growth factor of the back-off (at least 1.0).
    pub fn with_multiplier(mut self, multiplier: f64) -> Self {
        self.multiplier = if multiplier.is_finite() {
            multiplier.max(1.0)
        } else {
            1.0
        };
        self
    }

    /// The random fraction (0.0 to 1.0) taken off each back-off to spread retries.
    pub fn with_jitter(mut self, jitter: f64) -> Self {
        self.jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self
    }

    /// The total time, from the first attempt, after which no retry is started.
    pub fn with_total_budget(mut self, budget: Duration) -> Self {
        self.total_budget = budget;
        self
    }

    /// The longest server `Retry-After` hint the client will sleep for.
    pub fn with_max_server_delay(mut self, delay: Duration) -> Self {
        self.max_server_delay = delay;
        self
    }

    /// A callback run before each retry.
    pub fn on_retry(
        mut self,
        callback: impl Fn(u32, &Error, Duration) + Send + Sync + 'static,
    ) -> Self {
        self.on_retry = Some(Arc::new(callback));
        self
    }

    /// Maximum number of attempts, counting the first.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The computed back-off (without server hint) after failed attempt `attempt` (1-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .multiplier
            .powi(attempt.saturating_sub(1).min(64) as i32);
        let secs = (self.initial_backoff.as_secs_f64() * exp).min(self.max_backoff.as_secs_f64());
        let jittered = secs * (1.0 - self.jitter * fastrand::f64());
        Duration::try_from_secs_f64(jittered.max(0.0)).unwrap_or(self.max_backoff)
    }

    /// Decides what follows failed attempt `attempt` (1-based) after `elapsed` since the first
    /// attempt started.
    pub(crate) fn decide(&self, attempt: u32, elapsed: Duration, error: &Error) -> Decision {
        if !error.is_retryable() || attempt >= self.max_attempts {
            return Decision::GiveUp;
        }
        let hint = error.retry_after();
        if let Some(hint) = hint {
            if hint > self.max_server_delay {
                return Decision::GiveUp;
            }
        }
        let delay = hint.unwrap_or_default().max(self.backoff(attempt));
        if elapsed.saturating_add(delay) > self.total_budget {
            return Decision::GiveUp;
        }
        if let Some(callback) = &self.on_retry {
            callback(attempt, error, delay);
        }
        Decision::RetryAfter(delay)
    }
}

/// The outcome of [`RetryPolicy::decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Sleep this long, then try again.
    RetryAfter(Duration),
    /// Return the error.
    GiveUp,
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

    fn unavailable(retry_after: Option<Duration>) -> Error {
        Error::Api {
            method: Method::GET,
            path: "p".into(),
            status: 503,
            message: String::new(),
            detail: None,
            transient: false,
            retry_after,
        }
    }

    #[test]
    fn backoff_grows_and_caps() {
        let p = RetryPolicy::default().with_jitter(0.0);
        assert_eq!(p.backoff(1), Duration::from_secs(1));
        assert_eq!(p.backoff(2), Duration::from_secs(2));
        assert_eq!(p.backoff(3), Duration::from_secs(4));
        assert_eq!(p.backoff(10), Duration::from_secs(30));
        let j = RetryPolicy::default().with_jitter(0.5);
        for _ in 0..100 {
            let d = j.backoff(1);
            assert!(d <= Duration::from_secs(1) && d >= Duration::from_millis(500));
        }
    }

    #[test]
    fn decisions() {
        let p = RetryPolicy::default().with_jitter(0.0);
        assert_eq!(
            p.decide(1, Duration::ZERO, &unavailable(None)),
            Decision::RetryAfter(Duration::from_secs(1))
        );
        // The server hint wins when longer.
        assert_eq!(
            p.decide(
                1,
                Duration::ZERO,
                &unavailable(Some(Duration::from_secs(7)))
            ),
            Decision::RetryAfter(Duration::from_secs(7))
        );
        // Too long a hint: give up at once.
        assert_eq!(
            p.decide(
                1,
                Duration::ZERO,
                &unavailable(Some(Duration::from_secs(600)))
            ),
            Decision::GiveUp
        );
        // Attempts exhausted.
        assert_eq!(
            p.decide(5, Duration::ZERO, &unavailable(None)),
            Decision::GiveUp
        );
        // Budget exhausted.
        assert_eq!(
            p.decide(1, Duration::from_secs(120), &unavailable(None)),
            Decision::GiveUp
        );
        assert_eq!(
            RetryPolicy::none().decide(1, Duration::ZERO, &unavailable(None)),
            Decision::GiveUp
        );
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after(" 5 "), Some(Duration::from_secs(5)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
