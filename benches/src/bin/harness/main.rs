//! The benchmark harness: starts the sandbox, seeds it, measures, and prints one table
//! (measure, figure, limit or baseline, ratio, goal, met?), also written as Markdown and JSON
//! under `target/bench/`, with an SVG chart of the small-file archive.
//!
//! ```sh
//! cargo run --release -p ecm-benches --bin harness            # the full run (~15 min)
//! cargo run --release -p ecm-benches --bin harness -- --quick # everything small, seconds
//! cargo run --release -p ecm-benches --bin harness -- --soak-only     # the soak alone
//! cargo run --release -p ecm-benches --bin harness -- --adaptive-only # adaptive vs fixed
//! ```
//!
//! `transfer …` is the child the harness starts for each large-file transfer, so that the peak
//! RSS it reports is that of the transfer alone.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use ecm_benches::archive::{self, Run};
use ecm_benches::backup;
use ecm_benches::chart::{self, Point};
use ecm_benches::closeout;
use ecm_benches::env::{Bench, Counts};
use ecm_benches::large;
use ecm_benches::micro;
use ecm_benches::soak;
use ecm_benches::table::{self, per_sec, Row};
use ecm_benches::upload::{self, Mode};
use ecm_benches::workers::{self, WorkerArgs};
use ecm_benches::Result;
use ecm_bridge::state::{MemoryStore, SqliteStore, Store};
use serde_json::json;

mod sections;
use sections::{adaptive_rows, backup_rows, closeout_rows, soak_rows};

#[derive(Debug, Parser)]
struct Args {
    /// Everything small (few files, small sizes, two concurrency levels, 2 ms latency): keeps
    /// the harness working in CI; its figures mean nothing.
    #[arg(long)]
    quick: bool,
    /// Where the table (Markdown, JSON) and the chart go (default: target/bench).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Where the sandbox keeps file contents (default: /dev/shm when present: the large
    /// files need several GiB).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Overrides the number of small files archived.
    #[arg(long)]
    files: Option<usize>,
    /// Overrides the size of the large file, MiB.
    #[arg(long)]
    large_mib: Option<usize>,
    /// Only the several-workers measure (seeding included), at the plan's latency.
    #[arg(long)]
    workers_only: bool,
    /// Only the incremental-backup measure (seeding included).
    #[arg(long)]
    backup_only: bool,
    /// Overrides the number of files of the incremental backup.
    #[arg(long)]
    backup_files: Option<usize>,
    /// Only the large-tree closeout measure (seeding included).
    #[arg(long)]
    closeout_only: bool,
    /// Overrides the number of files of the large closeout (a tenth of it is closed out too).
    #[arg(long)]
    closeout_files: Option<usize>,
    /// Only the soak (seeding, faults, the child's runs, the end state).
    #[arg(long)]
    soak_only: bool,
    /// Overrides the number of documents of the soak (default 20000; quick: 300).
    #[arg(long)]
    soak_docs: Option<usize>,
    /// Only adaptive against fixed concurrency under the sandbox's write limit.
    #[arg(long)]
    adaptive_only: bool,
    /// Overrides the number of files of the adaptive-load comparison.
    #[arg(long)]
    adaptive_files: Option<usize>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// (internal) one large-file transfer; prints a JSON line with its figures and peak RSS.
    Transfer {
        /// `dropbox-to-cs` or `cs-to-dropbox` (the flows), `script-dropbox-to-cs` or
        /// `script-cs-to-dropbox` (the same transfers by a script around the SDKs).
        direction: String,
        #[arg(long)]
        dropbox: String,
        #[arg(long)]
        cs: String,
        /// The state file of the flow (the flows only).
        #[arg(long)]
        state: Option<PathBuf>,
        /// The CS folder to publish from (`cs-to-dropbox`), or the CS document to copy
        /// (`script-cs-to-dropbox`).
        #[arg(long)]
        folder: Option<i64>,
    },
    /// (internal) one run of the incremental-backup measure; prints a JSON line with its
    /// figures and peak RSS.
    BackupRun {
        #[arg(long)]
        dropbox: String,
        #[arg(long)]
        cs: String,
        /// The backup's state file (shared by the runs).
        #[arg(long)]
        state: PathBuf,
        #[arg(long)]
        concurrency: usize,
    },
    /// (internal) one closeout of the large-tree measure; prints a JSON line with its figures
    /// and peak RSS.
    CloseoutRun {
        #[arg(long)]
        dropbox: String,
        #[arg(long)]
        cs: String,
        /// The closeout's state file.
        #[arg(long)]
        state: PathBuf,
        /// The seeded tree's size (names the project folder).
        #[arg(long)]
        files: usize,
        #[arg(long)]
        concurrency: usize,
    },
    /// (internal) the soak's flow, rerun until nothing is pending; prints a JSON line with its
    /// figures and its peak RSS at `--mark` documents and at the end.
    SoakRun {
        #[arg(long)]
        dropbox: String,
        #[arg(long)]
        cs: String,
        /// The soak's state file.
        #[arg(long)]
        state: PathBuf,
        #[arg(long)]
        concurrency: usize,
        /// The count of documents done at which the peak RSS is read the first time.
        #[arg(long)]
        mark: usize,
    },
    /// (internal) one worker process of the several-workers measure; prints a JSON line.
    Worker {
        #[arg(long)]
        dropbox: String,
        #[arg(long)]
        cs: String,
        /// The PostgreSQL server's URL.
        #[arg(long)]
        pg: String,
        #[arg(long)]
        schema: String,
        #[arg(long)]
        id: String,
        #[arg(long)]
        concurrency: usize,
        /// Names the run's CS folder and Dropbox tag.
        #[arg(long)]
        label: String,
    },
}

