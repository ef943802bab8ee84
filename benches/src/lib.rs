//! Measures of the clients and the bridge, each reported as a ratio against a limit or a
//! baseline measured in the same run (the machines these run on are noisy: an absolute time
//! alone says little).
//!
//! * [`micro`]: the content hash, page decoding and the state store, as plain functions that
//!   the criterion bench (`cargo bench -p ecm-benches`) and the harness both time.
//! * [`env`]: the sandbox the harness starts, its latency (fault API) and request counts
//!   (`/__sandbox/stats`).
//! * [`archive`], [`upload`], [`large`]: the flow measures of the harness
//!   (`cargo run --release -p ecm-benches --bin harness`).
//! * [`backup`]: the incremental backup of a 100,000-file team folder (seeded in one request).
//! * [`closeout`]: a project closeout of a 100,000-file tree, and of a tenth of it (peak RSS).
//! * [`workers`]: the small-file archive shared by 1, 2 and 4 worker processes on PostgreSQL.
//! * [`soak`]: 20,000 documents through `archive_on_approval` under 1 % faults (peak RSS at
//!   5,000 and at 20,000, the end state read back).
//! * [`adaptive`]: adaptive against fixed concurrency under the sandbox's write limit.
//! * [`table`] and [`chart`]: the one table (text, Markdown, JSON) and the SVG chart.

pub mod adaptive;
pub mod archive;
pub mod backup;
pub mod chart;
pub mod closeout;
pub mod env;
pub mod large;
pub mod micro;
pub mod soak;
pub mod table;
pub mod upload;
pub mod workers;

/// Every error of the harness: a message that names the call or step that failed.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The harness's result type.
pub type Result<T> = std::result::Result<T, BoxError>;

/// Adds which step failed to an error's message.
pub(crate) fn ctx<T, E: std::fmt::Display>(
    r: std::result::Result<T, E>,
    what: impl std::fmt::Display,
) -> Result<T> {
    r.map_err(|e| format!("{what}: {e}").into())
}

/// Runs the harness binary `exe` as `exe <subcommand> <args>` (a child that measures itself)
/// and decodes the JSON it prints on its last line of standard output; a child that fails
/// gives its exit status and standard error.
pub async fn run_child<T: serde::de::DeserializeOwned>(
    exe: &std::path::Path,
    subcommand: &str,
    args: &[String],
) -> Result<T> {
    let out = ctx(
        tokio::process::Command::new(exe)
            .arg(subcommand)
            .args(args)
            .output()
            .await,
        format!("starting the {subcommand} child"),
    )?;
    if !out.status.success() {
        return Err(format!(
            "{subcommand} {args:?}: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    ctx(
        serde_json::from_str(last),
        format!("{subcommand} output {last:?}"),
    )
}

/// The peak resident set size of this process (`VmHWM` of `/proc/self/status`), in KiB; `None`
/// where the file does not exist (not Linux).
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// CPU seconds (user + system, all threads) this process has used so far, from
/// `/proc/self/stat` (clock ticks of 1/100 s, the Linux value of `CLK_TCK` on every
/// architecture it runs on); `None` where the file does not exist.
pub fn cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 of `rest`.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}
