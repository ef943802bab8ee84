//! Use case 5: Content Server documents and Dropbox files kept in step, CS being the record.
//!
//! **Pairs.** Every document below a CS folder is paired with a file below a Dropbox folder
//! (the CS sub-folders mirrored). The pair's record in the store (one
//! [`crate::state::DocRecord`] per CS document) holds the three-way state: the last synced
//! official CS version (`source`), the Dropbox file at its rev (`target`) and the content
//! hash then (`hash`, Dropbox's `content_hash`). CS is listed in its official versions (the
//! latest major version, [`CsSource::official_versions`]), so a draft or a pending minor
//! version never goes out.
//!
//! **Each run** lists both sides in full and decides each pair by content:
//! - equal on both sides: in step (an echo of our own write, a write whose answer was lost,
//!   or an accepted edit is recorded, never synced back);
//! - only CS changed: the new version replaces the Dropbox file by its rev ([`DropboxSink`],
//!   update mode: never a second file);
//! - only Dropbox changed: the edit comes into CS as a pending change (record `awaiting`),
//!   [`PendingMode`] says where: a minor version of the CS document (the default), or a
//!   document in a review folder, named as the record document, which stays untouched. It
//!   becomes official when it is accepted: the minor version promoted to a major one, or the
//!   review document's content added as a new major version ([`SyncRunner::accept`], or in
//!   CS by hand), or by the outcome of an approval workflow ([`ApprovalConfig`]: started once
//!   per edit, read on each run). It is rejected when CS makes a newer official version
//!   without it, when its review document is removed ([`SyncRunner::reject`] does either), or
//!   when its workflow is rejected; the edit is then kept in Dropbox as a conflicted copy and
//!   the official version is put back in the file. See the `review` module's notes;
//! - both changed: nothing is overwritten without a trace; the conflict is reported and
//!   [`ConflictPolicy`] decides (keep both, the default: the Dropbox edit is kept as a
//!   conflicted copy named with its time, and the CS version goes out; prefer CS; prefer the
//!   newest; flag only).
//!
//! **Renames and moves** are followed by id on each side (CS wins when both moved); a rename
//! is never a deletion. **Deletions** follow [`DeletionPolicy`] (mirror, record only,
//! restore from the other side). Under `mirror`, a run that would delete more than
//! `max_delete_share` of the pairs (default half) is refused ([`Error::Refused`]) before it
//! changes anything, unless `force` is set.
//!
//! Why the flow has its own pass instead of the runner's one-way feed: a pair is decided from
//! both sides at once (a conflict is only visible so), and a write in one direction must
//! update the state the other direction reads (the rev the next update goes by). The writes
//! go through the connectors' sinks ([`DropboxSink`], [`CsSink`]: verification, update by
//! rev, `find_existing` for a write in doubt, `relocate`, `remove`), the records and runs
//! through the store, and the runner's [`Failpoint`]s mark where a crash test may stop.
//! Pairs are processed one at a time.
//!
//! ```no_run
//! # async fn demo(dropbox: dropbox_client::Client, cs: contentserver_client::Client) -> ecm_bridge::Result<()> {
//! use std::sync::Arc;
//! use ecm_bridge::flows::version_sync::{SyncConfig, VersionSync};
//! use ecm_bridge::state::SqliteStore;
//!
//! let config = SyncConfig::from_toml(r#"
//!     cs_folder = "Collaboration/Joint Venture"
//!     dropbox_folder = "/Joint Venture"
//!     conflict = "keep_both"
//!     deletion = "mirror"
//!     max_delete_share = 0.5
//! "#)?;
//! let sync = VersionSync::new(dropbox, cs, Arc::new(SqliteStore::open("bridge.db")?), config)
//!     .build()
//!     .await?;
//! print!("{}", sync.run_once().await?);
//! # Ok(()) }
//! ```

mod pair;
mod report;
mod review;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use futures::TryStreamExt;
use serde::Deserialize;

