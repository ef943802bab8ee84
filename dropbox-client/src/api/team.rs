//! Routes of the `team` namespace used here: the team's members. These routes take a team
//! token (team auth) on a client without `Dropbox-API-Select-User`.

use crate::client::Client;
use crate::error::Result;
use crate::models::team::*;
use crate::pagination::Pager;

/// The `team` routes. Get it with [`Client::team`].
#[derive(Debug, Clone)]
pub struct Team {
    client: Client,
}

impl Client {
    /// The `team` namespace (team token).
    pub fn team(&self) -> Team {
        Team {
            client: self.clone(),
        }
    }
}

impl Team {
    /// `team/members/list_v2` (and `members/list/continue_v2`): a pager over the team's
    /// members with their profiles and roles. Route error of the continue call:
    /// [`MembersListContinueError`].
    ///
    /// ```no_run
    /// # async fn run(team_client: dropbox_client::Client) -> dropbox_client::Result<()> {
    /// use dropbox_client::models::team::MembersListArg;
    /// use futures::TryStreamExt;
    /// let mut members = team_client.team().members_list(MembersListArg::default()).into_stream();
    /// while let Some(m) = members.try_next().await? {
    ///     println!("{} <{}> {}", m.profile.name.display_name, m.profile.email, m.profile.team_member_id);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn members_list(&self, arg: MembersListArg) -> Pager<MembersListV2Result> {
        let first = self.client.clone();
        let next = self.clone();
        Pager::new(
            move || {
                let (client, arg) = (first.clone(), arg.clone());
                async move { client.rpc(route::MEMBERS_LIST_V2, &arg).await }
            },
            move |cursor| {
                let team = next.clone();
                async move { team.members_list_continue(cursor).await }
            },
        )
    }

    /// `team/members/list/continue_v2`: the page after `cursor`.
    pub async fn members_list_continue(
        &self,
        cursor: impl Into<String>,
    ) -> Result<MembersListV2Result> {
        let arg = MembersListContinueArg {
            cursor: cursor.into(),
        };
        self.client.rpc(route::MEMBERS_LIST_CONTINUE_V2, &arg).await
    }
}

/// The routes of this module and whether each is safe to repeat ([`Idempotency`](crate::Idempotency)).
mod route {
    use crate::route::Route;

    pub(super) const MEMBERS_LIST_V2: Route = Route::idempotent("team/members/list_v2");
    pub(super) const MEMBERS_LIST_CONTINUE_V2: Route =
        Route::idempotent("team/members/list/continue_v2");
}
