//! The steps after the write and the workflow start (the sink's step
//! [`WORKFLOW_STEP`](crate::connectors::contentserver::WORKFLOW_STEP)): wait for the outcome,
//! keep an approved version as the official one, carry the outcome back to Dropbox. All three
//! are repeatable.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::Duration;
use dropbox_client::models::file_properties::{
    PropertyField, PropertyFieldTemplate, PropertyGroup, PropertyGroupTemplate,
};
use dropbox_client::models::files::{Metadata, RelocationArg};
use serde_json::{json, Value as Json};
use tokio::sync::OnceCell;

use super::{Official, OutcomeMarking};
use crate::connectors::contentserver::{CsSink, Review, WORKFLOW_STEP};
use crate::error::{Error, Result, Step as At};
use crate::model::{Document, Value};
use crate::runner::{Step, StepInput, StepOutcome};

/// The step that waits for the process's outcome.
pub const OUTCOME_STEP: &str = "outcome";
/// The step that marks an approved version official.
pub const OFFICIAL_STEP: &str = "official";
/// The step that carries the outcome back to Dropbox.
pub const RETURN_STEP: &str = "return";

fn node(input: &StepInput<'_>) -> Result<i64> {
    input.receipt.target.node_id().ok_or_else(|| {
        Error::governance(
            &input.doc.path,
            At::Workflow,
            "not a Content Server receipt",
        )
    })
}

/// Polls the process until it ends. Output: the [`crate::connectors::contentserver::Verdict`]
/// fields plus `process_id`; while it runs, `{"process_id", "at"}` and a next check
/// `every` later.
pub(super) struct AwaitOutcome {
    pub(super) sink: CsSink,
    pub(super) every: std::time::Duration,
}

impl AwaitOutcome {
    async fn process(&self, input: &StepInput<'_>) -> Result<i64> {
        let known = [input.outputs.get(WORKFLOW_STEP), input.so_far]
            .into_iter()
            .flatten()
            .find_map(|o| o.get("process_id").and_then(Json::as_i64));
        if let Some(id) = known {
            return Ok(id);
        }
        // The start's output names no id (a run whose decision skipped the sink's step, or a
        // server that sends none): the process with the node attached.
        let map = input
            .doc
            .governance
            .workflow
            .as_ref()
            .map_or("", |w| w.map.as_str());
        self.sink
            .process_attached(input.doc, node(input)?, map, &[])
            .await?
            .ok_or_else(|| {
                Error::governance(
                    &input.doc.path,
                    At::Workflow,
                    "no process with the document attached",
                )
            })
    }
}

#[async_trait]
impl Step for AwaitOutcome {
    fn name(&self) -> &str {
        OUTCOME_STEP
    }

    async fn run(&self, input: &StepInput<'_>) -> Result<StepOutcome> {
        let process = self.process(input).await?;
        match self.sink.review(input.doc, process).await? {
            Review::Running { at } => Ok(StepOutcome::Awaiting {
                until: input.now
                    + Duration::from_std(self.every).unwrap_or_else(|_| Duration::minutes(5)),
                output: json!({ "process_id": process, "at": at }),
            }),
            Review::Finished(v) => {
                let mut out = serde_json::to_value(&v).unwrap_or(Json::Null);
                out["process_id"] = json!(process);
                Ok(StepOutcome::Done(out))
            }
            Review::Gone => Err(Error::governance(
                &input.doc.path,
                At::Workflow,
                format!("process {process} is gone before it ended"),
            )),
        }
    }
}

fn approved(input: &StepInput<'_>) -> Option<bool> {
    input
        .outputs
        .get(OUTCOME_STEP)
        .and_then(|o| o.get("approved"))
        .and_then(Json::as_bool)
}

/// Marks an approved version as the official one: category values (the date of approval in
/// a date attribute, a text or boolean elsewhere). Output `{"node", "version"}` or `null`.
pub(super) struct MarkOfficial {
    pub(super) sink: CsSink,
    pub(super) official: Official,
}

#[async_trait]
impl Step for MarkOfficial {
    fn name(&self) -> &str {
        OFFICIAL_STEP
    }

    async fn run(&self, input: &StepInput<'_>) -> Result<StepOutcome> {
        if approved(input) != Some(true) {
            return Ok(StepOutcome::Done(Json::Null));
        }
        let day = input.now.date_naive();
        let mut values: BTreeMap<String, Value> = BTreeMap::new();
        if let Some(attr) = &self.official.date_attribute {
            values.insert(attr.clone(), Value::Date(day));
        }
        for (k, v) in &self.official.values {
            values.insert(k.clone(), v.clone());
        }
        let node = node(input)?;
        if !values.is_empty() {
            let mut cats = BTreeMap::new();
            cats.insert(self.official.category.clone(), values);
            self.sink.set_categories(input.doc, node, &cats).await?;
        }
        Ok(StepOutcome::Done(json!({
            "node": node,
            "version": input.receipt.target.version,
        })))
    }
}