use crate::connectors::contentserver::{CsSink, CsSource};
use crate::connectors::dropbox::{DropboxSink, DropboxSource};
use crate::error::{Error, Result, Step};
use crate::model::{DocRef, Document};
use crate::runner::{ClockFn, Failpoint, FailpointFn, Progress, ProgressFn};
use crate::source::{Change, Source};
use crate::state::{AuditEntry, DocRecord, DocStatus, RunId, Store};

pub use pair::PendingEdit;
pub use report::{SyncAction, SyncEntry, SyncReport};
pub use review::{ApprovalConfig, PendingMode, APPROVAL_STEP};

/// What happens when both sides changed since the last sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictPolicy {
    /// The Dropbox edit is kept as a conflicted copy named with its time; the CS version
    /// goes out to the file.
    #[default]
    KeepBoth,
    /// The CS version goes out (the edit stays in the file's Dropbox version history).
    PreferCs,
    /// The side modified last wins: a newer Dropbox edit comes into CS as a pending change,
    /// a newer CS version goes out.
    PreferNewest,
    /// Only recorded (`conflict`) and reported; nothing changes until a person resolves it
    /// (both sides equal again).
    FlagOnly,
}

/// What happens when one side of a pair is deleted (or moved out of the synced folder).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeletionPolicy {
    /// The other side is deleted too (CS: to the recycle bin), unless it changed since the
    /// last sync (then it is kept and the conflict reported).
    #[default]
    Mirror,
    /// The other side is kept; the pair is recorded `removed`.
    RecordOnly,
    /// The deleted side is written again from the other.
    Restore,
}

/// The settings of `version_sync`, also read from TOML ([`SyncConfig::from_toml`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncConfig {
    /// The flow's name (keys its state; default `version_sync`).
    #[serde(default = "default_name")]
    pub name: String,
    /// The CS folder whose documents are synced: a path below `cs_root`, `/`-separated.
    pub cs_folder: String,
    /// The node the path starts at (default: the Enterprise Workspace).
    #[serde(default)]
    pub cs_root: Option<i64>,
    /// The Dropbox folder the documents are paired with.
    pub dropbox_folder: String,
    /// When both sides changed (default `keep_both`).
    #[serde(default)]
    pub conflict: ConflictPolicy,
    /// When one side is deleted (default `mirror`).
    #[serde(default)]
    pub deletion: DeletionPolicy,
    /// The share of the pairs a run may delete under `mirror` (default 0.5); above it the
    /// run is refused unless `force`.
    #[serde(default = "half")]
    pub max_delete_share: f64,
    /// Runs even when the mass-deletion guard would refuse it.
    #[serde(default)]
    pub force: bool,
    /// Where a Dropbox edit waits in CS until it is accepted (default `minor_version`).
    #[serde(default)]
    pub pending: PendingMode,
    /// The CS folder of the review documents (a path below `cs_root`, outside `cs_folder`),
    /// for `pending = "review_folder"` (default `{cs_folder} Review`). The CS sub-folders
    /// are mirrored in it.
    #[serde(default)]
    pub review_folder: Option<String>,
    /// An approval step: each pending edit starts this CS workflow, and its outcome accepts
    /// or rejects the edit (none: accepted or rejected by hand, [`SyncRunner::accept`]).
    #[serde(default)]
    pub approval: Option<ApprovalConfig>,
}

fn default_name() -> String {
    "version_sync".into()
}

fn half() -> f64 {
    0.5
}

impl SyncConfig {
    /// The demo's settings: `Collaboration/Joint Venture` with `/Joint Venture`, the default
    /// policies.
    pub fn demo() -> Self {
        SyncConfig {
            name: default_name(),
            cs_folder: "Collaboration/Joint Venture".into(),
            cs_root: None,
            dropbox_folder: "/Joint Venture".into(),
            conflict: ConflictPolicy::default(),
            deletion: DeletionPolicy::default(),
            max_delete_share: half(),
            force: false,
            pending: PendingMode::default(),
            review_folder: None,
            approval: None,
        }
    }

