//! Small-file archive: files archived Dropbox → CS by `archive_on_approval` with category
//! values, an RM class and permissions, and the same job done the way a script around the two
//! SDKs would do it (one file at a time, one call per operation).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use contentserver_client::api::nodes::VOLUME_ENTERPRISE;
use contentserver_client::{AttrKey, CategoryValues, Permission, UploadBody};
use dropbox_client::models::files::{CommitInfo, ListFolderArg, Metadata, WriteMode};
use ecm_bridge::flows::archive_on_approval::{Approval, ArchiveOnApproval, Marking};
use ecm_bridge::rules::Rules;
use ecm_bridge::state::{SqliteStore, Store};
use futures::{StreamExt, TryStreamExt};

use crate::env::{Bench, Counts};
use crate::{ctx, Result};

/// The Dropbox folder the files are seeded in (the flow's source root).
pub const SOURCE_ROOT: &str = "/Bench";

/// The governance every archived file gets: category values, an RM class and a permission, all
/// from the sandbox's demo seed.
pub const RULES: &str = r#"
[[rule]]
name = "bench records"
rm_class = "MKT-01 Marketing Records"
[rule.categories."Document Governance"]
"Source System" = "Dropbox"
"Source Path" = "{source_path}"
"Document Type" = "Marketing"
[[rule.permissions]]
member = "Records Managers"
permissions = ["see", "see_contents"]
"#;

/// One timed run and the requests it made.
#[derive(Debug, Clone)]
pub struct Run {
    /// Files archived.
    pub files: usize,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Requests on both servers during the run.
    pub counts: Counts,
    /// CPU seconds (user + system) this process used during the run: the flow and the
    /// sandbox together (`None` off Linux).
    pub cpu_secs: Option<f64>,
}

impl Run {
    /// Files per second.
    pub fn files_per_sec(&self) -> f64 {
        self.files as f64 / self.elapsed.as_secs_f64()
    }

    /// Requests (both servers) per file.
    pub fn requests_per_file(&self) -> f64 {
        self.counts.total() as f64 / self.files.max(1) as f64
    }

    /// Cores kept busy on average: CPU seconds per wall second.
    pub fn cores(&self) -> Option<f64> {
        self.cpu_secs.map(|c| c / self.elapsed.as_secs_f64())
    }

    /// The most a client at `concurrency` can do if every request takes `latency`:
    /// concurrency ÷ (requests per file × latency).
    pub fn ideal(&self, concurrency: usize, latency: Duration) -> f64 {
        concurrency as f64 / (self.requests_per_file() * latency.as_secs_f64())
    }
}