/// Sizes of one run.
struct Plan {
    quick: bool,
    latency_ms: u64,
    files: usize,
    file_size: usize,
    levels: Vec<usize>,
    upload_files: usize,
    upload_levels: Vec<usize>,
    large_mib: usize,
    hash_mib: usize,
    list_entries: usize,
    cs_items: usize,
    settle_docs: usize,
    min_time: Duration,
    worker_levels: Vec<usize>,
    worker_concurrency: usize,
    backup_files: usize,
    backup_concurrency: usize,
    closeout_files: usize,
    soak_docs: usize,
    soak_fault_rate: f64,
    adaptive_files: usize,
}

impl Plan {
    fn new(args: &Args) -> Plan {
        let mut p = if args.quick {
            Plan {
                quick: true,
                latency_ms: 2,
                files: 24,
                file_size: 16 << 10,
                levels: vec![1, 4],
                upload_files: 24,
                upload_levels: vec![1, 8],
                large_mib: 12,
                hash_mib: 8,
                list_entries: 2000,
                cs_items: 1000,
                settle_docs: 40,
                min_time: Duration::from_millis(20),
                worker_levels: vec![1, 2, 4],
                worker_concurrency: 4,
                backup_files: 500,
                backup_concurrency: 8,
                closeout_files: 300,
                soak_docs: 300,
                // Enough faults in a few hundred documents to exercise the end-state check.
                soak_fault_rate: 0.05,
                adaptive_files: 40,
            }
        } else {
            Plan {
                quick: false,
                latency_ms: 20,
                files: 2000,
                file_size: 16 << 10,
                levels: vec![1, 4, 16, 32],
                upload_files: 1000,
                upload_levels: vec![1, 8, 32],
                large_mib: 2048,
                hash_mib: 256,
                list_entries: 2000,
                cs_items: 1000,
                settle_docs: 2000,
                min_time: Duration::from_secs(2),
                worker_levels: vec![1, 2, 4],
                worker_concurrency: 8,
                backup_files: 100_000,
                backup_concurrency: 16,
                closeout_files: 100_000,
                soak_docs: 20_000,
                soak_fault_rate: soak::FAULT_RATE,
                adaptive_files: 1000,
            }
        };
        if let Some(n) = args.files {
            p.files = n;
        }
        if let Some(n) = args.backup_files {
            p.backup_files = n;
        }
        if let Some(n) = args.closeout_files {
            p.closeout_files = n;
        }
        if let Some(n) = args.soak_docs {
            p.soak_docs = n;
        }
        if let Some(n) = args.adaptive_files {
            p.adaptive_files = n;
        }
        if let Some(n) = args.large_mib {
            p.large_mib = n;
        }
        p
    }

