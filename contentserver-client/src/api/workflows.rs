//! Workflows: start a map with attached documents (draft process → form values → `Initiate`),
//! the one-call start, process status, the maps offered for a document, and the current
//! user's assignments. Listing processes and acting on tasks are in
//! [`processes`](crate::api::processes).

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

pub use crate::api::processes::{
    MemberRef, ProcessOutcome, ProcessState, TaskRef, WorkflowStatus, WorkflowStep,
};
use crate::client::Client;
use crate::error::Result;
use crate::transport::Call;

/// What a started workflow returned.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct StartedWorkflow {
    /// The draft process id (absent for the one-call start).
    pub draft_process_id: Option<i64>,
    /// The process id, when the server returned one.
    pub process_id: Option<i64>,
    /// The server's `custom_message`.
    pub message: Option<String>,
    /// The last answer, as is.
    pub raw: Value,
}

/// A workflow task assigned to the current user.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Assignment {
    /// The id.
    #[serde(default, deserialize_with = "crate::de::opt_i64")]
    pub id: Option<i64>,
    /// The task name.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub name: Option<String>,
    /// The process id.
    #[serde(default, deserialize_with = "crate::de::opt_i64")]
    pub workflow_id: Option<i64>,
    /// The sub-process id.
    #[serde(default, deserialize_with = "crate::de::opt_i64")]
    pub workflow_subworkflow_id: Option<i64>,
    /// The task id.
    #[serde(default, deserialize_with = "crate::de::opt_i64")]
    pub workflow_subworkflow_task_id: Option<i64>,
    /// The due date.
    #[serde(default, deserialize_with = "crate::de::opt_naive")]
    pub date_due: Option<NaiveDateTime>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Assignment {
    /// The task to act on ([`Workflows::approve`], ...), when the ids were sent.
    pub fn task(&self) -> Option<TaskRef> {
        Some(TaskRef {
            process_id: self.workflow_id?,
            subprocess_id: self.workflow_subworkflow_id?,
            task_id: self.workflow_subworkflow_task_id?,
        })
    }
}

/// A workflow map offered for a document (`GET /api/v2/docworkflows`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OfferedWorkflow {
    /// The map's node id (`DataID`).
    #[serde(
        rename = "DataID",
        default,
        deserialize_with = "crate::de::i64_or_zero"
    )]
    pub id: i64,
    /// Its name (`Name`).
    #[serde(rename = "Name", default)]
    pub name: String,
    /// `WorkflowType`.
    #[serde(
        rename = "WorkflowType",
        default,
        deserialize_with = "crate::de::opt_i64"
    )]
    pub workflow_type: Option<i64>,
}

fn doc_ids(ids: &[i64]) -> String {
    ids.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn lenient_id(value: &Value, pointers: &[&str]) -> Option<i64> {
    pointers.iter().find_map(|p| {
        value
            .pointer(p)
            .and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()))
    })
}

/// Workflow calls; see [`Client::workflows`].
#[derive(Clone, Debug)]
pub struct Workflows {
    pub(super) client: Client,
}

impl Workflows {
    pub(crate) fn new(client: Client) -> Self {
        Workflows { client }
    }

    /// Starts workflow map `map` through a draft process (see [`StartWorkflow`]).
    pub fn start(&self, map: i64) -> StartWorkflow {
        StartWorkflow {
            client: self.client.clone(),
            map,
            documents: Vec::new(),
            values: Map::new(),
            comment: None,
        }
    }

    /// `POST /api/v2/draftprocesses/startwf`: starts `map` in one call, skipping the start
    /// step. The answer's shape is UNCONFIRMED: a `process_id` is looked for leniently.
    pub async fn start_direct(&self, map: i64, documents: &[i64]) -> Result<StartedWorkflow> {
        let mut body = json!({"workflow_id": map});
        if !documents.is_empty() {
            body["doc_ids"] = json!(doc_ids(documents));
        }
        let call = Call::post("api/v2/draftprocesses/startwf").body_json(&body);
        let value = self.client.transport.json(call).await?.value;
        Ok(StartedWorkflow {
            draft_process_id: None,
            process_id: lenient_id(
                &value,
                &[
                    "/results/process_id",
                    "/process_id",
                    "/results/data/process_id",
                ],
            ),
            message: value
                .pointer("/results/custom_message")
                .and_then(Value::as_str)
                .map(str::to_string),
            raw: value,
        })
    }

