//! Use case 1: approved Dropbox files are archived into Content Server as governed records.
//!
//! "Approved" is configurable ([`Approval`]): the file sits in an approval folder (a glob on
//! its folder path), carries a Dropbox tag, has a property value, or matches a name pattern;
//! any one of the configured conditions approves it. The record lands in the CS folder that
//! mirrors the file's relative path under a root (`Archive/…` by default), unless [`Rules`]
//! say otherwise; rules also set metadata, categories, RM class, hold and permissions. A new
//! Dropbox rev of an archived file becomes a new version of the same CS document. Afterwards
//! the Dropbox file is marked ([`Marking`]): a tag, the `Governance` property group with the
//! CS node id, and/or a move to an archived folder.
//!
//! The flow runs once ([`Flow::run_once`]), on an interval ([`Flow::run_every`]) or watching
//! for changes ([`Flow::watch`], Dropbox longpoll).
//!
//! ```no_run
//! # async fn demo(dropbox: dropbox_client::Client, cs: contentserver_client::Client) -> ecm_bridge::Result<()> {
//! use std::sync::Arc;
//! use ecm_bridge::flows::archive_on_approval::{Approval, ArchiveOnApproval, Marking};
//! use ecm_bridge::rules::Rules;
//! use ecm_bridge::state::SqliteStore;
//!
//! let flow = ArchiveOnApproval::new(dropbox, cs, Arc::new(SqliteStore::open("bridge.db")?))
//!     .approval(Approval::default().folder("**/Approved").tag("approved"))
//!     .cs_folder(None, "Archive")
//!     .rules(Rules::load("rules.toml")?)
//!     .marking(Marking::default().tag("archived").governance_property())
//!     .build()?;
//! let report = flow.run_once().await?;
//! println!("{}", report.summary());
//! # Ok(()) }
//! ```

use std::sync::Arc;
use std::time::Duration;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use regex::Regex;

use crate::connectors::contentserver::CsSink;
use crate::connectors::dropbox::{DropboxMarker, DropboxSource, PropertyMarking};
use crate::error::{Error, Result};
use crate::model::{Document, Location, Value};
use crate::rules::Rules;
use crate::runner::{FailpointFn, Flow, ProgressFn, RetryPolicy};
use crate::state::Store;
use crate::transform::Outcome;

/// When a file counts as approved: any one of the configured conditions.
#[derive(Debug, Clone, Default)]
pub struct Approval {
    /// Globs on the file's folder path relative to the source root (`**/Approved`).
    pub folders: Vec<String>,
    /// Dropbox tags.
    pub tags: Vec<String>,
    /// Property values: `("Governance.status", "approved")`.
    pub properties: Vec<(String, String)>,
    /// A regular expression on the file name.
    pub name_pattern: Option<String>,
}

impl Approval {
    /// Approves files in folders matching `glob`.
    pub fn folder(mut self, glob: impl Into<String>) -> Self {
        self.folders.push(glob.into());
        self
    }

    /// Approves files carrying `tag`.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Approves files whose property `Template.field` has `value`.
    pub fn property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.push((key.into(), value.into()));
        self
    }

    /// Approves files whose name matches `pattern`.
    pub fn name_pattern(mut self, pattern: impl Into<String>) -> Self {
        self.name_pattern = Some(pattern.into());
        self
    }

    fn compile(&self) -> Result<ApprovalCheck> {
        self.compile_as("approval")
    }

    /// The conditions checked, `what` naming them in reasons and errors (`"stage"` for
    /// `submit_for_approval`'s stage folders and tags).
    pub(crate) fn compile_as(&self, what: &'static str) -> Result<ApprovalCheck> {
        let mut set = GlobSetBuilder::new();
        for g in &self.folders {
            set.add(
                GlobBuilder::new(g.trim_matches('/'))
                    .literal_separator(true)
                    .case_insensitive(true)
                    .build()
                    .map_err(|e| Error::Config(format!("{what} folder {g:?}: {e}")))?,
            );
        }
        let folders = set
            .build()
            .map_err(|e| Error::Config(format!("{what} folders: {e}")))?;
        let name = self
            .name_pattern
            .as_deref()
            .map(|p| Regex::new(p).map_err(|e| Error::Config(format!("{what} name pattern: {e}"))))
            .transpose()?;
        if self.folders.is_empty()
            && self.tags.is_empty()
            && self.properties.is_empty()
            && name.is_none()
        {
            return Err(Error::Config(format!("{what}: no condition configured")));
        }
        Ok(ApprovalCheck {
            what,
            spec: self.clone(),
            folders,
            name,
        })
    }
}

/// [`Approval`]'s conditions, compiled.
pub(crate) struct ApprovalCheck {
    what: &'static str,
    spec: Approval,
    folders: GlobSet,
    name: Option<Regex>,
}

