//! Workflow processes: the caller's processes (`GET /api/v2/workflows/status`, paged), one
//! process's status with its steps and outcome, the processes a node is attached to, and
//! task actions (approve, reject, send on).
//!
//! Task actions are `PUT /api/v2/processes/{pid}/subprocesses/{spid}/tasks/{tid}` with `body`
//! = `{"custom_action": "Approve"|"Reject", "comment"?}` or `{"action": "SendOn",
//! "comment"?}`: never both keys (reference §12).

use chrono::NaiveDateTime;
use futures::stream::{BoxStream, TryStreamExt};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Map, Value};

use crate::api::nodes::{Node, Nodes};
use crate::api::workflows::Workflows;
use crate::client::Client;
use crate::error::Result;
use crate::paging::{self, Page};
use crate::transport::Call;

/// A user or group named in a process (initiator, assignee).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct MemberRef {
    /// The member id, when sent.
    pub id: Option<i64>,
    /// The name, when sent.
    pub name: Option<String>,
}

impl MemberRef {
    fn from_value(v: &Value) -> Option<MemberRef> {
        let id = |v: &Value| v.as_i64().or_else(|| v.as_str()?.trim().parse().ok());
        match v {
            Value::Object(m) => Some(MemberRef {
                id: m.get("id").and_then(id),
                name: m
                    .get("name")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            }),
            Value::Number(_) => Some(MemberRef {
                id: id(v),
                name: None,
            }),
            Value::String(s) if !s.is_empty() => Some(match id(v) {
                Some(n) => MemberRef {
                    id: Some(n),
                    name: None,
                },
                None => MemberRef {
                    id: None,
                    name: Some(s.clone()),
                },
            }),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for MemberRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Ok(MemberRef::from_value(&Value::deserialize(d)?).unwrap_or_default())
    }
}

/// Members given as a list, one object or one id (lenient: shapes differ between calls).
fn members<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<MemberRef>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Array(items)) => items.iter().filter_map(MemberRef::from_value).collect(),
        Some(other) => MemberRef::from_value(&other).into_iter().collect(),
        None => Vec::new(),
    })
}

/// The state of a process (`status_key` in listings, `wf_details.status` in a status).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum ProcessState {
    /// Running, not late (`ontime`).
    OnTime,
    /// Running past its due date (`workflowlate`).
    Late,
    /// Stopped (`stopped`): by a rejection or an administrator.
    Stopped,
    /// Finished (`completed`).
    Completed,
    /// Any other value, as sent.
    Other(String),
}

impl ProcessState {
    /// The state of a status text (case-insensitive).
    pub fn parse(text: &str) -> ProcessState {
        match text.to_ascii_lowercase().as_str() {
            "ontime" => ProcessState::OnTime,
            "workflowlate" | "late" => ProcessState::Late,
            "stopped" => ProcessState::Stopped,
            "completed" => ProcessState::Completed,
            _ => ProcessState::Other(text.to_string()),
        }
    }

    /// The `wstatus` filter value of this state.
    pub fn as_str(&self) -> &str {
        match self {
            ProcessState::OnTime => "ontime",
            ProcessState::Late => "workflowlate",
            ProcessState::Stopped => "stopped",
            ProcessState::Completed => "completed",
            ProcessState::Other(s) => s,
        }
    }

    /// Whether the process still runs.
    pub fn is_running(&self) -> bool {
        matches!(self, ProcessState::OnTime | ProcessState::Late)
    }
}

impl<'de> Deserialize<'de> for ProcessState {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = crate::de::opt_string(d)?.unwrap_or_default();
        Ok(ProcessState::parse(&text))
    }
}

fn opt_state<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<ProcessState>, D::Error> {
    Ok(crate::de::opt_string(d)?.map(|t| ProcessState::parse(&t)))
}

/// The three ids that name a workflow task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TaskRef {
    /// The process id.
    pub process_id: i64,
    /// The sub-process id (the process id for a process without sub-processes).
    pub subprocess_id: i64,
    /// The task id.
    pub task_id: i64,
}

