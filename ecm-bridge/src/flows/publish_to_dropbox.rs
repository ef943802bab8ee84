//! Use case 2: selected Content Server documents are published to Dropbox for outside
//! collaborators, and withdrawn when they stop being selected.
//!
//! **Selection** ([`PublishConfig`]): the documents below a CS folder, narrowed by a category
//! value (`Publication.External = yes` in the demo) and/or a search (an LQL query run inside
//! the folder at each run start; the query is stored in the configuration, since the CS REST
//! API our references describe has no call that runs a saved search node). A document on
//! hold, or filed under an RM classification the configuration names, is never shared. The
//! latest approved version is published: the newest major version of a document under
//! advanced versioning ([`PublishConfig::approved_only`]).
//!
//! **Where they go**: into a Dropbox folder (by default mirroring the CS sub-folders),
//! optionally shared with outside members with a role and the folder's policies
//! ([`FolderShare`]), and/or with one shared link per file ([`LinkSettings`]: expiry,
//! password, view only). An existing link is updated (`shared_link_already_exists`), never
//! duplicated. A new CS version replaces the Dropbox copy by the rev the flow wrote (update
//! mode: a file changed in Dropbox since is a conflict, not overwritten).
//!
//! **Withdrawal**: CS has no change feed that tells a document left the selection, so every
//! run ends with a pass over the flow's published records ([`Publisher::run_once`]): each is
//! judged again against the selection (deleted, moved out of the folder, its value changed,
//! put on hold or under a forbidden classification); a withdrawn document's links are
//! revoked, its Dropbox copy deleted (only at the rev the flow wrote), and its record ends
//! `removed` with an audit entry `withdraw`. This pass lives in the flow because the runner
//! removes only what a source reports `Deleted` (by path), and a CS walk reports no deletion
//! and no change of a value or a hold; the copy is removed through `Sink::remove`.
//!
//! **The record in CS**: after each version is published, the `Publication` category of the
//! CS document gets `Published To` (the Dropbox path and link), `Published On` and `Published
//! Version` (the step `cs_record`).
//!
//! ```no_run
//! # async fn demo(dropbox: dropbox_client::Client, cs: contentserver_client::Client) -> ecm_bridge::Result<()> {
//! use std::sync::Arc;
//! use ecm_bridge::flows::publish_to_dropbox::{PublishConfig, PublishToDropbox};
//! use ecm_bridge::state::SqliteStore;
//!
//! let config = PublishConfig::from_toml(r#"
//!     cs_folder = "Published/Outside Counsel"
//!     dropbox_folder = "/Shared/Outside Counsel"
//!     select = { category = "Publication", attribute = "External", value = "yes" }
//!     link = { expires_after_days = 30, allow_download = false }
//! "#)?;
//! let publisher = PublishToDropbox::new(dropbox, cs, Arc::new(SqliteStore::open("bridge.db")?), config)
//!     .build()
//!     .await?;
//! let report = publisher.run_once().await?;
//! println!("{}", report.summary());
//! # Ok(()) }
//! ```

mod selection;
mod withdraw;

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use crate::connectors::contentserver::CsSource;
use crate::connectors::dropbox::{DropboxSink, FolderShare, LinkSettings, Role, SharedLinkStep};
use crate::error::{Error, Result};
use crate::runner::{ClockFn, FailpointFn, Flow, ProgressFn, Report, RetryPolicy};
use crate::state::{DocStatus, Store};

pub use selection::{CategoryValue, Verdict};
pub use withdraw::{WithdrawFailed, Withdrawn};

use selection::{CsRecordStep, Select, Selection};

