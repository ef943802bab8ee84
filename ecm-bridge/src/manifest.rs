//! A job's manifest, rebuilt from the store: one row per member (path, size, content hash,
//! target node and version, status), written as CSV and as JSON Lines.
//!
//! Nothing of it is kept in memory between runs: [`Manifest::from_job`] reads the members'
//! records again, so the manifest of a job stopped at any point is the same once it is
//! rebuilt. Nor is it held whole in memory while it is built: each row goes to two temporary
//! files as its record is read (a 100,000-file manifest is tens of MiB of text), and only the
//! counts and the members' CS node ids (8 bytes a file, for the hold's bulk calls) are kept.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use serde::Serialize;

use crate::error::{Result, Step};
use crate::state::{DocStatus, Store};
use crate::verify::io_error;

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

impl ManifestRow {
    /// Its CSV line (with the line break); fields quoted when they hold a comma, a quote or a
    /// line break.
    pub fn csv_line(&self) -> String {
        let fields = [
            csv_field(&self.path),
            self.size.to_string(),
            csv_field(&self.content_hash),
            csv_field(self.node.as_deref().unwrap_or("")),
            csv_field(self.version.as_deref().unwrap_or("")),
            self.status.as_str().to_owned(),
        ];
        fields.join(",") + "\n"
    }

    /// Its JSON Lines line (with the line break): the fields of [`ManifestRow`].
    pub fn jsonl_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default() + "\n"
    }
}

/// The CSV header line.
pub const CSV_HEADER: &str = "path,size,content_hash,node,version,status\n";

/// A job's manifest: its totals, and its rows as CSV and JSON Lines in two temporary files
/// (removed when the manifest is dropped), in the order of the job's members.
#[derive(Debug)]
pub struct Manifest {
    files: u64,
    bytes: u64,
    /// The CS node ids of the members written (those whose target is a CS node).
    pub nodes: Vec<i64>,
    /// Members without a record (listed, never processed).
    pub unrecorded: Vec<String>,
    dir: tempfile::TempDir,
}

impl Manifest {
    /// Reads the records of every member of `job` (one record read each), writing each row to
    /// the two files as it goes.
    pub async fn from_job(store: &dyn Store, flow: &str, job: &str) -> Result<Manifest> {
        let io = |e| io_error("manifest", Step::Write, e);
        let dir = tempfile::tempdir().map_err(io)?;
        let mut m = Manifest {
            files: 0,
            bytes: 0,
            nodes: Vec::new(),
            unrecorded: Vec::new(),
            dir,
        };
        let open = |p: PathBuf| File::create(p).map(BufWriter::new);
        let mut csv = open(m.csv_path()).map_err(io)?;
        let mut jsonl = open(m.jsonl_path()).map_err(io)?;
        csv.write_all(CSV_HEADER.as_bytes()).map_err(io)?;
        for key in store.job_members(flow, job).await? {
            let Some(r) = store.record(flow, &key).await? else {
                m.unrecorded.push(key);
                continue;
            };
            let row = ManifestRow {
                path: r.path.clone().unwrap_or_else(|| key.clone()),
                size: r.size.unwrap_or(0),
                content_hash: r.hash.map(|h| h.value).unwrap_or_default(),
                node: r.target.as_ref().map(|t| t.id.clone()),
                version: r.target.and_then(|t| t.version),
                status: r.status,
            };
            m.files += 1;
            m.bytes += row.size;
            m.nodes
                .extend(row.node.as_deref().and_then(|n| n.parse::<i64>().ok()));
            csv.write_all(row.csv_line().as_bytes()).map_err(io)?;
            jsonl.write_all(row.jsonl_line().as_bytes()).map_err(io)?;
        }
        csv.flush().map_err(io)?;
        jsonl.flush().map_err(io)?;
        Ok(m)
    }

    /// Files in the manifest.
    pub fn files(&self) -> usize {
        self.files as usize
    }

    /// Their bytes.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The CSV file (a header line, then one line per row).
    pub fn csv_path(&self) -> PathBuf {
        self.dir.path().join("manifest.csv")
    }

    /// The JSON Lines file (one object per row).
    pub fn jsonl_path(&self) -> PathBuf {
        self.dir.path().join("manifest.jsonl")
    }
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
        let plain = ManifestRow {
            path: "A/plain.pdf".into(),
            size: 3,
            content_hash: "ab".into(),
            node: Some("7".into()),
            version: Some("1".into()),
            status: DocStatus::Done,
        };
        let quoted = ManifestRow {
            path: "B/with, \"quote\".pdf".into(),
            size: 4,
            content_hash: "cd".into(),
            node: None,
            version: None,
            status: DocStatus::Failed,
        };
        assert_eq!(plain.csv_line(), "A/plain.pdf,3,ab,7,1,done\n");
        assert_eq!(
            quoted.csv_line(),
            "\"B/with, \"\"quote\"\".pdf\",4,cd,,,failed\n"
        );
        let row: serde_json::Value = serde_json::from_str(plain.jsonl_line().trim_end()).unwrap();
        assert_eq!(row["node"], "7");
        assert_eq!(quoted.jsonl_line().lines().count(), 1);
    }
}
