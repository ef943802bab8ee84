//! Use case 8: chosen team folders backed up into Content Server, on a schedule or once per
//! invocation, and restored from any run ([`super::backup_restore`]).
//!
//! **What.** The team space (or chosen folders of it) and members' folders (or chosen folders
//! of them), members found with `team/members/list_v2` and read through the team headers
//! (`Dropbox-API-Select-User`/`-Select-Admin`, and `Dropbox-API-Path-Root` for the team
//! space). Each (space, folder) is a *root*: a runner flow of its own
//! ([`BackupRoot::flow`]) with its own Dropbox cursor as checkpoint, so the first run is full
//! and every later one lists only what changed in that member's or namespace's folder.
//!
//! **How.** Each file goes to `{target}/Team space/…` or `{target}/Members/{email}/…` in CS,
//! its folders kept. A changed file becomes a new version of its CS document; a file renamed
//! or moved keeps its CS document, which is moved to match ([`RenamePolicy::MoveTarget`]); a
//! deleted file (or everything under a deleted folder) is recorded `removed` by the run that
//! saw it go, and its CS document stays ([`RemovalPolicy::RecordOnly`]). Every version listed
//! is catalogued (its path and content hash, [`super::backup_catalogue`]), so a restore can
//! rebuild any run's tree.
//!
//! **Runs.** A backup run has an id of its own ([`BackupRun::id`], from the store's runs),
//! under which each root's runner run is recorded ([`RootRun::run`]). Each root's run is a job
//! (`run-{id}`): the documents it listed are its members, and its finaliser (begun once when
//! the barrier is ready) records the root's counts. A run that fails, or leaves a document
//! failed, raises [`Alert::Failed`]; a run that finds nothing to do while nothing changed for
//! longer than [`BackupConfig::alert_idle_after_secs`] raises [`Alert::Idle`]. Alerts go to the
//! hook ([`Backup::on_alert`]) and give the exit status for cron ([`BackupRun::exit_code`]).
//!
//! ```no_run
//! # async fn demo(team: dropbox_client::Client, cs: contentserver_client::Client) -> ecm_bridge::Result<()> {
//! use std::sync::Arc;
//! use ecm_bridge::flows::backup::{Backup, BackupConfig};
//! use ecm_bridge::state::SqliteStore;
//!
//! let config = BackupConfig::from_toml(r#"
//!     team_space = true
//!     members = ["dana@example.com", "olu@example.org"]
//!     target = "Backup"
//!     alert_idle_after_secs = 172800
//! "#)?;
//! let backup = Backup::new(team, cs, Arc::new(SqliteStore::open("backup.db")?), config);
//! let run = backup.run().await?;
//! println!("{}", run.summary());
//! std::process::exit(run.exit_code());
//! # }
//! ```

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use dropbox_client::models::common::PathRoot;
use dropbox_client::models::team::MembersListArg;
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};

use super::backup_catalogue::Catalogued;
use crate::connectors::contentserver::CsSink;
use crate::connectors::dropbox::DropboxSource;
use crate::error::{Error, Result, Step};
use crate::job::{JobSource, JobSteps};
use crate::model::{Checkpoint, Document, Location};
use crate::runner::{ClockFn, FailpointFn, Flow, ProgressFn, RetryPolicy};
use crate::sink::{RemovalPolicy, RenamePolicy};
use crate::state::{CasOutcome, RunId, Store};
use crate::transform::Outcome;

/// The space name of the team space in [`BackupRoot::space`] (members' spaces are named by
/// their e-mail address).
pub const TEAM_SPACE: &str = "team";

/// The partition checkpoint (of the flow [`BackupConfig::name`]) holding when a run last
/// found something to do (RFC 3339).
const LAST_CHANGE: &str = "last_change";

