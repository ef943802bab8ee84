//! The harness's sections that each start a sandbox of their own and measure child processes:
//! the incremental backup and the project closeout of large trees (peak RSS), the soak under
//! faults, and adaptive against fixed concurrency under a write limit. `main.rs` plans the run
//! and calls them.

use std::path::Path;

use ecm_benches::env::Bench;
use ecm_benches::table::{per_sec, Row};
use ecm_benches::{adaptive, archive, backup, closeout, soak, Result};
use serde_json::json;

use super::{path_arg, Plan};

/// The incremental-backup measure, on a sandbox of its own (no latency): the seeded tree backed
/// up by a first child run (peak RSS, files/s), then 10 changes and a second child run (its
/// requests at the sandbox).
pub(super) async fn backup_rows(
    plan: &Plan,
    data_parent: &Path,
    state_dir: &Path,
    rows: &mut Vec<Row>,
    details: &mut serde_json::Map<String, serde_json::Value>,
    note: &dyn Fn(&str),
) -> Result<()> {
    let n = plan.backup_files;
    let bench = Bench::start(data_parent).await?;
    note(&format!("incremental backup: seeding {n} files"));
    backup::seed(&bench, n).await?;
    let exe = std::env::current_exe()?;
    let args = [
        "--dropbox".into(),
        bench.dropbox_url(),
        "--cs".into(),
        bench.cs_url(),
        "--state".into(),
        path_arg(&state_dir.join("backup.db")),
        "--concurrency".into(),
        plan.backup_concurrency.to_string(),
    ];
    note("incremental backup: first run");
    bench.reset_stats().await?;
    let first = backup::child(&exe, &args).await?;
    let first_counts = bench.stats().await?;
    if first.written != n as u64 {
        return Err(format!(
            "incremental backup: first run wrote {} of {n}",
            first.written
        )
        .into());
    }
    let changes = backup::change(&bench, n).await?;
    note("incremental backup: second run");
    bench.reset_stats().await?;
    let second = backup::child(&exe, &args).await?;
    let counts = bench.stats().await?;
    let (w, m, r) = (second.written, second.moved, second.removed);
    if (w, m, r) != (8, 1, 1) {
        return Err(format!(
            "incremental backup: second run saw {w} written, {m} moved, {r} removed; 8, 1, 1 expected"
        )
        .into());
    }
    drop(bench);
    let mut routes: Vec<(String, u64)> = counts
        .dropbox
        .iter()
        .map(|(k, v)| (format!("Dropbox {k}"), *v))
        .chain(counts.cs.iter().map(|(k, v)| (format!("CS {k}"), *v)))
        .collect();
    routes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    details.insert(
        "backup".into(),
        json!({
            "files": n,
            "first": {"secs": first.secs, "files_per_sec": first.files_per_sec(),
                      "peak_rss_kib": first.peak_rss_kib,
                      "requests": first_counts.total(),
                      "requests_per_file": first_counts.total() as f64 / n.max(1) as f64},
            "second": {"secs": second.secs, "peak_rss_kib": second.peak_rss_kib,
                       "requests": counts.total(),
                       "routes": routes.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>()},
        }),
    );
    let total = counts.total() as f64;
    rows.push(
        Row::new(
            format!("incremental backup, 100,000 files: requests of the run after 10 changes ({n} files seeded)"),
            format!(
                "{} requests (Dropbox {}, CS {}) for {changes} changes",
                counts.total(),
                counts.dropbox_total(),
                counts.cs_total()
            ),
            "limit 20 requests",
            total / 20.0,
        )
        .value_at_most(total, 20.0, "≤ 20 requests"),
    );
    let rss = first.peak_rss_kib as f64 / 1024.0;
    rows.push(
        Row::new(
            format!(
                "incremental backup, 100,000 files: peak RSS of the first run ({n} files seeded)"
            ),
            format!(
                "{rss:.1} MiB; {} ({:.2} req/file)",
                per_sec(first.files_per_sec(), "files"),
                first_counts.total() as f64 / n.max(1) as f64
            ),
            "limit 128 MiB",
            rss / 128.0,
        )
        .value_at_most(rss, 128.0, "≤ 128 MiB"),
    );
    Ok(())
}