    fn latency(&self) -> Duration {
        Duration::from_millis(self.latency_ms)
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    let result = match &args.command {
        Some(Command::Transfer {
            direction,
            dropbox,
            cs,
            state,
            folder,
        }) => transfer(direction, dropbox, cs, state.as_deref(), *folder).await,
        Some(Command::BackupRun {
            dropbox,
            cs,
            state,
            concurrency,
        }) => print_line(backup::run(dropbox, cs, state, *concurrency).await),
        Some(Command::CloseoutRun {
            dropbox,
            cs,
            state,
            files,
            concurrency,
        }) => print_line(closeout::run(dropbox, cs, state, *files, *concurrency).await),
        Some(Command::SoakRun {
            dropbox,
            cs,
            state,
            concurrency,
            mark,
        }) => print_line(soak::run(dropbox, cs, state, *concurrency, *mark).await),
        Some(Command::Worker {
            dropbox,
            cs,
            pg,
            schema,
            id,
            concurrency,
            label,
        }) => {
            let a = WorkerArgs {
                dropbox: dropbox.clone(),
                cs: cs.clone(),
                pg: pg.clone(),
                schema: schema.clone(),
                id: id.clone(),
                concurrency: *concurrency,
                label: label.clone(),
            };
            print_line(workers::worker(&a).await)
        }
        None => harness(&args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("harness: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn transfer(
    direction: &str,
    dropbox: &str,
    cs: &str,
    state: Option<&Path>,
    folder: Option<i64>,
) -> Result<()> {
    let state = || state.ok_or("transfer: --state is needed for a flow");
    let t = match (direction, folder) {
        ("dropbox-to-cs", _) => large::dropbox_to_cs(dropbox, cs, state()?).await?,
        ("cs-to-dropbox", Some(f)) => large::cs_to_dropbox(dropbox, cs, f, state()?).await?,
        ("script-dropbox-to-cs", _) => large::script_dropbox_to_cs(dropbox, cs).await?,
        ("script-cs-to-dropbox", Some(node)) => {
            large::script_cs_to_dropbox(dropbox, cs, node).await?
        }
        _ => return Err(format!("transfer {direction:?}: unknown, or --folder missing").into()),
    };
    println!("{}", serde_json::to_string(&t)?);
    Ok(())
}

/// The best rate (units per second) of `f` doing `units` each call, over at least `min` and
/// at least 3 calls.
async fn rate<F, Fut>(min: Duration, units: f64, mut f: F) -> Result<f64>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let (started, mut best, mut calls) = (Instant::now(), 0.0_f64, 0);
    while calls < 3 || started.elapsed() < min {
        let t = Instant::now();
        f().await?;
        best = best.max(units / t.elapsed().as_secs_f64());
        calls += 1;
    }
    Ok(best)
}

async fn micro_rows(plan: &Plan, rows: &mut Vec<Row>) -> Result<()> {
    let data = micro::pattern(plan.hash_mib << 20);
    let mb = data.len() as f64 / 1e6;
    let ours = rate(plan.min_time, mb, || async {
        std::hint::black_box(micro::content_hash(&data));
        Ok(())
    })
    .await?;
    let limit = rate(plan.min_time, mb, || async {
        std::hint::black_box(micro::sha256(&data));
        Ok(())
    })
    .await?;
    drop(data);
    rows.push(
        Row::new(
            format!("content hash, ContentHasher over {} MiB", plan.hash_mib),
            per_sec(ours, "MB"),
            format!("plain SHA-256: {}", per_sec(limit, "MB")),
            ours / limit,
        )
        .at_least(0.9, "≥ 0.90 of SHA-256"),
    );

    for (what, body, decode) in [
        (
            format!("decode list_folder page, {} entries", plan.list_entries),
            micro::list_folder_page(plan.list_entries),
            micro::decode_list_folder as fn(&[u8]) -> Result<usize>,
        ),
        (
            format!("decode CS children page, {} items", plan.cs_items),
            micro::cs_children_page(plan.cs_items),
            micro::decode_cs_children,
        ),
    ] {
        let ours = rate(plan.min_time, 1.0, || async {
            std::hint::black_box(decode(&body)?);
            Ok(())
        })
        .await?;
        let untyped = rate(plan.min_time, 1.0, || async {
            std::hint::black_box(micro::parse_untyped(&body)?);
            Ok(())
        })
        .await?;
        rows.push(Row::new(
            what,
            format!("{} ({} KiB)", per_sec(ours, "pages"), body.len() >> 10),
            format!("untyped JSON parse: {}", per_sec(untyped, "pages")),
            ours / untyped,
        ));
    }

    // SQLite's files on the real disk (fsync means something there), not in /dev/shm.
    let dir = tempfile::Builder::new()
        .prefix("ecm-bench-state-")
        .tempdir()?;
    let n = plan.settle_docs;
    let sqlite: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("s.db"))?);
    let memory: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let (mut a, mut b) = (0, 0);
    let durable = rate(plan.min_time, n as f64, || {
        a += n;
        let (s, off) = (sqlite.clone(), a);
        async move { micro::settle(&s, off, n).await }
    })
    .await?;
    let none = rate(plan.min_time, n as f64, || {
        b += n;
        let (s, off) = (memory.clone(), b);
        async move { micro::settle(&s, off, n).await }
    })
    .await?;
    rows.push(Row::new(
        "state store: documents settled, SqliteStore (synchronous = FULL)",
        per_sec(durable, "docs"),
        format!("MemoryStore: {}", per_sec(none, "docs")),
        durable / none,
    ));
    Ok(())
}

fn breakdown(counts: &Counts, files: usize) -> serde_json::Value {
    let per: serde_json::Map<String, serde_json::Value> = counts
        .per_file(files)
        .into_iter()
        .map(|(k, v)| (k, json!((v * 1000.0).round() / 1000.0)))
        .collect();
    json!({
        "dropbox_per_file": counts.dropbox_total() as f64 / files.max(1) as f64,
        "cs_per_file": counts.cs_total() as f64 / files.max(1) as f64,
        "routes_per_file": per,
    })
}

fn req_text(run: &Run) -> String {
    let n = run.files.max(1) as f64;
    let cores = run
        .cores()
        .map(|c| format!("; CPU {c:.2} cores"))
        .unwrap_or_default();
    format!(
        "{:.2} req/file (Dropbox {:.2}, CS {:.2}){cores}",
        run.requests_per_file(),
        run.counts.dropbox_total() as f64 / n,
        run.counts.cs_total() as f64 / n
    )
}

async fn harness(args: &Args) -> Result<()> {
    let plan = Plan::new(args);
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench"));
    std::fs::create_dir_all(&out).map_err(|e| format!("creating {}: {e}", out.display()))?;
    let data_parent = args.data_dir.clone().unwrap_or_else(|| {
        let shm = Path::new("/dev/shm");
        if shm.is_dir() {
            shm.to_owned()
        } else {
            std::env::temp_dir()
        }
    });
    let state_dir = tempfile::Builder::new()
        .prefix("ecm-bench-flows-")
        .tempdir()?;
    let mut rows = Vec::new();
    let mut details = serde_json::Map::new();
    let t0 = Instant::now();
    let note = |what: &str| eprintln!("[{:>6.1}s] {what}", t0.elapsed().as_secs_f64());

    if args.closeout_only || args.backup_only || args.soak_only || args.adaptive_only {
        let (dir, parent) = (state_dir.path(), &data_parent);
        if args.closeout_only {
            closeout_rows(&plan, parent, dir, &mut rows, &mut details, &note).await?;
        } else if args.backup_only {
            backup_rows(&plan, parent, dir, &mut rows, &mut details, &note).await?;
        } else if args.soak_only {
            soak_rows(&plan, parent, dir, &mut rows, &mut details, &note).await?;
        } else {
            adaptive_rows(&plan, parent, &mut rows, &mut details, &note).await?;
        }
        print!("{}", table::text(&rows));
        println!("{}", serde_json::Value::Object(details));
        return Ok(());
    }

    if args.workers_only {
        let bench = Bench::start(&data_parent).await?;
        note(&format!("seeding {} files", plan.files));
        archive::seed(&bench, plan.files, plan.file_size).await?;
        bench.set_latency_ms(plan.latency_ms).await?;
        note("several workers (processes on PostgreSQL)");
        let rows = workers::rows(
            &bench,
            &std::env::current_exe()?,
            plan.files,
            plan.worker_concurrency,
            &plan.worker_levels,
            plan.latency(),
            &mut details,
        )
        .await?;
        print!("{}", table::text(&rows));
        println!("{}", serde_json::Value::Object(details));
        return Ok(());
    }

    note("micro measures");
    micro_rows(&plan, &mut rows).await?;

    let bench = Bench::start(&data_parent).await?;
    note(&format!("seeding {} files", plan.files));
    archive::seed(&bench, plan.files, plan.file_size).await?;
    bench.set_latency_ms(plan.latency_ms).await?;
    let lat = plan.latency();

    note("baseline script");
    let base = archive::baseline(&bench, plan.files).await?;
    details.insert("baseline".into(), breakdown(&base.counts, base.files));
    let base_fps = base.files_per_sec();
    rows.push(Row::new(
        "small-file archive: script baseline (one at a time, one call per operation)",
        format!("{}, {}", per_sec(base_fps, "files"), req_text(&base)),
        format!("ideal at c=1: {}", per_sec(base.ideal(1, lat), "files")),
        base_fps / base.ideal(1, lat),
    ));
    let mut points = Vec::new();
    let mut last: Option<Run> = None;
    for &c in &plan.levels {
        note(&format!("archive_on_approval at concurrency {c}"));
        let run = archive::flow(&bench, c, plan.files, state_dir.path()).await?;
        let (fps, ideal) = (run.files_per_sec(), run.ideal(c, lat));
        details.insert(format!("archive_c{c}"), breakdown(&run.counts, run.files));
        rows.push(
            Row::new(
                format!("small-file archive, c={c}: vs ideal"),
                format!("{}, {}", per_sec(fps, "files"), req_text(&run)),
                format!("ideal {}", per_sec(ideal, "files")),
                fps / ideal,
            )
            .at_least(0.8, "≥ 0.80 of ideal"),
        );
        rows.push(
            Row::new(
                format!("small-file archive, c={c}: vs baseline"),
                per_sec(fps, "files"),
                format!("script {}", per_sec(base_fps, "files")),
                fps / base_fps,
            )
            .at_least(5.0, "≥ 5× baseline"),
        );
        points.push(Point {
            concurrency: c,
            ours: fps,
            ideal,
        });
        last = Some(run);
    }
    if let (Some(run), Some(&c)) = (&last, plan.levels.last()) {
        // The same run at the highest concurrency with a state store that writes nothing to
        // disk: what is left between the durable run and its ideal that is not the store.
        note(&format!(
            "archive_on_approval at concurrency {c}, MemoryStore"
        ));
        let mem =
            archive::flow_with(&bench, c, plan.files, Arc::new(MemoryStore::new()), "mem").await?;
        details.insert(
            format!("archive_c{c}_memory"),
            breakdown(&mem.counts, mem.files),
        );
        let (fps, ideal) = (mem.files_per_sec(), mem.ideal(c, lat));
        rows.push(Row::new(
            format!("small-file archive, c={c}, MemoryStore (no durability): vs ideal"),
            format!("{}, {}", per_sec(fps, "files"), req_text(&mem)),
            format!("ideal {}", per_sec(ideal, "files")),
            fps / ideal,
        ));
        rows.push(Row::new(
            format!("small-file archive, c={c}: SqliteStore vs MemoryStore"),
            per_sec(run.files_per_sec(), "files"),
            format!("MemoryStore {}", per_sec(fps, "files")),
            run.files_per_sec() / fps,
        ));
    }
    if let Some(run) = &last {
        let rpf = run.requests_per_file();
        rows.push(
            Row::new(
                format!(
                    "small-file archive: requests per file (c={})",
                    plan.levels.last().copied().unwrap_or(1)
                ),
                req_text(run),
                format!("script {:.2} req/file", base.requests_per_file()),
                rpf / base.requests_per_file(),
            )
            .value_at_most(rpf, 4.0, "≤ 4 req/file"),
        );
    }
    note("several workers (processes on PostgreSQL)");
    rows.extend(
        workers::rows(
            &bench,
            &std::env::current_exe()?,
            plan.files,
            plan.worker_concurrency,
            &plan.worker_levels,
            lat,
            &mut details,
        )
        .await?,
    );
    let svg = chart::archive_svg(&points, base_fps, plan.latency_ms)?;
    std::fs::write(out.join("archive.svg"), svg)?;

    for mode in [Mode::Single, Mode::Batched] {
        for &c in &plan.upload_levels {
            note(&format!("upload leg: {} at concurrency {c}", mode.label()));
            let run = upload::run(&bench, mode, c, plan.upload_files, plan.file_size).await?;
            details.insert(
                format!(
                    "upload_{}_c{c}",
                    if mode == Mode::Single {
                        "single"
                    } else {
                        "batch"
                    }
                ),
                breakdown(&run.counts, run.files),
            );
            let (fps, ideal) = (run.files_per_sec(), run.ideal(c, lat));
            rows.push(Row::new(
                format!(
                    "upload leg, {} × {} KiB, {}, c={c}",
                    plan.upload_files,
                    plan.file_size >> 10,
                    mode.label()
                ),
                format!(
                    "{}, {:.3} req/file",
                    per_sec(fps, "files"),
                    run.requests_per_file()
                ),
                format!("ideal {}", per_sec(ideal, "files")),
                fps / ideal,
            ));
        }
    }

    // The large file: throughput, not latency, is measured.
    bench.set_latency_ms(0).await?;
    note(&format!("large file: seeding {} MiB", plan.large_mib));
    large::seed(&bench, plan.large_mib).await?;
    let exe = std::env::current_exe()?;
    let common = |dir: &str| {
        vec![
            dir.to_owned(),
            "--dropbox".into(),
            bench.dropbox_url(),
            "--cs".into(),
            bench.cs_url(),
        ]
    };
    let (lb, ls) = large::raw_get_dropbox(&bench).await?;
    note("large file: Dropbox → CS");
    let mut a = common("dropbox-to-cs");
    a.extend([
        "--state".into(),
        path_arg(&state_dir.path().join("large1.db")),
    ]);
    let d2c = large::child(&exe, &a).await?;
    note("large file: Dropbox → CS, script");
    let d2c_script = large::child(&exe, &common("script-dropbox-to-cs")).await?;
    let (cb, cs_secs) = large::raw_get_cs(&bench, d2c.node).await?;
    // Free the first copy before the third is written.
    bench.dropbox()?.files().delete(large::FILE).await?;
    note("large file: CS → Dropbox");
    let mut a = common("cs-to-dropbox");
    a.extend([
        "--state".into(),
        path_arg(&state_dir.path().join("large2.db")),
        "--folder".into(),
        d2c.folder.to_string(),
    ]);
    let c2d = large::child(&exe, &a).await?;
    note("large file: CS → Dropbox, script");
    let mut a = common("script-cs-to-dropbox");
    a.extend(["--folder".into(), d2c.node.to_string()]);
    let c2d_script = large::child(&exe, &a).await?;
    let mib = |kib: u64| kib as f64 / 1024.0;
    for (label, t, limit_mb_s, limit_what, script) in [
        (
            "Dropbox → CS",
            &d2c,
            lb as f64 / 1e6 / ls,
            "raw GET of the Dropbox file",
            &d2c_script,
        ),
        (
            "CS → Dropbox",
            &c2d,
            cb as f64 / 1e6 / cs_secs,
            "raw GET of the CS document",
            &c2d_script,
        ),
    ] {
        rows.push(
            Row::new(
                format!("large file, {} MiB, {label}: throughput", plan.large_mib),
                per_sec(t.mb_per_sec(), "MB"),
                format!("{limit_what}: {}", per_sec(limit_mb_s, "MB")),
                t.mb_per_sec() / limit_mb_s,
            )
            .at_least(0.6, "≥ 0.60 of loopback"),
        );
        rows.push(Row::new(
            format!("large file, {label}: vs a script around the SDKs"),
            per_sec(t.mb_per_sec(), "MB"),
            format!(
                "script (download stream into upload): {}",
                per_sec(script.mb_per_sec(), "MB")
            ),
            t.mb_per_sec() / script.mb_per_sec(),
        ));
        let rss = mib(t.peak_rss_kib);
        rows.push(
            Row::new(
                format!("large file, {label}: peak RSS of the transfer process"),
                format!("{rss:.1} MiB"),
                format!("payload {} MiB", plan.large_mib),
                rss / plan.large_mib as f64,
            )
            .value_at_most(rss, 64.0, "≤ 64 MiB"),
        );
    }

    drop(bench);
    backup_rows(
        &plan,
        &data_parent,
        state_dir.path(),
        &mut rows,
        &mut details,
        &note,
    )
    .await?;
    closeout_rows(
        &plan,
        &data_parent,
        state_dir.path(),
        &mut rows,
        &mut details,
        &note,
    )
    .await?;
    adaptive_rows(&plan, &data_parent, &mut rows, &mut details, &note).await?;
    soak_rows(
        &plan,
        &data_parent,
        state_dir.path(),
        &mut rows,
        &mut details,
        &note,
    )
    .await?;
    note("done");

    let text = table::text(&rows);
    print!("{text}");
    println!("\nRequests per file, by route:");
    for (k, v) in &details {
        println!("  {k}: {}", v["routes_per_file"]);
    }
    let header = format!(
        "Measured {} by `cargo run --release -p ecm-benches --bin harness{}` ({} ms latency per request on both servers for the small-file and upload measures, none for the large file).\n\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        {
            let given: Vec<String> = std::env::args().skip(1).collect();
            if given.is_empty() {
                String::new()
            } else {
                format!(" -- {}", given.join(" "))
            }
        },
        plan.latency_ms
    );
    std::fs::write(out.join("table.md"), header + &table::markdown(&rows))?;
    std::fs::write(
        out.join("table.json"),
        table::json(&rows, plan.quick, serde_json::Value::Object(details)),
    )?;
    println!("\nwritten: {}", out.display());
    Ok(())
}

/// A child's answer: its figures as one JSON line on standard output (what
/// [`ecm_benches::run_child`] reads).
fn print_line<T: serde::Serialize>(out: Result<T>) -> Result<()> {
    println!("{}", serde_json::to_string(&out?)?);
    Ok(())
}

fn path_arg(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}
