//! Routes of the `team_log` namespace: the team's audit log (team token, scope `events.read`).

use futures::stream::{BoxStream, StreamExt, TryStreamExt};

use crate::client::Client;
use crate::error::Result;
use crate::models::team_log::*;
use crate::pagination::Pager;

/// The `team_log` routes. Get it with [`Client::team_log`].
#[derive(Debug, Clone)]
pub struct TeamLog {
    client: Client,
}

impl Client {
    /// The `team_log` namespace (team token).
    pub fn team_log(&self) -> TeamLog {
        TeamLog {
            client: self.clone(),
        }
    }
}

impl TeamLog {
    /// `team_log/get_events` (and `get_events/continue`): a pager over the audit log, filtered
    /// by `arg` (category *or* event type, account, time range). Events are not sorted by time;
    /// a page may be empty while `has_more` is true. The last page's cursor can be polled later
    /// ([`Pager::resume`]) for new events. Route errors: [`GetTeamEventsError`],
    /// [`GetTeamEventsContinueError`].
    pub fn get_events(&self, arg: GetTeamEventsArg) -> Pager<GetTeamEventsResult> {
        let first = self.client.clone();
        let next = self.clone();
        Pager::new(
            move || {
                let (client, arg) = (first.clone(), arg.clone());
                async move { client.rpc(route::GET_EVENTS, &arg).await }
            },
            move |cursor| {
                let log = next.clone();
                async move { log.get_events_continue(cursor).await }
            },
        )
    }

    /// `team_log/get_events/continue`: the page after `cursor`.
    pub async fn get_events_continue(
        &self,
        cursor: impl Into<String>,
    ) -> Result<GetTeamEventsResult> {
        let arg = GetTeamEventsContinueArg {
            cursor: cursor.into(),
        };
        self.client.rpc(route::GET_EVENTS_CONTINUE, &arg).await
    }

    /// Every file-request submission in `time` (all time when `None`): who submitted (the
    /// name and e-mail they typed in), when, into which request, and the received paths.
    ///
    /// ```no_run
    /// # async fn run(team_client: dropbox_client::Client) -> dropbox_client::Result<()> {
    /// use futures::TryStreamExt;
    /// let mut subs = team_client.team_log().file_request_submissions(None);
    /// while let Some(s) = subs.try_next().await? {
    ///     println!("{:?} <{:?}> sent {:?} at {}", s.submitter_name, s.submitter_email, s.paths, s.timestamp);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn file_request_submissions(
        &self,
        time: Option<TimeRange>,
    ) -> BoxStream<'static, Result<FileRequestSubmission>> {
        let arg = GetTeamEventsArg {
            time,
            ..GetTeamEventsArg::file_request_submissions()
        };
        self.get_events(arg)
            .into_stream()
            .try_filter_map(|event| async move { Ok(event.file_request_submission()) })
            .boxed()
    }
}

/// The routes of this module and whether each is safe to repeat ([`Idempotency`](crate::Idempotency)).
mod route {
    use crate::route::Route;

    pub(super) const GET_EVENTS: Route = Route::idempotent("team_log/get_events");
    pub(super) const GET_EVENTS_CONTINUE: Route = Route::idempotent("team_log/get_events/continue");
}
