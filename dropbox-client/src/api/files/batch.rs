//! `files/move_batch_v2`, `files/copy_batch_v2`, `files/delete_batch`, their job checks, and
//! helpers that poll a job to completion.

use std::future::Future;

use crate::error::{ApiError, Error, Result};
use crate::job::{poll, JobState, JobWait};
use crate::models::common::PollArg;
use crate::models::files::*;

use super::Files;

impl Files {
    /// `files/move_batch_v2`: moves up to 1000 entries; the answer is either the outcomes or a
    /// job id for [`move_batch_check`](Self::move_batch_check). Each entry succeeds or fails on
    /// its own ([`RelocationBatchErrorEntry`]). See [`move_batch_and_wait`](Self::move_batch_and_wait).
    pub async fn move_batch(&self, arg: &MoveBatchArg) -> Result<RelocationBatchV2Launch> {
        self.client.rpc(route::MOVE_BATCH_V2, arg).await
    }

    /// `files/move_batch/check_v2`. Route error: [`PollError`](crate::models::common::PollError).
    pub async fn move_batch_check(
        &self,
        async_job_id: impl Into<String>,
    ) -> Result<RelocationBatchV2JobStatus> {
        let arg = PollArg {
            async_job_id: async_job_id.into(),
        };
        self.client.rpc(route::MOVE_BATCH_CHECK_V2, &arg).await
    }

    /// `files/copy_batch_v2`: copies up to 1000 entries; outcomes or a job id for
    /// [`copy_batch_check`](Self::copy_batch_check).
    pub async fn copy_batch(&self, arg: &CopyBatchArg) -> Result<RelocationBatchV2Launch> {
        self.client.rpc(route::COPY_BATCH_V2, arg).await
    }

    /// `files/copy_batch/check_v2`. Route error: [`PollError`](crate::models::common::PollError).
    pub async fn copy_batch_check(
        &self,
        async_job_id: impl Into<String>,
    ) -> Result<RelocationBatchV2JobStatus> {
        let arg = PollArg {
            async_job_id: async_job_id.into(),
        };
        self.client.rpc(route::COPY_BATCH_CHECK_V2, &arg).await
    }

    /// `files/delete_batch`: deletes up to 1000 entries; outcomes or a job id for
    /// [`delete_batch_check`](Self::delete_batch_check).
    pub async fn delete_batch(&self, arg: &DeleteBatchArg) -> Result<DeleteBatchLaunch> {
        if arg.entries.len() > 1000 {
            return Err(Error::invalid(
                route::DELETE_BATCH.name,
                "at most 1000 entries per batch",
            ));
        }
        self.client.rpc(route::DELETE_BATCH, arg).await
    }

    /// `files/delete_batch/check`. Route error: [`PollError`](crate::models::common::PollError);
    /// a batch that failed as a whole is [`DeleteBatchJobStatus::Failed`].
    pub async fn delete_batch_check(
        &self,
        async_job_id: impl Into<String>,
    ) -> Result<DeleteBatchJobStatus> {
        let arg = PollArg {
            async_job_id: async_job_id.into(),
        };
        self.client.rpc(route::DELETE_BATCH_CHECK, &arg).await
    }