/// Carries the outcome back to Dropbox: a tag, a property group (outcome, reviewer, comment,
/// CS node, and the rev edited during the review if any), a move. Output
/// `{"path", "edited"}`.
pub(super) struct ReturnOutcome {
    pub(super) dropbox: dropbox_client::Client,
    pub(super) marking: OutcomeMarking,
    pub(super) template: OnceCell<String>,
}

impl ReturnOutcome {
    /// The id of the property template (created for the user when missing).
    async fn template_id(&self, doc: &Document) -> Result<String> {
        let name = &self.marking.property_template;
        self.template
            .get_or_try_init(|| async {
                let props = self.dropbox.file_properties();
                let err = |e| Error::dropbox(doc.path.clone(), At::Mark, e);
                for id in props
                    .list_templates_for_user()
                    .await
                    .map_err(err)?
                    .template_ids
                {
                    if &props
                        .get_template_for_user(id.clone())
                        .await
                        .map_err(err)?
                        .name
                        == name
                    {
                        return Ok(id);
                    }
                }
                let fields = [
                    ("outcome", "approved or rejected"),
                    ("reviewer", "who finished the review"),
                    ("comment", "the reviewer's comment"),
                    ("cs_node_id", "the Content Server document"),
                    (
                        "next_submission",
                        "a rev edited during the review, submitted next",
                    ),
                ]
                .iter()
                .map(|(n, d)| PropertyFieldTemplate::string(*n, *d))
                .collect();
                let added = props
                    .add_template_for_user(&PropertyGroupTemplate {
                        name: name.clone(),
                        description: "The outcome of a Content Server approval".into(),
                        fields,
                    })
                    .await
                    .map_err(err)?;
                Ok(added.template_id)
            })
            .await
            .cloned()
    }
}

#[async_trait]
impl Step for ReturnOutcome {
    fn name(&self) -> &str {
        RETURN_STEP
    }

    async fn run(&self, input: &StepInput<'_>) -> Result<StepOutcome> {
        let doc = input.doc;
        let outcome = input
            .outputs
            .get(OUTCOME_STEP)
            .cloned()
            .unwrap_or(Json::Null);
        let Some(approved) = outcome.get("approved").and_then(Json::as_bool) else {
            return Ok(StepOutcome::Done(Json::Null));
        };
        let files = self.dropbox.files();
        let err = |e| Error::dropbox(doc.path.clone(), At::Mark, e);
        let current = match files.get_metadata(doc.source.id.clone()).await {
            Ok(Metadata::File(f)) => f,
            Ok(_) => return Ok(StepOutcome::Done(json!({ "gone": true }))),
            Err(e) if e.kind() == dropbox_client::ErrorKind::NotFound => {
                return Ok(StepOutcome::Done(json!({ "gone": true })))
            }
            Err(e) => return Err(err(e)),
        };
        let path = current
            .path_display
            .clone()
            .unwrap_or_else(|| doc.path.clone());
        let m = &self.marking;
        let (tag, folder) = if approved {
            (&m.approved_tag, &m.approved_folder)
        } else {
            (&m.rejected_tag, &m.rejected_folder)
        };
        if let Some(t) = tag {
            files.add_tag(path.clone(), t.clone()).await.map_err(err)?;
        }
        let edited = doc.source.version.as_deref() != Some(current.rev.as_str());
        if m.property {
            let text = |k: &str| {
                outcome
                    .get(k)
                    .and_then(Json::as_str)
                    .unwrap_or("")
                    .to_owned()
            };
            let mut fields = vec![
                PropertyField::new("outcome", if approved { "approved" } else { "rejected" }),
                PropertyField::new("reviewer", text("reviewer")),
                PropertyField::new("comment", text("comment")),
                PropertyField::new("cs_node_id", input.receipt.target.id.clone()),
            ];
            if edited {
                fields.push(PropertyField::new("next_submission", current.rev.clone()));
            }
            let template_id = self.template_id(doc).await?;
            self.dropbox
                .file_properties()
                .overwrite(
                    doc.source.id.clone(),
                    vec![PropertyGroup {
                        template_id,
                        fields,
                    }],
                )
                .await
                .map_err(err)?;
        }
        let mut at = path.clone();
        if let Some(folder) = folder {
            let dest = format!("{}/{}", folder.trim_end_matches('/'), current.name);
            if !path.eq_ignore_ascii_case(&dest) {
                let moved = files
                    .move_entry(RelocationArg::new(doc.source.id.clone(), dest).autorename(true))
                    .await
                    .map_err(err)?;
                if let Some(p) = moved.metadata.path_display() {
                    at = p.to_owned();
                }
            }
        }
        Ok(StepOutcome::Done(json!({ "path": at, "edited": edited })))
    }
}
