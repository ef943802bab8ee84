//! The operator's commands on a flow's state (`ecm-ops`): `status`, `failures`, `retry`,
//! `conflicts`, `resolve`, `audit`, `runs`, each backed by [`ecm_bridge::ops`] and each with
//! `--json` for machine-readable output (one JSON document on stdout; `audit` writes JSON
//! lines or CSV). Also the metrics print-out of the flow examples (`--metrics`).

use std::io::Write;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use ecm_bridge::ops::{self, AuditFilter, AuditFormat, DocLine, Resolve, Selection};
use ecm_bridge::state::{RunRecord, Store};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// See and mend the state of the bridge's flows.
#[derive(Debug, Parser)]
#[command(name = "ecm-ops")]
pub struct Args {
    /// The state the flow runs with: a SQLite file, or a PostgreSQL URL
    /// (`postgres://user@host/db?schema=name`, see [`crate::state`]).
    #[arg(long, global = true)]
    pub state: Option<String>,
    /// Machine-readable output: one JSON document on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Per flow: documents by state, the last runs, what is awaiting and what is due.
    Status {
        /// Only this flow (default: every flow the state knows).
        #[arg(long)]
        flow: Option<String>,
        /// How many runs to show.
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// The failed and dead documents, with their errors.
    Failures {
        /// The flow.
        #[arg(long)]
        flow: String,
    },
    /// Requeues failed and dead documents: the next run tries them again.
    Retry {
        /// The flow.
        #[arg(long)]
        flow: String,
        /// Every failed and dead document.
        #[arg(long, conflicts_with = "keys")]
        all: bool,
        /// The documents' keys (as `failures` shows them).
        keys: Vec<String>,
    },
    /// The conflicts and quarantined documents, with their reasons.
    Conflicts {
        /// The flow.
        #[arg(long)]
        flow: String,
    },
    /// Resolves a conflict or quarantine by a policy.
    Resolve {
        /// The flow.
        #[arg(long)]
        flow: String,
        /// The document's key.
        key: String,
        /// `retry` (write it again), `accept` (the target as it is), `dismiss` (leave this
        /// version).
        #[arg(long)]
        policy: String,
    },
    /// The audit trail of a document, a run or a time span.
    Audit {
        /// Only this flow.
        #[arg(long)]
        flow: Option<String>,
        /// Only this document (its key, or key@version).
        #[arg(long)]
        document: Option<String>,
        /// Only this run.
        #[arg(long)]
        run: Option<u64>,
        /// From this time (RFC 3339).
        #[arg(long)]
        since: Option<DateTime<Utc>>,
        /// Before this time (RFC 3339).
        #[arg(long)]
        until: Option<DateTime<Utc>>,
        /// The export format (`--json` means `jsonl`).
        #[arg(long, value_enum, default_value = "jsonl")]
        format: Format,
    },
    /// The run history with counts.
    Runs {
        /// The flow.
        #[arg(long)]
        flow: String,
        /// Only runs begun at or after this time (RFC 3339).
        #[arg(long)]
        since: Option<DateTime<Utc>>,
    },
}

/// The audit export formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// JSON lines.
    Jsonl,
    /// CSV with a header line.
    Csv,
}

/// Opens the state named by `--state`.
async fn open(args: &Args) -> Result<Arc<dyn Store>, BoxError> {
    let spec = args
        .state
        .as_ref()
        .ok_or("name the flow's state with --state (a SQLite file or a postgres:// URL)")?;
    crate::state::open(spec, true).await
}

