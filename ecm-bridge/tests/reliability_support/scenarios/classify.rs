//! `classify_and_route`: the end-to-end test's intake files (routed by rule, names adapted, a
//! case-folding collision, one quarantined in Dropbox, one outside the intake folders) plus
//! `n` invoices in `/Intake/Finance/Batch`, filed into `Finance/Invoices/2027`.

use std::sync::Arc;

use ecm_bridge::flows::classify_and_route::QuarantineTarget;
use ecm_bridge::state::SqliteStore;

use super::{hash, Ctx, Scenario};
use crate::classify_support::{self as cls, filed, real_path, UNCLASSIFIED};
use crate::snapshot::Snapshot;
use crate::support::Env;

/// The scenario.
pub struct Classify;

fn batch(i: usize) -> String {
    format!("/Intake/Finance/Batch/INV-2027-{i:05} Bulk.pdf")
}

fn body(path: &str) -> String {
    format!("{path}\nintake document")
}

#[async_trait::async_trait]
impl Scenario for Classify {
    fn flow(&self) -> &'static str {
        "classify_and_route"
    }

    async fn seed(&self, env: &Env, n: usize) {
        cls::seed_intake(env).await;
        crate::reliability_support::upload_all(
            &env.dropbox,
            (0..n).map(|i| (batch(i), body(&batch(i)))).collect(),
        )
        .await;
    }

    async fn run(&self, ctx: &Ctx, store: Arc<SqliteStore>) -> Result<bool, String> {
        let flow = cls::build_on(
            ctx.dropbox.clone(),
            ctx.cs.clone(),
            store,
            cls::config(QuarantineTarget::default()),
        );
        let r = flow.run_once().await.map_err(|e| e.to_string())?;
        Ok(r.run.failed.is_empty())
    }

    fn cs_roots(&self) -> Vec<&'static str> {
        vec!["Finance", "Projects"]
    }

    fn dropbox_roots(&self) -> Vec<&'static str> {
        vec!["/Intake", "/Quarantine", "/Scratch"]
    }

    fn normalise(&self, s: &mut Snapshot) {
        s.fold_collisions();
    }

    fn check(&self, s: &Snapshot, n: usize) -> usize {
        let mut docs = 0;
        let mut one = |cs_path: String, source: &str| {
            let node =
                s.cs.get(&cs_path)
                    .unwrap_or_else(|| panic!("{source}: not filed as {cs_path}"));
            assert_eq!(node.versions, [hash(&body(source))], "{source}: bytes");
            assert_eq!(node.rm.len(), 1, "{source}: {node:?}");
            docs += 1;
        };
        for (p, folder, name, _) in filed() {
            let p = real_path(p);
            one(format!("{folder}/{name}"), &p);
        }
        for i in 0..n {
            let name = batch(i).rsplit('/').next().unwrap().to_owned();
            one(format!("Finance/Invoices/2027/{name}"), &batch(i));
        }
        // The colliding pair: both filed, one of them renamed.
        let invoices = s
            .cs_docs()
            .filter(|(p, _)| {
                p.to_lowercase()
                    .starts_with("finance/invoices/2026/inv-2026-002")
            })
            .count();
        assert_eq!(invoices, 2, "the colliding invoices");
        let quarantined = format!("/Quarantine{UNCLASSIFIED}");
        assert!(s.dropbox.contains_key(&quarantined), "{quarantined}");
        assert!(!s.dropbox.contains_key(UNCLASSIFIED));
        docs + invoices
    }
}