    /// Parses the settings from TOML (the field names above).
    pub fn from_toml(text: &str) -> Result<Self> {
        let c: SyncConfig =
            toml::from_str(text).map_err(|e| Error::Config(format!("version_sync: {e}")))?;
        if !(0.0..=1.0).contains(&c.max_delete_share) {
            return Err(Error::Config(format!(
                "version_sync: max_delete_share {} is not between 0 and 1",
                c.max_delete_share
            )));
        }
        c.review_path()?;
        Ok(c)
    }

    /// The review folder's path (`/`-separated, below `cs_root`), in review-folder mode; an
    /// error when it is inside the synced folder (its documents would be synced as records).
    pub fn review_path(&self) -> Result<Option<String>> {
        if self.pending != PendingMode::ReviewFolder {
            return Ok(None);
        }
        let trim = |p: &str| {
            p.split('/')
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join("/")
        };
        let synced = trim(&self.cs_folder);
        let review = match &self.review_folder {
            Some(f) => trim(f),
            None => format!("{synced} Review"),
        };
        let (s, r) = (
            crate::state::fold_path(&synced),
            crate::state::fold_path(&review),
        );
        if review.is_empty() || r == s || r.starts_with(&format!("{s}/")) {
            return Err(Error::Config(format!(
                "version_sync: the review folder {review:?} must be outside the synced folder {synced:?}"
            )));
        }
        Ok(Some(review))
    }

    /// Reads the settings from a TOML file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
        Self::from_toml(&text)
    }
}

/// Builds a [`SyncRunner`] from a [`SyncConfig`].
pub struct VersionSync {
    dropbox: dropbox_client::Client,
    cs: contentserver_client::Client,
    state: Arc<dyn Store>,
    config: SyncConfig,
    failpoint: Option<FailpointFn>,
    clock: Option<ClockFn>,
    progress: Option<ProgressFn>,
}

impl std::fmt::Debug for VersionSync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VersionSync")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl VersionSync {
    /// The flow with `config`.
    pub fn new(
        dropbox: dropbox_client::Client,
        cs: contentserver_client::Client,
        state: Arc<dyn Store>,
        config: SyncConfig,
    ) -> Self {
        VersionSync {
            dropbox,
            cs,
            state,
            config,
            failpoint: None,
            clock: None,
            progress: None,
        }
    }

    /// Stops runs at failpoints (crash-safety tests): [`Failpoint::BeforePending`] (before a
    /// CS write's intent is saved), `BeforeWrite`, `AfterWrite` (around every write on either
    /// side), `AfterRecord` (after the pair's record) and `AfterStep` (after a conflicted
    /// copy).
    pub fn failpoint(mut self, f: FailpointFn) -> Self {
        self.failpoint = Some(f);
        self
    }

    /// The time a conflicted copy is named with when the edit has none (tests).
    pub fn clock(mut self, now: ClockFn) -> Self {
        self.clock = Some(now);
        self
    }

    /// Receives a run's progress: [`Progress::Found`] as each pair (or new CS document) is
    /// taken up, [`Progress::Synced`] with what was done once it is decided.
    pub fn on_progress(mut self, f: ProgressFn) -> Self {
        self.progress = Some(f);
        self
    }

    /// Resolves the CS folder and builds the runner.
    pub async fn build(self) -> Result<SyncRunner> {
        let c = &self.config;
        let start = match c.cs_root {
            Some(id) => id,
            None => {
                self.cs
                    .nodes()
                    .enterprise_workspace()
                    .await
                    .map_err(|e| Error::cs(&c.cs_folder, Step::Locate, e))?
                    .id
            }
        };
        let parts: Vec<&str> = c.cs_folder.split('/').filter(|p| !p.is_empty()).collect();
        let root = if parts.is_empty() {
            start
        } else {
            self.cs
                .nodes()
                .resolve_path(start, &parts)
                .await
                .map_err(|e| Error::cs(&c.cs_folder, Step::Locate, e))?
                .ok_or_else(|| {
                    Error::Config(format!("version_sync: no CS folder {:?}", c.cs_folder))
                })?
                .id
        };
        let dropbox_root = format!("/{}", c.dropbox_folder.trim_matches('/'));
        let review_path = c.review_path()?;
        Ok(SyncRunner {
            engine: Engine {
                name: c.name.clone(),
                state: self.state,
                cs_source: CsSource::new(self.cs.clone(), root)
                    .full_walk(true)
                    .official_versions(true),
                db_source: DropboxSource::new(self.dropbox.clone(), &dropbox_root),
                dropbox_sink: DropboxSink::new(self.dropbox.clone(), Some(&dropbox_root)),
                cs_sink: CsSink::new(self.cs.clone()),
                cs: self.cs,
                cs_root: root,
                dropbox_root,
                conflict: c.conflict,
                deletion: c.deletion,
                max_delete_share: c.max_delete_share,
                force: c.force,
                review: review_path.map(|path| (start, path)),
                approval: c.approval.clone(),
                failpoint: self.failpoint,
                clock: self.clock.unwrap_or_else(|| Arc::new(chrono::Utc::now)),
                progress: self.progress,
            },
        })
    }
}

