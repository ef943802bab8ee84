//! Use case 4: a Dropbox file that reaches the approval stage is put into Content Server and a
//! workflow is started with it attached; when CS finishes the process, the outcome goes back to
//! Dropbox, and an approved version is kept in CS as the official one.
//!
//! What happens to each file ([`SubmitConfig`] says how, and loads from TOML):
//! 1. **Stage.** A file is submitted when it sits in a stage folder (a glob on its folder path,
//!    default `**/For Approval`: a move into it is seen in the change feed) or carries a stage
//!    tag (default `ready_for_approval`). A tag gives no new rev, so files seen outside the
//!    stage are looked at again every [`SubmitConfig::recheck_every_secs`] (their tags read in
//!    batches, no bytes): a tag added to an old file is seen too.
//! 2. **Write and start.** It is written to `{cs_folder}/{relative folder}`, and the map
//!    (default `Policy Approval`) is started with the document attached and its form filled
//!    from the rules (title `Approve {stem}`, due date received + [`SubmitConfig::due_in_days`],
//!    owner `{account}`): the CS sink's step [`WORKFLOW_STEP`], not repeatable, begun once
//!    through the store, output the process id, checked at the target (a process with the node
//!    attached) when a run stopped while it was under way.
//! 3. **Outcome.** The step [`OUTCOME_STEP`] polls the process when its check is due (every
//!    [`SubmitConfig::poll_every_secs`]); the document stays `awaiting` meanwhile.
//! 4. **Official.** An approved version gets category values that mark it final (default:
//!    `Document Governance` / `Approved On` = the day of approval) ([`OFFICIAL_STEP`]). Every
//!    version the sink writes is a major version (standard versioning), so the approved one is
//!    the document's latest major version.
//! 5. **Back to Dropbox** ([`RETURN_STEP`]): a tag (`approved` / `rejected`), a move into an
//!    Approved or Rejected folder if configured, and a property group (default template
//!    `Review`, created when missing) with the outcome, the reviewer, their comment and the CS
//!    node id.
//!
//! **Edits during review.** While a version is under review, a newer Dropbox rev does not
//! become a CS version and starts nothing: the flow keeps seeing the version under review, and
//! records the edit (audit `edit_during_review`, the property `next_submission` when the
//! outcome is returned). When the review has ended, the edited file is listed again: it is the
//! next submission (a new version of the same CS document with a new process, when it is still
//! in the stage).
//!
//! ```no_run
//! # async fn demo(dropbox: dropbox_client::Client, cs: contentserver_client::Client) -> ecm_bridge::Result<()> {
//! use std::sync::Arc;
//! use ecm_bridge::flows::submit_for_approval::{SubmitConfig, SubmitForApproval};
//! use ecm_bridge::state::SqliteStore;
//!
//! let config = SubmitConfig::from_toml(r#"
//!     stage_folders = ["**/For Approval"]
//!     [outcome]
//!     approved_folder = "/Approved"
//!     rejected_folder = "/Rejected"
//! "#)?;
//! let flow = SubmitForApproval::new(dropbox, cs, Arc::new(SqliteStore::open("bridge.db")?))
//!     .config(config)
//!     .build()?;
//! println!("{}", flow.run_once().await?.summary());
//! # Ok(()) }
//! ```

mod pinned;
mod steps;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::archive_on_approval::{Approval, ApprovalCheck};
use crate::connectors::contentserver::CsSink;
use crate::connectors::dropbox::DropboxSource;
use crate::error::{Error, Result};
use crate::model::{Document, Location, Value};
use crate::rules::{Rule, Rules, TypedSpec, ValueSpec, WorkflowSpec};
use crate::runner::{FailpointFn, Flow, ProgressFn, RetryPolicy};
use crate::source::Source;
use crate::state::Store;
use crate::transform::Outcome;
use crate::webhook::{WakeHub, WokenSource};

pub use crate::connectors::contentserver::WORKFLOW_STEP;
pub use pinned::HELD_JOB;
pub use steps::{OFFICIAL_STEP, OUTCOME_STEP, RETURN_STEP};

/// Metadata key: the workflow's due date (today + [`SubmitConfig::due_in_days`]).
pub const META_DUE_DATE: &str = "Due Date";
/// Metadata key: why the file is in the approval stage.
pub const META_STAGE: &str = "Stage";