/// Runs one command, writing to `out`.
pub async fn run(args: &Args, out: &mut dyn Write) -> Result<(), BoxError> {
    let store = open(args).await?;
    let s = &*store;
    let json = args.json;
    match &args.command {
        Command::Status { flow, runs } => {
            let flows = match flow {
                Some(f) => vec![f.clone()],
                None => ops::flows(s).await?,
            };
            let mut all = Vec::new();
            for f in &flows {
                all.push(ops::status(s, f, *runs, Utc::now()).await?);
            }
            if json {
                return emit(out, &all);
            }
            for st in &all {
                writeln!(out, "{}", st.flow)?;
                let states: Vec<String> = st
                    .documents
                    .iter()
                    .filter(|(_, n)| **n > 0)
                    .map(|(k, n)| format!("{n} {k}"))
                    .collect();
                writeln!(
                    out,
                    "  documents: {}",
                    if states.is_empty() {
                        "none".into()
                    } else {
                        states.join(", ")
                    }
                )?;
                writeln!(
                    out,
                    "  awaiting: {}, due now: {}",
                    st.awaiting.len(),
                    st.due.len()
                )?;
                for d in &st.due {
                    writeln!(out, "    due {}", line(d))?;
                }
                writeln!(out, "  last runs:")?;
                for r in &st.runs {
                    writeln!(out, "    {}", run_line(r))?;
                }
            }
        }
        Command::Failures { flow } => docs(out, json, &ops::failures(s, flow).await?)?,
        Command::Conflicts { flow } => docs(out, json, &ops::conflicts(s, flow).await?)?,
        Command::Retry { flow, all, keys } => {
            let which = if *all {
                Selection::All
            } else if keys.is_empty() {
                return Err("name the documents to retry, or --all".into());
            } else {
                Selection::Keys(keys.clone())
            };
            let changed = ops::retry(s, flow, &which).await?;
            if json {
                return emit(out, &changed);
            }
            writeln!(
                out,
                "requeued {} (run {}):",
                changed.documents.len(),
                changed.run
            )?;
            for d in &changed.documents {
                writeln!(out, "  {}", line(d))?;
            }
        }
        Command::Resolve { flow, key, policy } => {
            let policy: Resolve = policy.parse()?;
            let changed = ops::resolve(s, flow, key, policy).await?;
            if json {
                return emit(out, &changed);
            }
            for d in &changed.documents {
                writeln!(
                    out,
                    "resolved by {policy} (run {}): {}",
                    changed.run,
                    line(d)
                )?;
            }
        }
        Command::Audit {
            flow,
            document,
            run,
            since,
            until,
            format,
        } => {
            let filter = AuditFilter {
                flow: flow.clone(),
                document: document.clone(),
                run: *run,
                since: *since,
                until: *until,
            };
            let entries = ops::audit::audit(s, &filter).await?;
            let format = match (json, format) {
                (true, _) | (false, Format::Jsonl) => AuditFormat::JsonLines,
                (false, Format::Csv) => AuditFormat::Csv,
            };
            ops::audit::write(&entries, format, out)?;
        }
        Command::Runs { flow, since } => {
            let runs = ops::runs(s, flow, *since).await?;
            if json {
                return emit(out, &runs);
            }
            for r in &runs {
                writeln!(out, "{}", run_line(r))?;
            }
        }
    }
    Ok(())
}

fn emit<T: serde::Serialize>(out: &mut dyn Write, value: &T) -> Result<(), BoxError> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)?;
    Ok(())
}

fn docs(out: &mut dyn Write, json: bool, docs: &[DocLine]) -> Result<(), BoxError> {
    if json {
        return emit(out, &docs);
    }
    if docs.is_empty() {
        writeln!(out, "none")?;
    }
    for d in docs {
        writeln!(out, "{}", line(d))?;
    }
    Ok(())
}

fn line(d: &DocLine) -> String {
    let mut s = format!(
        "{} {} {} (attempts {})",
        d.key,
        d.status,
        d.path.as_deref().unwrap_or("-"),
        d.attempts
    );
    if let Some(e) = &d.error {
        s.push_str(&format!(" — {e}"));
    }
    s
}

fn run_line(r: &RunRecord) -> String {
    let counts: Vec<String> = r.counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let end = match r.finished {
        Some(t) => format!("finished {}", t.format("%Y-%m-%d %H:%M:%S")),
        None => "unfinished".into(),
    };
    format!(
        "run {} started {} {end}: {}",
        r.id,
        r.started.format("%Y-%m-%d %H:%M:%S"),
        if counts.is_empty() {
            "nothing".into()
        } else {
            counts.join(", ")
        }
    )
}
