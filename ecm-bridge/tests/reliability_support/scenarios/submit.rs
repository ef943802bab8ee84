//! `submit_for_approval`, its submission phase: the demo's two policies staged (one by its
//! tag, one moved into the stage folder) plus `n` more in the stage folder, each written to
//! `Approvals/…` with one `Policy Approval` process at `Review`, the outcome step awaiting
//! it. (The reviewer's actions and the outcome's return are not in the scenario: a reviewer
//! under faults is not the flow's.)

use std::sync::Arc;

use ecm_bridge::flows::submit_for_approval::SubmitForApproval;
use ecm_bridge::state::SqliteStore;

use super::{Ctx, Scenario};
use crate::snapshot::Snapshot;
use crate::support::submit::{config, stage_by_move, STAGED, TAGGED};
use crate::support::Env;

/// The scenario.
pub struct Submit;

fn extra(i: usize) -> String {
    format!("/HR/Policies/For Approval/Policy {i:05}.docx")
}

#[async_trait::async_trait]
impl Scenario for Submit {
    fn flow(&self) -> &'static str {
        "submit_for_approval"
    }

    /// Few, for the reason of `intake_to_workflow`'s: a start in doubt is checked by reading
    /// every process of the user.
    fn matrix_files(&self, full: bool) -> usize {
        if full {
            9
        } else {
            3
        }
    }

    async fn seed(&self, env: &Env, n: usize) {
        stage_by_move(env).await;
        crate::reliability_support::upload_all(
            &env.dropbox,
            (0..n)
                .map(|i| {
                    (
                        extra(i),
                        format!("policy {i} of the reliability test\n").repeat(3),
                    )
                })
                .collect(),
        )
        .await;
    }

    async fn run(&self, ctx: &Ctx, store: Arc<SqliteStore>) -> Result<bool, String> {
        let flow = SubmitForApproval::new(ctx.dropbox.clone(), ctx.cs.clone(), store)
            .config(config())
            .retry(crate::reliability_support::runner_retry())
            .build()
            .map_err(|e| e.to_string())?;
        let r = flow.run_once().await.map_err(|e| e.to_string())?;
        Ok(r.failed.is_empty())
    }

    fn cs_roots(&self) -> Vec<&'static str> {
        vec!["Approvals"]
    }

    fn dropbox_roots(&self) -> Vec<&'static str> {
        vec!["/HR/Policies"]
    }

    fn check(&self, s: &Snapshot, n: usize) -> usize {
        let mut sources: Vec<String> = vec![TAGGED.into(), STAGED.into()];
        sources.extend((0..n).map(extra));
        for source in &sources {
            let path = format!("Approvals{source}");
            let node =
                s.cs.get(&path)
                    .unwrap_or_else(|| panic!("{source}: not submitted as {path}"));
            let bytes = s.dropbox[source].hash.clone().unwrap();
            assert_eq!(node.versions, [bytes], "{source}: bytes");
            assert_eq!(node.processes.len(), 1, "{source}: {node:?}");
            assert_eq!(node.processes[0].1, ["Review"], "{source}: {node:?}");
        }
        assert_eq!(s.cs_docs().count(), sources.len(), "each file once");
        sources.len()
    }
}