/// What the pass works with (one per built flow).
pub(crate) struct Engine {
    name: String,
    state: Arc<dyn Store>,
    cs_source: CsSource,
    db_source: DropboxSource,
    dropbox_sink: DropboxSink,
    cs_sink: CsSink,
    cs: contentserver_client::Client,
    cs_root: i64,
    dropbox_root: String,
    conflict: ConflictPolicy,
    deletion: DeletionPolicy,
    max_delete_share: f64,
    force: bool,
    /// Review-folder mode: the review folder's root node and path below it.
    review: Option<(i64, String)>,
    approval: Option<ApprovalConfig>,
    failpoint: Option<FailpointFn>,
    clock: ClockFn,
    progress: Option<ProgressFn>,
}

/// Both sides as listed at the start of a run.
pub(crate) struct Sides {
    /// CS documents by node id, in their official versions.
    cs: HashMap<i64, Document>,
    /// CS documents listed but not readable this run (never taken for deleted), with their
    /// reference and path.
    cs_unreadable: HashMap<i64, (DocRef, String)>,
    /// Dropbox files by id.
    db: HashMap<String, Document>,
    /// The Dropbox files of the pairs recorded at the start of the run.
    paired_files: HashSet<String>,
}

/// A run under way: its id and its report.
pub(crate) struct RunCtx {
    run: RunId,
    report: SyncReport,
    /// The report's entries when the pair being decided was taken up.
    mark: usize,
}

impl RunCtx {
    /// Adds an entry to the report and the audit trail.
    async fn entry(
        &mut self,
        engine: &Engine,
        rec: &DocRecord,
        action: SyncAction,
        detail: String,
    ) -> Result<()> {
        let pair = rec.path.clone().unwrap_or_default();
        tracing::info!(flow = %engine.name, pair = %pair, action = action.as_str(), "{detail}");
        if action != SyncAction::StillFlagged {
            engine
                .state
                .append_audit(&AuditEntry {
                    time: chrono::Utc::now(),
                    flow: engine.name.clone(),
                    source: rec.source.clone(),
                    source_hash: rec.hash.as_ref().map(ToString::to_string),
                    path: rec.path.clone(),
                    target: rec.target.clone(),
                    account: None,
                    action: action.as_str().replace(' ', "_"),
                    outcome: detail.clone(),
                    run: Some(self.run),
                })
                .await?;
        }
        self.report.entries.push(SyncEntry {
            pair,
            node: rec.source.node_id().unwrap_or_default(),
            action,
            detail,
        });
        Ok(())
    }
}

