//! `backup`: the demo's members and team space plus `n` files in Dana's `/Bulk`, backed up into
//! the CS folder `Backup`. In the kill test only: its fault matrix is in `tests/reliability.rs`.
//! The flow keeps one runner flow per space; the snapshot's records and writes are those of
//! Dana's (where the tree is), the CS tree is the whole backup.

use std::sync::Arc;

use ecm_bridge::flows::backup::Backup as Flow;
use ecm_bridge::state::SqliteStore;

use super::{hash, Ctx, Scenario};
use crate::snapshot::Snapshot;
use crate::support::backup as bk;
use crate::support::Env;

/// The scenario.
pub struct Backup;

fn extra(i: usize) -> (String, String) {
    (
        format!("/Bulk/File {i:05}.txt"),
        format!("bulk file {i}\n").repeat(1 + i % 7),
    )
}

#[async_trait::async_trait]
impl Scenario for Backup {
    fn flow(&self) -> &'static str {
        "backup:dana@example.com"
    }

    async fn seed(&self, env: &Env, n: usize) {
        bk::seed_olu(env).await;
        crate::reliability_support::upload_all(&env.dropbox, (0..n).map(extra).collect()).await;
    }

    async fn run(&self, ctx: &Ctx, store: Arc<SqliteStore>) -> Result<bool, String> {
        let b = Flow::new(ctx.team.clone(), ctx.cs.clone(), store, bk::config()).retry(bk::retry());
        let r = b.run().await.map_err(|e| e.to_string())?;
        Ok(r.alerts.is_empty())
    }

    fn cs_roots(&self) -> Vec<&'static str> {
        vec!["Backup"]
    }

    fn dropbox_roots(&self) -> Vec<&'static str> {
        Vec::new()
    }

    fn check(&self, s: &Snapshot, n: usize) -> usize {
        let dana = bk::cs_base(bk::DANA);
        for i in 0..n {
            let (path, text) = extra(i);
            let doc =
                s.cs.get(&format!("{dana}{path}"))
                    .unwrap_or_else(|| panic!("{path}: not backed up"));
            assert_eq!(doc.versions, [hash(&text)], "{path}: bytes, one version");
        }
        let olu = bk::cs_base(bk::OLU);
        for p in bk::OLU_FILES {
            let doc =
                s.cs.get(&format!("{olu}{p}"))
                    .unwrap_or_else(|| panic!("Olu's {p}: not backed up"));
            assert_eq!(doc.versions, [hash(&format!("Olu's {p}\n"))], "Olu's {p}");
        }
        s.cs_docs().count()
    }
}
