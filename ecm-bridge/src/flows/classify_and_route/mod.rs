//! Use case 3: files arriving in Dropbox intake folders are filed into Content Server where
//! rules say, with category values and an RM class; a file no rule classifies is quarantined.
//!
//! - **Rules** ([`crate::rules`], in the same TOML file as the settings: [`ClassifyConfig`])
//!   match on the folder, file type, naming convention (name patterns with captures), source
//!   account or team, tags and properties; they set the target folder, category values
//!   (project id, department, document type, retention schedule…), the RM class and more.
//!   Each rule that sets a target is a route of the flow (`Outcome::Route`, named after the
//!   rule), so the record says which rule filed a document.
//! - **Quarantine**: a file that no rule gives a target is moved to a Dropbox quarantine
//!   folder or filed, ungoverned, into a CS quarantine folder ([`QuarantineTarget`]). It is
//!   settled `quarantined` with its reason (listed in [`crate::runner::Report::quarantined`]),
//!   not retried as an error, and taken up again by the first run after the rules change:
//!   the reason carries the rules' fingerprint ([`Rules::fingerprint`]), and each listing
//!   compares it with the current one. Once classified, a CS quarantine copy is removed.
//! - **Names** CS refuses are adapted by the rule of [`crate::names`] (the original kept in
//!   the metadata as `Original Name` and, when configured, a category attribute), or refused
//!   with an error naming the file ([`NameSettings`]); a name taken in the target folder after
//!   case folding is made unique the same way.
//! - **Dry run**: [`ClassifyFlow::plan`] is the plan as data ([`Plan`], serializable) and as a
//!   table ([`Plan::table`]); nothing is changed.
//! - **Re-classification** (opt-in, [`ClassifyConfig::reclassify`]): after a rule change, the
//!   documents filed before get the category values and RM class the rules give now, without
//!   a new version ([`ClassifyFlow::reclassify`]).
//! - **Wake-ups**: Dropbox longpoll, and webhooks through a [`crate::webhook::WakeHub`]
//!   ([`ClassifyAndRoute::wake_hub`]).
//!
//! ```no_run
//! # async fn demo(dropbox: dropbox_client::Client, cs: contentserver_client::Client) -> ecm_bridge::Result<()> {
//! use std::sync::Arc;
//! use ecm_bridge::flows::classify_and_route::{ClassifyAndRoute, ClassifyConfig};
//! use ecm_bridge::state::SqliteStore;
//!
//! let config = ClassifyConfig::load("classify.toml")?;
//! let flow = ClassifyAndRoute::new(dropbox, cs, Arc::new(SqliteStore::open("bridge.db")?), config)
//!     .build()?;
//! print!("{}", flow.plan().await?.table());
//! let report = flow.run_once().await?;
//! println!("{}", report.run.summary());
//! # Ok(()) }
//! ```
//!
//! # Limits
//! - To find names taken after case folding, each target folder that receives a new document
//!   is listed once per run (measured: 300 intake files, 270 into one folder, filed in 2.7 s
//!   against the sandbox, 111 files/s; listing per document instead took 25 s).
//! - A quarantine copy in CS gets the adapted name even under the `refuse` policy (it is not
//!   the filed record); a refused document is failed, retried each run (a renamed Dropbox
//!   file is a new name) until it is dead-lettered.
//! - In Dropbox mode each listing also lists the quarantine folder: a file there that no
//!   record holds as quarantined under the current rules (a run stopped between the move and
//!   its record, or a file put there by hand at an intake path) is read by id and decided
//!   again, so none stays there unrecorded.
//! - Re-classification applies categories and the RM class where the document is; when the
//!   rules now give another folder it is reported ([`Reclassified::target_now`]), not moved.
//!
//! # Layout
//! `config` (settings, TOML), `intake` (the intake folders as one source; quarantined files
//! taken up again), `classify` (the verdict and the transform), `filing` (the CS sink with
//! names unique after case folding), `quarantine`, `plan`, `reclassify`.

mod classify;
mod config;
mod filing;
mod intake;
mod plan;
mod quarantine;
mod reclassify;

use std::collections::HashSet;
use std::sync::Arc;

use futures::StreamExt;

use crate::connectors::contentserver::CsSink;
use crate::connectors::dropbox::DropboxSource;
use crate::error::{Error, Result};
use crate::rules::Rules;
use crate::runner::{FailpointFn, Flow, ProgressFn, Report, RetryPolicy};
use crate::source::{Change, Source};
use crate::state::{fold_path, DocumentStore, Store};
use crate::webhook::{WakeHub, WokenSource};

pub use classify::ORIGINAL_NAME;
pub use config::{AttributeRef, ClassifyConfig, NameSettings, QuarantineTarget};
pub use intake::IntakeSource;
pub use plan::{Plan, PlanAction, PlanRow};
pub use reclassify::Reclassified;

use classify::Classifier;
use filing::FilingSink;
use quarantine::{mode_of, QuarantineMode, Quarantiner, ReleaseQuarantine};

