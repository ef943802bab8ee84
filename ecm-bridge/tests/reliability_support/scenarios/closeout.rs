//! `project_closeout`: the demo project `/Projects/P-1042 Riverside Tower` plus `n` files in
//! its `Drawings/Batch` folder, closed out into the CS folder `Closed Projects` (classified,
//! held, with the manifest) and moved as a whole to `/Archive/Projects`.

use std::sync::Arc;

use ecm_bridge::flows::project_closeout::{Closeout as Outcome, CloseoutConfig, ProjectCloseout};
use ecm_bridge::state::SqliteStore;

use super::{hash, Ctx, Scenario};
use crate::snapshot::Snapshot;
use crate::support::Env;

/// The scenario.
pub struct Closeout;

const PROJECT: &str = "/Projects/P-1042 Riverside Tower";
const ARCHIVED: &str = "/Archive/Projects/P-1042 Riverside Tower";
const CLASS: &str = "PRJ-10 Project Records";
const HOLD: &str = "Riverside Tower Litigation";
/// The closeout's name in the store ([`ProjectCloseout::flow_name`]).
const FLOW: &str = "project_closeout:/projects/p-1042 riverside tower";

fn extra(i: usize) -> (String, String) {
    (
        format!("Drawings/Batch/Sheet {i:05}.dwg"),
        format!("sheet {i} of the riverside tower\n").repeat(1 + i % 11),
    )
}

#[async_trait::async_trait]
impl Scenario for Closeout {
    fn flow(&self) -> &'static str {
        FLOW
    }

    async fn seed(&self, env: &Env, n: usize) {
        crate::reliability_support::upload_all(
            &env.dropbox,
            (0..n)
                .map(|i| {
                    let (rel, text) = extra(i);
                    (format!("{PROJECT}/{rel}"), text)
                })
                .collect(),
        )
        .await;
    }

    async fn run(&self, ctx: &Ctx, store: Arc<SqliteStore>) -> Result<bool, String> {
        let config = CloseoutConfig::from_toml(&format!(
            "project_folder = \"{PROJECT}\"\nrm_class = \"{CLASS}\"\nhold = \"{HOLD}\"\n\
             concurrency = 4\n[target]\nkind = \"folder\"\npath = \"Closed Projects\"\n"
        ))
        .map_err(|e| e.to_string())?;
        let c = ProjectCloseout::new(ctx.dropbox.clone(), ctx.cs.clone(), store, config)
            .retry(crate::reliability_support::runner_retry());
        assert_eq!(c.flow_name(), FLOW);
        let done = c.run().await.map_err(|e| e.to_string())?;
        Ok(matches!(done, Outcome::Closed { .. }))
    }

    fn cs_roots(&self) -> Vec<&'static str> {
        vec!["Closed Projects"]
    }

    fn dropbox_roots(&self) -> Vec<&'static str> {
        vec!["/Projects", "/Archive"]
    }

    /// The manifest names each file's node id: its bytes differ between two equal runs (its
    /// lines are checked by the closeout's own tests).
    fn normalise(&self, s: &mut Snapshot) {
        for (path, node) in s.cs.iter_mut() {
            if path.ends_with(" manifest.csv") || path.ends_with(" manifest.jsonl") {
                node.versions = vec!["<manifest>".into()];
            }
        }
    }

    fn check(&self, s: &Snapshot, n: usize) -> usize {
        assert!(
            !s.dropbox
                .keys()
                .any(|p| p.starts_with(&format!("{PROJECT}/"))),
            "the project moved as a whole"
        );
        let files: Vec<(&String, &String)> = s
            .dropbox_files()
            .filter(|(p, _)| p.starts_with(&format!("{ARCHIVED}/")))
            .map(|(p, e)| (p, e.hash.as_ref().unwrap()))
            .collect();
        assert!(files.len() > n, "the demo's files and the batch: {files:?}");
        for (path, hash) in &files {
            let rel = &path[ARCHIVED.len() + 1..];
            let doc =
                s.cs.get(&format!("Closed Projects/P-1042 Riverside Tower/{rel}"))
                    .unwrap_or_else(|| panic!("{rel}: not closed out"));
            assert_eq!(doc.versions, [hash.to_string()], "{rel}: bytes");
            assert_eq!(doc.rm, [CLASS], "{rel}");
            assert_eq!(doc.holds, [HOLD], "{rel}");
        }
        for i in 0..n {
            let (rel, text) = extra(i);
            let file = &s.dropbox[&format!("{ARCHIVED}/{rel}")];
            assert_eq!(file.hash.as_deref(), Some(hash(&text).as_str()), "{rel}");
        }
        // The files and the two manifests: nothing else.
        assert_eq!(s.cs_docs().count(), files.len() + 2, "each file once");
        assert!(!s.records.is_empty(), "the closeout's records");
        files.len()
    }
}