/// The settings of `publish_to_dropbox`, also read from TOML ([`PublishConfig::from_toml`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishConfig {
    /// The flow's name (keys its state; default `publish_to_dropbox`).
    #[serde(default = "default_name")]
    pub name: String,
    /// The CS folder whose documents may be published: a path below `cs_root` (default the
    /// Enterprise Workspace), `/`-separated.
    pub cs_folder: String,
    /// The node the path starts at (default: the Enterprise Workspace).
    #[serde(default)]
    pub cs_root: Option<i64>,
    /// Narrow the folder's documents by a category value and/or a search.
    #[serde(default)]
    pub select: Select,
    /// The Dropbox folder the documents go to (the CS sub-folders are mirrored below it).
    pub dropbox_folder: String,
    /// A shared link per file, with these settings.
    #[serde(default)]
    pub link: Option<LinkConfig>,
    /// Share the Dropbox folder with these members.
    #[serde(default)]
    pub folder_share: Option<FolderShareConfig>,
    /// Never share a document on hold (default yes).
    #[serde(default = "yes")]
    pub withhold_on_hold: bool,
    /// RM classifications (by name) whose documents are never shared.
    #[serde(default)]
    pub forbidden_rm_classes: Vec<String>,
    /// The CS category that records each publication (default `Publication`; empty: none).
    #[serde(default = "default_record_category")]
    pub record_category: String,
    /// Publish each document's latest *approved* version (default yes): under advanced
    /// versioning its newest major version, so that minor versions (drafts, pending edits)
    /// never go out; a document with no major version yet is published in its latest. With
    /// `false`, the latest version whatever its number. Under standard versioning every
    /// version is major, so both are the same.
    #[serde(default = "yes")]
    pub approved_only: bool,
}

fn default_name() -> String {
    "publish_to_dropbox".into()
}

fn default_record_category() -> String {
    "Publication".into()
}

fn yes() -> bool {
    true
}

/// `[link]`: the shared link of each published file.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkConfig {
    /// Days the link works after it is set for a version.
    #[serde(default)]
    pub expires_after_days: Option<i64>,
    /// The link's password (never shown in `Debug`).
    #[serde(default)]
    pub password: Option<dropbox_client::Secret>,
    /// Whether downloads are allowed (default no: view only).
    #[serde(default)]
    pub allow_download: bool,
    /// `public`, `team` or `no_one` (default: the account's).
    #[serde(default)]
    pub audience: Option<String>,
}

impl std::fmt::Debug for LinkConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkConfig")
            .field("expires_after_days", &self.expires_after_days)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("allow_download", &self.allow_download)
            .field("audience", &self.audience)
            .finish()
    }
}

/// `[folder_share]`: the Dropbox folder shared with outside collaborators.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FolderShareConfig {
    /// The members: `{ email = "...", role = "viewer" | "editor" }`.
    #[serde(default)]
    pub members: Vec<MemberConfig>,
    /// Who may be a member: `anyone` or `team`.
    #[serde(default)]
    pub member_policy: Option<String>,
    /// Who may open links in the folder: `anyone`, `team` or `members`.
    #[serde(default)]
    pub shared_link_policy: Option<String>,
    /// Who may change membership: `owner` or `editors`.
    #[serde(default)]
    pub acl_update_policy: Option<String>,
}

/// One member of the shared folder.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberConfig {
    /// Their e-mail address.
    pub email: String,
    /// `viewer` (default) or `editor`.
    #[serde(default = "viewer")]
    pub role: Role,
}

fn viewer() -> Role {
    Role::Viewer
}

impl PublishConfig {
    /// The demo's settings: `Published/Outside Counsel` with `Publication.External = yes` to
    /// `/Shared/Outside Counsel`, view-only links for 30 days.
    pub fn demo() -> Self {
        PublishConfig {
            name: default_name(),
            cs_folder: "Published/Outside Counsel".into(),
            cs_root: None,
            select: Select {
                category: Some(CategoryValue {
                    category: "Publication".into(),
                    attribute: "External".into(),
                    value: "yes".into(),
                }),
                search: None,
            },
            dropbox_folder: "/Shared/Outside Counsel".into(),
            link: Some(LinkConfig {
                expires_after_days: Some(30),
                ..LinkConfig::default()
            }),
            folder_share: None,
            withhold_on_hold: true,
            forbidden_rm_classes: Vec::new(),
            record_category: default_record_category(),
            approved_only: true,
        }
    }