    /// Moves a batch and, if the server answers with a job, checks it (see [`JobWait`]) until
    /// it completes. Returns the per-entry outcomes in request order.
    ///
    /// ```no_run
    /// # async fn run(client: dropbox_client::Client) -> dropbox_client::Result<()> {
    /// use dropbox_client::models::files::{MoveBatchArg, RelocationBatchResultEntry, RelocationPath};
    /// let arg = MoveBatchArg::new([RelocationPath::new("/Inbox/a.pdf", "/Archive/a.pdf")]);
    /// let done = client.files().move_batch_and_wait(&arg, std::time::Duration::from_secs(1)).await?;
    /// for entry in done.entries {
    ///     if let RelocationBatchResultEntry::Failure(why) = entry { eprintln!("{why:?}"); }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn move_batch_and_wait(
        &self,
        arg: &MoveBatchArg,
        wait: impl Into<JobWait>,
    ) -> Result<RelocationBatchV2Result> {
        let launch = self.move_batch(arg).await?;
        self.wait_relocation(route::MOVE_BATCH_CHECK_V2.name, launch, wait.into(), |id| {
            self.move_batch_check(id)
        })
        .await
    }

    /// Copies a batch and polls its job (see [`JobWait`]) until it completes.
    pub async fn copy_batch_and_wait(
        &self,
        arg: &CopyBatchArg,
        wait: impl Into<JobWait>,
    ) -> Result<RelocationBatchV2Result> {
        let launch = self.copy_batch(arg).await?;
        self.wait_relocation(route::COPY_BATCH_CHECK_V2.name, launch, wait.into(), |id| {
            self.copy_batch_check(id)
        })
        .await
    }

    /// Deletes a batch and polls its job (see [`JobWait`]) until it completes. A batch that
    /// failed as a whole is an [`Error::Api`] of `files/delete_batch/check` whose route error is
    /// the [`DeleteBatchError`].
    pub async fn delete_batch_and_wait(
        &self,
        arg: &DeleteBatchArg,
        wait: impl Into<JobWait>,
    ) -> Result<DeleteBatchResult> {
        const CHECK: &str = route::DELETE_BATCH_CHECK.name;
        let job = match self.delete_batch(arg).await? {
            DeleteBatchLaunch::Complete(done) => return Ok(done),
            DeleteBatchLaunch::AsyncJobId(id) => id,
            _ => {
                return Err(Error::decode(
                    route::DELETE_BATCH.name,
                    "unknown launch",
                    b"",
                ))
            }
        };
        poll(CHECK, &job, wait.into(), |id| async move {
            Ok(match self.delete_batch_check(id).await? {
                DeleteBatchJobStatus::InProgress => JobState::InProgress,
                DeleteBatchJobStatus::Complete(done) => JobState::Done(Ok(done)),
                DeleteBatchJobStatus::Failed(err) => JobState::Done(Err(job_failed(CHECK, &err))),
                _ => JobState::Done(Err(Error::decode(CHECK, "unknown job status", b""))),
            })
        })
        .await
    }

    async fn wait_relocation<F, Fut>(
        &self,
        check_route: &'static str,
        launch: RelocationBatchV2Launch,
        wait: JobWait,
        check: F,
    ) -> Result<RelocationBatchV2Result>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<RelocationBatchV2JobStatus>>,
    {
        let job = match launch {
            RelocationBatchV2Launch::Complete(done) => return Ok(done),
            RelocationBatchV2Launch::AsyncJobId(id) => id,
            _ => return Err(Error::decode(check_route, "unknown launch", b"")),
        };
        poll(check_route, &job, wait, |id| {
            let status = check(id);
            async move {
                Ok(match status.await? {
                    RelocationBatchV2JobStatus::InProgress => JobState::InProgress,
                    RelocationBatchV2JobStatus::Complete(done) => JobState::Done(Ok(done)),
                    _ => JobState::Done(Err(Error::decode(check_route, "unknown job status", b""))),
                })
            }
        })
        .await
    }
}

fn job_failed<E: serde::Serialize>(route: &str, err: &E) -> Error {
    let error = serde_json::to_value(err).unwrap_or_default();
    let mut api = ApiError::reported(route, error);
    api.summary = format!("job failed: {}", api.summary);
    Error::Api(Box::new(api))
}

/// The routes of this module and whether each is safe to repeat ([`Idempotency`](crate::Idempotency)).
mod route {
    use crate::route::Route;

    /// Not idempotent: a second copy batch makes second copies.
    pub(super) const COPY_BATCH_V2: Route = Route::not_idempotent("files/copy_batch_v2");
    pub(super) const COPY_BATCH_CHECK_V2: Route = Route::idempotent("files/copy_batch/check_v2");
    pub(super) const MOVE_BATCH_V2: Route = Route::not_idempotent("files/move_batch_v2");
    pub(super) const MOVE_BATCH_CHECK_V2: Route = Route::idempotent("files/move_batch/check_v2");
    pub(super) const DELETE_BATCH: Route = Route::not_idempotent("files/delete_batch");
    pub(super) const DELETE_BATCH_CHECK: Route = Route::idempotent("files/delete_batch/check");
}
