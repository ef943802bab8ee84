//! `version_sync`, its first sync: the demo's three documents of `Collaboration/Joint
//! Venture` (advanced versioning) plus `n` more created there, each sent out once to
//! `/Joint Venture` with its CS bytes and paired. (No edit on both sides: a conflicted copy's
//! name holds a time, and the conflict policies have their own tests.)

use std::sync::Arc;

use bytes::Bytes;
use ecm_bridge::flows::version_sync::{SyncAction, SyncConfig, VersionSync};
use ecm_bridge::state::SqliteStore;
use futures::{StreamExt, TryStreamExt};

use super::{hash, Ctx, Scenario};
use crate::snapshot::Snapshot;
use crate::support::Env;

/// The scenario.
pub struct Sync;

const DEMO: [&str; 3] = ["Term Sheet.docx", "Budget 2027.xlsx", "Site Plan.pdf"];

fn extra(i: usize) -> (String, String) {
    (
        format!("Schedule {i:05}.xlsx"),
        format!("schedule {i} of the joint venture\n").repeat(1 + i % 9),
    )
}

#[async_trait::async_trait]
impl Scenario for Sync {
    fn flow(&self) -> &'static str {
        "version_sync"
    }

    /// 8 in both forms: each run reads every CS document's version (a full walk: CS has no
    /// change feed) and a pair whose side could not be read fails the run, while the
    /// clients never repeat a 500 (CS's are seldom transient); under 12 % of 500s a run that
    /// reads all n documents gets rare as n grows (about 0.88^(2n)): 27 did not settle in 40
    /// runs.
    fn matrix_files(&self, _full: bool) -> usize {
        8
    }

    async fn seed(&self, env: &Env, n: usize) {
        let cs = &env.cs;
        let ews = cs.nodes().enterprise_workspace().await.unwrap();
        let folder = cs
            .nodes()
            .resolve_path(ews.id, &["Collaboration", "Joint Venture"])
            .await
            .unwrap()
            .unwrap()
            .id;
        futures::stream::iter(0..n)
            .map(|i| async move {
                let (name, text) = extra(i);
                let body = contentserver_client::UploadBody::from_bytes(Bytes::from(text));
                cs.documents().create(folder, name, body).send().await
            })
            .buffer_unordered(8)
            .try_collect::<Vec<_>>()
            .await
            .unwrap();
    }

    async fn run(&self, ctx: &Ctx, store: Arc<SqliteStore>) -> Result<bool, String> {
        let s = VersionSync::new(
            ctx.dropbox.clone(),
            ctx.cs.clone(),
            store,
            SyncConfig::demo(),
        )
        .build()
        .await
        .map_err(|e| e.to_string())?;
        let r = s.run_once().await.map_err(|e| e.to_string())?;
        Ok(r.of(SyncAction::Failed).is_empty())
    }

    fn cs_roots(&self) -> Vec<&'static str> {
        vec!["Collaboration"]
    }

    fn dropbox_roots(&self) -> Vec<&'static str> {
        vec!["/Joint Venture"]
    }

    fn check(&self, s: &Snapshot, n: usize) -> usize {
        let mut names: Vec<String> = DEMO.iter().map(|d| d.to_string()).collect();
        names.extend((0..n).map(|i| extra(i).0));
        for name in &names {
            let doc = &s.cs[&format!("Collaboration/Joint Venture/{name}")];
            let file = s
                .dropbox
                .get(&format!("/Joint Venture/{name}"))
                .unwrap_or_else(|| panic!("{name}: not sent out"));
            assert_eq!(doc.versions.len(), 1, "{name}: no version added");
            assert_eq!(file.hash.as_ref(), doc.versions.last(), "{name}: bytes");
        }
        for i in 0..n {
            let (name, text) = extra(i);
            let doc = &s.cs[&format!("Collaboration/Joint Venture/{name}")];
            assert_eq!(doc.versions, [hash(&text)], "{name}: the seed's bytes");
        }
        assert_eq!(s.dropbox_files().count(), names.len(), "each document once");
        let paired = s
            .records
            .values()
            .flatten()
            .filter(|r| r.status == "done")
            .count();
        assert_eq!(paired, names.len(), "each pair recorded: {:?}", s.records);
        names.len()
    }
}