/// Uploads `files` files of `size` bytes into `SOURCE_ROOT/Approved` (untimed, uncounted:
/// call before setting the latency).
pub async fn seed(bench: &Bench, files: usize, size: usize) -> Result<()> {
    let dropbox = bench.dropbox()?;
    let body = Bytes::from(crate::micro::pattern(size));
    futures::stream::iter(0..files)
        .map(|i| {
            let (dropbox, body) = (dropbox.clone(), body.clone());
            async move {
                let path = format!("{SOURCE_ROOT}/Approved/file-{i:05}.bin");
                let commit = CommitInfo::new(path.clone()).mode(WriteMode::Overwrite);
                ctx(
                    dropbox.files().upload_bytes(commit, body).await,
                    format!("seeding {path}"),
                )
            }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(())
}

/// Archives every seeded file with the flow at `concurrency`, into a CS folder of its own and
/// with a fresh durable state store, and counts its requests.
pub async fn flow(
    bench: &Bench,
    concurrency: usize,
    files: usize,
    state_dir: &std::path::Path,
) -> Result<Run> {
    let store = ctx(
        SqliteStore::open(state_dir.join(format!("archive-c{concurrency}.db"))),
        "opening the state store",
    )?;
    flow_with(bench, concurrency, files, Arc::new(store), "").await
}

/// Like [`flow`] with `store` as the state store, into the CS folder `Bench-c{concurrency}{label}`
/// (tag `archived_c{concurrency}{label}`): the same run with a store that writes nothing to
/// disk shows what the durable store costs.
pub async fn flow_with(
    bench: &Bench,
    concurrency: usize,
    files: usize,
    store: Arc<dyn Store>,
    label: &str,
) -> Result<Run> {
    let flow = ctx(
        ArchiveOnApproval::new(bench.dropbox()?, bench.cs()?, store)
            .source_root(SOURCE_ROOT)
            .approval(Approval::default().folder("**/Approved"))
            .cs_folder(None, format!("Bench-c{concurrency}{label}"))
            .rules(ctx(Rules::from_toml(RULES), "the bench rules")?)
            .marking(Marking::default().tag(format!("archived_c{concurrency}{label}")))
            .concurrency(concurrency)
            .build(),
        "building the flow",
    )?;
    bench.reset_stats().await?;
    let cpu = crate::cpu_secs();
    let started = Instant::now();
    let report = ctx(flow.run_once().await, "archive_on_approval run")?;
    let elapsed = started.elapsed();
    let cpu_secs = crate::cpu_secs().zip(cpu).map(|(b, a)| b - a);
    let counts = bench.stats().await?;
    if report.written.len() != files || !report.failed.is_empty() {
        return Err(format!(
            "archive_on_approval at concurrency {concurrency}{label}: {} written, {} failed of {files} (first failure: {:?})",
            report.written.len(),
            report.failed.len(),
            report.failed.first().map(|f| f.error.clone())
        )
        .into());
    }
    Ok(Run {
        files,
        elapsed,
        counts,
        cpu_secs,
    })
}

/// The ids a script would look up once (or hard-code) before its loop.
struct ScriptIds {
    folder: i64,
    category: i64,
    rm_class: i64,
    group: i64,
}

fn manifest_id(v: &serde_json::Value, pointer: &str) -> Result<i64> {
    v.pointer(pointer)
        .and_then(|x| x.as_i64())
        .ok_or_else(|| format!("sandbox manifest: no {pointer}").into())
}

/// The same job as [`flow`], the way a script around the two SDKs does it: list the folder,
/// then for each file, one after another, download it, create the document, apply the
/// category, classify it, grant the permission and tag the Dropbox file — one call each.
pub async fn baseline(bench: &Bench, files: usize) -> Result<Run> {
    let (dropbox, cs) = (bench.dropbox()?, bench.cs()?);
    let m = bench.cs_manifest();
    let ews = ctx(cs.nodes().volume(VOLUME_ENTERPRISE).await, "EWS volume")?;
    let folder = ctx(
        cs.nodes().create_folder(ews.id, "Baseline").send().await,
        "creating the baseline folder",
    )?;
    let ids = ScriptIds {
        folder: folder.id,
        category: manifest_id(&m, "/categories/Document Governance/id")?,
        rm_class: manifest_id(&m, "/rm_classifications/MKT-01 Marketing Records")?,
        group: manifest_id(&m, "/groups/Records Managers")?,
    };
    bench.reset_stats().await?;
    let cpu = crate::cpu_secs();
    let started = Instant::now();
    let listed: Vec<Metadata> = ctx(
        dropbox
            .files()
            .list_folder(ListFolderArg::new(format!("{SOURCE_ROOT}/Approved")))
            .into_stream()
            .try_collect()
            .await,
        "baseline: list_folder",
    )?;
    let mut done = 0;
    for entry in listed {
        let Metadata::File(f) = entry else { continue };
        let path = f.path_lower.clone().unwrap_or_default();
        let body = ctx(
            ctx(dropbox.files().download(path.as_str()).await, "download")?
                .bytes()
                .await,
            "download body",
        )?;
        let node = ctx(
            cs.documents()
                .create(ids.folder, f.name.clone(), UploadBody::from_bytes(body))
                .send()
                .await,
            "create document",
        )?;
        let values = CategoryValues::new()
            .category(ids.category)
            .set(AttrKey::attr(ids.category, 2), "Dropbox")
            .set(AttrKey::attr(ids.category, 3), path.clone())
            .set(AttrKey::attr(ids.category, 4), "Marketing");
        ctx(
            cs.categories().apply(node.id, ids.category, &values).await,
            "apply category",
        )?;
        ctx(
            cs.records().classify(node.id, ids.rm_class).send().await,
            "RM classify",
        )?;
        ctx(
            cs.permissions()
                .add_custom(
                    node.id,
                    ids.group,
                    &[Permission::See, Permission::SeeContents],
                )
                .send()
                .await,
            "add permission",
        )?;
        ctx(
            dropbox.files().add_tag(path.as_str(), "baseline").await,
            "add tag",
        )?;
        done += 1;
    }
    let elapsed = started.elapsed();
    let cpu_secs = crate::cpu_secs().zip(cpu).map(|(b, a)| b - a);
    let counts = bench.stats().await?;
    if done != files {
        return Err(format!("baseline: {done} of {files} files archived").into());
    }
    Ok(Run {
        files,
        elapsed,
        counts,
        cpu_secs,
    })
}