/// The large-tree closeout, on a sandbox of its own (no latency): a tree of a tenth of
/// `closeout_files` and one of `closeout_files` closed out by child processes; the peak RSS of
/// the large one against 128 MiB, and against the small one's (flat: memory follows the
/// concurrency, not the tree).
pub(super) async fn closeout_rows(
    plan: &Plan,
    data_parent: &Path,
    state_dir: &Path,
    rows: &mut Vec<Row>,
    details: &mut serde_json::Map<String, serde_json::Value>,
    note: &dyn Fn(&str),
) -> Result<()> {
    const CONCURRENCY: usize = 16;
    let n = plan.closeout_files;
    let small = (n / 10).max(1);
    let bench = Bench::start(data_parent).await?;
    let exe = std::env::current_exe()?;
    let mut outs = Vec::new();
    for files in [small, n] {
        note(&format!("project closeout: seeding {files} files"));
        closeout::seed(&bench, files).await?;
        note(&format!("project closeout: {files} files"));
        bench.reset_stats().await?;
        let args = [
            "--dropbox".into(),
            bench.dropbox_url(),
            "--cs".into(),
            bench.cs_url(),
            "--state".into(),
            path_arg(&state_dir.join(format!("closeout-{files}.db"))),
            "--files".into(),
            files.to_string(),
            "--concurrency".into(),
            CONCURRENCY.to_string(),
        ];
        let out = closeout::child(&exe, &args).await?;
        let requests = bench.stats().await?.total();
        outs.push((files, out, requests));
    }
    drop(bench);
    let [(sf, s, _), (lf, l, requests)] = &outs[..] else {
        unreachable!("two sizes were run");
    };
    let (s_rss, l_rss) = (
        s.peak_rss_kib as f64 / 1024.0,
        l.peak_rss_kib as f64 / 1024.0,
    );
    details.insert(
        "closeout".into(),
        json!({"small": {"files": sf, "secs": s.secs, "peak_rss_kib": s.peak_rss_kib},
               "large": {"files": lf, "secs": l.secs, "peak_rss_kib": l.peak_rss_kib,
                         "requests": requests, "folders": l.folders}}),
    );
    rows.push(
        Row::new(
            format!("project closeout, 100,000 files: peak RSS ({lf} files, c={CONCURRENCY})"),
            format!(
                "{l_rss:.1} MiB; {}; {:.2} req/file",
                per_sec(*lf as f64 / l.secs, "files"),
                *requests as f64 / (*lf).max(1) as f64
            ),
            "limit 128 MiB",
            l_rss / 128.0,
        )
        .value_at_most(l_rss, 128.0, "≤ 128 MiB"),
    );
    let growth = l_rss / s_rss;
    rows.push(
        Row::new(
            format!("project closeout: peak RSS, {lf} files against {sf}"),
            format!("{l_rss:.1} MiB"),
            format!("{sf} files: {s_rss:.1} MiB"),
            growth,
        )
        .value_at_most(growth, 1.5, "≤ 1.5× (flat)"),
    );
    Ok(())
}

/// The soak, on a sandbox of its own (faults at [`soak::FAULT_RATE`], 5 % in quick mode,
/// seeded): the child's
/// peak RSS at 5,000 documents (a quarter of a smaller soak) and at the end, its throughput,
/// the faults injected and the reruns, and the end state read back once the faults are gone.
pub(super) async fn soak_rows(
    plan: &Plan,
    data_parent: &Path,
    state_dir: &Path,
    rows: &mut Vec<Row>,
    details: &mut serde_json::Map<String, serde_json::Value>,
    note: &dyn Fn(&str),
) -> Result<()> {
    const CONCURRENCY: usize = 32;
    let n = plan.soak_docs;
    let mark = soak::MARK.min(n / 4).max(1);
    let bench = Bench::start_with(
        data_parent,
        sandbox::SandboxConfig::new().fault_seed(soak::FAULT_SEED),
    )
    .await?;
    note(&format!("soak: seeding {n} documents"));
    soak::seed(&bench, n).await?;
    let rate = plan.soak_fault_rate;
    for rule in soak::rules(rate) {
        let sb = bench.sandbox();
        for faults in [sb.dropbox_faults(), sb.contentserver_faults()] {
            faults.add(rule.clone()).map_err(|e| e.to_string())?;
        }
    }
    bench.reset_stats().await?;
    let state = state_dir.join("soak.db");
    let args = [
        "--dropbox".into(),
        bench.dropbox_url(),
        "--cs".into(),
        bench.cs_url(),
        "--state".into(),
        path_arg(&state),
        "--concurrency".into(),
        CONCURRENCY.to_string(),
        "--mark".into(),
        mark.to_string(),
    ];
    note(&format!(
        "soak: {n} documents at c={CONCURRENCY}, faults at {:.0} %",
        rate * 100.0
    ));
    let out = soak::child(&std::env::current_exe()?, &args).await?;
    let requests = bench.stats().await?.total();
    let fired = soak::fired(&bench);
    let faults: u64 = fired.values().sum();
    for faults in [
        bench.sandbox().dropbox_faults(),
        bench.sandbox().contentserver_faults(),
    ] {
        faults.clear();
    }
    note("soak: reading both sides back");
    let end = soak::check(&bench, &state).await?;
    drop(bench);
    let (at_mark, at_end) = (
        out.rss_at_mark_kib as f64 / 1024.0,
        out.peak_rss_kib as f64 / 1024.0,
    );
    let growth = at_end / at_mark.max(1e-9);
    let exact = end.exact(n);
    details.insert(
        "soak".into(),
        json!({"docs": n, "concurrency": CONCURRENCY, "fault_rate": rate,
               "fault_seed": soak::FAULT_SEED, "child": out, "faults": fired,
               "faults_total": faults, "requests": requests, "end_state": end, "exact": exact}),
    );
    rows.push(
        Row::new(
            format!(
                "soak, {n} documents, c={CONCURRENCY}, faults {:.0} %: peak RSS at {n} vs at {}",
                rate * 100.0,
                out.mark_docs
            ),
            format!(
                "{at_end:.1} MiB; {} ({} runs)",
                per_sec(out.docs_per_sec(), "docs"),
                out.runs
            ),
            format!("at {} documents: {at_mark:.1} MiB", out.mark_docs),
            growth,
        )
        .value_at_most(growth, 1.5, "≤ 1.5× (flat)"),
    );
    let mut row = Row::new(
        "soak: end state after the faults are cleared",
        format!(
            "{} of {n} once in CS, {} bytes differ, {} audited once; {} lost, {} duplicated",
            end.in_cs, end.bytes_differ, end.audited_once, end.lost, end.duplicated
        ),
        format!(
            "{faults} faults injected in {requests} requests, {} reruns, {} client retries",
            out.runs - 1,
            out.client_retries
        ),
        end.audited_once as f64 / n.max(1) as f64,
    );
    row.goal = "exact (0 lost, 0 duplicated)".into();
    row.met = Some(exact);
    rows.push(row);
    Ok(())
}

