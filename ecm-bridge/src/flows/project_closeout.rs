//! Use case 6: a finished Dropbox project folder is closed out into Content Server, proven
//! complete, and only then moved to an archive area in Dropbox.
//!
//! One closeout is one job (the project folder, [`crate::job`]): every file listed is added to
//! the job, the listing is marked finished, each file is written to CS (the folder structure
//! kept, under a CS folder or a business workspace created from a template, named after the
//! project folder, with category values) with the RM classification. When the job's barrier is
//! ready, the proof runs: Dropbox is listed again and every file must have a `done` record
//! with the same size and content hash (the counts and bytes are compared as well); empty
//! folders are created in CS on the way. A closeout that cannot be proven stops there and says
//! exactly what is missing ([`Closeout::Incomplete`]). Then the finaliser's steps run, each
//! once (kept in the step log under the job's key, so a stop resumes at the first step not
//! done): the manifest (CSV and JSON Lines, rebuilt from the records) filed in CS, the RM
//! classification of the root, the legal hold on the root and every item in bulk calls, the
//! batch move of the Dropbox folder into the archive area and, only with
//! [`CloseoutConfig::delete_source`] and [`CloseoutConfig::confirm_delete`], its deletion.
//!
//! Renames during the closeout and names CS refuses follow the runner's rules: one record per
//! Dropbox file id, and a file renamed or moved before the closeout is proven keeps its CS
//! document, moved to match ([`RenamePolicy::MoveTarget`]); a file deleted meanwhile is
//! recorded `removed` (its CS document stays, listed so in the manifest); a name CS refuses
//! fails that file, so the proof names it.
//!
//! ```no_run
//! # async fn demo(dropbox: dropbox_client::Client, cs: contentserver_client::Client) -> ecm_bridge::Result<()> {
//! use std::sync::Arc;
//! use ecm_bridge::flows::project_closeout::{CloseoutConfig, ProjectCloseout};
//! use ecm_bridge::state::SqliteStore;
//!
//! let config = CloseoutConfig::from_toml(r#"
//!     project_folder = "/Projects/P-1042 Riverside Tower"
//!     rm_class = "PRJ-10 Project Records"
//!     hold = "Riverside Tower Litigation"
//!     [target]
//!     kind = "folder"
//!     path = "Closed Projects"
//! "#)?;
//! let closeout = ProjectCloseout::new(dropbox, cs, Arc::new(SqliteStore::open("bridge.db")?), config);
//! println!("{}", closeout.run().await?.summary());
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;

use super::project_closeout_finish as finish;
use super::project_closeout_revisions::RevisionsSink;
use crate::connectors::contentserver::CsSink;
use crate::connectors::dropbox::DropboxSource;
use crate::error::{Error, Result};
use crate::job::{JobSource, JobSteps};
use crate::model::{Document, Location};
use crate::rules::Rules;
use crate::runner::{FailpointFn, Flow, ProgressFn, Report, RetryPolicy};
use crate::sink::RenamePolicy;
use crate::state::{Store, STEP_FINALISE};
use crate::transform::{Outcome, Transform};

/// The prefix of the flow's name in the store (see [`ProjectCloseout::flow_name`]).
pub const FLOW: &str = "project_closeout";

/// What a closeout does, as a TOML file can say it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseoutConfig {
    /// The Dropbox project folder (`/Projects/P-1042 Riverside Tower`).
    pub project_folder: String,
    /// The project id (default: the first word of the folder's name, `P-1042`).
    #[serde(default)]
    pub project_id: Option<String>,
    /// Where it lands in CS.
    pub target: CloseoutTarget,
    /// The RM classification (by name) of the root and every item.
    #[serde(default)]
    pub rm_class: Option<String>,
    /// A legal hold (by name) applied to the root and every item in bulk calls.
    #[serde(default)]
    pub hold: Option<String>,
    /// The Dropbox folder the project folder is moved into once proven (default
    /// `/Archive/Projects`).
    #[serde(default = "default_archive")]
    pub archive_to: String,
    /// Delete the project folder from Dropbox after the move (needs `confirm_delete` too).
    #[serde(default)]
    pub delete_source: bool,
    /// The second confirmation of `delete_source`.
    #[serde(default)]
    pub confirm_delete: bool,
    /// Files written at once (default 4).
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Read every written version back and compare its hash.
    #[serde(default)]
    pub read_back: bool,
    /// Every Dropbox revision of each file as a CS version of its document, oldest first
    /// (the current revision last; each revision once, also across a stop between them:
    /// see the `project_closeout_revisions` module). Default: the current revision only.
    #[serde(default)]
    pub all_revisions: bool,
}

