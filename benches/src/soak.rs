//! The soak: many documents (20,000 by default) archived by `archive_on_approval` at
//! concurrency 32 on a sandbox that injects faults on 1 % of the requests, in a child process
//! (the harness re-invoked with `soak-run …`) with a SQLite state, rerun until nothing is
//! pending. The child reads its own peak RSS (`VmHWM`) as its count of documents done passes
//! [`MARK`] (5,000) and again at the end: memory must stay flat. Then the parent clears the
//! faults and reads both sides back ([`check`]).
//!
//! The faults are the fault matrix's kinds without the stalls (they only cost time): 429 with
//! `Retry-After: 0` and `1`, 500, 503, a connection reset, and a write that commits and then
//! loses its answer (a proxy's 502, or a reset), the rate shared among them, on both servers,
//! drawn from the sandbox's generator seeded with [`FAULT_SEED`].

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dropbox_client::models::files::{ListFolderArg, Metadata};
use ecm_bridge::flows::archive_on_approval::{Approval, ArchiveOnApproval, Marking};
use ecm_bridge::rules::Rules;
use ecm_bridge::runner::{Progress, RetryPolicy};
use ecm_bridge::state::{DocStatus, SqliteStore, Store};
use futures::{StreamExt, TryStreamExt};
use sandbox::{FaultRule, LostAnswer};
use serde::{Deserialize, Serialize};

use crate::env::{cs_client_with, dropbox_client_with, Bench};
use crate::{ctx, Result};

/// The Dropbox root of the soak's tree (files in `ROOT/d00000/f000000.txt` …, 1,000 a folder).
pub const ROOT: &str = "/Soak";
/// The CS folder under the Enterprise Workspace (the tree is mirrored below it).
pub const CS_ROOT: &str = "Soak";
/// The flow's name in the store.
pub const FLOW: &str = "archive_on_approval";
/// The count of documents done at which the child reads its peak RSS the first time.
pub const MARK: usize = 5000;
/// The share of requests that meet a fault.
pub const FAULT_RATE: f64 = 0.01;
/// The seed of the sandbox's fault generator.
pub const FAULT_SEED: u64 = 15;
/// Bytes per seeded file (each file's bytes differ: `file {i}` padded).
pub const SIZE: usize = 1024;
/// Runs after which a soak that still has work pending is an error.
const MAX_RUNS: u32 = 40;
/// The home namespace of the sandbox's first account.
const HOME_NS: u64 = 1001;
const PER_FOLDER: usize = 1000;

/// What a `soak-run` child reports on its last line of standard output, as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SoakOut {
    /// Documents written (done) over all runs.
    pub docs: u64,
    /// Runs of the flow (1 + reruns).
    pub runs: u32,
    /// Runs that ended in an error rather than a report (a listing that failed for good).
    pub run_errors: u32,
    /// Seconds from the first run's start to the last run's end.
    pub secs: f64,
    /// Peak RSS (`VmHWM`) as the count of documents done passed the mark, KiB (0 when the
    /// run has fewer documents).
    pub rss_at_mark_kib: u64,
    /// The documents done when that was read.
    pub mark_docs: u64,
    /// Peak RSS at the end, KiB.
    pub peak_rss_kib: u64,
    /// Retries the clients made (both servers).
    pub client_retries: u64,
}

impl SoakOut {
    /// Documents per second over the whole soak, reruns included.
    pub fn docs_per_sec(&self) -> f64 {
        self.docs as f64 / self.secs.max(1e-9)
    }
}

/// Seeds `docs` files of [`SIZE`] bytes under [`ROOT`] in one request (untimed).
pub async fn seed(bench: &Bench, docs: usize) -> Result<()> {
    bench
        .bulk_files(HOME_NS, ROOT, docs, PER_FOLDER, SIZE)
        .await
}

/// The fault rules of the soak on one server, the rate shared among the kinds.
pub fn rules(rate: f64) -> Vec<FaultRule> {
    let kinds = [
        FaultRule::rate_limited("*", 0),
        FaultRule::rate_limited("*", 1),
        FaultRule::status("*", 500),
        FaultRule::status("*", 503),
        FaultRule::reset("*"),
        FaultRule::lose("*", LostAnswer::Status(502)),
        FaultRule::lose("*", LostAnswer::Reset),
    ];
    let each = rate / kinds.len() as f64;
    kinds.into_iter().map(|r| r.with_rate(each)).collect()
}

/// Faults fired so far on both servers, per rule (`429 ra=0 …` → count), from the sandbox's
/// fault counters.
pub fn fired(bench: &Bench) -> BTreeMap<String, u64> {
    let sb = bench.sandbox();
    let mut out = BTreeMap::new();
    for faults in [sb.dropbox_faults(), sb.contentserver_faults()] {
        for r in faults.list()["rules"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let label = if let Some(s) = r["retry_after"].as_u64() {
                format!("429 retry_after={s}")
            } else if let Some(s) = r["status"].as_u64() {
                s.to_string()
            } else if let Some(l) = r["lose"].as_str() {
                format!("lose={l}")
            } else if r["reset"] == true {
                "reset".into()
            } else {
                continue;
            };
            *out.entry(label).or_default() += r["fired"].as_u64().unwrap_or(0);
        }
    }
    out
}

