//! Use case 7: documents that outside parties submit through Dropbox file requests (or drop
//! into an intake folder) are taken into Content Server exactly once, filed per request and per
//! submitter, owned and permissioned, described, and put into a review workflow.
//!
//! What happens to each file ([`IntakeConfig`] says how, and loads from TOML):
//! 1. [`FileRequestIntake`] finds the request whose destination holds it (open, closed or past
//!    its deadline: late files are still taken in) and, in the team log, the name and e-mail
//!    the submitter typed in and when it arrived; files elsewhere are skipped.
//! 2. It is filed in `{cs_folder}/{request title}/{submitter}` (names CS refuses are adapted:
//!    [`folder_name`]), with the intake described in a category (by default `Intake
//!    Submission`: request title and id, submitter name and e-mail, received on/at), an RM
//!    class and permission grants if configured, and an owner (a user or a group:
//!    [`CsOwner`]).
//! 3. The review workflow (by default the demo's `Intake Review`, titled
//!    `Review {name} from {Submitter}`, due [`IntakeConfig::due_in_days`] after receipt) is
//!    started once with the document attached: a step that cannot be repeated, run after the
//!    write is recorded and, after a stop while it was under way, looked for at the target
//!    (a process with the node attached) before it is started again.
//! 4. The Dropbox file is marked processed (a tag, and/or a move to a processed folder, which
//!    is never taken in again).
//!
//! ```no_run
//! # async fn demo(user: dropbox_client::Client, team: dropbox_client::Client,
//! #               cs: contentserver_client::Client) -> ecm_bridge::Result<()> {
//! use std::sync::Arc;
//! use ecm_bridge::flows::intake_to_workflow::{IntakeConfig, IntakeToWorkflow};
//! use ecm_bridge::state::SqliteStore;
//!
//! let config = IntakeConfig::from_toml(r#"
//!     cs_folder = "Intake"
//!     owner = { group = "Outside Counsel" }
//!     [processed]
//!     tag = "processed"
//! "#)?;
//! let flow = IntakeToWorkflow::new(user, cs, Arc::new(SqliteStore::open("bridge.db")?))
//!     .team_log(team)
//!     .config(config)
//!     .build()?;
//! println!("{}", flow.run_once().await?.summary());
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::connectors::contentserver::{CsOwner, CsSink, Owner};
use crate::connectors::dropbox::{
    DropboxMarker, DropboxSource, FileRequestIntake, UnknownSubmitter, META_RECEIVED,
    META_RECEIVED_ON, META_REQUEST_ID, META_REQUEST_TITLE, META_SUBMITTER, META_SUBMITTER_EMAIL,
    META_SUBMITTER_NAME,
};
use crate::error::{Error, Result};
use crate::model::{Document, Grant, Location, Value};
use crate::rules::{Rule, Rules, TypedSpec, ValueSpec, WorkflowSpec};
use crate::runner::{FailpointFn, Flow, ProgressFn, RetryPolicy};
use crate::source::Source;
use crate::state::Store;
use crate::transform::Outcome;
use crate::webhook::{WakeHub, WokenSource};

/// Metadata key: the workflow's due date (received + [`IntakeConfig::due_in_days`]).
pub const META_DUE_DATE: &str = "Due Date";

/// How processed intake files are marked in Dropbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProcessedMarking {
    /// A tag to add (default `processed`).
    pub tag: Option<String>,
    /// A folder (full Dropbox path) to move the file into; never taken in again.
    pub move_to: Option<String>,
}

impl Default for ProcessedMarking {
    fn default() -> Self {
        ProcessedMarking {
            tag: Some("processed".into()),
            move_to: None,
        }
    }
}

/// Where the intake is described: a category, and which metadata key fills which attribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Describe {
    /// The category's name (default `Intake Submission`, in the sandbox's demo seed).
    pub category: String,
    /// Metadata key → attribute name. A key the document has no value for is left out (an
    /// intake folder has no request id; a submitter may give no name).
    pub attributes: BTreeMap<String, String>,
}