fn default_archive() -> String {
    "/Archive/Projects".into()
}

fn default_concurrency() -> usize {
    4
}

/// Where the project lands in CS.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum CloseoutTarget {
    /// A folder named after the project folder, in the folder `path` (created as needed)
    /// under `parent` (default: the Enterprise Workspace).
    Folder {
        /// The node `path` starts at.
        #[serde(default)]
        parent: Option<i64>,
        /// `/`-separated folder names (may be empty).
        #[serde(default)]
        path: String,
    },
    /// A business workspace named after the project folder, created from a template (found
    /// by name when it exists).
    Workspace {
        /// The workspace type.
        type_id: i64,
        /// The template.
        template_id: i64,
        /// The parent (default: the type's location).
        #[serde(default)]
        parent: Option<i64>,
        /// The category whose values are set on the workspace.
        #[serde(default)]
        category_id: Option<i64>,
        /// Attribute name → value; `{project_id}` and `{today}` (`YYYY-MM-DD`) are replaced.
        #[serde(default)]
        values: BTreeMap<String, String>,
    },
}

impl CloseoutConfig {
    /// Parses a TOML text.
    pub fn from_toml(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| {
            Error::Config(format!(
                "closeout config: {}",
                crate::rules::toml_error(text, &e)
            ))
        })
    }

    /// Reads a TOML file.
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        Self::from_toml(&text)
    }

    /// The project folder without a trailing `/`, with a leading one.
    pub fn folder(&self) -> String {
        format!("/{}", self.project_folder.trim_matches('/'))
    }

    /// The project folder's own name.
    pub fn folder_name(&self) -> String {
        self.folder()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    /// The project id (configured, or the first word of the folder's name).
    pub fn project_id(&self) -> String {
        self.project_id.clone().unwrap_or_else(|| {
            self.folder_name()
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned()
        })
    }

    /// Where the folder is moved to.
    pub fn archived_path(&self) -> String {
        format!(
            "/{}/{}",
            self.archive_to.trim_matches('/'),
            self.folder_name()
        )
    }

    fn check(&self) -> Result<()> {
        if self.folder() == "/" {
            return Err(Error::Config("closeout: project_folder is empty".into()));
        }
        if self.delete_source && !self.confirm_delete {
            return Err(Error::Config(
                "closeout: delete_source needs confirm_delete = true as well".into(),
            ));
        }
        if self.concurrency == 0 {
            return Err(Error::Config(
                "closeout: concurrency must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

/// What a closeout run ended with.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Closeout {
    /// Not proven complete; nothing was moved. Each line says what is missing.
    Incomplete {
        /// The run's report.
        report: Box<Report>,
        /// What is missing, one line each (a file not written, a hash that differs, counts).
        missing: Vec<String>,
    },
    /// Proven, filed and moved (now or by an earlier run).
    Closed {
        /// The run's report.
        report: Box<Report>,
        /// The finaliser's output: root, manifest nodes, counts, where it was moved.
        summary: CloseoutSummary,
    },
}

impl Closeout {
    /// One paragraph for people.
    pub fn summary(&self) -> String {
        match self {
            Closeout::Incomplete { missing, .. } => format!(
                "closeout NOT proven complete, nothing moved; {} missing:\n  {}",
                missing.len(),
                missing.join("\n  ")
            ),
            Closeout::Closed { summary: s, .. } => format!(
                "closed out {} file(s), {} byte(s), {} folder(s) into CS node {}; manifest: CSV node {}, JSON Lines node {}; hold on {} node(s); Dropbox folder moved to {}{}",
                s.files,
                s.bytes,
                s.folders,
                s.root,
                s.manifest_csv,
                s.manifest_jsonl,
                s.held,
                s.moved_to,
                if s.deleted { " and deleted" } else { "" }
            ),
        }
    }

    /// The run's report.
    pub fn report(&self) -> &Report {
        match self {
            Closeout::Incomplete { report, .. } | Closeout::Closed { report, .. } => report,
        }
    }
}

/// The finaliser's output (kept in the store as the job's `finalise` step output).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct CloseoutSummary {
    /// The CS root (folder or workspace).
    pub root: i64,
    /// Files proven.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Folders (empty ones included) under the root.
    pub folders: u64,
    /// The manifest's CSV document.
    pub manifest_csv: i64,
    /// The manifest's JSON Lines document.
    pub manifest_jsonl: i64,
    /// Nodes the hold was applied to (0 without a hold).
    pub held: u64,
    /// Where the Dropbox folder is now.
    pub moved_to: String,
    /// Whether it was deleted after the move.
    pub deleted: bool,
}

/// A finaliser step to stop before, for crash tests: the run returns an error there, as if
/// the process had stopped.
pub type StopFn = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// Builds and runs closeouts.
pub struct ProjectCloseout {
    pub(super) dropbox: dropbox_client::Client,
    pub(super) cs: contentserver_client::Client,
    pub(super) state: Arc<dyn Store>,
    pub(super) config: CloseoutConfig,
    rules: Option<Arc<Rules>>,
    retry: RetryPolicy,
    progress: Option<ProgressFn>,
    failpoint: Option<FailpointFn>,
    pub(super) stop: Option<StopFn>,
}

impl std::fmt::Debug for ProjectCloseout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProjectCloseout")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ProjectCloseout {
    /// A closeout of `config.project_folder`.
    pub fn new(
        dropbox: dropbox_client::Client,
        cs: contentserver_client::Client,
        state: Arc<dyn Store>,
        config: CloseoutConfig,
    ) -> Self {
        ProjectCloseout {
            dropbox,
            cs,
            state,
            config,
            rules: None,
            retry: RetryPolicy::default(),
            progress: None,
            failpoint: None,
            stop: None,
        }
    }

    /// Rules applied to each file after its target is set (metadata, categories; they may
    /// override the target).
    pub fn rules(mut self, rules: Rules) -> Self {
        self.rules = Some(Arc::new(rules));
        self
    }

    /// The per-document retry policy.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Receives the runner's progress events.
    pub fn on_progress(mut self, f: ProgressFn) -> Self {
        self.progress = Some(f);
        self
    }

    /// Stops the runner at failpoints (crash tests).
    pub fn failpoint(mut self, f: FailpointFn) -> Self {
        self.failpoint = Some(f);
        self
    }

    /// Stops the finaliser before the step it names (`target`, `proof`, `manifest`,
    /// `classify_root`, `hold`, `move`, `delete`) answers `true` for, and, with
    /// [`CloseoutConfig::all_revisions`], a file's write before its revision `rev`
    /// (`revision:{rev}`) (crash tests).
    pub fn stop_before(mut self, f: StopFn) -> Self {
        self.stop = Some(f);
        self
    }

    /// The job's id: the project folder, lower-cased.
    pub fn job(&self) -> String {
        self.config.folder().to_lowercase()
    }

    /// The flow's name in the store: [`FLOW`] and the job (each project folder has its own
    /// records, checkpoint and steps).
    pub fn flow_name(&self) -> String {
        format!("{FLOW}:{}", self.job())
    }

    /// The store this closeout keeps its state in.
    pub fn state(&self) -> &Arc<dyn Store> {
        &self.state
    }

    pub(super) fn steps(&self) -> JobSteps {
        JobSteps::new(self.state.clone(), self.flow_name(), self.job())
    }

    /// Runs the closeout once: writes what is not written, proves, and finalises. Run it
    /// again after an [`Closeout::Incomplete`] (or an error): what is done is not redone.
    pub async fn run(&self) -> Result<Closeout> {
        self.config.check()?;
        let steps = self.steps();
        // Closed by an earlier run: the folder is in the archive area now, nothing to list.
        if let Some(out) = steps.done(STEP_FINALISE).await? {
            let summary: CloseoutSummary = serde_json::from_value(out)
                .map_err(|e| Error::Config(format!("closeout summary in the store: {e}")))?;
            let report = Box::new(Report {
                flow: self.flow_name(),
                ..Report::default()
            });
            return Ok(Closeout::Closed { report, summary });
        }
        let root = finish::target(self).await?;
        // A finaliser begun by an earlier run was proven then (its `proof` step keeps what
        // was proven) and may have moved the folder already: it resumes without listing.
        if let Some(proof) = steps.done(finish::PROOF_STEP).await? {
            let proof = finish::Proof::from_output(&proof);
            let summary = finish::finalise(self, root, &proof).await?;
            let report = Box::new(Report {
                flow: self.flow_name(),
                ..Report::default()
            });
            return Ok(Closeout::Closed { report, summary });
        }
        let flow = self.flow(root)?;
        let report = Box::new(flow.run_once().await?);
        let proof = finish::prove(self, root).await?;
        if !proof.missing.is_empty() {
            return Ok(Closeout::Incomplete {
                report,
                missing: proof.missing,
            });
        }
        let summary = finish::finalise(self, root, &proof).await?;
        Ok(Closeout::Closed { report, summary })
    }

    /// The runner's flow that writes the files under `root`.
    fn flow(&self, root: i64) -> Result<Flow> {
        let c = &self.config;
        let source = JobSource::new(
            DropboxSource::new(self.dropbox.clone(), &c.folder()).with_tags(false),
            self.state.clone(),
            self.flow_name(),
            self.job(),
        );
        let rm_class = c.rm_class.clone();
        let place = move |mut doc: Document| -> Result<Outcome> {
            doc.governance.target = Some(Location::CsFolder {
                root: Some(root),
                path: doc.folder().to_owned(),
            });
            if doc.governance.rm_class.is_none() {
                doc.governance.rm_class = rm_class.clone();
            }
            Ok(Outcome::Pass(doc))
        };
        let mut b = Flow::builder(self.flow_name())
            .source(source)
            .state(self.state.clone())
            .transform(place);
        if let Some(r) = &self.rules {
            let r = r.clone();
            b = b.transform(move |doc: Document| r.apply(doc));
        }
        let sink = CsSink::new(self.cs.clone()).read_back(c.read_back);
        b = if c.all_revisions {
            b.sink(RevisionsSink::new(
                sink,
                self.dropbox.clone(),
                self.state.clone(),
                self.stop.clone(),
            ))
        } else {
            b.sink(sink)
        };
        b = b
            .concurrency(c.concurrency)
            .retry(self.retry.clone())
            .rename(RenamePolicy::MoveTarget);
        if let Some(p) = &self.progress {
            let p = p.clone();
            b = b.on_progress(move |e| p(e));
        }
        if let Some(f) = &self.failpoint {
            b = b.failpoint(f.clone());
        }
        b.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_loads_from_toml_with_its_defaults_and_checks() {
        let c = CloseoutConfig::from_toml(
            "project_folder = \"Projects/P-1042 Riverside Tower/\"\n[target]\nkind = \"folder\"\n",
        )
        .unwrap();
        assert_eq!(c.folder(), "/Projects/P-1042 Riverside Tower");
        assert_eq!(c.project_id(), "P-1042");
        assert_eq!(
            c.archived_path(),
            "/Archive/Projects/P-1042 Riverside Tower"
        );
        assert_eq!(c.concurrency, 4);
        assert!(
            matches!(c.target, CloseoutTarget::Folder { parent: None, ref path } if path.is_empty())
        );
        c.check().unwrap();

        let ws = CloseoutConfig::from_toml(
            "project_folder = \"/P\"\nproject_id = \"X-1\"\ndelete_source = true\n[target]\nkind = \"workspace\"\ntype_id = 1\ntemplate_id = 2\nvalues = { \"Project Id\" = \"{project_id}\" }\n",
        )
        .unwrap();
        assert_eq!(ws.project_id(), "X-1");
        let err = ws.check().unwrap_err().to_string();
        assert!(err.contains("confirm_delete"), "{err}");
        assert!(
            CloseoutConfig::from_toml("project_folder = \"/P\"\n[target]\nkind = \"shelf\"\n")
                .is_err()
        );
        assert!(CloseoutConfig::from_toml(
            "project_folder = \"/P\"\ncolour = 1\n[target]\nkind = \"folder\"\n"
        )
        .is_err());
    }
}