impl ApprovalCheck {
    /// Why `doc` is approved, or `None`.
    pub(crate) fn why(&self, doc: &Document) -> Option<String> {
        if self.folders.is_match(doc.folder()) {
            return Some(format!("in {} folder {}", self.what, doc.folder()));
        }
        for t in &self.spec.tags {
            if doc
                .context
                .tags
                .iter()
                .any(|have| have.eq_ignore_ascii_case(t))
            {
                return Some(format!("tagged {t}"));
            }
        }
        for (k, v) in &self.spec.properties {
            if doc.context.properties.get(k) == Some(v) {
                return Some(format!("{k} = {v}"));
            }
        }
        if self.name.as_ref().is_some_and(|re| re.is_match(&doc.name)) {
            return Some("name matches the approval pattern".into());
        }
        None
    }

    fn not_approved(&self) -> String {
        let mut parts = Vec::new();
        if !self.spec.folders.is_empty() {
            parts.push(format!(
                "not in an approval folder ({})",
                self.spec.folders.join(", ")
            ));
        }
        if !self.spec.tags.is_empty() {
            parts.push(format!("no tag {}", self.spec.tags.join("/")));
        }
        for (k, v) in &self.spec.properties {
            parts.push(format!("{k} is not {v}"));
        }
        if let Some(p) = &self.spec.name_pattern {
            parts.push(format!("name does not match {p}"));
        }
        format!("not approved: {}", parts.join("; "))
    }
}

/// How archived files are marked in Dropbox.
#[derive(Debug, Clone, Default)]
pub struct Marking {
    /// A tag to add.
    pub tag: Option<String>,
    /// A property group to write (with the CS node id).
    pub property: Option<PropertyMarking>,
    /// A folder to move the file into.
    pub move_to: Option<String>,
}

impl Marking {
    /// Adds `tag`.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = Some(tag.into());
        self
    }

    /// Writes the demo's `Governance` property group ([`PropertyMarking::governance`]).
    pub fn governance_property(mut self) -> Self {
        self.property = Some(PropertyMarking::governance());
        self
    }

    /// Writes this property group.
    pub fn property(mut self, marking: PropertyMarking) -> Self {
        self.property = Some(marking);
        self
    }

    /// Moves the file into `folder`.
    pub fn move_to(mut self, folder: impl Into<String>) -> Self {
        self.move_to = Some(folder.into());
        self
    }

    fn is_empty(&self) -> bool {
        self.tag.is_none() && self.property.is_none() && self.move_to.is_none()
    }
}

/// Builds the `archive_on_approval` [`Flow`].
pub struct ArchiveOnApproval {
    name: String,
    dropbox: dropbox_client::Client,
    cs: contentserver_client::Client,
    state: Arc<dyn Store>,
    recheck: Option<Duration>,
    source_root: String,
    approval: Approval,
    cs_root: Option<i64>,
    cs_folder: String,
    rules: Option<Rules>,
    marking: Marking,
    concurrency: usize,
    adaptive: bool,
    retry: RetryPolicy,
    dry_run: bool,
    read_back: bool,
    progress: Option<ProgressFn>,
    failpoint: Option<FailpointFn>,
}

impl std::fmt::Debug for ArchiveOnApproval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArchiveOnApproval")
            .field("name", &self.name)
            .field("source_root", &self.source_root)
            .field("approval", &self.approval)
            .field("cs_folder", &self.cs_folder)
            .finish_non_exhaustive()
    }
}

impl ArchiveOnApproval {
    /// The flow with its defaults: the whole Dropbox account; approved = in a folder named
    /// `Approved` or tagged `approved`; target `Archive/<relative folder>` in the Enterprise
    /// Workspace; archived files tagged `archived`.
    pub fn new(
        dropbox: dropbox_client::Client,
        cs: contentserver_client::Client,
        state: Arc<dyn Store>,
    ) -> Self {
        ArchiveOnApproval {
            name: "archive_on_approval".into(),
            dropbox,
            cs,
            state,
            recheck: None,
            source_root: String::new(),
            approval: Approval::default().folder("**/Approved").tag("approved"),
            cs_root: None,
            cs_folder: "Archive".into(),
            rules: None,
            marking: Marking::default().tag("archived"),
            concurrency: 4,
            adaptive: true,
            retry: RetryPolicy::default(),
            dry_run: false,
            read_back: false,
            progress: None,
            failpoint: None,
        }
    }