/// Adaptive against fixed concurrency (c = [`adaptive::CONCURRENCY`]) on a sandbox of its own
/// whose CS refuses writes past [`adaptive::WRITE_LIMIT`] in flight: files/s, 429s and
/// retries of each, adaptive ÷ fixed.
pub(super) async fn adaptive_rows(
    plan: &Plan,
    data_parent: &Path,
    rows: &mut Vec<Row>,
    details: &mut serde_json::Map<String, serde_json::Value>,
    note: &dyn Fn(&str),
) -> Result<()> {
    let (n, limit, c) = (
        plan.adaptive_files,
        adaptive::WRITE_LIMIT,
        adaptive::CONCURRENCY,
    );
    let bench = Bench::start_with(
        data_parent,
        sandbox::SandboxConfig::new().write_limit(sandbox::FaultTarget::ContentServer, limit),
    )
    .await?;
    note(&format!("adaptive load: seeding {n} files"));
    archive::seed(&bench, n, plan.file_size).await?;
    let lat = adaptive::latency(plan.quick);
    bench.set_latency_ms(lat.as_millis() as u64).await?;
    note(&format!(
        "adaptive load: c={c}, adaptive, CS write limit {limit}"
    ));
    let plain = adaptive::run(&bench, n, true, false).await?;
    note(&format!(
        "adaptive load: c={c}, adaptive with retry_sleep, CS write limit {limit}"
    ));
    let a = adaptive::run(&bench, n, true, true).await?;
    note(&format!(
        "adaptive load: c={c}, fixed, CS write limit {limit}"
    ));
    let f = adaptive::run(&bench, n, false, false).await?;
    drop(bench);
    let lowest = |r: &adaptive::AdaptiveRun| r.limits.iter().map(|l| l.lowest).min().unwrap_or(c);
    details.insert(
        "adaptive".into(),
        json!({"files": n, "concurrency": c, "write_limit": limit,
               "latency_ms": lat.as_millis() as u64, "adaptive": a,
               "adaptive_plain_sleep": plain, "fixed": f}),
    );
    let text = |r: &adaptive::AdaptiveRun| {
        format!(
            "{}, {} 429s, {} client retries, {} runs; mean limit {:.1}, {:.1} places held waiting out Retry-After",
            per_sec(r.files_per_sec(), "files"),
            r.refused,
            r.client_retries,
            r.runs,
            r.mean_limit,
            r.mean_waiting
        )
    };
    for (what, r) in [
        ("adaptive, retry_sleep", &a),
        ("adaptive, plain sleep", &plain),
    ] {
        rows.push(
            Row::new(
                format!(
                    "adaptive load, c={c} against a CS write limit of {limit}: {what} vs fixed"
                ),
                format!("{} (limit lowest {})", text(r), lowest(r)),
                format!("fixed: {}", text(&f)),
                r.files_per_sec() / f.files_per_sec(),
            )
            .at_least(1.0, "≥ 1.0 (adaptive no slower)"),
        );
    }
    rows.push(
        Row::new(
            "adaptive load: 429s, adaptive vs fixed",
            format!("{} 429s", a.refused),
            format!("fixed: {} 429s", f.refused),
            a.refused as f64 / f.refused.max(1) as f64,
        )
        .value_at_most(a.refused as f64, f.refused as f64, "fewer than fixed"),
    );
    Ok(())
}