/// Builds a [`ClassifyFlow`].
pub struct ClassifyAndRoute {
    dropbox: dropbox_client::Client,
    cs: contentserver_client::Client,
    state: Arc<dyn Store>,
    documents: Arc<dyn DocumentStore>,
    config: ClassifyConfig,
    rules: Option<Rules>,
    retry: RetryPolicy,
    dry_run: bool,
    hub: Option<WakeHub>,
    longpoll: bool,
    progress: Option<ProgressFn>,
    failpoint: Option<FailpointFn>,
}

impl std::fmt::Debug for ClassifyAndRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClassifyAndRoute")
            .field("config", &self.config)
            .field("dry_run", &self.dry_run)
            .finish_non_exhaustive()
    }
}

impl ClassifyAndRoute {
    /// The flow with these settings (and the rules they hold), writing its records to `store`.
    pub fn new<S: Store + 'static>(
        dropbox: dropbox_client::Client,
        cs: contentserver_client::Client,
        store: Arc<S>,
        config: ClassifyConfig,
    ) -> Self {
        ClassifyAndRoute {
            dropbox,
            cs,
            state: store.clone(),
            documents: store,
            config,
            rules: None,
            retry: RetryPolicy::default(),
            dry_run: false,
            hub: None,
            longpoll: true,
            progress: None,
            failpoint: None,
        }
    }

    /// Rules to use instead of the configuration's `[[rule]]` tables.
    pub fn rules(mut self, rules: Rules) -> Self {
        self.rules = Some(rules);
        self
    }

    /// The per-document retry policy.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Changes nothing: the run reports what it would do (quarantines included), and
    /// quarantined files due for another look are only looked at.
    pub fn dry_run(mut self, yes: bool) -> Self {
        self.dry_run = yes;
        self
    }

    /// Also wakes [`Flow::watch`] on webhook notifications for the Dropbox account.
    pub fn wake_hub(mut self, hub: WakeHub) -> Self {
        self.hub = Some(hub);
        self
    }

    /// Whether [`Flow::watch`] also long-polls Dropbox for changes (default yes). With a
    /// [`ClassifyAndRoute::wake_hub`], `false` leaves the wake-ups to webhooks alone (no
    /// connection held open per flow).
    pub fn longpoll(mut self, yes: bool) -> Self {
        self.longpoll = yes;
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

    /// Builds the flow: checks the settings and the rules (every rule that sets a target
    /// must target Content Server; rule names must be unique).
    pub fn build(self) -> Result<ClassifyFlow> {
        let config = self.config;
        config.check()?;
        let name = config.name.clone();
        let rules = match self.rules {
            Some(r) => r,
            None => Rules::new(config.rules.clone())?,
        };
        let mut routes = HashSet::new();
        for r in rules.rules() {
            if let Some(t) = &r.target {
                if t.dropbox.is_some() {
                    return Err(Error::Config(format!(
                        "{name}: rule {:?} targets Dropbox; this flow files into Content Server",
                        r.name
                    )));
                }
                if !routes.insert(r.name.clone()) {
                    return Err(Error::Config(format!(
                        "{name}: two rules named {:?} set a target",
                        r.name
                    )));
                }
            }
        }
        let rules = Arc::new(rules);
        let fingerprint = rules.fingerprint();
        let mode = mode_of(&config.quarantine, config.cs_root);
        let cs_sink = Arc::new(CsSink::new(self.cs.clone()).read_back(config.read_back));
        let quarantine = Arc::new(Quarantiner {
            mode: mode.clone(),
            dropbox: self.dropbox.clone(),
            cs: Arc::new(CsSink::new(self.cs.clone())),
            flow: name.clone(),
        });
        let classifier = Arc::new(Classifier {
            rules: rules.clone(),
            fingerprint: fingerprint.clone(),
            routes: routes.clone(),
            names: config.names.clone(),
            quarantine: quarantine.clone(),
            dry_run: self.dry_run,
        });
        let epoch = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let intake: Vec<String> = config.intake.iter().map(|i| intake::norm(i)).collect();
        let mut lister = DropboxSource::new(self.dropbox.clone(), &intake::common_root(&intake));
        let mut fetcher = DropboxSource::new(self.dropbox.clone(), "");
        if let Some(t) = &config.team {
            lister = lister.team(t.clone());
            fetcher = fetcher.team(t.clone());
        }
        let source = Arc::new(IntakeSource {
            flow: name.clone(),
            client: self.dropbox.clone(),
            lister,
            fetcher,
            intake: intake.iter().map(|i| fold_path(i)).collect(),
            mode: mode.clone(),
            store: self.documents.clone(),
            fingerprint,
            dry_run: self.dry_run,
            longpoll: self.longpoll,
            epoch: epoch.clone(),
        });
        let filing: Arc<dyn crate::sink::Sink> = Arc::new(FilingSink::new(
            cs_sink.clone(),
            config.names.clone(),
            epoch,
        ));

        let feed: Arc<dyn Source> = match &self.hub {
            Some(hub) => Arc::new(WokenSource::for_client(
                source.clone(),
                hub.clone(),
                self.dropbox.clone(),
            )),
            None => source.clone(),
        };
        let mut b = Flow::builder(name.clone())
            .source_arc(feed)
            .state(self.state.clone())
            .async_transform(ClassifierRef(classifier.clone()))
            .concurrency(config.concurrency)
            .retry(self.retry)
            .dry_run(self.dry_run);
        for r in &routes {
            b = b.route(r.clone(), filing.clone());
        }
        if matches!(mode, QuarantineMode::Cs { .. }) {
            b = b.after_write(ReleaseQuarantine {
                quarantine: quarantine.clone(),
            });
        }
        if let Some(p) = self.progress {
            b = b.on_progress(move |e| p(e));
        }
        if let Some(f) = self.failpoint {
            b = b.failpoint(f);
        }
        Ok(ClassifyFlow {
            flow: b.build()?,
            classifier,
            source,
            filing,
            quarantine,
            documents: self.documents,
            config,
        })
    }
}