impl Default for Describe {
    fn default() -> Self {
        let same = [
            META_REQUEST_TITLE,
            META_REQUEST_ID,
            META_SUBMITTER_NAME,
            META_SUBMITTER_EMAIL,
            META_RECEIVED_ON,
        ];
        let mut attributes: BTreeMap<String, String> = same
            .iter()
            .map(|k| ((*k).to_owned(), (*k).to_owned()))
            .collect();
        attributes.insert(META_RECEIVED.into(), "Received At".into());
        Describe {
            category: "Intake Submission".into(),
            attributes,
        }
    }
}

/// The settings of `intake_to_workflow` (all optional in TOML; see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IntakeConfig {
    /// The flow's name (keys its state; default `intake_to_workflow`).
    pub name: String,
    /// The Dropbox folder listed for changes (default: the whole account); request
    /// destinations and intake folders must be below it.
    pub source_root: String,
    /// Whether file requests are a source (default yes).
    pub file_requests: bool,
    /// Plain intake folders (full Dropbox paths), titled with the folder's name.
    pub intake_folders: Vec<String>,
    /// The CS node the filing path starts at (default: the Enterprise Workspace).
    pub cs_root: Option<i64>,
    /// The CS folder under which requests get their folders (default `Intake`).
    pub cs_folder: String,
    /// A folder per submitter inside the request's folder (default yes).
    pub per_submitter: bool,
    /// Who owns each filed document.
    pub owner: Option<Owner>,
    /// The owner's permissions (default: the entry's current ones; a new document's owner
    /// group usually has none).
    pub owner_permissions: Option<Vec<String>>,
    /// Access granted on each filed document.
    pub permissions: Vec<Grant>,
    /// Where the intake is described.
    pub describe: Option<Describe>,
    /// An RM classification, by name.
    pub rm_class: Option<String>,
    /// The review workflow: map and form values (templates: `{name}`, `{stem}`, metadata such
    /// as `{Submitter}`, `{Request Title}`, `{Due Date}`). `None` starts none.
    pub workflow: Option<WorkflowSpec>,
    /// Days from receipt to the workflow's due date (metadata `Due Date`; default 5).
    pub due_in_days: u32,
    /// How processed files are marked.
    pub processed: ProcessedMarking,
    /// The submitter label for files the team log names no submitter for; without it such a
    /// file of a request fails and is looked at again on the next run.
    pub unknown_submitter: Option<String>,
    /// Documents processed at once (default 4).
    pub concurrency: usize,
}

impl Default for IntakeConfig {
    fn default() -> Self {
        let mut values = BTreeMap::new();
        values.insert(
            "WorkflowForm_Title".to_owned(),
            ValueSpec::from("Review {name} from {Submitter}"),
        );
        values.insert(
            "WorkflowForm_WorkflowDueDate".to_owned(),
            ValueSpec::Typed(TypedSpec {
                date: Some(format!("{{{META_DUE_DATE}}}")),
                ..TypedSpec::default()
            }),
        );
        IntakeConfig {
            name: "intake_to_workflow".into(),
            source_root: String::new(),
            file_requests: true,
            intake_folders: Vec::new(),
            cs_root: None,
            cs_folder: "Intake".into(),
            per_submitter: true,
            owner: None,
            owner_permissions: None,
            permissions: Vec::new(),
            describe: Some(Describe::default()),
            rm_class: None,
            workflow: Some(WorkflowSpec {
                map: "Intake Review".into(),
                values,
                comment: None,
            }),
            due_in_days: 5,
            processed: ProcessedMarking::default(),
            unknown_submitter: None,
            concurrency: 4,
        }
    }
}

impl IntakeConfig {
    /// Parses the settings from TOML; absent keys keep their defaults.
    pub fn from_toml(text: &str) -> Result<IntakeConfig> {
        toml::from_str(text).map_err(|e| Error::Config(format!("intake_to_workflow: {e}")))
    }

    /// Reads the settings from a TOML file.
    pub fn load(path: impl AsRef<Path>) -> Result<IntakeConfig> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        Self::from_toml(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
    }
}

/// A CS folder name made from `text`: control characters dropped, `/` and `\` (which would
/// split the path) made `-`, then the shared name rule ([`crate::names::adapt`]: `:`, trailing
/// dots and spaces, over 248 characters); an empty result is `_`.
pub fn folder_name(text: &str) -> String {
    let mapped: String = text
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| if matches!(c, '/' | '\\') { '-' } else { c })
        .collect();
    crate::names::adapt(&mapped)
}