/// A backup's settings, as a TOML file can say them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupConfig {
    /// The backup's name in the store (default `backup`); its roots' flows are named after it.
    #[serde(default = "default_name")]
    pub name: String,
    /// Back up the team space.
    #[serde(default)]
    pub team_space: bool,
    /// Folders of the team space to back up (default: all of it).
    #[serde(default)]
    pub team_folders: Vec<String>,
    /// The members whose folders are backed up, by e-mail address; `"*"` is every member.
    #[serde(default)]
    pub members: Vec<String>,
    /// Folders of each member's folder to back up (default: all of it).
    #[serde(default)]
    pub member_folders: Vec<String>,
    /// The member (e-mail) through whom the team space is read (default: the first team admin
    /// who sees it).
    #[serde(default)]
    pub team_space_as: Option<String>,
    /// The CS folder path (`/`-separated, created as needed) the backup goes into, under
    /// `target_parent` (default: the Enterprise Workspace).
    #[serde(default = "default_target")]
    pub target: String,
    /// The node `target` starts at.
    #[serde(default)]
    pub target_parent: Option<i64>,
    /// Files written at once (default 4).
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Read every written version back and compare its hash.
    #[serde(default)]
    pub read_back: bool,
    /// Seconds between runs for [`Backup::run_every`] (used by callers; default 3600).
    #[serde(default = "default_every")]
    pub every_secs: u64,
    /// Alert when a run finds nothing to do and nothing changed for longer than this many
    /// seconds (default: never).
    #[serde(default)]
    pub alert_idle_after_secs: Option<u64>,
}

fn default_name() -> String {
    "backup".into()
}

fn default_target() -> String {
    "Backup".into()
}

fn default_concurrency() -> usize {
    4
}

fn default_every() -> u64 {
    3600
}

/// `""` for a whole space, else `/a/b`.
pub(super) fn folder_path(folder: &str) -> String {
    let t = folder.trim_matches('/');
    if t.is_empty() {
        String::new()
    } else {
        format!("/{t}")
    }
}

impl BackupConfig {
    /// Parses a TOML text.
    pub fn from_toml(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| Error::Config(format!("backup config: {}", e.message())))
    }

    /// Reads a TOML file.
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        Self::from_toml(&text)
    }

    /// The interval of scheduled runs.
    pub fn every(&self) -> Duration {
        Duration::from_secs(self.every_secs)
    }

    fn check(&self) -> Result<()> {
        if !self.team_space && self.members.is_empty() {
            return Err(Error::Config(
                "backup: nothing to back up (set team_space = true or members)".into(),
            ));
        }
        if self.concurrency == 0 {
            return Err(Error::Config(
                "backup: concurrency must be at least 1".into(),
            ));
        }
        if self.name.is_empty() || self.name.contains(':') {
            return Err(Error::Config(format!(
                "backup: name {:?} must be non-empty without ':'",
                self.name
            )));
        }
        Ok(())
    }

    fn folders(list: &[String]) -> Vec<String> {
        if list.is_empty() {
            vec![String::new()]
        } else {
            list.iter().map(|f| folder_path(f)).collect()
        }
    }
}

/// One backed-up folder: a space (the team space or a member's folder) and a folder in it.
#[derive(Clone)]
pub struct BackupRoot {
    /// [`TEAM_SPACE`] or the member's e-mail address.
    pub space: String,
    /// The folder in the space (`""`: all of it; else `/a/b`).
    pub folder: String,
    /// The runner flow's name: `{name}:{space}{folder}`, lower-cased folder.
    pub flow: String,
    /// The CS folder path (under the backup's target) this root's files go into.
    pub cs_path: String,
    /// The Dropbox client acting in the space (team headers set).
    pub(super) client: dropbox_client::Client,
}

impl std::fmt::Debug for BackupRoot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackupRoot")
            .field("space", &self.space)
            .field("folder", &self.folder)
            .field("flow", &self.flow)
            .finish_non_exhaustive()
    }
}

/// What a run raised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Alert {
    /// A root's run failed, or left documents failed: one line each.
    Failed {
        /// The backup run.
        run: RunId,
        /// What failed.
        what: Vec<String>,
    },
    /// Nothing to do, and nothing changed since `since`, longer than the configured time.
    Idle {
        /// The backup run.
        run: RunId,
        /// When a run last found something to do.
        since: DateTime<Utc>,
    },
}