/// One step of a process: completed, current or next.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WorkflowStep {
    /// The process id.
    #[serde(default, deserialize_with = "crate::de::opt_i64")]
    pub process_id: Option<i64>,
    /// The sub-process id.
    #[serde(default, deserialize_with = "crate::de::opt_i64")]
    pub subprocess_id: Option<i64>,
    /// The task id.
    #[serde(default, deserialize_with = "crate::de::opt_i64")]
    pub task_id: Option<i64>,
    /// The task name.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub task_name: Option<String>,
    /// The task status.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub task_status: Option<String>,
    /// Who the task is (or was) assigned to (`task_assignees`).
    #[serde(default, rename = "task_assignees", deserialize_with = "members")]
    pub assignees: Vec<MemberRef>,
    /// For a completed step: how it was finished (`Approve`, `Reject`, `SendOn`, ...).
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub disposition: Option<String>,
    /// For a completed step: the comment given.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub comment: Option<String>,
    /// For a completed step: when.
    #[serde(default, deserialize_with = "crate::de::opt_naive")]
    pub date_completed: Option<NaiveDateTime>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl WorkflowStep {
    /// The task to act on, when all three ids were sent.
    pub fn task(&self) -> Option<TaskRef> {
        Some(TaskRef {
            process_id: self.process_id?,
            subprocess_id: self.subprocess_id?,
            task_id: self.task_id?,
        })
    }
}

/// How a finished process ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProcessOutcome {
    /// `Completed` or `Stopped`.
    pub state: ProcessState,
    /// The disposition of the last finished step (`Approve`, `Reject`, ...), when known.
    pub disposition: Option<String>,
    /// That step's comment.
    pub comment: Option<String>,
    /// Who finished that step.
    pub by: Option<MemberRef>,
}

/// The status of a process (`GET /api/v2/workflows/status/processes/{id}`).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct WorkflowStatus {
    /// `wf_details.work_workID`, when sent.
    pub process_id: Option<i64>,
    /// `wf_details.status` as sent.
    pub status: Option<String>,
    /// `wf_details.status`, typed.
    pub state: Option<ProcessState>,
    /// `wf_details.wf_name`.
    pub name: Option<String>,
    /// `wf_details.initiator`.
    pub initiator: Option<MemberRef>,
    /// `wf_details.date_initiated`.
    pub date_initiated: Option<NaiveDateTime>,
    /// `wf_details.due_date`.
    pub due_date: Option<NaiveDateTime>,
    /// `attachments.attachment_folder_id`: the folder holding the attached documents
    /// (shortcuts to them).
    pub attachment_folder_id: Option<i64>,
    /// `step_list.completed`, oldest first.
    pub completed_steps: Vec<WorkflowStep>,
    /// `step_list.current`: the tasks to act on now.
    pub current_steps: Vec<WorkflowStep>,
    /// `step_list.next`.
    pub next_steps: Vec<WorkflowStep>,
    /// The whole `results` object.
    pub raw: Value,
}

impl WorkflowStatus {
    pub(crate) fn from_results(results: Value) -> WorkflowStatus {
        let text = |p: &str| {
            results
                .pointer(p)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let int = |p: &str| {
            results
                .pointer(p)
                .and_then(|v| v.as_i64().or_else(|| v.as_str()?.trim().parse().ok()))
        };
        let date = |p: &str| text(p).and_then(|t| crate::de::parse_naive(&t));
        // Lenient: a step list that does not decode is empty rather than an error.
        let steps = |p: &str| -> Vec<WorkflowStep> {
            results
                .pointer(p)
                .cloned()
                .and_then(|v| serde_json::from_value(v).ok())
                .unwrap_or_default()
        };
        let status = text("/wf_details/status");
        WorkflowStatus {
            process_id: int("/wf_details/work_workID"),
            state: status.as_deref().map(ProcessState::parse),
            status,
            name: text("/wf_details/wf_name"),
            initiator: results
                .pointer("/wf_details/initiator")
                .and_then(MemberRef::from_value),
            date_initiated: date("/wf_details/date_initiated"),
            due_date: date("/wf_details/due_date"),
            attachment_folder_id: int("/attachments/attachment_folder_id"),
            completed_steps: steps("/step_list/completed"),
            current_steps: steps("/step_list/current"),
            next_steps: steps("/step_list/next"),
            raw: results,
        }
    }

    /// How the process ended, once it is completed or stopped; `None` while it runs.
    pub fn outcome(&self) -> Option<ProcessOutcome> {
        let state = self.state.clone().filter(|s| !s.is_running())?;
        let last = self.completed_steps.last();
        Some(ProcessOutcome {
            state,
            disposition: last.and_then(|s| s.disposition.clone()),
            comment: last.and_then(|s| s.comment.clone()),
            by: last.and_then(|s| s.assignees.first().cloned()),
        })
    }
}

/// One process of the caller's listing (`results[i].data.wfstatus`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProcessSummary {
    /// The process id.
    #[serde(default, deserialize_with = "crate::de::i64_or_zero")]
    pub process_id: i64,
    /// The sub-process id.
    #[serde(default, deserialize_with = "crate::de::opt_i64")]
    pub subprocess_id: Option<i64>,
    /// The current task id, while running.
    #[serde(default, deserialize_with = "crate::de::opt_i64")]
    pub task_id: Option<i64>,
    /// The process title (`wf_name`).
    #[serde(
        default,
        rename = "wf_name",
        deserialize_with = "crate::de::opt_string"
    )]
    pub name: Option<String>,
    /// The map's name, when sent.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub map_name: Option<String>,
    /// The current step's name.
    #[serde(default, deserialize_with = "crate::de::opt_string")]
    pub step_name: Option<String>,
    /// `status_key`, typed.
    #[serde(default, rename = "status_key", deserialize_with = "opt_state")]
    pub state: Option<ProcessState>,
    /// Who the current step is assigned to.
    #[serde(default, rename = "assignee", deserialize_with = "members")]
    pub assignees: Vec<MemberRef>,
    /// The initiator.
    #[serde(default)]
    pub initiator: Option<MemberRef>,
    /// `date_initiated`.
    #[serde(default, deserialize_with = "crate::de::opt_naive")]
    pub date_initiated: Option<NaiveDateTime>,
    /// `due_date`.
    #[serde(default, deserialize_with = "crate::de::opt_naive")]
    pub due_date: Option<NaiveDateTime>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ProcessSummary {
    /// The current task, while running.
    pub fn task(&self) -> Option<TaskRef> {
        Some(TaskRef {
            process_id: self.process_id,
            subprocess_id: self.subprocess_id.unwrap_or(self.process_id),
            task_id: self.task_id?,
        })
    }
}