impl Engine {
    fn failpoint(&self, at: Failpoint) -> Result<()> {
        match &self.failpoint {
            Some(f) if f(at) => Err(Error::Stopped(format!("{at:?}"))),
            _ => Ok(()),
        }
    }

    /// Where the CS document at `cs_path` (relative) lives in Dropbox.
    fn dropbox_path(&self, cs_path: &str) -> String {
        format!("{}/{}", self.dropbox_root.trim_end_matches('/'), cs_path)
    }

    async fn sides(&self) -> Result<Sides> {
        let mut sides = Sides {
            cs: HashMap::new(),
            cs_unreadable: HashMap::new(),
            db: HashMap::new(),
            paired_files: HashSet::new(),
        };
        let mut items = self.cs_source.changes(None).await?;
        while let Some(item) = items.try_next().await? {
            match item.change {
                Change::Upsert(doc) => {
                    if let Some(n) = doc.source.node_id() {
                        sides.cs.insert(n, *doc);
                    }
                }
                Change::Unreadable { source, path, .. } => {
                    if let Some(n) = source.node_id() {
                        sides.cs_unreadable.insert(n, (source, path));
                    }
                }
                _ => {}
            }
        }
        let mut items = self.db_source.changes(None).await?;
        while let Some(item) = items.try_next().await? {
            if let Change::Upsert(doc) = item.change {
                sides.db.insert(doc.source.id.clone(), *doc);
            }
        }
        Ok(sides)
    }

