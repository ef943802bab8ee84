//! `intake_to_workflow`: the end-to-end test's two submissions to the demo's file request plus
//! `n` more (alternating submitters), the request then closed; each is filed once under its
//! submitter in `Intake/<request title>`, with one review process, and tagged in Dropbox.

use std::sync::Arc;
use std::time::Duration;

use ecm_bridge::flows::intake_to_workflow::IntakeToWorkflow;
use ecm_bridge::state::SqliteStore;

use super::{hash, Ctx, Scenario};
use crate::snapshot::Snapshot;
use crate::support::intake::{config, submit, submit_all, DESTINATION, SUBMISSIONS, TITLE};
use crate::support::Env;

/// The scenario.
pub struct Intake;

/// Submission `i` beyond the demo's two: (name, submitter, e-mail, bytes).
fn extra(i: usize) -> (String, &'static str, &'static str, String) {
    let (_, who, email, _) = SUBMISSIONS[i % 2];
    (
        format!("Statement {i:05}.pdf"),
        who,
        email,
        format!("statement {i} of the reliability test\n").repeat(1 + i % 7),
    )
}

#[async_trait::async_trait]
impl Scenario for Intake {
    fn flow(&self) -> &'static str {
        "intake_to_workflow"
    }

    /// The demo's two only: a process start in doubt (after a 500 or a lost answer) is checked
    /// by reading every process of the user (1 + 2 calls each, `attached_to`), so under 12 %
    /// of 500s (never repeated by the client) a check among n processes succeeds with 0.88^(2n+1):
    /// a larger tree does not settle in the matrix's 40 runs. The kill test takes a large one.
    fn matrix_files(&self, _full: bool) -> usize {
        0
    }

    async fn seed(&self, env: &Env, n: usize) {
        for i in 0..n {
            let (name, who, email, bytes) = extra(i);
            submit(env, &name, (who, email), &bytes).await;
        }
        submit_all(env).await;
    }

    async fn run(&self, ctx: &Ctx, store: Arc<SqliteStore>) -> Result<bool, String> {
        let flow = IntakeToWorkflow::new(ctx.dropbox.clone(), ctx.cs.clone(), store)
            .team_log(ctx.team.clone())
            .config(config())
            .refresh_requests_after(Duration::ZERO)
            .retry(crate::reliability_support::runner_retry())
            .build()
            .map_err(|e| e.to_string())?;
        let r = flow.run_once().await.map_err(|e| e.to_string())?;
        Ok(r.failed.is_empty())
    }

    fn cs_roots(&self) -> Vec<&'static str> {
        vec!["Intake"]
    }

    fn dropbox_roots(&self) -> Vec<&'static str> {
        vec![DESTINATION]
    }

    fn check(&self, s: &Snapshot, n: usize) -> usize {
        let mut all: Vec<(String, &str, &str, String)> = SUBMISSIONS
            .iter()
            .map(|(name, who, email, bytes)| (name.to_string(), *who, *email, bytes.to_string()))
            .collect();
        all.extend((0..n).map(extra));
        for (name, who, email, bytes) in &all {
            let folder = format!("{who} ({email})");
            let path = format!("Intake/{TITLE}/{folder}/{name}");
            let node =
                s.cs.get(&path)
                    .unwrap_or_else(|| panic!("{name}: not filed as {path}"));
            assert_eq!(node.versions, [hash(bytes)], "{name}: bytes");
            let review = format!("Review {name} from {folder}");
            assert_eq!(
                node.processes,
                [(review, vec!["Triage".to_owned()])],
                "{name}: one review at its first step"
            );
            let file = &s.dropbox[&format!("{DESTINATION}/{name}")];
            assert_eq!(file.tags, ["processed"], "{name}");
        }
        assert_eq!(s.cs_docs().count(), all.len(), "each submission once");
        all.len()
    }
}