/// Receives each alert of each run.
pub type AlertFn = Arc<dyn Fn(&Alert) + Send + Sync>;

/// One root's part of a backup run, as the run's record keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootRun {
    /// The root's space.
    pub space: String,
    /// The root's folder.
    pub folder: String,
    /// The root's flow.
    pub flow: String,
    /// The runner's run of the root in this backup run (`None`: it did not begin).
    pub run: Option<RunId>,
    /// Versions written (new documents and new versions).
    pub written: u64,
    /// Renamed or moved (CS document moved to match).
    pub moved: u64,
    /// Recorded as deleted.
    pub removed: u64,
    /// Unchanged.
    pub unchanged: u64,
    /// Failed (left for the next run).
    pub failed: Vec<String>,
    /// The error that stopped the root's run.
    pub error: Option<String>,
    /// Whether every document the run listed is settled (the job's barrier).
    pub complete: bool,
}

impl RootRun {
    /// Whether the run found anything to do.
    pub fn changed(&self) -> bool {
        self.written + self.moved + self.removed > 0 || !self.failed.is_empty()
    }
}

/// What one backup run did.
#[derive(Debug, Clone)]
pub struct BackupRun {
    /// The backup run's id (restore by it).
    pub id: RunId,
    /// Each root's part.
    pub roots: Vec<RootRun>,
    /// What the run raised.
    pub alerts: Vec<Alert>,
}

impl BackupRun {
    /// The exit status for cron: 0 fine, 1 a failure, 2 idle for too long.
    pub fn exit_code(&self) -> i32 {
        if self
            .alerts
            .iter()
            .any(|a| matches!(a, Alert::Failed { .. }))
        {
            1
        } else if self.alerts.is_empty() {
            0
        } else {
            2
        }
    }

    /// Totals over the roots: (written, moved, removed, unchanged, failed).
    pub fn totals(&self) -> (u64, u64, u64, u64, u64) {
        self.roots.iter().fold((0, 0, 0, 0, 0), |t, r| {
            (
                t.0 + r.written,
                t.1 + r.moved,
                t.2 + r.removed,
                t.3 + r.unchanged,
                t.4 + r.failed.len() as u64,
            )
        })
    }

    /// One paragraph for people.
    pub fn summary(&self) -> String {
        let (w, m, r, u, f) = self.totals();
        let mut s = format!(
            "backup run {}: {} root(s); {w} written, {m} moved, {r} recorded deleted, {u} unchanged, {f} failed",
            self.id,
            self.roots.len()
        );
        for a in &self.alerts {
            match a {
                Alert::Failed { what, .. } => {
                    s.push_str(&format!("\n  ALERT failed:\n    {}", what.join("\n    ")))
                }
                Alert::Idle { since, .. } => {
                    s.push_str(&format!("\n  ALERT idle: nothing changed since {since}"))
                }
            }
        }
        s
    }
}

/// Runs backups (and restores, [`Backup::restore`]).
pub struct Backup {
    pub(super) team: dropbox_client::Client,
    pub(super) cs: contentserver_client::Client,
    pub(super) state: Arc<dyn Store>,
    pub(super) config: BackupConfig,
    retry: RetryPolicy,
    progress: Option<ProgressFn>,
    failpoint: Option<FailpointFn>,
    clock: ClockFn,
    alert: Option<AlertFn>,
}