    /// `GET /api/v1/forms/draftprocesses/update?draftprocess_id=`: the start form of a draft
    /// (title, `comments_on`, `authentication`, Alpaca forms), as is.
    pub async fn draft_form(&self, draft_process_id: i64) -> Result<Value> {
        let call = Call::get("api/v1/forms/draftprocesses/update")
            .query("draftprocess_id", draft_process_id);
        Ok(self.client.transport.json(call).await?.value)
    }

    /// `GET /api/v2/workflows/status/processes/{id}`: the process with its steps
    /// (completed, current, next) and, once finished, its outcome.
    pub async fn status(&self, process_id: i64) -> Result<WorkflowStatus> {
        let json = self
            .client
            .transport
            .json(Call::get(format!(
                "api/v2/workflows/status/processes/{process_id}"
            )))
            .await?;
        let results: Value = json.results()?;
        Ok(WorkflowStatus::from_results(results))
    }

    /// `GET /api/v2/docworkflows?doc_id=`: the workflow maps the server offers for `doc`.
    pub async fn offered_for(&self, doc: i64) -> Result<Vec<OfferedWorkflow>> {
        let json = self
            .client
            .transport
            .json(Call::get("api/v2/docworkflows").query("doc_id", doc))
            .await?;
        // `results.data` per pyxecm; a bare `data` is read too.
        for pointer in ["/results/data", "/data"] {
            if let Some(Value::Array(_)) = json.value.pointer(pointer) {
                return json.at(pointer);
            }
        }
        Ok(Vec::new())
    }

    /// `GET /api/v2/members/assignments`: the current user's workflow tasks.
    pub async fn assignments(&self) -> Result<Vec<Assignment>> {
        let json = self
            .client
            .transport
            .json(Call::get("api/v2/members/assignments"))
            .await?;
        Ok(json.v2_collection("assignments")?.items)
    }
}

/// Builder of a workflow start: `POST /api/v2/draftprocesses`, then (with values)
/// `PUT /api/v2/draftprocesses/{id}` `formUpdate`, then `PUT ... Initiate`.
#[derive(Clone, Debug)]
pub struct StartWorkflow {
    client: Client,
    map: i64,
    documents: Vec<i64>,
    values: Map<String, Value>,
    comment: Option<String>,
}

impl StartWorkflow {
    /// Attaches documents.
    pub fn attach(mut self, documents: impl IntoIterator<Item = i64>) -> Self {
        self.documents.extend(documents);
        self
    }

    /// Sets a start-form value, e.g. `WorkflowForm_Title` or `WorkflowForm_{n}`.
    pub fn value(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.values.insert(key.into(), value.into());
        self
    }

    /// A comment for the start. It is sent only when the draft's form says `comments_on`
    /// (the form is read first); otherwise it is dropped with a warning.
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = Some(comment.into());
        self
    }

    /// Runs the steps and returns the new process.
    pub async fn send(self) -> Result<StartedWorkflow> {
        let transport = &self.client.transport;
        let mut body = json!({"workflow_id": self.map});
        if !self.documents.is_empty() {
            body["doc_ids"] = json!(doc_ids(&self.documents));
            body["AttachDocuments"] = json!("true");
        }
        let draft = transport
            .json(Call::post("api/v2/draftprocesses").body_json(&body))
            .await?;
        let draft_id: i64 = draft.at("/results/draftprocess_id")?;
        let path = format!("api/v2/draftprocesses/{draft_id}");
        if !self.values.is_empty() {
            let update = json!({"action": "formUpdate", "values": self.values});
            transport
                .json(Call::put(path.clone()).body_json(&update))
                .await?;
        }
        let mut initiate = json!({"action": "Initiate"});
        if let Some(comment) = &self.comment {
            let form = Workflows::new(self.client.clone())
                .draft_form(draft_id)
                .await?;
            let comments_on = form
                .pointer("/data/comments_on")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if comments_on {
                initiate["comment"] = json!(comment);
            } else {
                tracing::warn!(draft_id, "workflow form has comments off: comment not sent");
            }
        }
        let initiate = Call::put(path).body_json(&initiate).unsafe_to_repeat();
        let answer = transport.json(initiate).await?;
        Ok(StartedWorkflow {
            draft_process_id: Some(draft_id),
            process_id: lenient_id(&answer.value, &["/results/process_id", "/process_id"]),
            message: answer
                .value
                .pointer("/results/custom_message")
                .and_then(Value::as_str)
                .map(str::to_string),
            raw: answer.value,
        })
    }
}
into_future!(StartWorkflow => StartedWorkflow);