/// The shared classifier as the flow's transform.
struct ClassifierRef(Arc<Classifier>);

#[async_trait::async_trait]
impl crate::transform::AsyncTransform for ClassifierRef {
    async fn apply(&self, doc: crate::model::Document) -> Result<crate::transform::Outcome> {
        self.0.apply(doc).await
    }
}

/// What one [`ClassifyFlow::run_once`] did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ClassifyReport {
    /// The run: written (filed), quarantined with reasons, skipped, failed, unchanged.
    pub run: Report,
    /// Documents filed before whose categories and RM class were updated after a rule change
    /// (with [`ClassifyConfig::reclassify`]).
    pub reclassified: Vec<Reclassified>,
}

/// The built `classify_and_route` flow. Cheap to clone (shared).
#[derive(Clone)]
pub struct ClassifyFlow {
    flow: Flow,
    classifier: Arc<Classifier>,
    source: Arc<IntakeSource>,
    filing: Arc<dyn crate::sink::Sink>,
    quarantine: Arc<Quarantiner>,
    documents: Arc<dyn DocumentStore>,
    config: ClassifyConfig,
}

impl std::fmt::Debug for ClassifyFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClassifyFlow")
            .field("flow", &self.flow)
            .finish_non_exhaustive()
    }
}

impl ClassifyFlow {
    /// The runner's flow (for [`Flow::run_every`]; its runs do not re-classify).
    pub fn flow(&self) -> &Flow {
        &self.flow
    }

    /// The fingerprint of the rules in use.
    pub fn fingerprint(&self) -> &str {
        &self.classifier.fingerprint
    }

    /// One run: with [`ClassifyConfig::reclassify`], first the re-classification pass (when
    /// the rules changed since the last one), then the runner's run.
    pub async fn run_once(&self) -> Result<ClassifyReport> {
        let reclassified = if self.config.reclassify && !self.classifier.dry_run {
            self.reclassify().await?
        } else {
            Vec::new()
        };
        let run = self.flow.run_once().await?;
        Ok(ClassifyReport { run, reclassified })
    }

    /// Runs once, then whenever Dropbox (longpoll) or a webhook wakes the flow, or every
    /// `fallback`, until `stop` completes ([`Flow::watch`]); with
    /// [`ClassifyConfig::reclassify`], the re-classification pass runs first (the rules of a
    /// built flow do not change). Returns the number of runs.
    pub async fn watch(
        &self,
        fallback: std::time::Duration,
        stop: impl std::future::Future<Output = ()>,
    ) -> Result<u64> {
        if self.config.reclassify && !self.classifier.dry_run {
            self.reclassify().await?;
        }
        self.flow.watch(fallback, stop).await
    }

    /// What a run would do now, without doing any of it: the files the feed lists since the
    /// checkpoint, and the quarantined ones due for another look, each with its verdict.
    pub async fn plan(&self) -> Result<Plan> {
        let flow = self.flow.name().to_owned();
        let since = self.flow.state().checkpoint(&flow).await?;
        let looking = IntakeSource {
            dry_run: true,
            flow: self.source.flow.clone(),
            client: self.source.client.clone(),
            lister: self.source.lister.clone(),
            fetcher: self.source.fetcher.clone(),
            intake: self.source.intake.clone(),
            mode: self.source.mode.clone(),
            store: self.source.store.clone(),
            fingerprint: self.source.fingerprint.clone(),
            longpoll: false,
            epoch: self.source.epoch.clone(),
        };
        let mut feed = looking.changes(since).await?;
        let mut docs = Vec::new();
        let mut seen = HashSet::new();
        while let Some(item) = feed.next().await {
            if let Change::Upsert(doc) = item?.change {
                if seen.insert(doc.source.key()) {
                    docs.push(*doc);
                }
            }
        }
        Plan::build(
            &flow,
            &self.classifier,
            |d| self.quarantine.location(d),
            docs,
        )
    }
}