impl std::fmt::Debug for Backup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backup")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Backup {
    /// A backup under `config`; `team` is a client with a team token (no select header).
    pub fn new(
        team: dropbox_client::Client,
        cs: contentserver_client::Client,
        state: Arc<dyn Store>,
        config: BackupConfig,
    ) -> Self {
        Backup {
            team,
            cs,
            state,
            config,
            retry: RetryPolicy::default(),
            progress: None,
            failpoint: None,
            clock: Arc::new(Utc::now),
            alert: None,
        }
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

    /// Receives every alert ([`Alert`]) as its run ends.
    pub fn on_alert(mut self, f: AlertFn) -> Self {
        self.alert = Some(f);
        self
    }

    /// Stops the runner at failpoints (crash tests).
    pub fn failpoint(mut self, f: FailpointFn) -> Self {
        self.failpoint = Some(f);
        self
    }

    /// The clock idle alerts are decided by (default the system's).
    pub fn clock(mut self, f: ClockFn) -> Self {
        self.clock = f;
        self
    }

    /// The store.
    pub fn state(&self) -> &Arc<dyn Store> {
        &self.state
    }

    /// The settings.
    pub fn config(&self) -> &BackupConfig {
        &self.config
    }

    /// The roots of the configured spaces and folders: members listed with
    /// `team/members/list_v2` (one pass), each read as itself, the team space through a
    /// member who sees it with its namespace as path root.
    pub async fn roots(&self) -> Result<Vec<BackupRoot>> {
        let c = &self.config;
        let members: Vec<_> = self
            .team
            .team()
            .members_list(MembersListArg::default())
            .into_stream()
            .try_collect()
            .await
            .map_err(|e| Error::dropbox("team members", Step::List, e))?;
        let all = c.members.iter().any(|m| m == "*");
        let mut roots = Vec::new();
        let name = &c.name;
        let target = c.target.trim_matches('/');
        if c.team_space {
            let by = members
                .iter()
                .filter(|m| m.profile.root_folder_id != m.profile.member_folder_id)
                .find(|m| match &c.team_space_as {
                    Some(e) => m.profile.email.eq_ignore_ascii_case(e),
                    None => m.roles.as_ref().is_some_and(|r| !r.is_empty()),
                })
                .ok_or_else(|| {
                    Error::Config(
                        "backup: no team member to read the team space through (team_space_as)"
                            .into(),
                    )
                })?;
            let p = &by.profile;
            let client = if by.roles.as_ref().is_some_and(|r| !r.is_empty()) {
                self.team.as_admin(&p.team_member_id)
            } else {
                self.team.as_user(&p.team_member_id)
            }
            .with_path_root(PathRoot::NamespaceId(p.root_folder_id.clone()));
            for folder in BackupConfig::folders(&c.team_folders) {
                roots.push(BackupRoot {
                    space: TEAM_SPACE.into(),
                    flow: format!("{name}:{TEAM_SPACE}{}", folder.to_lowercase()),
                    cs_path: format!("{target}/Team space{folder}"),
                    folder,
                    client: client.clone(),
                });
            }
        }
        for email in c.members.iter().filter(|m| *m != "*") {
            if !members
                .iter()
                .any(|m| m.profile.email.eq_ignore_ascii_case(email))
            {
                return Err(Error::Config(format!(
                    "backup: {email} is not a member of the team"
                )));
            }
        }
        for m in &members {
            let p = &m.profile;
            if !all && !c.members.iter().any(|e| e.eq_ignore_ascii_case(&p.email)) {
                continue;
            }
            let email = p.email.to_lowercase();
            let client = self.team.as_user(&p.team_member_id);
            for folder in BackupConfig::folders(&c.member_folders) {
                roots.push(BackupRoot {
                    space: email.clone(),
                    flow: format!("{name}:{email}{}", folder.to_lowercase()),
                    cs_path: format!("{target}/Members/{email}{folder}"),
                    folder,
                    client: client.clone(),
                });
            }
        }
        Ok(roots)
    }

    /// One backup run over every root (one after the other, each with the configured
    /// concurrency). Errors only when the store fails or a failpoint stops it; a root that
    /// fails is in [`RootRun::error`] and raises [`Alert::Failed`].
    pub async fn run(&self) -> Result<BackupRun> {
        self.config.check()?;
        let id = self.state.begin_run(&self.config.name).await?;
        let (roots, mut alerts) = match self.roots().await {
            Ok(roots) => (roots, Vec::new()),
            Err(e) => (
                Vec::new(),
                vec![Alert::Failed {
                    run: id,
                    what: vec![e.chain()],
                }],
            ),
        };
        let mut done = Vec::new();
        for root in &roots {
            done.push(self.run_root(root, id).await?);
        }
        let failed: Vec<String> = done
            .iter()
            .flat_map(|r| {
                let at = format!("{}{}", r.space, r.folder);
                r.error
                    .iter()
                    .map(move |e| format!("{at}: {e}"))
                    .chain(r.failed.clone())
            })
            .collect();
        if !failed.is_empty() {
            alerts.push(Alert::Failed {
                run: id,
                what: failed,
            });
        }
        if alerts.is_empty() {
            if let Some(idle) = self.idle(id, done.iter().any(RootRun::changed)).await? {
                alerts.push(idle);
            }
        }
        let run = BackupRun {
            id,
            roots: done,
            alerts,
        };
        let (w, m, r, u, f) = run.totals();
        let counts = [
            ("written", w),
            ("moved", m),
            ("removed", r),
            ("unchanged", u),
            ("failed", f),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let report = serde_json::json!({ "roots": run.roots, "alerts": run.alerts });
        self.state.finish_run(id, &counts, &report).await?;
        if let Some(hook) = &self.alert {
            for a in &run.alerts {
                hook(a);
            }
        }
        for a in &run.alerts {
            tracing::warn!(backup = %self.config.name, run = id, alert = ?a, "backup alert");
        }
        tracing::info!(backup = %self.config.name, "{}", run.summary());
        Ok(run)
    }

    /// Runs every `interval` until `stop` completes (checked between runs; a run in progress
    /// finishes). A run that errors (the store) is raised as [`Alert::Failed`] through the
    /// hook and the schedule goes on; a failpoint stop ends it. Returns the runs made.
    pub async fn run_every(
        &self,
        interval: Duration,
        stop: impl std::future::Future<Output = ()>,
    ) -> Result<Vec<BackupRun>> {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        futures::pin_mut!(stop);
        let mut runs = Vec::new();
        loop {
            tokio::select! {
                // A stop that came during a run ends the schedule before another tick.
                biased;
                _ = &mut stop => return Ok(runs),
                _ = ticker.tick() => {}
            }
            match self.run().await {
                Ok(r) => runs.push(r),
                Err(e @ Error::Stopped(_)) => return Err(e),
                Err(e) => {
                    let a = Alert::Failed {
                        run: 0,
                        what: vec![e.chain()],
                    };
                    tracing::error!(backup = %self.config.name, error = %e.chain(), "backup run fails");
                    if let Some(hook) = &self.alert {
                        hook(&a);
                    }
                }
            }
        }
    }

    /// One root's run: the runner's run of its flow, then its job's barrier and finaliser.
    async fn run_root(&self, root: &BackupRoot, id: RunId) -> Result<RootRun> {
        let job = format!("run-{id}");
        let mut out = RootRun {
            space: root.space.clone(),
            folder: root.folder.clone(),
            flow: root.flow.clone(),
            run: None,
            written: 0,
            moved: 0,
            removed: 0,
            unchanged: 0,
            failed: Vec::new(),
            error: None,
            complete: false,
        };
        let report = match self.flow(root, &job)?.run_once().await {
            Ok(r) => r,
            Err(e @ Error::Stopped(_)) => return Err(e),
            Err(e) => {
                out.error = Some(e.chain());
                out.run = self
                    .state
                    .runs(&root.flow)
                    .await?
                    .last()
                    .map(|r| r.id)
                    .filter(|r| *r > id);
                return Ok(out);
            }
        };
        out.run = report.run;
        out.written = report.written.len() as u64;
        out.moved = report.moved.len() as u64;
        out.removed = report.removed.len() as u64;
        out.unchanged = report.unchanged;
        out.failed = report
            .failed
            .iter()
            .map(|f| {
                let path = f.path.clone().unwrap_or_else(|| f.source.to_string());
                format!("{}{}/{path}: {}", root.space, root.folder, f.error)
            })
            .collect();
        let steps = JobSteps::new(self.state.clone(), root.flow.clone(), job);
        out.complete = steps.barrier().await?.ready();
        if out.complete && steps.begin().await?.is_none() {
            steps
                .finish(&serde_json::to_value(&out).unwrap_or_default())
                .await?;
        }
        Ok(out)
    }

    /// [`Alert::Idle`] when nothing was found and the last change is older than allowed;
    /// records the time of this run when it found something (or when it is the first).
    async fn idle(&self, run: RunId, changed: bool) -> Result<Option<Alert>> {
        let now = (self.clock)();
        let name = &self.config.name;
        let last = self.state.partition_checkpoint(name, LAST_CHANGE).await?;
        if changed || last.is_none() {
            let cp = Checkpoint(now.to_rfc3339());
            match self
                .state
                .swap_checkpoint(name, LAST_CHANGE, last.map(|l| l.version), &cp)
                .await?
            {
                // A run at the same time recorded its change: the same answer.
                CasOutcome::Stored(_) | CasOutcome::Stale(_) => return Ok(None),
            }
        }
        let (Some(limit), Some(last)) = (self.config.alert_idle_after_secs, last) else {
            return Ok(None);
        };
        let since = DateTime::parse_from_rfc3339(&last.checkpoint.0)
            .map_err(|e| Error::State(format!("{name}: {LAST_CHANGE}: {e}")))?
            .with_timezone(&Utc);
        let idle = now.signed_duration_since(since);
        Ok((idle > chrono::Duration::seconds(limit as i64)).then_some(Alert::Idle { run, since }))
    }

    /// The runner's flow of one root, its listing a member of `job`.
    fn flow(&self, root: &BackupRoot, job: &str) -> Result<Flow> {
        let c = &self.config;
        let source = JobSource::new(
            Catalogued::new(
                DropboxSource::new(root.client.clone(), &root.folder)
                    .with_tags(false)
                    .team(root.space.clone()),
                self.state.clone(),
                root.flow.clone(),
            ),
            self.state.clone(),
            root.flow.clone(),
            job,
        );
        let (parent, base) = (c.target_parent, root.cs_path.clone());
        let place = move |mut doc: Document| -> Result<Outcome> {
            let folder = doc.folder();
            let path = if folder.is_empty() {
                base.clone()
            } else {
                format!("{base}/{folder}")
            };
            doc.governance.target = Some(Location::CsFolder { root: parent, path });
            Ok(Outcome::Pass(doc))
        };
        let mut b = Flow::builder(root.flow.clone())
            .source(source)
            .state(self.state.clone())
            .transform(place)
            .sink(CsSink::new(self.cs.clone()).read_back(c.read_back))
            .concurrency(c.concurrency)
            .retry(self.retry.clone())
            .rename(RenamePolicy::MoveTarget)
            .removal(RemovalPolicy::RecordOnly);
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
        let c = BackupConfig::from_toml(
            "team_space = true\nteam_folders = [\"Legal/\"]\nmembers = [\"*\"]\n",
        )
        .unwrap();
        assert_eq!(c.name, "backup");
        assert_eq!(c.target, "Backup");
        assert_eq!(c.concurrency, 4);
        assert_eq!(c.every(), Duration::from_secs(3600));
        assert_eq!(BackupConfig::folders(&c.team_folders), vec!["/Legal"]);
        assert_eq!(BackupConfig::folders(&c.member_folders), vec![""]);
        c.check().unwrap();
        let none = BackupConfig::from_toml("target = \"B\"\n").unwrap();
        assert!(none.check().unwrap_err().to_string().contains("nothing"));
        assert!(BackupConfig::from_toml("colour = 1\n").is_err());
        let bad = BackupConfig::from_toml("name = \"a:b\"\nteam_space = true\n").unwrap();
        assert!(bad.check().is_err());
    }

    #[test]
    fn exit_codes_say_failed_before_idle() {
        let mut run = BackupRun {
            id: 3,
            roots: Vec::new(),
            alerts: Vec::new(),
        };
        assert_eq!(run.exit_code(), 0);
        run.alerts.push(Alert::Idle {
            run: 3,
            since: Utc::now(),
        });
        assert_eq!(run.exit_code(), 2);
        run.alerts.push(Alert::Failed {
            run: 3,
            what: vec!["x".into()],
        });
        assert_eq!(run.exit_code(), 1);
    }
}
