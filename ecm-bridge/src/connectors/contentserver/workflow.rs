//! The workflow: started once after the record (the sink's step [`WORKFLOW_STEP`], not
//! repeatable, whose output is the process id), found at the target when a run stopped
//! while it was under way, and read back while a flow waits on its outcome ([`Review`]).

use std::collections::BTreeMap;

use async_trait::async_trait;
use contentserver_client::api::processes::{ProcessState, StatusKind};
use contentserver_client::ErrorKind;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::governance::Govern;
use super::sink::CsSink;
use crate::error::{Error, Result, Step};
use crate::model::{Document, Value};
use crate::runner::{StepInput, StepOutcome};

/// Where a process stands, for a flow that waits on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Review {
    /// Still running, at these steps.
    Running {
        /// The current steps' names.
        at: Vec<String>,
    },
    /// Finished: approved or not.
    Finished(Verdict),
    /// The process is no longer there (deleted, or not visible to this user).
    Gone,
}

/// How a finished process ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// Approved: the process completed and its last step was not a rejection. A stopped
    /// process (a rejection, or stopped by an administrator) is not approved.
    pub approved: bool,
    /// The process state as CS names it (`completed`, `stopped`).
    pub state: String,
    /// The last finished step's disposition (`Approve`, `Reject`, `SendOn`).
    pub disposition: Option<String>,
    /// That step's comment: the reviewer's.
    pub comment: Option<String>,
    /// Who finished that step.
    pub reviewer: Option<String>,
}

/// The name of the Content Server sink's workflow step in the step log.
pub const WORKFLOW_STEP: &str = "workflow";

/// The workflow start of a document whose governance names one: not repeatable; its output
/// is `{"process_id": …}` (`null` inside when the server names no id).
pub(super) struct WorkflowStart(pub(super) CsSink);

impl WorkflowStart {
    fn node(input: &StepInput<'_>) -> Result<i64> {
        input.receipt.target.node_id().ok_or_else(|| {
            Error::governance(
                &input.doc.path,
                Step::Workflow,
                "not a Content Server receipt",
            )
        })
    }
}

#[async_trait]
impl crate::runner::Step for WorkflowStart {
    fn name(&self) -> &str {
        WORKFLOW_STEP
    }

    fn repeatable(&self) -> bool {
        false
    }

    fn applies(&self, doc: &Document) -> bool {
        doc.governance.workflow.is_some()
    }

    async fn run(&self, input: &StepInput<'_>) -> Result<StepOutcome> {
        let process = self.0.start_workflow(input.doc, Self::node(input)?).await?;
        Ok(StepOutcome::Done(json!({ "process_id": process })))
    }

    /// A process that this user initiated (of the governance's map, when the server names
    /// maps) with the written node attached.
    async fn check(&self, input: &StepInput<'_>) -> Result<Option<serde_json::Value>> {
        let Some(w) = &input.doc.governance.workflow else {
            return Ok(Some(serde_json::Value::Null));
        };
        let started = earlier_processes(input);
        let found = self
            .0
            .workflow_attached(input.doc, Self::node(input)?, &w.map, &started)
            .await?;
        Ok(found.map(|process| json!({ "process_id": process })))
    }
}

/// The processes this step started (or found) for the document's earlier versions: all
/// attached to the same node, so never this version's.
pub(crate) fn earlier_processes(input: &StepInput<'_>) -> Vec<i64> {
    input
        .earlier
        .iter()
        .filter_map(|s| s.output.as_ref()?.get("process_id")?.as_i64())
        .collect()
}

impl CsSink {
    /// Starts the workflow of `doc`'s governance with `node` attached; the process id, when
    /// the server names it.
    pub(super) async fn start_workflow(&self, doc: &Document, node: i64) -> Result<Option<i64>> {
        let Some(w) = &doc.governance.workflow else {
            return Ok(None);
        };
        let map = self.workflow_map(doc, &w.map, node).await?;
        let mut start = self.client.workflows().start(map).attach([node]);
        for (k, v) in &w.values {
            start = start.value(k.clone(), self.form_value(doc, v).await?);
        }
        if let Some(c) = &w.comment {
            start = start.comment(c.clone());
        }
        let started = start
            .send()
            .await
            .map_err(|e| Error::cs(&doc.path, Step::Workflow, e))?;
        tracing::info!(doc = %doc.path, node, map, process = ?started.process_id, "workflow started");
        Ok(started.process_id)
    }