/// Which of the caller's processes a listing holds (`kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum StatusKind {
    /// Processes the caller started.
    Initiated,
    /// Processes the caller has (or had) tasks in.
    Managed,
    /// Both.
    #[default]
    Both,
}

impl StatusKind {
    fn as_str(self) -> &'static str {
        match self {
            StatusKind::Initiated => "Initiated",
            StatusKind::Managed => "Managed",
            StatusKind::Both => "Both",
        }
    }
}

impl Workflows {
    /// `GET /api/v2/workflows/status`: the caller's processes (the listing is personal to the
    /// calling user), as pages or a stream.
    pub fn processes(&self) -> ProcessList {
        ProcessList {
            client: self.client.clone(),
            kind: StatusKind::Both,
            state: None,
            page_size: 100,
        }
    }

    /// The processes the caller initiated (`kind=Initiated`).
    pub fn initiated(&self) -> ProcessList {
        self.processes().kind(StatusKind::Initiated)
    }

    /// The caller's processes that have `node` attached (a shortcut to it, or the node
    /// itself, in the attachment folder). There is no server call for this: it lists the
    /// caller's processes, reads each one's status and lists its attachment folder, so it
    /// costs 1 + 2 calls per process listed. Narrow it with [`AttachedTo::map_name`].
    pub fn attached_to(&self, node: i64) -> AttachedTo {
        AttachedTo {
            list: self.processes(),
            node,
            map_name: None,
            except: Vec::new(),
        }
    }

    /// Approves task `task` (`custom_action: "Approve"`).
    pub fn approve(&self, task: TaskRef) -> TaskAction {
        self.act(task, "custom_action", "Approve")
    }

    /// Rejects task `task` (`custom_action: "Reject"`).
    pub fn reject(&self, task: TaskRef) -> TaskAction {
        self.act(task, "custom_action", "Reject")
    }

    /// Sends task `task` on to the next step (`action: "SendOn"`).
    pub fn send_on(&self, task: TaskRef) -> TaskAction {
        self.act(task, "action", "SendOn")
    }

    fn act(&self, task: TaskRef, key: &'static str, value: &'static str) -> TaskAction {
        TaskAction {
            client: self.client.clone(),
            task,
            key,
            value,
            comment: None,
        }
    }
}

/// Builder of the caller's process listing.
#[derive(Clone, Debug)]
pub struct ProcessList {
    client: Client,
    kind: StatusKind,
    state: Option<ProcessState>,
    page_size: u64,
}

impl ProcessList {
    /// Which processes (`kind`, default both).
    pub fn kind(mut self, kind: StatusKind) -> Self {
        self.kind = kind;
        self
    }

    /// Only processes in this state (`wstatus`).
    pub fn state(mut self, state: ProcessState) -> Self {
        self.state = Some(state);
        self
    }

    /// Page size (`limit`, default 100).
    pub fn page_size(mut self, size: u64) -> Self {
        self.page_size = size.max(1);
        self
    }