/// How an approved version is marked official in CS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Official {
    /// The category (default `Document Governance`).
    pub category: String,
    /// A date attribute set to the day of approval (default `Approved On`).
    pub date_attribute: Option<String>,
    /// Further attribute values (a `Final` boolean, a status text).
    pub values: BTreeMap<String, Value>,
}

impl Default for Official {
    fn default() -> Self {
        Official {
            category: "Document Governance".into(),
            date_attribute: Some("Approved On".into()),
            values: BTreeMap::new(),
        }
    }
}

/// How the outcome goes back to Dropbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutcomeMarking {
    /// The tag of an approved file (default `approved`).
    pub approved_tag: Option<String>,
    /// The tag of a rejected file (default `rejected`).
    pub rejected_tag: Option<String>,
    /// A folder (full path) an approved file is moved into.
    pub approved_folder: Option<String>,
    /// A folder (full path) a rejected file is moved into.
    pub rejected_folder: Option<String>,
    /// Whether the property group (outcome, reviewer, comment, node) is written (default yes).
    pub property: bool,
    /// Its template's name (default `Review`; created for the user when missing).
    pub property_template: String,
}

impl Default for OutcomeMarking {
    fn default() -> Self {
        OutcomeMarking {
            approved_tag: Some("approved".into()),
            rejected_tag: Some("rejected".into()),
            approved_folder: None,
            rejected_folder: None,
            property: true,
            property_template: "Review".into(),
        }
    }
}

/// The settings of `submit_for_approval` (all optional in TOML; see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SubmitConfig {
    /// The flow's name (keys its state; default `submit_for_approval`).
    pub name: String,
    /// The Dropbox folder listed for changes (default: the whole account).
    pub source_root: String,
    /// Globs on the folder path (relative to the source root) of the stage folders.
    pub stage_folders: Vec<String>,
    /// Tags that put a file in the stage.
    pub stage_tags: Vec<String>,
    /// Seconds after which a file seen outside the stage is looked at again (default 300; a
    /// tag gives no new rev). `None` (TOML: `0` is "every run") never looks again.
    pub recheck_every_secs: Option<u64>,
    /// The CS node the target path starts at (default: the Enterprise Workspace).
    pub cs_root: Option<i64>,
    /// The CS folder under which the relative folders are mirrored (default `Approvals`).
    pub cs_folder: String,
    /// The workflow: map and form values (templates: `{stem}`, `{name}`, `{account}`,
    /// `{Due Date}`, metadata).
    pub workflow: WorkflowSpec,
    /// Days from submission to the due date (metadata `Due Date`; default 7).
    pub due_in_days: u32,
    /// Seconds between two looks at a running process (default 300).
    pub poll_every_secs: u64,
    /// Category values applied at the write (templates; default `Document Governance` with
    /// `Source System` = `Dropbox` and `Source Path` = `{source_path}`, which the category
    /// requires before the official mark can be set in it).
    pub categories: BTreeMap<String, BTreeMap<String, ValueSpec>>,
    /// How an approved version is marked official.
    pub official: Official,
    /// How the outcome goes back to Dropbox.
    pub outcome: OutcomeMarking,
    /// Documents processed at once (default 4).
    pub concurrency: usize,
}

impl Default for SubmitConfig {
    fn default() -> Self {
        let mut values = BTreeMap::new();
        values.insert(
            "WorkflowForm_Title".to_owned(),
            ValueSpec::from("Approve {stem}"),
        );
        values.insert(
            "WorkflowForm_WorkflowDueDate".to_owned(),
            ValueSpec::Typed(TypedSpec {
                date: Some(format!("{{{META_DUE_DATE}}}")),
                ..TypedSpec::default()
            }),
        );
        values.insert("WorkflowForm_1".to_owned(), ValueSpec::from("{account}"));
        let mut governance = BTreeMap::new();
        governance.insert("Source System".to_owned(), ValueSpec::from("Dropbox"));
        governance.insert("Source Path".to_owned(), ValueSpec::from("{source_path}"));
        let mut categories = BTreeMap::new();
        categories.insert("Document Governance".to_owned(), governance);
        SubmitConfig {
            name: "submit_for_approval".into(),
            source_root: String::new(),
            stage_folders: vec!["**/For Approval".into()],
            stage_tags: vec!["ready_for_approval".into()],
            recheck_every_secs: Some(300),
            cs_root: None,
            cs_folder: "Approvals".into(),
            workflow: WorkflowSpec {
                map: "Policy Approval".into(),
                values,
                comment: None,
            },
            due_in_days: 7,
            poll_every_secs: 300,
            categories,
            official: Official::default(),
            outcome: OutcomeMarking::default(),
            concurrency: 4,
        }
    }
}