    /// Whether a process initiated by this user, of map `map` when the listing names maps, has
    /// `node` attached (a shortcut to it in the process's attachment folder), other than the
    /// processes `except`: `Some` with its process id (`None` inside when the listing names
    /// none).
    pub(super) async fn workflow_attached(
        &self,
        doc: &Document,
        node: i64,
        map: &str,
        except: &[i64],
    ) -> Result<Option<Option<i64>>> {
        let err = |e| Error::cs(&doc.path, Step::Workflow, e);
        let mut lookup = self
            .client
            .workflows()
            .attached_to(node)
            .kind(StatusKind::Initiated)
            .except(except.iter().copied());
        if map.parse::<i64>().is_err() {
            lookup = lookup.map_name(map);
        }
        // The first match answers the question: no need to read every later process.
        if let Some(status) = lookup.first().await.map_err(err)? {
            tracing::info!(doc = %doc.path, node, process = ?status.process_id, "workflow found already started");
            return Ok(Some(status.process_id));
        }
        Ok(None)
    }

    /// Starts the workflow of `doc`'s governance (map, form values from the rules: title, due
    /// date, owner, …; comment) with `node` attached, and returns the process id when the
    /// server gives one (`None` also when `doc` has no workflow). Not repeatable: a caller
    /// that stopped while this was under way asks [`CsSink::process_attached`] first. The
    /// sink's own step ([`WORKFLOW_STEP`]) does this for flows that write through it.
    pub async fn start_process(&self, doc: &Document, node: i64) -> Result<Option<i64>> {
        self.start_workflow(doc, node).await
    }

    /// The id of a process this user initiated (of map `map`, when the listing names maps)
    /// with `node` attached, if there is one other than `except`: the check at the target of
    /// a start in doubt. A node that gets a process per version or per edit passes the
    /// processes its earlier ones started, or the check would take one of them for the start.
    pub async fn process_attached(
        &self,
        doc: &Document,
        node: i64,
        map: &str,
        except: &[i64],
    ) -> Result<Option<i64>> {
        Ok(self
            .workflow_attached(doc, node, map, except)
            .await?
            .flatten())
    }

    /// Where process `process` stands: running (at which steps), finished with its verdict,
    /// or gone.
    pub async fn review(&self, doc: &Document, process: i64) -> Result<Review> {
        let status = match self.client.workflows().status(process).await {
            Ok(s) => s,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Review::Gone),
            Err(e) => return Err(Error::cs(&doc.path, Step::Workflow, e)),
        };
        let Some(outcome) = status.outcome() else {
            return Ok(Review::Running {
                at: status
                    .current_steps
                    .iter()
                    .filter_map(|s| s.task_name.clone())
                    .collect(),
            });
        };
        let rejected = outcome
            .disposition
            .as_deref()
            .is_some_and(|d| d.eq_ignore_ascii_case("reject"));
        Ok(Review::Finished(Verdict {
            approved: outcome.state == ProcessState::Completed && !rejected,
            state: outcome.state.as_str().to_owned(),
            disposition: outcome.disposition,
            comment: outcome.comment.filter(|c| !c.is_empty()),
            reviewer: outcome.by.and_then(|m| m.name),
        }))
    }

    /// Sets category values on `node` (category → attribute → value, applying a category not
    /// on it yet); repeatable. For marking a version final after an approval.
    pub async fn set_categories(
        &self,
        doc: &Document,
        node: i64,
        categories: &BTreeMap<String, BTreeMap<String, Value>>,
    ) -> Result<()> {
        let mut only = doc.clone();
        only.governance = crate::model::Governance {
            categories: categories.clone(),
            ..Default::default()
        };
        self.govern(&only, node, None, Govern::AddedVersion).await
    }

    pub(super) async fn form_value(&self, doc: &Document, v: &Value) -> Result<serde_json::Value> {
        Ok(match v {
            Value::Text(s) => json!(s),
            Value::Integer(n) => json!(n),
            Value::Date(d) => json!(d.format("%Y-%m-%d").to_string()),
            Value::Bool(b) => json!(b),
            Value::User(u) => json!(self.member(doc, Step::Workflow, u).await?),
            Value::List(items) => {
                let mut out = Vec::new();
                for i in items {
                    out.push(Box::pin(self.form_value(doc, i)).await?);
                }
                json!(out)
            }
        })
    }
}