    /// The pairs not removed.
    async fn live(&self) -> Result<Vec<DocRecord>> {
        let mut out = Vec::new();
        for status in DocStatus::ALL {
            if status != DocStatus::Removed {
                out.extend(self.state.records_by_status(&self.name, status).await?);
            }
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// Refuses the run when it would delete more than the allowed share of the pairs.
    fn guard(&self, live: &[DocRecord], sides: &Sides) -> Result<()> {
        // Only pairs made (with a Dropbox side): a record whose first write failed has none,
        // and counting it made a run after many failed first writes refuse every later run.
        let pairs: Vec<&DocRecord> = live.iter().filter(|r| r.target.is_some()).collect();
        if self.deletion != DeletionPolicy::Mirror || self.force || pairs.is_empty() {
            return Ok(());
        }
        let doomed = pairs
            .iter()
            .filter(|r| {
                let node = r.source.node_id().unwrap_or_default();
                let cs = sides.cs.contains_key(&node) || sides.cs_unreadable.contains_key(&node);
                let db = r
                    .target
                    .as_ref()
                    .is_some_and(|t| sides.db.contains_key(&t.id));
                cs != db
            })
            .count();
        let share = doomed as f64 / pairs.len() as f64;
        if share > self.max_delete_share {
            return Err(Error::Refused(format!(
                "{}: the run would delete {doomed} of {} pairs ({:.0}%), more than the {:.0}% allowed; nothing was changed (set `force` to run it)",
                self.name,
                pairs.len(),
                share * 100.0,
                self.max_delete_share * 100.0
            )));
        }
        Ok(())
    }

    async fn run_once(&self) -> Result<SyncReport> {
        let mut sides = self.sides().await?;
        let live = self.live().await?;
        self.guard(&live, &sides)?;
        sides.paired_files = live
            .iter()
            .filter_map(|r| r.target.as_ref().map(|t| t.id.clone()))
            .collect();
        let run = self.state.begin_run(&self.name).await?;
        let mut ctx = RunCtx {
            run,
            report: SyncReport {
                run,
                ..SyncReport::default()
            },
            mark: 0,
        };
        // A removed pair stays removed: its remaining side is not paired again.
        let mut paired: HashSet<i64> = live.iter().filter_map(|r| r.source.node_id()).collect();
        paired.extend(
            self.state
                .records_by_status(&self.name, DocStatus::Removed)
                .await?
                .iter()
                .filter_map(|r| r.source.node_id()),
        );
        for rec in live {
            let key = rec.clone();
            self.taken_up(&key, &mut ctx);
            let done = self.pair(rec, &sides, &mut ctx).await;
            self.settled(key, done, &mut ctx).await?;
        }
        let mut fresh: Vec<&Document> = sides
            .cs
            .iter()
            .filter(|(n, _)| !paired.contains(n))
            .map(|(_, d)| d)
            .collect();
        fresh.sort_by(|a, b| a.path.cmp(&b.path));
        for cs in fresh {
            let rec = DocRecord::new(
                self.name.clone(),
                cs.source.clone(),
                Some(cs.path.clone()),
                run,
            );
            let key = rec.clone();
            self.taken_up(&key, &mut ctx);
            let done = self.fresh(rec, cs, &sides, &mut ctx).await;
            self.settled(key, done, &mut ctx).await?;
        }
        // A CS document not paired yet that could not be read is a failure of this run (the
        // next one decides it again from its record); left out, it made a run that had not
        // sent it out report nothing wrong.
        let mut unread: Vec<(&i64, &(DocRef, String))> = sides
            .cs_unreadable
            .iter()
            .filter(|(n, _)| !paired.contains(n))
            .collect();
        unread.sort_by(|a, b| a.1 .1.cmp(&b.1 .1));
        for (node, (source, path)) in unread {
            let rec = DocRecord::new(self.name.clone(), source.clone(), Some(path.clone()), run);
            let e = Error::State(format!("CS node {node} could not be read"));
            self.taken_up(&rec, &mut ctx);
            self.settled(rec, Err(e), &mut ctx).await?;
        }
        let live = self.live().await?;
        let files: HashSet<String> = live
            .iter()
            .filter_map(|r| r.target.as_ref().map(|t| t.id.clone()))
            .collect();
        let mut unpaired: Vec<String> = sides
            .db
            .values()
            .filter(|f| !files.contains(&f.source.id))
            .map(|f| f.path.clone())
            .collect();
        unpaired.sort();
        ctx.report.unpaired_dropbox = unpaired;
        ctx.report.pairs = live.len();
        let mut counts = crate::state::RunCounts::new();
        for e in &ctx.report.entries {
            *counts
                .entry(e.action.as_str().replace(' ', "_"))
                .or_insert(0) += 1;
        }
        counts.insert("unchanged".into(), ctx.report.unchanged as u64);
        let json = serde_json::to_value(&ctx.report).unwrap_or_default();
        self.state.finish_run(run, &counts, &json).await?;
        Ok(ctx.report)
    }

    /// A pair's failure is recorded (`failed`, with the error) and reported; the next run
    /// decides it again from both sides. A stop at a failpoint ends the run.
    async fn settled(&self, key: DocRecord, done: Result<()>, ctx: &mut RunCtx) -> Result<()> {
        let e = match done {
            Ok(()) => {
                self.synced(&key, ctx);
                return Ok(());
            }
            Err(e @ Error::Stopped(_)) => return Err(e),
            Err(e) => e,
        };
        let mut rec = self
            .state
            .record(&self.name, &key.key())
            .await?
            .unwrap_or(key);
        tracing::warn!(flow = %self.name, pair = ?rec.path, error = %e, "pair failed; left for the next run");
        rec.status = DocStatus::Failed;
        rec.attempts += 1;
        rec.last_error = Some(e.to_string());
        rec.run = ctx.run;
        self.state.save_record(&rec, None).await?;
        ctx.entry(self, &rec, SyncAction::Failed, e.to_string())
            .await?;
        self.synced(&rec, ctx);
        Ok(())
    }

    /// A pair (or a new CS document) is taken up: [`Progress::Found`].
    fn taken_up(&self, rec: &DocRecord, ctx: &mut RunCtx) {
        ctx.mark = ctx.report.entries.len();
        if let Some(f) = &self.progress {
            f(&Progress::Found {
                source: rec.source.clone(),
                path: rec.path.clone().unwrap_or_default(),
                size: rec.size.unwrap_or(0),
            });
        }
    }

    /// It is decided: [`Progress::Synced`] with the last report entry made for it since.
    fn synced(&self, rec: &DocRecord, ctx: &RunCtx) {
        if let Some(f) = &self.progress {
            let action = ctx.report.entries[ctx.mark.min(ctx.report.entries.len())..]
                .last()
                .map_or("unchanged", |e| e.action.as_str());
            f(&Progress::Synced {
                source: rec.source.clone(),
                path: rec.path.clone().unwrap_or_default(),
                action: action.to_owned(),
            });
        }
    }
}

/// The pair of a CS document not paired yet (or whose first write failed).
impl Engine {
    async fn fresh(
        &self,
        mut rec: DocRecord,
        cs: &Document,
        sides: &Sides,
        ctx: &mut RunCtx,
    ) -> Result<()> {
        rec.path = Some(cs.path.clone());
        rec.path_lower = Some(crate::state::fold_path(&cs.path));
        let want = crate::state::fold_path(&self.dropbox_path(&cs.path));
        let there = sides.db.values().find(|f| {
            !sides.paired_files.contains(&f.source.id)
                && f.context.full_path.as_deref().map(crate::state::fold_path) == Some(want.clone())
        });
        match there {
            Some(db) => {
                rec.target = Some(db.source.clone());
                rec.location = db.context.full_path.clone();
                rec.hash = None;
                self.content(rec, cs, db, ctx).await
            }
            None => {
                let path = self.publish(&mut rec, cs, sides, ctx.run).await?;
                ctx.entry(
                    self,
                    &rec,
                    SyncAction::Published,
                    format!("CS version {} → {path}", pair::ver(&cs.source)),
                )
                .await
            }
        }
    }
}

/// The built `version_sync` flow.
pub struct SyncRunner {
    engine: Engine,
}

impl std::fmt::Debug for SyncRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncRunner")
            .field("name", &self.engine.name)
            .field("dropbox_root", &self.engine.dropbox_root)
            .finish_non_exhaustive()
    }
}