/// Builds the `intake_to_workflow` [`Flow`].
pub struct IntakeToWorkflow {
    dropbox: dropbox_client::Client,
    team: Option<dropbox_client::Client>,
    cs: contentserver_client::Client,
    store: Arc<dyn Store>,
    config: IntakeConfig,
    rules: Option<Rules>,
    retry: RetryPolicy,
    refresh_after: Option<Duration>,
    dry_run: bool,
    read_back: bool,
    progress: Option<ProgressFn>,
    failpoint: Option<FailpointFn>,
    hub: Option<WakeHub>,
}

impl std::fmt::Debug for IntakeToWorkflow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntakeToWorkflow")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl IntakeToWorkflow {
    /// The flow with [`IntakeConfig::default`], reading Dropbox as `dropbox` (the owner of the
    /// file requests) and writing to `cs`; `store` holds its state and document records.
    pub fn new(
        dropbox: dropbox_client::Client,
        cs: contentserver_client::Client,
        store: Arc<dyn Store>,
    ) -> Self {
        IntakeToWorkflow {
            dropbox,
            team: None,
            cs,
            store,
            config: IntakeConfig::default(),
            rules: None,
            retry: RetryPolicy::default(),
            refresh_after: None,
            dry_run: false,
            read_back: false,
            progress: None,
            failpoint: None,
            hub: None,
        }
    }

    /// Reads submitters from the team log with this client (a team token).
    pub fn team_log(mut self, team: dropbox_client::Client) -> Self {
        self.team = Some(team);
        self
    }

    /// Also woken by the signed Dropbox webhook notifications that reach `hub` for the
    /// account the flow reads as (see [`crate::webhook`]), not only by longpoll or the
    /// fallback timer of [`Flow::watch`].
    pub fn wake_hub(mut self, hub: WakeHub) -> Self {
        self.hub = Some(hub);
        self
    }

    /// The settings (replace the defaults).
    pub fn config(mut self, config: IntakeConfig) -> Self {
        self.config = config;
        self
    }

    /// Rules applied last (they may override the filing, the description, the workflow).
    pub fn rules(mut self, rules: Rules) -> Self {
        self.rules = Some(rules);
        self
    }

    /// The per-document retry policy.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// How old the list of file requests may be before it is read again for a file in no
    /// known destination ([`FileRequestIntake::refresh_after`]).
    pub fn refresh_requests_after(mut self, age: Duration) -> Self {
        self.refresh_after = Some(age);
        self
    }

    /// Reports what would be taken in and changes nothing.
    pub fn dry_run(mut self, yes: bool) -> Self {
        self.dry_run = yes;
        self
    }

    /// Reads every written version back and compares its hash.
    pub fn read_back(mut self, yes: bool) -> Self {
        self.read_back = yes;
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

    /// The rule that carries the configured governance: RM class, grants, workflow.
    fn governance_rule(config: &IntakeConfig) -> Rule {
        Rule {
            name: "intake".into(),
            rm_class: config.rm_class.clone(),
            permissions: config.permissions.clone(),
            workflow: config.workflow.clone(),
            ..Rule::default()
        }
    }

    /// Builds the flow.
    pub fn build(self) -> Result<Flow> {
        let c = self.config;
        let mut intake =
            FileRequestIntake::new(self.dropbox.clone()).file_requests(c.file_requests);
        if let Some(team) = self.team {
            intake = intake.team_log(team);
        }
        for f in &c.intake_folders {
            intake = intake.intake_folder(f);
        }
        if let Some(to) = &c.processed.move_to {
            intake = intake.exclude(to);
        }
        if let Some(label) = &c.unknown_submitter {
            intake = intake.unknown_submitter(UnknownSubmitter::File(label.clone()));
        }
        if let Some(age) = self.refresh_after {
            intake = intake.refresh_after(age);
        }
        let file = {
            let (root, base, per_submitter) = (c.cs_root, c.cs_folder.clone(), c.per_submitter);
            let describe = c.describe.clone();
            let due = chrono::Duration::days(i64::from(c.due_in_days));
            move |mut doc: Document| -> Result<Outcome> {
                let text = |k: &str| doc.metadata.get(k).map(ToString::to_string);
                let mut path = vec![base.trim_matches('/').to_owned()];
                path.push(folder_name(&text(META_REQUEST_TITLE).unwrap_or_default()));
                if per_submitter {
                    path.push(folder_name(&text(META_SUBMITTER).unwrap_or_default()));
                }
                let path = path
                    .into_iter()
                    .filter(|p| !p.is_empty())
                    .collect::<Vec<_>>()
                    .join("/");
                doc.governance.target = Some(Location::CsFolder { root, path });
                if let Some(Value::Date(day)) = doc.metadata.get(META_RECEIVED_ON).cloned() {
                    doc.metadata
                        .insert(META_DUE_DATE.into(), Value::Date(day + due));
                }
                if let Some(d) = &describe {
                    let values: BTreeMap<String, Value> = d
                        .attributes
                        .iter()
                        .filter_map(|(key, attr)| {
                            doc.metadata.get(key).map(|v| (attr.clone(), v.clone()))
                        })
                        .collect();
                    if !values.is_empty() {
                        doc.governance
                            .categories
                            .entry(d.category.clone())
                            .or_default()
                            .extend(values);
                    }
                }
                Ok(Outcome::Pass(doc))
            }
        };
        let governance = Rules::new(vec![Self::governance_rule(&c)])?;
        let sink = CsSink::new(self.cs.clone()).read_back(self.read_back);
        let source = DropboxSource::new(self.dropbox.clone(), &c.source_root);
        let source: Arc<dyn Source> = match self.hub {
            Some(hub) => Arc::new(WokenSource::for_client(source, hub, self.dropbox.clone())),
            None => Arc::new(source),
        };

        let mut b = Flow::builder(c.name.clone())
            .source_arc(source)
            .state(self.store)
            .async_transform(intake)
            .transform(file)
            .transform(governance);
        if let Some(rules) = self.rules {
            b = b.transform(rules);
        }
        if let Some(owner) = c.owner.clone() {
            let mut hook = CsOwner::new(&sink, owner);
            if let Some(p) = c.owner_permissions.clone() {
                hook = hook.permissions(p);
            }
            b = b.after_write(hook);
        }
        let mut marker = DropboxMarker::new(self.dropbox);
        let mut marks = false;
        if let Some(t) = &c.processed.tag {
            marker = marker.tag(t.clone());
            marks = true;
        }
        if let Some(to) = &c.processed.move_to {
            marker = marker.move_to(to.clone());
            marks = true;
        }
        if marks {
            b = b.after_write(marker);
        }
        b = b
            .sink(sink)
            .concurrency(c.concurrency)
            .retry(self.retry)
            .dry_run(self.dry_run);
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

    #[test]
    fn folder_names_cs_accepts() {
        assert_eq!(folder_name("Tax: 2026/Q1"), "Tax- 2026-Q1");
        assert_eq!(folder_name("Avery (a@b.example). "), "Avery (a@b.example)");
        assert_eq!(folder_name("..."), "_");
        assert_eq!(folder_name(&"x".repeat(300)).len(), 248);
    }

    #[test]
    fn the_config_loads_from_toml_over_the_defaults() {
        let c = IntakeConfig::from_toml(
            r#"
            cs_folder = "Submissions"
            owner = { group = "Outside Counsel" }
            intake_folders = ["/Shared/Outside Counsel"]
            due_in_days = 10
            [[permissions]]
            member = "Records Managers"
            permissions = ["see", "see_contents"]
            [processed]
            move_to = "/Intake Processed"
            "#,
        )
        .unwrap();
        assert_eq!(c.cs_folder, "Submissions");
        assert_eq!(c.owner, Some(Owner::Group("Outside Counsel".into())));
        assert_eq!(c.due_in_days, 10);
        assert_eq!(c.permissions[0].member, "Records Managers");
        assert_eq!(c.processed.move_to.as_deref(), Some("/Intake Processed"));
        // Keys not given keep their defaults.
        assert_eq!(c.processed.tag.as_deref(), Some("processed"));
        assert_eq!(c.workflow.unwrap().map, "Intake Review");
        assert!(IntakeConfig::from_toml("colour = 'blue'").is_err());
    }
}
