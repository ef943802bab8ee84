//! `publish_to_dropbox`: the demo's two documents selected for outside counsel (category
//! `Publication`, `External` = yes) plus `n` more created in `Published/Outside Counsel` with
//! the same value; each is published once to `/Shared/Outside Counsel` with its CS bytes, one
//! password-protected view-only link, the folder shared with the outside member, and the
//! publication recorded on the CS document.

use std::sync::Arc;

use bytes::Bytes;
use contentserver_client::api::categories::{AttrKey, AttrValue, CategoryValues};
use ecm_bridge::flows::publish_to_dropbox::PublishToDropbox;
use ecm_bridge::state::SqliteStore;
use futures::{StreamExt, TryStreamExt};

use super::{hash, Ctx, Scenario};
use crate::snapshot::Snapshot;
use crate::support::publish::{config, now};
use crate::support::Env;

/// The scenario.
pub struct Publish;

const CS_FOLDER: [&str; 2] = ["Published", "Outside Counsel"];
const DEMO: [&str; 2] = ["Contract Summary.pdf", "Engagement Letter.pdf"];

fn extra(i: usize) -> (String, String) {
    (
        format!("Brief {i:05}.pdf"),
        format!("%PDF-1.4\nbrief {i} of the reliability test\n").repeat(1 + i % 5),
    )
}

#[async_trait::async_trait]
impl Scenario for Publish {
    fn flow(&self) -> &'static str {
        "publish_to_dropbox"
    }

    /// 8 in both forms, for `version_sync`'s reason: each run reads every document of the
    /// folder (a full walk), and under 12 % of 500s (never repeated by the clients) a run
    /// that reads all of them gets rare as the tree grows (26 did not settle in 40 runs).
    fn matrix_files(&self, _full: bool) -> usize {
        8
    }

    async fn seed(&self, env: &Env, n: usize) {
        let cs = &env.cs;
        let ews = cs.nodes().enterprise_workspace().await.unwrap();
        let folder = cs
            .nodes()
            .resolve_path(ews.id, &CS_FOLDER)
            .await
            .unwrap()
            .unwrap();
        let summary = cs
            .nodes()
            .find_child(folder.id, DEMO[0])
            .await
            .unwrap()
            .unwrap();
        let cats = cs.categories().list(summary.id).await.unwrap();
        let cat = cats
            .iter()
            .find(|c| c.name.as_deref() == Some("Publication"))
            .unwrap();
        let key = &cat
            .attributes
            .iter()
            .find(|a| a.name.as_deref() == Some("External"))
            .unwrap()
            .key;
        let attr: i64 = key.rsplit('_').next().unwrap().parse().unwrap();
        let values = CategoryValues::new()
            .category(cat.id)
            .set(AttrKey::attr(cat.id, attr), AttrValue::Text("yes".into()));
        let (values, cat_id) = (&values, cat.id);
        futures::stream::iter(0..n)
            .map(|i| async move {
                let (name, text) = extra(i);
                let body = contentserver_client::UploadBody::from_bytes(Bytes::from(text));
                let node = cs.documents().create(folder.id, name, body).send().await?;
                cs.categories().apply(node.id, cat_id, values).await
            })
            .buffer_unordered(8)
            .try_collect::<Vec<_>>()
            .await
            .unwrap();
    }

    async fn run(&self, ctx: &Ctx, store: Arc<SqliteStore>) -> Result<bool, String> {
        let p = PublishToDropbox::new(ctx.dropbox.clone(), ctx.cs.clone(), store, config())
            .clock(Arc::new(now))
            .concurrency(4)
            .retry(crate::reliability_support::runner_retry())
            .build()
            .await
            .map_err(|e| e.to_string())?;
        let r = p.run_once().await.map_err(|e| e.to_string())?;
        // Not `withdraw_failed`: the withdrawal pass judges every published document again at
        // each run (CS has no change feed), so under a 12 % fault rate nearly every run has a
        // judgement that could not be read; it leaves the record as it is for the next run,
        // and the snapshot shows nothing selected was withdrawn.
        Ok(r.run.failed.is_empty())
    }

    fn cs_roots(&self) -> Vec<&'static str> {
        vec!["Published"]
    }

    fn dropbox_roots(&self) -> Vec<&'static str> {
        vec!["/Shared"]
    }

    fn check(&self, s: &Snapshot, n: usize) -> usize {
        let mut names: Vec<String> = DEMO.iter().map(|d| d.to_string()).collect();
        names.extend((0..n).map(|i| extra(i).0));
        for name in &names {
            let doc = &s.cs[&format!("Published/Outside Counsel/{name}")];
            let file = s
                .dropbox
                .get(&format!("/Shared/Outside Counsel/{name}"))
                .unwrap_or_else(|| panic!("{name}: not published"));
            assert_eq!(file.hash.as_ref(), doc.versions.last(), "{name}: bytes");
            assert_eq!(file.links.len(), 1, "{name}: one link: {:?}", file.links);
            assert!(
                file.links[0].contains("download false"),
                "{name}: {:?}",
                file.links
            );
            let record = &doc.categories["Publication"];
            assert_eq!(record["Published Version"], "1", "{name}: {record:?}");
        }
        for i in 0..n {
            let (name, text) = extra(i);
            let doc = &s.cs[&format!("Published/Outside Counsel/{name}")];
            assert_eq!(doc.versions, [hash(&text)], "{name}: the seed's bytes");
        }
        assert_eq!(s.dropbox_files().count(), names.len(), "each document once");
        let folder = &s.dropbox["/Shared/Outside Counsel"];
        assert!(
            folder.members.iter().any(|m| m.contains("lawfirm")),
            "{:?}",
            folder.members
        );
        names.len()
    }
}