    /// Parses the settings from TOML (the field names above).
    pub fn from_toml(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| Error::Config(format!("publish_to_dropbox: {e}")))
    }

    /// Reads the settings from a TOML file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
        Self::from_toml(&text)
    }

    fn link_settings(&self) -> Result<Option<LinkSettings>> {
        let Some(l) = &self.link else {
            return Ok(None);
        };
        let audience = l
            .audience
            .as_deref()
            .map(|a| tag("link audience", a, &["public", "team", "no_one"]))
            .transpose()?;
        Ok(Some(LinkSettings {
            expires_after: l.expires_after_days.map(chrono::Duration::days),
            password: l.password.clone(),
            allow_download: l.allow_download,
            audience,
        }))
    }

    fn folder_share(&self) -> Result<Option<FolderShare>> {
        let Some(s) = &self.folder_share else {
            return Ok(None);
        };
        Ok(Some(FolderShare {
            members: s
                .members
                .iter()
                .map(|m| (m.email.clone(), m.role))
                .collect(),
            member_policy: s
                .member_policy
                .as_deref()
                .map(|p| tag("member_policy", p, &["anyone", "team"]))
                .transpose()?,
            shared_link_policy: s
                .shared_link_policy
                .as_deref()
                .map(|p| tag("shared_link_policy", p, &["anyone", "team", "members"]))
                .transpose()?,
            acl_update_policy: s
                .acl_update_policy
                .as_deref()
                .map(|p| tag("acl_update_policy", p, &["owner", "editors"]))
                .transpose()?,
        }))
    }
}

/// A Dropbox union value from its tag, if it is one of `allowed`.
fn tag<T: serde::de::DeserializeOwned>(what: &str, value: &str, allowed: &[&str]) -> Result<T> {
    if !allowed.contains(&value) {
        return Err(Error::Config(format!(
            "publish_to_dropbox: {what} {value:?} is not one of {}",
            allowed.join(", ")
        )));
    }
    serde_json::from_value(serde_json::json!({ ".tag": value }))
        .map_err(|e| Error::Config(format!("publish_to_dropbox: {what} {value:?}: {e}")))
}

/// Builds a [`Publisher`] from a [`PublishConfig`].
pub struct PublishToDropbox {
    dropbox: dropbox_client::Client,
    cs: contentserver_client::Client,
    state: Arc<dyn Store>,
    config: PublishConfig,
    retry: RetryPolicy,
    failpoint: Option<FailpointFn>,
    clock: Option<ClockFn>,
    concurrency: usize,
    progress: Option<ProgressFn>,
}