/// Records of `store` not done yet.
async fn pending(store: &dyn Store) -> Result<usize> {
    let mut n = 0;
    for status in DocStatus::ALL {
        if status != DocStatus::Done {
            n += ctx(
                store.records_by_status(FLOW, status).await,
                "reading the records",
            )?
            .len();
        }
    }
    Ok(n)
}

/// In the child: archives every file under [`ROOT`] into CS [`CS_ROOT`] at `concurrency`, on
/// the state file `state`, rerun until nothing is pending; the peak RSS is read as the count
/// of documents done reaches `mark` ([`MARK`] in a full soak).
pub async fn run(
    dropbox_url: &str,
    cs_url: &str,
    state: &Path,
    concurrency: usize,
    mark: usize,
) -> Result<SoakOut> {
    let retries = Arc::new(AtomicU64::new(0));
    let (r1, r2) = (retries.clone(), retries.clone());
    // Short backoffs (the server's Retry-After is still honoured): the soak measures memory
    // and the end state, not how long a backoff is.
    let dropbox = dropbox_client_with(
        dropbox_url,
        dropbox_client::RetryPolicy::default()
            .max_attempts(6)
            .initial_backoff(Duration::from_millis(20))
            .max_backoff(Duration::from_millis(500))
            .on_retry(move |_| {
                r1.fetch_add(1, Ordering::Relaxed);
            }),
    )?;
    let cs = cs_client_with(
        cs_url,
        contentserver_client::RetryPolicy::default()
            .max_attempts(6)
            .initial_backoff(Duration::from_millis(20))
            .max_backoff(Duration::from_millis(500))
            .on_retry(move |_| {
                r2.fetch_add(1, Ordering::Relaxed);
            }),
    )?;
    let store: Arc<dyn Store> = Arc::new(ctx(SqliteStore::open(state), "opening the state")?);
    let done = Arc::new(AtomicUsize::new(0));
    let at_mark = Arc::new(AtomicU64::new(0));
    let mark_docs = Arc::new(AtomicU64::new(0));
    let progress = {
        let (done, at_mark, mark_docs) = (done.clone(), at_mark.clone(), mark_docs.clone());
        Arc::new(move |p: &Progress| {
            if matches!(p, Progress::Done { .. }) {
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                if n == mark {
                    at_mark.store(crate::peak_rss_kib().unwrap_or(0), Ordering::Relaxed);
                    mark_docs.store(n as u64, Ordering::Relaxed);
                }
            }
        })
    };
    let flow = ctx(
        ArchiveOnApproval::new(dropbox, cs, store.clone())
            .source_root(ROOT)
            .approval(Approval::default().folder("**/d*"))
            .cs_folder(None, CS_ROOT)
            .rules(ctx(
                Rules::from_toml(crate::archive::RULES),
                "the bench rules",
            )?)
            .marking(Marking::default().tag("soaked"))
            .concurrency(concurrency)
            .retry(RetryPolicy {
                max_attempts: 4,
                initial_backoff: Duration::from_millis(10),
                max_backoff: Duration::from_millis(200),
                multiplier: 2,
                jitter: false,
            })
            .on_progress(progress)
            .build(),
        "building the soak flow",
    )?;
    let started = Instant::now();
    let (mut runs, mut run_errors) = (0, 0);
    loop {
        runs += 1;
        if runs > MAX_RUNS {
            return Err(format!("soak: still pending after {MAX_RUNS} runs").into());
        }
        match flow.run_once().await {
            Ok(report) if report.failed.is_empty() && pending(store.as_ref()).await? == 0 => break,
            Ok(_) => {}
            Err(_) => run_errors += 1,
        }
    }
    Ok(SoakOut {
        docs: done.load(Ordering::Relaxed) as u64,
        runs,
        run_errors,
        secs: started.elapsed().as_secs_f64(),
        rss_at_mark_kib: at_mark.load(Ordering::Relaxed),
        mark_docs: mark_docs.load(Ordering::Relaxed),
        peak_rss_kib: crate::peak_rss_kib().unwrap_or(0),
        client_retries: retries.load(Ordering::Relaxed),
    })
}

/// Runs `exe soak-run <args>` and reads the [`SoakOut`] it reports.
pub async fn child(exe: &Path, args: &[String]) -> Result<SoakOut> {
    crate::run_child(exe, "soak-run", args).await
}

