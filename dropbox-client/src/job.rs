//! Waiting for an async job (a batch move, copy or delete, a folder share) to finish.

use std::future::Future;
use std::time::Duration;

use crate::error::{Error, Result};

/// How a `…_and_wait` helper checks a job: every `interval` (at least 1 ms, so a zero interval
/// cannot spin), for at most `timeout` of waiting in all. A job still in progress after that
/// ends the wait with [`Error::Transport`] of kind `Timeout`; the job itself goes on at the
/// server and can still be checked by its id.
///
/// A plain `Duration` is an interval with the default limit of 30 minutes:
/// `move_batch_and_wait(&arg, Duration::from_secs(1))`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobWait {
    interval: Duration,
    timeout: Duration,
}

impl JobWait {
    /// The default limit of waiting.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

    /// Checks every `interval`, for at most [`JobWait::DEFAULT_TIMEOUT`].
    pub fn every(interval: Duration) -> Self {
        JobWait {
            interval: interval.max(Duration::from_millis(1)),
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }

    /// Waits at most `timeout` in all.
    pub fn at_most(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl From<Duration> for JobWait {
    fn from(interval: Duration) -> Self {
        JobWait::every(interval)
    }
}

/// What one check of a job says.
pub(crate) enum JobState<R> {
    /// Not finished: check again.
    InProgress,
    /// Finished, with the job's outcome.
    Done(Result<R>),
}

/// Checks `job` until it is done; the first check is sent at once (a job launched as async may
/// already be done), then one every `wait.interval`, until `wait.timeout` has been waited.
pub(crate) async fn poll<R, F, Fut>(route: &str, job: &str, wait: JobWait, check: F) -> Result<R>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<JobState<R>>>,
{
    let mut waited = Duration::ZERO;
    loop {
        match check(job.to_owned()).await? {
            JobState::Done(result) => return result,
            JobState::InProgress if waited >= wait.timeout => {
                return Err(Error::timeout(
                    route,
                    true,
                    &format!("job {job} still in progress after {waited:?} of checks"),
                ))
            }
            JobState::InProgress => {
                tokio::time::sleep(wait.interval).await;
                waited += wait.interval;
            }
        }
    }
}