impl SyncRunner {
    /// The flow's name (its records' key).
    pub fn name(&self) -> &str {
        &self.engine.name
    }

    /// One run: lists both sides, checks the mass-deletion guard, then decides every pair and
    /// every CS document not paired yet.
    pub async fn run_once(&self) -> Result<SyncReport> {
        self.engine.run_once().await
    }

    /// The pair of CS node `node` (its record), if any.
    pub async fn pair(&self, node: i64) -> Result<Option<DocRecord>> {
        self.engine
            .state
            .record(&self.engine.name, &DocRef::cs(node, 0).key())
            .await
    }

    /// The Dropbox edit waiting in CS node `node`, if any.
    pub async fn pending(&self, node: i64) -> Result<Option<PendingEdit>> {
        Ok(self.pair(node).await?.and_then(|r| pair::extra(&r).pending))
    }

    async fn pending_or_err(&self, node: i64) -> Result<(DocRecord, PendingEdit)> {
        let rec = self
            .pair(node)
            .await?
            .ok_or_else(|| Error::Config(format!("node {node} is not paired")))?;
        let p = pair::extra(&rec)
            .pending
            .ok_or_else(|| Error::Config(format!("node {node} has no pending Dropbox edit")))?;
        Ok((rec, p))
    }

    /// Accepts the pending Dropbox edit of `node` by hand (also when an approval step is
    /// configured): its minor version is promoted to a major one, or (review-folder mode)
    /// the review document's content is added as a new major version. The next run finds both
    /// sides equal, records it as accepted and removes the review document. A person can do
    /// the same in CS.
    pub async fn accept(&self, node: i64) -> Result<()> {
        let (rec, p) = self.pending_or_err(node).await?;
        self.engine.make_official(node, &rec, &p, "by hand").await
    }

