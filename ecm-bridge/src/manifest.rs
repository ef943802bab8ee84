//! A job's manifest, rebuilt from the store: one row per member (path, size, content hash,
//! target node and version, status), written as CSV and as JSON Lines.
//!
//! Nothing of it is kept in memory between runs: [`Manifest::from_job`] reads the members'
//! records again, so the manifest of a job stopped at any point is the same once it is
//! rebuilt.

use serde::Serialize;

use crate::error::Result;
use crate::state::{DocStatus, Store};

/// One member of a job, as its record says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManifestRow {
    /// The source path relative to the job's root.
    pub path: String,
    /// The size in bytes.
    pub size: u64,
    /// The source's content hash (hex; for Dropbox its `content_hash`).
    pub content_hash: String,
    /// The target node (a CS node id), when written.
    pub node: Option<String>,
    /// The target version, when written.
    pub version: Option<String>,
    /// The record's status (`done` for a member that is complete).
    pub status: DocStatus,
}

/// The rows of a job, sorted by path, with their totals.
#[derive(Debug, Clone, Default)]
pub struct Manifest {
    /// Rows, sorted by path.
    pub rows: Vec<ManifestRow>,
    /// Members without a record (listed, never processed).
    pub unrecorded: Vec<String>,
}

impl Manifest {
    /// Reads the records of every member of `job` (one record read each).
    pub async fn from_job(store: &dyn Store, flow: &str, job: &str) -> Result<Manifest> {
        let mut m = Manifest::default();
        for key in store.job_members(flow, job).await? {
            match store.record(flow, &key).await? {
                Some(r) => m.rows.push(ManifestRow {
                    path: r.path.clone().unwrap_or_else(|| key.clone()),
                    size: r.size.unwrap_or(0),
                    content_hash: r.hash.map(|h| h.value).unwrap_or_default(),
                    node: r.target.as_ref().map(|t| t.id.clone()),
                    version: r.target.and_then(|t| t.version),
                    status: r.status,
                }),
                None => m.unrecorded.push(key),
            }
        }
        m.rows.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(m)
    }

    /// Files in the manifest.
    pub fn files(&self) -> usize {
        self.rows.len()
    }

    /// Their bytes.
    pub fn bytes(&self) -> u64 {
        self.rows.iter().map(|r| r.size).sum()
    }

    /// CSV with a header line (`path,size,content_hash,node,version,status`); fields quoted
    /// when they hold a comma, a quote or a line break.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("path,size,content_hash,node,version,status\n");
        for r in &self.rows {
            let fields = [
                csv_field(&r.path),
                r.size.to_string(),
                csv_field(&r.content_hash),
                csv_field(r.node.as_deref().unwrap_or("")),
                csv_field(r.version.as_deref().unwrap_or("")),
                status_name(r.status),
            ];
            out.push_str(&fields.join(","));
            out.push('\n');
        }
        out
    }

    /// One JSON object per line, with the fields of [`ManifestRow`].
    pub fn to_jsonl(&self) -> String {
        let mut out = String::new();
        for r in &self.rows {
            out.push_str(&serde_json::to_string(r).unwrap_or_default());
            out.push('\n');
        }
        out
    }
}

fn status_name(s: DocStatus) -> String {
    s.as_str().to_owned()
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_it_and_jsonl_is_one_object_a_line() {
        let m = Manifest {
            rows: vec![
                ManifestRow {
                    path: "A/plain.pdf".into(),
                    size: 3,
                    content_hash: "ab".into(),
                    node: Some("7".into()),
                    version: Some("1".into()),
                    status: DocStatus::Done,
                },
                ManifestRow {
                    path: "B/with, \"quote\".pdf".into(),
                    size: 4,
                    content_hash: "cd".into(),
                    node: None,
                    version: None,
                    status: DocStatus::Failed,
                },
            ],
            unrecorded: vec![],
        };
        let csv = m.to_csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[1], "A/plain.pdf,3,ab,7,1,done");
        assert_eq!(lines[2], "\"B/with, \"\"quote\"\".pdf\",4,cd,,,failed");
        let jsonl = m.to_jsonl();
        let rows: Vec<serde_json::Value> = jsonl
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["node"], "7");
        assert_eq!(m.bytes(), 7);
    }
}