impl std::fmt::Debug for PublishToDropbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublishToDropbox")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl PublishToDropbox {
    /// The flow with `config`.
    pub fn new(
        dropbox: dropbox_client::Client,
        cs: contentserver_client::Client,
        state: Arc<dyn Store>,
        config: PublishConfig,
    ) -> Self {
        PublishToDropbox {
            dropbox,
            cs,
            state,
            config,
            retry: RetryPolicy::default(),
            failpoint: None,
            clock: None,
            concurrency: 4,
            progress: None,
        }
    }

    /// Receives the runner's progress events of the publishing pass (documents found,
    /// written, unchanged, skipped, failed); withdrawals are in the run's report.
    pub fn on_progress(mut self, f: ProgressFn) -> Self {
        self.progress = Some(f);
        self
    }

    /// The per-document retry policy.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Documents processed at once (default 4).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    /// Stops runs at failpoints (crash-safety tests).
    pub fn failpoint(mut self, f: FailpointFn) -> Self {
        self.failpoint = Some(f);
        self
    }

    /// The time links' expiries and the CS record's date are computed from (tests).
    pub fn clock(mut self, now: ClockFn) -> Self {
        self.clock = Some(now);
        self
    }

    /// Resolves the CS folder and builds the publisher.
    pub async fn build(self) -> Result<Publisher> {
        let c = &self.config;
        let links = c.link_settings()?;
        let folder_share = c.folder_share()?;
        let start = match c.cs_root {
            Some(id) => id,
            None => {
                self.cs
                    .nodes()
                    .enterprise_workspace()
                    .await
                    .map_err(|e| Error::cs(&c.cs_folder, crate::error::Step::Locate, e))?
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
                .map_err(|e| Error::cs(&c.cs_folder, crate::error::Step::Locate, e))?
                .ok_or_else(|| {
                    Error::Config(format!(
                        "publish_to_dropbox: no CS folder {:?}",
                        c.cs_folder
                    ))
                })?
                .id
        };
        let dropbox_folder = format!("/{}", c.dropbox_folder.trim_matches('/'));
        let selection = Arc::new(Selection::new(
            self.cs.clone(),
            root,
            c.select.clone(),
            c.withhold_on_hold,
            c.forbidden_rm_classes.clone(),
            dropbox_folder.clone(),
        ));

        let mut b = Flow::builder(c.name.clone())
            .source(
                CsSource::new(self.cs.clone(), root)
                    .full_walk(true)
                    .official_versions(c.approved_only),
            )
            .state(self.state.clone())
            .async_transform(selection.clone())
            .sink(DropboxSink::new(
                self.dropbox.clone(),
                Some(&dropbox_folder),
            ))
            .concurrency(self.concurrency)
            .retry(self.retry);
        let link_step = links.map(|l| SharedLinkStep::new(self.dropbox.clone(), l));
        if let Some(step) = &link_step {
            b = b.step(step.clone());
        }
        let record_step = (!c.record_category.is_empty())
            .then(|| CsRecordStep::new(self.cs.clone(), c.record_category.clone()));
        if let Some(step) = &record_step {
            b = b.step(step.clone());
        }
        if let Some(f) = self.failpoint {
            b = b.failpoint(f);
        }
        if let Some(f) = self.progress {
            b = b.on_progress(move |p| f(p));
        }
        let clock: ClockFn = self.clock.unwrap_or_else(|| Arc::new(chrono::Utc::now));
        let now = clock.clone();
        b = b.clock(move || now());
        Ok(Publisher {
            link_step,
            record_step,
            clock,
            flow: b.build()?,
            selection,
            dropbox: self.dropbox,
            state: self.state,
            folder_share,
            dropbox_folder,
        })
    }
}

/// The built `publish_to_dropbox` flow: [`Publisher::run_once`] runs it.
pub struct Publisher {
    flow: Flow,
    link_step: Option<SharedLinkStep>,
    record_step: Option<CsRecordStep>,
    clock: ClockFn,
    selection: Arc<Selection>,
    dropbox: dropbox_client::Client,
    state: Arc<dyn Store>,
    folder_share: Option<FolderShare>,
    dropbox_folder: String,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("flow", &self.flow.name())
            .field("dropbox_folder", &self.dropbox_folder)
            .finish_non_exhaustive()
    }
}

/// What a publishing run did: the runner's report, and the withdrawals.
#[derive(Debug, Clone)]
pub struct PublishReport {
    /// The run of the flow (published, replaced, unchanged, skipped, failed).
    pub run: Report,
    /// The documents withdrawn by this run.
    pub withdrawn: Vec<Withdrawn>,
    /// Withdrawals that failed (left for the next run, which judges them again).
    pub withdraw_failed: Vec<WithdrawFailed>,
    /// The shared folder's id, when the folder is shared.
    pub shared_folder_id: Option<String>,
}

impl PublishReport {
    /// One line: the run's summary and the withdrawals.
    pub fn summary(&self) -> String {
        format!(
            "{}; {} withdrawn, {} withdrawal(s) failed",
            self.run.summary(),
            self.withdrawn.len(),
            self.withdraw_failed.len()
        )
    }
}