    /// Rejects the pending Dropbox edit of `node` by hand. Minor-version mode: the last
    /// official version's content is added again as a new major version. Review-folder mode:
    /// the review document is removed. Either way the next run keeps the edit in Dropbox as a
    /// conflicted copy and puts the official version back in the file.
    pub async fn reject(&self, node: i64) -> Result<()> {
        let (rec, p) = self.pending_or_err(node).await?;
        if let Some(review) = p.review {
            return self.engine.remove_review(review, &rec).await;
        }
        let what = rec.path.clone().unwrap_or_default();
        let official = pair::ver(&rec.source);
        let description = format!(
            "Dropbox edit (rev {}) rejected: version {official} put back",
            p.rev
        );
        self.engine
            .add_major_from(node, node, official, description, &what)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_loads_from_toml_with_defaults() {
        let c = SyncConfig::from_toml(
            r#"
            cs_folder = "Collaboration/Joint Venture"
            dropbox_folder = "/Joint Venture"
            conflict = "flag_only"
            deletion = "restore"
            "#,
        )
        .unwrap();
        assert_eq!(c.name, "version_sync");
        assert_eq!(c.conflict, ConflictPolicy::FlagOnly);
        assert_eq!(c.deletion, DeletionPolicy::Restore);
        assert_eq!(c.max_delete_share, 0.5);
        assert!(!c.force);
        let d = SyncConfig::from_toml("cs_folder = \"a\"\ndropbox_folder = \"/a\"").unwrap();
        assert_eq!(d.conflict, ConflictPolicy::KeepBoth);
        assert_eq!(d.deletion, DeletionPolicy::Mirror);
        assert!(SyncConfig::from_toml(
            "cs_folder = \"a\"\ndropbox_folder = \"/a\"\nconflict = \"newest\""
        )
        .is_err());
        assert!(SyncConfig::from_toml(
            "cs_folder = \"a\"\ndropbox_folder = \"/a\"\nmax_delete_share = 2.0"
        )
        .is_err());
        assert_eq!(d.pending, PendingMode::MinorVersion);
        assert_eq!(d.review_path().unwrap(), None);
        assert!(d.approval.is_none());
    }

    #[test]
    fn the_review_folder_and_approval_load_and_the_folder_must_be_outside() {
        let c = SyncConfig::from_toml(
            r#"
            cs_folder = "Collaboration/Joint Venture"
            dropbox_folder = "/Joint Venture"
            pending = "review_folder"
            review_folder = "/Collaboration/Joint Venture Review/"
            approval = { map = "Policy Approval" }
            "#,
        )
        .unwrap();
        assert_eq!(c.pending, PendingMode::ReviewFolder);
        assert_eq!(
            c.review_path().unwrap().as_deref(),
            Some("Collaboration/Joint Venture Review")
        );
        let a = c.approval.unwrap();
        assert_eq!(a.map, "Policy Approval");
        assert_eq!(a.title, "Review the Dropbox edit of {name}");
        let base = "cs_folder = \"Collaboration/Joint Venture\"\ndropbox_folder = \"/a\"\npending = \"review_folder\"";
        let d = SyncConfig::from_toml(base).unwrap();
        assert_eq!(
            d.review_path().unwrap().as_deref(),
            Some("Collaboration/Joint Venture Review")
        );
        for inside in [
            "Collaboration/Joint Venture",
            "collaboration/joint venture/Review",
        ] {
            let t = format!("{base}\nreview_folder = \"{inside}\"");
            assert!(SyncConfig::from_toml(&t).is_err(), "{inside}");
        }
        assert!(SyncConfig::from_toml(&format!("{base}\npending = \"folder\"")).is_err());
        assert!(SyncConfig::from_toml(&format!("{base}\napproval = {{ maps = \"x\" }}")).is_err());
    }
}