    /// Like [`ArchiveOnApproval::new`] (kept for callers that name it so).
    pub fn with_store<S: Store + 'static>(
        dropbox: dropbox_client::Client,
        cs: contentserver_client::Client,
        store: Arc<S>,
    ) -> Self {
        Self::new(dropbox, cs, store)
    }

    /// Looks again, once `every` has passed, at the files seen as not approved: a tag or a
    /// property that approves a file after it was listed shows up in no change feed, so
    /// without this it is missed. The second look reads each file's metadata and its tags (in
    /// batches of `files/tags/get`), not its bytes.
    pub fn recheck_unapproved(mut self, every: Duration) -> Self {
        self.recheck = Some(every);
        self
    }

    /// The flow's name (keys its state; default `archive_on_approval`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The Dropbox folder to watch (default: the whole account).
    pub fn source_root(mut self, root: impl Into<String>) -> Self {
        self.source_root = root.into();
        self
    }

    /// What counts as approved (replaces the default).
    pub fn approval(mut self, approval: Approval) -> Self {
        self.approval = approval;
        self
    }

    /// The CS folder under which relative paths are mirrored: `path` under `root` (default:
    /// `Archive` in the Enterprise Workspace).
    pub fn cs_folder(mut self, root: Option<i64>, path: impl Into<String>) -> Self {
        self.cs_root = root;
        self.cs_folder = path.into();
        self
    }

    /// Rules applied after the default target is set (they may override it).
    pub fn rules(mut self, rules: Rules) -> Self {
        self.rules = Some(rules);
        self
    }

    /// How archived files are marked (replaces the default).
    pub fn marking(mut self, marking: Marking) -> Self {
        self.marking = marking;
        self
    }

    /// Documents processed at once (default 4).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    /// The per-document retry policy.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Reports what would be archived and changes nothing.
    pub fn dry_run(mut self, yes: bool) -> Self {
        self.dry_run = yes;
        self
    }

    /// Whether the concurrency toward CS follows its throttles (the default; README "Adaptive
    /// load"), or stays at [`ArchiveOnApproval::concurrency`]
    /// ([`crate::runner::FlowBuilder::adaptive_concurrency`]).
    pub fn adaptive_concurrency(mut self, yes: bool) -> Self {
        self.adaptive = yes;
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

    /// Builds the flow.
    pub fn build(self) -> Result<Flow> {
        let check = Arc::new(self.approval.compile()?);
        let mut templates: Vec<String> = self
            .approval
            .properties
            .iter()
            .filter_map(|(k, _)| k.split_once('.').map(|(t, _)| t.to_owned()))
            .collect();
        if let Some(p) = &self.marking.property {
            templates.push(p.template.clone());
        }
        templates.sort();
        templates.dedup();
        let source = DropboxSource::new(self.dropbox.clone(), &self.source_root)
            .property_templates(templates);
        let sink = CsSink::new(self.cs.clone()).read_back(self.read_back);
        let (cs_root, cs_folder) = (self.cs_root, self.cs_folder.trim_matches('/').to_owned());

        let approve = {
            let check = check.clone();
            move |mut doc: Document| -> Result<Outcome> {
                match check.why(&doc) {
                    Some(why) => {
                        doc.metadata.insert("Approval".into(), Value::Text(why));
                        Ok(Outcome::Pass(doc))
                    }
                    None => Ok(Outcome::skip(check.not_approved())),
                }
            }
        };
        let mirror = move |mut doc: Document| -> Result<Outcome> {
            let path = [cs_folder.as_str(), doc.folder()]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join("/");
            doc.governance.target = Some(Location::CsFolder {
                root: cs_root,
                path,
            });
            Ok(Outcome::Pass(doc))
        };

        let mut b = Flow::builder(self.name)
            .source(source)
            .state(self.state)
            .transform(approve)
            .transform(mirror);
        if let Some(rules) = self.rules {
            b = b.transform(rules);
        }
        b = b
            .sink(sink)
            .concurrency(self.concurrency)
            .adaptive_concurrency(self.adaptive)
            .retry(self.retry)
            .dry_run(self.dry_run);
        if !self.marking.is_empty() {
            let mut m = DropboxMarker::new(self.dropbox);
            if let Some(t) = self.marking.tag {
                m = m.tag(t);
            }
            if let Some(p) = self.marking.property {
                m = m.property(p);
            }
            if let Some(f) = self.marking.move_to {
                m = m.move_to(f);
            }
            b = b.after_write(m);
        }
        if let Some(p) = self.progress {
            b = b.on_progress(move |e| p(e));
        }
        if let Some(f) = self.failpoint {
            b = b.failpoint(f);
        }
        if let Some(every) = self.recheck {
            b = b.recheck_skipped(every);
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
    fn any_condition_approves() {
        let check = Approval::default()
            .folder("**/Approved")
            .tag("approved")
            .property("Governance.status", "approved")
            .name_pattern(r"(?i)\bfinal\b")
            .compile()
            .unwrap();
        assert_eq!(
            check
                .why(&doc("Marketing/Campaign 2026/Approved/a.pdf"))
                .as_deref(),
            Some("in approval folder Marketing/Campaign 2026/Approved")
        );
        let mut tagged = doc("Drafts/a.pdf");
        tagged.context.tags.push("Approved".into());
        assert_eq!(check.why(&tagged).as_deref(), Some("tagged approved"));
        let mut prop = doc("Drafts/a.pdf");
        prop.context
            .properties
            .insert("Governance.status".into(), "approved".into());
        assert!(check.why(&prop).is_some());
        assert!(check.why(&doc("Drafts/Plan FINAL.pdf")).is_some());
        assert_eq!(check.why(&doc("Drafts/a.pdf")), None);
        assert!(check.not_approved().contains("no tag approved"));
        assert!(Approval::default().compile().is_err());
    }
}
