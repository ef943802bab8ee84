//! Content Server → Dropbox against the sandbox (use case 2's pieces): `CsSource` walks a
//! folder tree and then lists only what changed after its modify-date watermark;
//! `DropboxSink` uploads verified bytes, shares a link with settings, and turns a new CS
//! version into a new rev of the same Dropbox file.

mod support;

use std::sync::Arc;

use dropbox_client::models::sharing::ListSharedLinksArg;
use ecm_bridge::connectors::contentserver::CsSource;
use ecm_bridge::connectors::dropbox::DropboxSink;
use ecm_bridge::model::ShareSettings;
use ecm_bridge::runner::{Failpoint, Flow};
use ecm_bridge::sink::WriteAction;
use ecm_bridge::source::{Change, Source};
use ecm_bridge::state::MemoryStore;
use ecm_bridge::transform::map;
use futures::TryStreamExt;
use sandbox::FaultRule;
use support::Env;

const PUBLISHED: [&str; 2] = ["Contract Summary.pdf", "Engagement Letter.pdf"];
const DROPBOX_FOLDER: &str = "/Shared/Outside Counsel";

async fn published_folder(env: &Env) -> i64 {
    let ews = env.cs.nodes().enterprise_workspace().await.unwrap();
    env.cs
        .nodes()
        .resolve_path(ews.id, &["Published", "Outside Counsel"])
        .await
        .unwrap()
        .unwrap()
        .id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cs_source_walks_the_tree_and_lists_changes_after_its_watermark() {
    let env = Env::start().await;
    let ews = env.cs.nodes().enterprise_workspace().await.unwrap();
    let published = env
        .cs
        .nodes()
        .resolve_path(ews.id, &["Published"])
        .await
        .unwrap()
        .unwrap();
    let source = CsSource::new(env.cs.clone(), published.id);
    let items: Vec<_> = source
        .changes(None)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let mut paths: Vec<String> = items
        .iter()
        .filter_map(|i| match &i.change {
            Change::Upsert(d) => Some(d.path.clone()),
            _ => None,
        })
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        PUBLISHED.map(|n| format!("Outside Counsel/{n}")).to_vec()
    );
    let watermark = items
        .last()
        .unwrap()
        .checkpoint
        .clone()
        .expect("a watermark");

    // Not recursive: nothing directly in `Published`.
    let flat = CsSource::new(env.cs.clone(), published.id).recursive(false);
    let flat: Vec<_> = flat
        .changes(None)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert!(flat.iter().all(|i| !matches!(i.change, Change::Upsert(_))));

    // Since the watermark: only what was modified in the watermark's own second (listed again
    // so that a change in that second is never missed), until a document gets a new version.
    let at_watermark = |items: &[ecm_bridge::source::Item]| -> Vec<(String, String)> {
        items
            .iter()
            .filter_map(|i| match &i.change {
                Change::Upsert(d) => Some((d.path.clone(), d.source.marker())),
                _ => None,
            })
            .collect()
    };
    let since: Vec<_> = source
        .changes(Some(watermark.clone()))
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let all = at_watermark(&items);
    let relisted = at_watermark(&since);
    assert!(
        relisted.iter().all(|r| all.contains(r)),
        "{relisted:?} vs {all:?}"
    );
    let folder = published_folder(&env).await;
    let letter = env
        .cs
        .nodes()
        .find_child(folder, "Engagement Letter.pdf")
        .await
        .unwrap()
        .unwrap();
    env.cs
        .documents()
        .add_version(
            letter.id,
            contentserver_client::UploadBody::from_bytes(&b"%PDF-1.4 letter v2\n"[..]),
        )
        .send()
        .await
        .unwrap();
    let since: Vec<_> = source
        .changes(Some(watermark.clone()))
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    // The new version (even in the watermark's own second), besides what is relisted.
    let changed = at_watermark(&since);
    let new = (
        "Outside Counsel/Engagement Letter.pdf".to_owned(),
        ecm_bridge::model::DocRef::cs(letter.id, 2).marker(),
    );
    assert!(changed.contains(&new), "{changed:?}");
    assert!(
        changed.iter().all(|c| *c == new || relisted.contains(c)),
        "{changed:?}"
    );
    assert!(since.last().unwrap().checkpoint.clone().unwrap().0 >= watermark.0);
    // `fetch` finds the document with its path relative to the root.
    let fetched = source
        .fetch(&ecm_bridge::model::DocRef::cs(letter.id, 2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(fetched.path, "Outside Counsel/Engagement Letter.pdf");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropbox_sink_uploads_shares_and_versions() {
    let env = Env::start().await;
    let folder = published_folder(&env).await;
    let expires = chrono::DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let flow = Flow::builder("publish")
        .source(CsSource::new(env.cs.clone(), folder))
        .transform(map(move |mut d| {
            d.governance.share = Some(ShareSettings {
                link: true,
                audience: Some("team".into()),
                expires: Some(expires),
                allow_download: Some(false),
            });
            d
        }))
        .sink(DropboxSink::new(env.dropbox.clone(), Some(DROPBOX_FOLDER)))
        .state(Arc::new(MemoryStore::new()))
        .build()
        .unwrap();
    let report = flow.run_once().await.unwrap();
    assert!(report.failed.is_empty(), "{:#?}", report.failed);
    assert_eq!(
        report.count(WriteAction::Created),
        2,
        "{}",
        report.summary()
    );

    for name in PUBLISHED {
        let node = env
            .cs
            .nodes()
            .find_child(folder, name)
            .await
            .unwrap()
            .unwrap();
        let path = format!("{DROPBOX_FOLDER}/{name}");
        assert_eq!(
            env.dropbox_bytes(&path).await,
            env.cs_bytes(node.id, None).await
        );
        let links = env
            .dropbox
            .sharing()
            .list_shared_links(ListSharedLinksArg {
                path: Some(path.clone()),
                cursor: None,
                direct_only: Some(true),
            })
            .await
            .unwrap()
            .links;
        assert_eq!(links.len(), 1, "{name}: {links:?}");
        let link = links[0].fields();
        assert_eq!(link.expires, Some(expires), "{name}");
        let audience = link
            .link_permissions
            .effective_audience
            .as_ref()
            .or(link.link_permissions.resolved_visibility.as_ref())
            .and_then(|v| v.get(".tag").or(Some(v)))
            .and_then(|v| v.as_str());
        assert_eq!(
            audience,
            Some("team"),
            "{name}: {:?}",
            link.link_permissions
        );
        assert!(!link.link_permissions.allow_download, "{name}");
    }

    // Nothing new: nothing written.
    let again = flow.run_once().await.unwrap();
    assert!(again.written.is_empty(), "{}", again.summary());

    // A new CS version becomes a new rev of the same Dropbox file.
    let letter = env
        .cs
        .nodes()
        .find_child(folder, "Engagement Letter.pdf")
        .await
        .unwrap()
        .unwrap();
    let path = format!("{DROPBOX_FOLDER}/Engagement Letter.pdf");
    let before = env
        .dropbox
        .files()
        .get_metadata(path.clone())
        .await
        .unwrap();
    let v2 = bytes::Bytes::from_static(b"%PDF-1.4 engagement letter, signed\n");
    env.cs
        .documents()
        .add_version(
            letter.id,
            contentserver_client::UploadBody::from_bytes(v2.clone()),
        )
        .send()
        .await
        .unwrap();
    let third = flow.run_once().await.unwrap();
    assert_eq!(
        third.count(WriteAction::AddedVersion),
        1,
        "{}",
        third.summary()
    );
    assert_eq!(env.dropbox_bytes(&path).await, v2);
    let after = env
        .dropbox
        .files()
        .get_metadata(path.clone())
        .await
        .unwrap();
    let file = |m: dropbox_client::models::files::Metadata| match m {
        dropbox_client::models::files::Metadata::File(f) => (f.id, f.rev),
        other => panic!("{other:?}"),
    };
    let ((id1, rev1), (id2, rev2)) = (file(before), file(after));
    assert_eq!(id1, id2, "the same file");
    assert_ne!(rev1, rev2, "a new rev");
    assert_eq!(
        third.written[0].target,
        Some(ecm_bridge::model::DocRef::dropbox(id2, rev2))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_unreadable_document_does_not_stop_the_cs_walk() {
    let env = Env::start().await;
    let folder = published_folder(&env).await;
    // The first version lookup of the walk fails (not retried by the client): before, that
    // aborted the whole walk and failed the run.
    env.sandbox
        .contentserver_faults()
        .add(FaultRule::status("GET /api/v1/nodes/{id}/versions/latest", 404).with_nth(1))
        .unwrap();
    let flow = Flow::builder("publish")
        .source(CsSource::new(env.cs.clone(), folder))
        .sink(DropboxSink::new(env.dropbox.clone(), Some(DROPBOX_FOLDER)))
        .state(Arc::new(MemoryStore::new()))
        .build()
        .unwrap();
    let first = flow.run_once().await.unwrap();
    assert_eq!(first.written.len(), 1, "{}", first.summary());
    assert_eq!(first.failed.len(), 1, "{:#?}", first.failed);
    let failed = &first.failed[0];
    assert!(
        PUBLISHED.iter().any(|n| failed.path.as_deref() == Some(n)),
        "{failed:?}"
    );
    assert!(first.checkpoint.is_some(), "the walk reached its end");

    // The next run fetches the one that failed and writes it.
    let second = flow.run_once().await.unwrap();
    assert_eq!(second.retried, 1, "{}", second.summary());
    assert!(second.failed.is_empty(), "{:#?}", second.failed);
    assert_eq!(
        second.count(WriteAction::Created),
        1,
        "{}",
        second.summary()
    );
    for name in PUBLISHED {
        let path = format!("{DROPBOX_FOLDER}/{name}");
        assert!(!env.dropbox_bytes(&path).await.is_empty(), "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unrecorded_dropbox_write_is_replaced_after_a_source_change() {
    let env = Env::start().await;
    let folder = published_folder(&env).await;
    let state = Arc::new(MemoryStore::new());
    let flow = |stop: bool| {
        let mut b = Flow::builder("publish")
            .source(CsSource::new(env.cs.clone(), folder))
            .sink(DropboxSink::new(env.dropbox.clone(), Some(DROPBOX_FOLDER)))
            .state(state.clone())
            .concurrency(1);
        if stop {
            // Stops after the first Dropbox upload, before it is recorded.
            b = b.failpoint(Arc::new(|at| at == Failpoint::AfterWrite));
        }
        b.build().unwrap()
    };
    assert!(matches!(
        flow(true).run_once().await,
        Err(ecm_bridge::Error::Stopped(_))
    ));
    let uploaded: Vec<String> = PUBLISHED
        .iter()
        .map(|n| format!("{DROPBOX_FOLDER}/{n}"))
        .collect();
    let mut landed = None;
    for (name, path) in PUBLISHED.iter().zip(&uploaded) {
        if env.dropbox.files().get_metadata(path.clone()).await.is_ok() {
            landed = Some(*name);
        }
    }
    let landed = landed.expect("one upload landed");

    // The source changes before the next run: the write in doubt is of an older version.
    let node = env
        .cs
        .nodes()
        .find_child(folder, landed)
        .await
        .unwrap()
        .unwrap();
    let v2 = bytes::Bytes::from_static(b"%PDF-1.4 revised while the bridge was down\n");
    env.cs
        .documents()
        .add_version(
            node.id,
            contentserver_client::UploadBody::from_bytes(v2.clone()),
        )
        .send()
        .await
        .unwrap();
    // Before, the new version was uploaded in `add` mode onto the file the bridge had written
    // itself, and failed on `path/conflict` on every run.
    let report = flow(false).run_once().await.unwrap();
    assert!(report.failed.is_empty(), "{:#?}", report.failed);
    assert_eq!(
        env.dropbox_bytes(&format!("{DROPBOX_FOLDER}/{landed}"))
            .await,
        v2
    );
    let again = flow(false).run_once().await.unwrap();
    assert!(again.written.is_empty(), "{}", again.summary());
}