impl SubmitConfig {
    /// Parses the settings from TOML; absent keys keep their defaults.
    pub fn from_toml(text: &str) -> Result<SubmitConfig> {
        toml::from_str(text).map_err(|e| Error::Config(format!("submit_for_approval: {e}")))
    }

    /// Reads the settings from a TOML file.
    pub fn load(path: impl AsRef<Path>) -> Result<SubmitConfig> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        Self::from_toml(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
    }
}

/// Whether a file is in the approval stage, and why: [`Approval`]'s folder and tag
/// conditions, as `submit_for_approval` configures them.
fn stage_check(c: &SubmitConfig) -> Result<ApprovalCheck> {
    if c.stage_folders.is_empty() && c.stage_tags.is_empty() {
        return Err(Error::Config(
            "submit_for_approval: no stage folder or tag".into(),
        ));
    }
    Approval {
        folders: c.stage_folders.clone(),
        tags: c.stage_tags.clone(),
        ..Approval::default()
    }
    .compile_as("stage")
}

/// Builds the `submit_for_approval` [`Flow`].
pub struct SubmitForApproval {
    dropbox: dropbox_client::Client,
    cs: contentserver_client::Client,
    store: Arc<dyn Store>,
    config: SubmitConfig,
    rules: Option<Rules>,
    retry: RetryPolicy,
    clock: Option<Arc<dyn Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync>>,
    progress: Option<ProgressFn>,
    failpoint: Option<FailpointFn>,
    hub: Option<WakeHub>,
}