impl Publisher {
    /// Sets the link and the CS record again for the documents this run published anew after
    /// a withdrawal at the version they had then: the step log keeps steps per version, so
    /// the flow's steps of that version are already done and would not run again. Both are
    /// idempotent (the link is updated if it exists). A failure is reported in `run.failed`
    /// and the next run does not retry it (the document is `done`): it is logged loudly.
    async fn republished(&self, withdrawn_before: &HashSet<String>, run: &mut Report) {
        let now = (self.clock)();
        let again: Vec<_> = run
            .written
            .iter()
            .filter(|w| withdrawn_before.contains(&w.source.key()))
            .cloned()
            .collect();
        for w in again {
            let mut url = None;
            let mut result = Ok(());
            if let Some(step) = &self.link_step {
                match step.set_link(&w.path, &w.location, now).await {
                    Ok(u) => url = Some(u),
                    Err(e) => result = Err(e),
                }
            }
            if let (Ok(()), Some(step)) = (&result, &self.record_step) {
                result = step
                    .record(&w.path, &w.source, &w.location, url.as_deref(), now)
                    .await
                    .map(|_| ());
            }
            if let Err(e) = result {
                tracing::error!(doc = %w.path, error = %e, "republished, but its link or CS record could not be set");
                run.failed.push(crate::runner::Failed {
                    source: w.source.clone(),
                    path: Some(w.path.clone()),
                    error: e.to_string(),
                    attempts: 1,
                    dead: false,
                });
            }
        }
    }

    /// The flow (its name, its store).
    pub fn flow(&self) -> &Flow {
        &self.flow
    }

    /// One run: shares the folder (when configured), refreshes the search selection,
    /// publishes what is selected, then withdraws what no longer is.
    pub async fn run_once(&self) -> Result<PublishReport> {
        let shared_folder_id = match &self.folder_share {
            Some(share) => Some(share.apply(&self.dropbox, &self.dropbox_folder).await?),
            None => None,
        };
        self.selection.refresh().await?;
        let withdrawn_before: HashSet<String> = self
            .state
            .records_by_status(self.flow.name(), DocStatus::Removed)
            .await?
            .iter()
            .map(|r| r.key())
            .collect();
        let mut run = self.flow.run_once().await?;
        self.republished(&withdrawn_before, &mut run).await;
        let (withdrawn, withdraw_failed) = withdraw::pass(
            self.flow.name(),
            &self.state,
            &self.selection,
            &self.dropbox,
        )
        .await?;
        Ok(PublishReport {
            run,
            withdrawn,
            withdraw_failed,
            shared_folder_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_loads_from_toml_and_checks_its_tags() {
        let c = PublishConfig::from_toml(
            r#"
            cs_folder = "Published/Outside Counsel"
            dropbox_folder = "/Shared/Outside Counsel"
            select = { category = "Publication", attribute = "External", value = "yes", search = "contract" }
            link = { expires_after_days = 7, password = "s3cret", audience = "public" }
            [folder_share]
            members = [{ email = "counsel@example.com", role = "editor" }, { email = "b@example.com" }]
            member_policy = "anyone"
            "#,
        )
        .unwrap();
        assert_eq!(c.name, "publish_to_dropbox");
        assert_eq!(c.record_category, "Publication");
        assert!(c.withhold_on_hold);
        assert_eq!(c.select.search.as_deref(), Some("contract"));
        let share = c.folder_share().unwrap().unwrap();
        assert_eq!(share.members[0].1, Role::Editor);
        assert_eq!(share.members[1].1, Role::Viewer);
        let link = c.link_settings().unwrap().unwrap();
        assert!(!link.allow_download);
        assert!(!format!("{c:?}").contains("s3cret"));
        let bad = PublishConfig {
            link: Some(LinkConfig {
                audience: Some("everyone".into()),
                ..LinkConfig::default()
            }),
            ..c
        };
        assert!(bad.link_settings().is_err());
        assert!(PublishConfig::from_toml("cs_folder = 1").is_err());
    }
}
