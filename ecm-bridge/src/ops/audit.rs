//! The audit trail of a document, a run or a time span, written as JSON lines or CSV.

use std::io::Write;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::DocRef;
use crate::state::{AuditEntry, RunId, Store};

/// Which audit entries [`audit`] keeps; every field left `None` keeps everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    /// Only this flow's.
    pub flow: Option<String>,
    /// Only this source document's: its key (`dropbox:id:…`, every version) or a marker
    /// with a version (`dropbox:id:…@rev`, that version only).
    pub document: Option<String>,
    /// Only entries written by this run.
    pub run: Option<RunId>,
    /// Only entries at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only entries before this time.
    pub until: Option<DateTime<Utc>>,
}

impl AuditFilter {
    /// Whether `e` passes.
    pub fn keeps(&self, e: &AuditEntry) -> bool {
        let doc = self.document.as_deref().is_none_or(|d| {
            if d.contains('@') {
                e.source.marker() == d
            } else {
                e.source.key() == d
            }
        });
        doc && self.flow.as_deref().is_none_or(|f| e.flow == f)
            && self.run.is_none_or(|r| e.run == Some(r))
            && self.since.is_none_or(|t| e.time >= t)
            && self.until.is_none_or(|t| e.time < t)
    }
}

/// The audit entries that pass `filter`, oldest first.
pub async fn audit(store: &dyn Store, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
    let all = store.audit(filter.flow.as_deref()).await?;
    Ok(all.into_iter().filter(|e| filter.keeps(e)).collect())
}

/// How [`write`] spells the entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditFormat {
    /// One JSON object per line, as [`AuditEntry`] serialises (the form
    /// [`crate::state::StateStore::export_audit_jsonl`] writes).
    JsonLines,
    /// RFC 4180 CSV with a header line: [`CSV_COLUMNS`].
    Csv,
}

/// The CSV columns, in order. `source` and `target` are markers (`dropbox:id:…@rev`,
/// `cs:123@2`); an absent value is an empty field.
pub const CSV_COLUMNS: [&str; 10] = [
    "time",
    "flow",
    "run",
    "action",
    "outcome",
    "source",
    "path",
    "source_hash",
    "target",
    "account",
];

/// Writes `entries` to `out` in `format`; returns how many.
pub fn write(entries: &[AuditEntry], format: AuditFormat, out: &mut dyn Write) -> Result<u64> {
    let io = |e: std::io::Error| Error::State(format!("writing the audit trail: {e}"));
    match format {
        AuditFormat::JsonLines => {
            for e in entries {
                let line = serde_json::to_string(e).map_err(|e| Error::State(e.to_string()))?;
                writeln!(out, "{line}").map_err(io)?;
            }
        }
        AuditFormat::Csv => {
            writeln!(out, "{}", CSV_COLUMNS.join(",")).map_err(io)?;
            for e in entries {
                let fields = [
                    e.time.to_rfc3339_opts(SecondsFormat::Micros, true),
                    e.flow.clone(),
                    e.run.map(|r| r.to_string()).unwrap_or_default(),
                    e.action.clone(),
                    e.outcome.clone(),
                    e.source.marker(),
                    e.path.clone().unwrap_or_default(),
                    e.source_hash.clone().unwrap_or_default(),
                    e.target.as_ref().map(DocRef::marker).unwrap_or_default(),
                    e.account.clone().unwrap_or_default(),
                ];
                let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
                // CRLF ends a record in RFC 4180.
                write!(out, "{}\r\n", line.join(",")).map_err(io)?;
            }
        }
    }
    Ok(entries.len() as u64)
}

/// One CSV field: quoted (with inner quotes doubled) when it holds a comma, a quote, a line
/// break, or starts or ends with a space.
fn csv_field(s: &str) -> String {
    let needs = s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ');
    if needs {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field(" padded"), "\" padded\"");
    }
}