    /// Fetches one page (1-based).
    pub async fn page(&self, page: u64) -> Result<Page<ProcessSummary>> {
        let call = Call::get("api/v2/workflows/status")
            .query("kind", self.kind.as_str())
            .query_opt("wstatus", self.state.as_ref().map(ProcessState::as_str))
            .query("page", page)
            .query("limit", self.page_size);
        self.client
            .transport
            .json(call)
            .await?
            .v2_collection("wfstatus")
    }

    /// All pages, lazily.
    pub fn pages(self) -> BoxStream<'static, Result<Page<ProcessSummary>>> {
        let limit = self.page_size;
        paging::pages(limit, move |n| {
            let this = self.clone();
            async move { this.page(n).await }
        })
    }

    /// All processes, lazily, page after page.
    pub fn into_stream(self) -> BoxStream<'static, Result<ProcessSummary>> {
        paging::items(self.pages())
    }

    /// All processes, collected.
    pub async fn send(self) -> Result<Vec<ProcessSummary>> {
        self.into_stream().try_collect().await
    }
}
into_future!(ProcessList => Vec<ProcessSummary>);

/// Builder of [`Workflows::attached_to`].
#[derive(Clone, Debug)]
pub struct AttachedTo {
    list: ProcessList,
    node: i64,
    map_name: Option<String>,
    except: Vec<i64>,
}

impl AttachedTo {
    /// Processes not to look at (known already, such as those an earlier version of the
    /// document started): they are neither answered nor cost a call.
    pub fn except(mut self, processes: impl IntoIterator<Item = i64>) -> Self {
        self.except.extend(processes);
        self
    }

    /// Which processes to look through (default both initiated and managed).
    pub fn kind(mut self, kind: StatusKind) -> Self {
        self.list = self.list.kind(kind);
        self
    }

    /// Only processes of the map named `name` (case-insensitive), where the listing names
    /// maps (`map_name`); processes listed without a map name are still looked at.
    pub fn map_name(mut self, name: impl Into<String>) -> Self {
        self.map_name = Some(name.into());
        self
    }

    /// The statuses of the processes with the node attached, in listing order. Each process
    /// listed costs a status call and an attachment listing: to learn only whether one
    /// exists, [`first`](Self::first) stops at the first.
    pub async fn send(self) -> Result<Vec<WorkflowStatus>> {
        self.scan(usize::MAX).await
    }

    /// The first process (in listing order) with the node attached, without looking at the
    /// processes after it.
    pub async fn first(self) -> Result<Option<WorkflowStatus>> {
        Ok(self.scan(1).await?.into_iter().next())
    }

    /// Up to `wanted` processes with the node attached.
    async fn scan(self, wanted: usize) -> Result<Vec<WorkflowStatus>> {
        let workflows = Workflows::new(self.list.client.clone());
        let nodes = Nodes::new(self.list.client.clone());
        let mut found = Vec::new();
        let mut seen = Vec::new();
        let mut listing = self.list.into_stream();
        while let Some(summary) = listing.try_next().await? {
            if seen.contains(&summary.process_id) || self.except.contains(&summary.process_id) {
                continue;
            }
            seen.push(summary.process_id);
            if let (Some(want), Some(map)) = (&self.map_name, &summary.map_name) {
                if !map.eq_ignore_ascii_case(want) {
                    continue;
                }
            }
            let status = workflows.status(summary.process_id).await?;
            let Some(folder) = status.attachment_folder_id else {
                continue;
            };
            let attached: Vec<Node> = nodes.children(folder).into_stream().try_collect().await?;
            if attached.iter().any(|a| {
                a.id == self.node
                    || a.extra.get("original_id").and_then(Value::as_i64) == Some(self.node)
            }) {
                found.push(status);
                if found.len() >= wanted {
                    break;
                }
            }
        }
        Ok(found)
    }
}
into_future!(AttachedTo => Vec<WorkflowStatus>);

/// Builder of a task action.
#[derive(Clone, Debug)]
pub struct TaskAction {
    client: Client,
    task: TaskRef,
    key: &'static str,
    value: &'static str,
    comment: Option<String>,
}

impl TaskAction {
    /// A comment that goes with the action.
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = Some(comment.into());
        self
    }

    /// Sends the action. A task that is no longer current fails (400 on the sandbox).
    pub async fn send(self) -> Result<()> {
        let mut body = json!({ self.key: self.value });
        if let Some(c) = &self.comment {
            body["comment"] = json!(c);
        }
        let t = self.task;
        let call = Call::put(format!(
            "api/v2/processes/{}/subprocesses/{}/tasks/{}",
            t.process_id, t.subprocess_id, t.task_id
        ))
        .body_json(&body)
        .unsafe_to_repeat();
        self.client.transport.json(call).await.map(|_| ())
    }
}
into_future!(TaskAction => ());
