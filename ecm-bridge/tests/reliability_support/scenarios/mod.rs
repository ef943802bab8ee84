//! One scenario per flow for the fault matrix and the kill test of `tests/reliability_flows.rs`:
//! how the sandbox is seeded for it, how the flow is built on given clients and store and run
//! once, which subtrees it writes (for the [`Snapshot`]), and its own key facts.

use std::sync::Arc;

use ecm_bridge::state::{SqliteStore, Store};

use crate::reliability_support::{self, Kind};
use crate::snapshot::{self, Snapshot};
use crate::support::Env;

mod backup;
mod classify;
mod closeout;
mod intake;
mod publish;
mod submit;
mod version_sync;

/// The clients a flow runs on: the matrix's (1 s timeout, refresh-token auth, short waits),
/// made from the servers' URLs so that a child process can make them too.
pub struct Ctx {
    /// A member's Dropbox client (refresh-token auth: an expired token is renewed).
    pub dropbox: dropbox_client::Client,
    /// The team's Dropbox client (the static team token).
    pub team: dropbox_client::Client,
    /// The Content Server client (password login: an expired ticket is renewed).
    pub cs: contentserver_client::Client,
}

impl Ctx {
    /// The clients of the servers at these URLs.
    pub fn at(dropbox_url: &str, cs_url: &str) -> Ctx {
        Ctx {
            dropbox: reliability_support::dropbox_at(dropbox_url),
            team: reliability_support::team_dropbox_at(dropbox_url),
            cs: reliability_support::cs_at(cs_url),
        }
    }

    /// The clients of this sandbox.
    pub fn of(sandbox: &sandbox::Sandbox) -> Ctx {
        Ctx::at(&sandbox.dropbox_url(), &sandbox.contentserver_url())
    }
}

/// A flow as the matrix and the kill test drive it.
#[async_trait::async_trait]
pub trait Scenario: Send + Sync {
    /// The flow's name (in the store, and the child's `RELIABILITY_FLOW`).
    fn flow(&self) -> &'static str;

    /// The fault kinds that cannot happen to this flow, each with why.
    fn left_out(&self) -> Vec<(Kind, &'static str)> {
        Vec::new()
    }

    /// Files beyond the demo's input in the fault matrix's tree (its `n`): 8 by default, 24
    /// in the full form.
    fn matrix_files(&self, full: bool) -> usize {
        if full {
            24
        } else {
            8
        }
    }

    /// Seeds the sandbox (no fault rule installed yet) with the flow's input: `n` scales the
    /// tree where the flow takes one (0: the demo's own input only).
    async fn seed(&self, env: &Env, n: usize);

    /// Builds the flow on `ctx` and `store` and runs it once: `Ok(true)` when it has settled
    /// (nothing failed, nothing left to do, no alert), `Err` when the run itself failed.
    async fn run(&self, ctx: &Ctx, store: Arc<SqliteStore>) -> Result<bool, String>;

    /// The CS folders the flow writes (paths from the Enterprise Workspace).
    fn cs_roots(&self) -> Vec<&'static str>;

    /// The Dropbox folders the flow writes or moves.
    fn dropbox_roots(&self) -> Vec<&'static str>;

    /// Removes from a snapshot what differs between two equal runs (e.g. a manifest naming
    /// node ids): nothing by default.
    fn normalise(&self, _snapshot: &mut Snapshot) {}

    /// Asserts the flow's own key facts on a snapshot of `n`'s seed (each document once, its
    /// bytes equal to the source's); answers the documents checked.
    fn check(&self, snapshot: &Snapshot, n: usize) -> usize;
}

/// Every scenario, in the order of the summary.
pub fn all() -> Vec<Box<dyn Scenario>> {
    vec![
        Box::new(classify::Classify),
        Box::new(intake::Intake),
        Box::new(submit::Submit),
        Box::new(publish::Publish),
        Box::new(version_sync::Sync),
        Box::new(closeout::Closeout),
    ]
}

/// The scenarios of the kill test only (their fault matrix is elsewhere).
pub fn kill_only() -> Vec<Box<dyn Scenario>> {
    vec![Box::new(backup::Backup)]
}

/// The scenario of `flow`.
pub fn by_name(flow: &str) -> Box<dyn Scenario> {
    all()
        .into_iter()
        .chain(kill_only())
        .find(|s| s.flow() == flow)
        .unwrap_or_else(|| panic!("no scenario {flow}"))
}

/// The snapshot of `scenario`'s end state (read with fresh clients: clear the rules first).
pub async fn snapshot(scenario: &dyn Scenario, ctx: &Ctx, store: &dyn Store) -> Snapshot {
    let mut s = snapshot::take(
        &ctx.cs,
        &ctx.dropbox,
        store,
        scenario.flow(),
        &scenario.cs_roots(),
        &scenario.dropbox_roots(),
    )
    .await;
    scenario.normalise(&mut s);
    s
}

/// The Dropbox content hash of `text` (a scenario's expected bytes).
pub fn hash(text: &str) -> String {
    reliability_support::content_hash(text.as_bytes())
}