/// What the read-back found (faults cleared): each a count of documents.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EndState {
    /// Files in Dropbox under [`ROOT`].
    pub source: usize,
    /// Documents in CS under [`CS_ROOT`].
    pub in_cs: usize,
    /// Source files with no document in CS.
    pub lost: usize,
    /// Documents more than one of a name, extra versions, and writes audited more than once.
    pub duplicated: usize,
    /// Documents whose bytes' content hash differs from the Dropbox file's.
    pub bytes_differ: usize,
    /// Documents with exactly one write (`create` or `adopt`) and one `mark` audited.
    pub audited_once: usize,
    /// Records done in the state.
    pub records_done: usize,
    /// Records in any other state.
    pub records_not_done: usize,
}

impl EndState {
    /// Whether it is the exact end state of `n` documents.
    pub fn exact(&self, n: usize) -> bool {
        self.source == n
            && self.in_cs == n
            && self.lost == 0
            && self.duplicated == 0
            && self.bytes_differ == 0
            && self.audited_once == n
            && self.records_done == n
            && self.records_not_done == 0
    }
}

/// Reads both sides back and compares them: every Dropbox file under [`ROOT`] once in CS with
/// one version and the same bytes (content hash), its record done, one write and one marking
/// audited for it.
pub async fn check(bench: &Bench, state: &Path) -> Result<EndState> {
    let (dropbox, cs) = (bench.dropbox()?, bench.cs()?);
    let mut want: BTreeMap<String, String> = BTreeMap::new();
    let listed: Vec<Metadata> = ctx(
        dropbox
            .files()
            .list_folder(ListFolderArg::new(ROOT).recursive(true))
            .into_stream()
            .try_collect()
            .await,
        "listing the soak's tree",
    )?;
    for m in listed {
        if let Metadata::File(f) = m {
            let rel = f.path_display.clone().unwrap_or_default();
            let rel = rel
                .trim_start_matches(ROOT)
                .trim_start_matches('/')
                .to_owned();
            want.insert(rel, f.content_hash.clone().unwrap_or_default());
        }
    }
    let ews = ctx(cs.nodes().enterprise_workspace().await, "EWS")?;
    let root = ctx(cs.nodes().resolve_path(ews.id, &[CS_ROOT]).await, "CS root")?
        .ok_or("soak: no CS folder")?;
    let folders: Vec<_> = ctx(
        cs.nodes()
            .children(root.id)
            .page_size(500)
            .into_stream()
            .try_collect::<Vec<_>>()
            .await,
        "CS folders",
    )?;
    let mut docs = Vec::new();
    for f in folders.iter().filter(|f| f.container) {
        let children: Vec<_> = ctx(
            cs.nodes()
                .children(f.id)
                .page_size(500)
                .into_stream()
                .try_collect::<Vec<_>>()
                .await,
            format!("CS folder {}", f.name),
        )?;
        docs.extend(
            children
                .into_iter()
                .map(|c| (format!("{}/{}", f.name, c.name), c.id)),
        );
    }
    let mut end = EndState {
        source: want.len(),
        in_cs: docs.len(),
        ..EndState::default()
    };
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for (name, _) in &docs {
        *names.entry(name.as_str()).or_default() += 1;
    }
    end.lost = want
        .keys()
        .filter(|k| !names.contains_key(k.as_str()))
        .count();
    end.duplicated = names.values().filter(|c| **c > 1).count()
        + names.keys().filter(|k| !want.contains_key(**k)).count();
    let checks: Vec<(String, usize, String)> = futures::stream::iter(docs.iter().cloned())
        .map(|(name, id)| {
            let cs = cs.clone();
            async move {
                let versions = ctx(cs.documents().versions(id).send().await, "versions")?.len();
                let bytes = ctx(
                    ctx(cs.documents().download(id).send().await, "download")?
                        .bytes()
                        .await,
                    "download body",
                )?;
                let mut h = dropbox_client::ContentHasher::new();
                h.update(&bytes);
                Ok::<_, crate::BoxError>((name, versions, h.finish()))
            }
        })
        .buffer_unordered(32)
        .try_collect()
        .await?;
    for (name, versions, hash) in &checks {
        end.duplicated += usize::from(*versions != 1);
        end.bytes_differ += usize::from(want.get(name) != Some(hash));
    }

    let store: Arc<dyn Store> =
        Arc::new(ctx(SqliteStore::open(state), "opening the soak's state")?);
    end.records_done = ctx(
        store.records_by_status(FLOW, DocStatus::Done).await,
        "records",
    )?
    .len();
    end.records_not_done = pending(store.as_ref()).await?;
    let audit = ctx(store.audit(Some(FLOW)).await, "the audit trail")?;
    let mut per: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for e in &audit {
        let slot = per.entry(e.source.key()).or_default();
        match e.action.as_str() {
            "create" | "adopt" | "add_version" => slot.0 += 1,
            "mark" => slot.1 += 1,
            _ => {}
        }
    }
    end.audited_once = per.values().filter(|c| **c == (1, 1)).count();
    end.duplicated += per.values().filter(|c| c.0 > 1 || c.1 > 1).count();
    Ok(end)
}