impl std::fmt::Debug for SubmitForApproval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubmitForApproval")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl SubmitForApproval {
    /// The flow with [`SubmitConfig::default`]; `store` holds its state, records and steps.
    pub fn new(
        dropbox: dropbox_client::Client,
        cs: contentserver_client::Client,
        store: Arc<dyn Store>,
    ) -> Self {
        SubmitForApproval {
            dropbox,
            cs,
            store,
            config: SubmitConfig::default(),
            rules: None,
            retry: RetryPolicy::default(),
            clock: None,
            progress: None,
            failpoint: None,
            hub: None,
        }
    }

    /// Also woken by the signed Dropbox webhook notifications that reach `hub` for the
    /// account the flow reads as (see [`crate::webhook`]), not only by longpoll or the
    /// fallback timer of [`Flow::watch`].
    pub fn wake_hub(mut self, hub: WakeHub) -> Self {
        self.hub = Some(hub);
        self
    }

    /// The settings (replace the defaults).
    pub fn config(mut self, config: SubmitConfig) -> Self {
        self.config = config;
        self
    }

    /// Rules applied last (they may override the target, the form values, add categories).
    pub fn rules(mut self, rules: Rules) -> Self {
        self.rules = Some(rules);
        self
    }

    /// The per-document retry policy.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The clock that due checks and steps read (tests move it instead of waiting).
    pub fn clock(
        mut self,
        now: impl Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync + 'static,
    ) -> Self {
        self.clock = Some(Arc::new(now));
        self
    }

    /// Receives progress events.
    pub fn on_progress(mut self, f: ProgressFn) -> Self {
        self.progress = Some(f);
        self
    }

    /// Stops runs at failpoints (crash-safety tests).
    pub fn failpoint(mut self, f: FailpointFn) -> Self {
        self.failpoint = Some(f);
        self
    }

    /// Builds the flow.
    pub fn build(self) -> Result<Flow> {
        let c = self.config;
        let stage = stage_check(&c)?;
        let (root, base) = (c.cs_root, c.cs_folder.trim_matches('/').to_owned());
        let due = chrono::Duration::days(i64::from(c.due_in_days));
        let clock = self.clock.clone();
        let stage_and_target = move |mut doc: Document| -> Result<Outcome> {
            let Some(why) = stage.why(&doc) else {
                return Ok(Outcome::skip("not in the approval stage"));
            };
            doc.metadata.insert(META_STAGE.into(), Value::Text(why));
            let today = clock
                .as_ref()
                .map_or_else(chrono::Utc::now, |c| c())
                .date_naive();
            doc.metadata
                .insert(META_DUE_DATE.into(), Value::Date(today + due));
            let path = [base.as_str(), doc.folder()]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join("/");
            doc.governance.target = Some(Location::CsFolder { root, path });
            Ok(Outcome::Pass(doc))
        };
        let governance = Rules::new(vec![Rule {
            name: "submit".into(),
            workflow: Some(c.workflow.clone()),
            categories: c.categories.clone(),
            ..Rule::default()
        }])?;
        let sink = CsSink::new(self.cs.clone());
        let source = pinned::UnderReview {
            inner: Arc::new(DropboxSource::new(self.dropbox.clone(), &c.source_root)),
            store: self.store.clone(),
            flow: c.name.clone(),
        };
        let source: Arc<dyn Source> = match self.hub {
            Some(hub) => Arc::new(WokenSource::for_client(source, hub, self.dropbox.clone())),
            None => Arc::new(source),
        };
        let mut b = Flow::builder(c.name.clone())
            .source_arc(source)
            .state(self.store)
            .transform(stage_and_target)
            .transform(governance);
        if let Some(rules) = self.rules {
            b = b.transform(rules);
        }
        b = b
            .step(steps::AwaitOutcome {
                sink: sink.clone(),
                every: Duration::from_secs(c.poll_every_secs),
            })
            .step(steps::MarkOfficial {
                sink: sink.clone(),
                official: c.official.clone(),
            })
            .step(steps::ReturnOutcome {
                dropbox: self.dropbox,
                marking: c.outcome.clone(),
                template: tokio::sync::OnceCell::new(),
            })
            .sink(sink)
            .concurrency(c.concurrency)
            .retry(self.retry);
        if let Some(every) = c.recheck_every_secs {
            b = b.recheck_skipped(Duration::from_secs(every));
        }
        if let Some(clock) = self.clock {
            b = b.clock(move || clock());
        }
        if let Some(p) = self.progress {
            b = b.on_progress(move |e| p(e));
        }
        if let Some(f) = self.failpoint {
            b = b.failpoint(f);
        }
        b.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Body, DocRef};

    fn doc(path: &str) -> Document {
        Document::new(DocRef::dropbox("id:1", "1"), path, 1, Body::from_bytes("x"))
    }

    #[test]
    fn the_stage_is_a_folder_or_a_tag() {
        let stage = stage_check(&SubmitConfig::default()).unwrap();
        assert_eq!(
            stage
                .why(&doc("HR/Policies/For Approval/Travel.docx"))
                .as_deref(),
            Some("in stage folder HR/Policies/For Approval")
        );
        let mut tagged = doc("HR/Policies/Drafts/Remote.docx");
        tagged.context.tags.push("Ready_For_Approval".into());
        assert_eq!(
            stage.why(&tagged).as_deref(),
            Some("tagged ready_for_approval")
        );
        assert_eq!(stage.why(&doc("HR/Policies/Drafts/Remote.docx")), None);
        let none = SubmitConfig {
            stage_folders: vec![],
            stage_tags: vec![],
            ..SubmitConfig::default()
        };
        assert!(stage_check(&none).is_err());
    }

    #[test]
    fn the_config_loads_from_toml_over_the_defaults() {
        let c = SubmitConfig::from_toml(
            r#"
            stage_tags = ["submit"]
            poll_every_secs = 60
            [outcome]
            approved_folder = "/Approved"
            [official]
            values = { Final = { type = "bool", value = true } }
            "#,
        )
        .unwrap();
        assert_eq!(c.stage_tags, ["submit"]);
        assert_eq!(c.stage_folders, ["**/For Approval"]);
        assert_eq!(c.poll_every_secs, 60);
        assert_eq!(c.outcome.approved_folder.as_deref(), Some("/Approved"));
        assert_eq!(c.outcome.approved_tag.as_deref(), Some("approved"));
        assert_eq!(c.official.values["Final"], Value::Bool(true));
        assert_eq!(c.official.date_attribute.as_deref(), Some("Approved On"));
        assert!(SubmitConfig::from_toml("stage = 1").is_err());
    }
}
