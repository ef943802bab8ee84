//! The reads the flow no longer makes, and the guarantees they used to give, each kept:
//!
//! * no `files/get_metadata` before marking: the tag goes to the path the file was listed at,
//!   and a file moved since is found by id and tagged where it is now;
//! * no child listing before a create that is not in doubt: the server's name check guards
//!   it, so a name taken by an earlier write of the same source document (a lost state file)
//!   becomes a new version of it, and a name taken by a document of another origin fails that
//!   document and leaves the other untouched;
//! * no read of the RM details or of the permissions of a node created a moment before.
//!
//! (A write in doubt still lists the folder and adopts what it finds: `crash.rs`.)

mod support;

use dropbox_client::models::files::{Metadata, RelocationArg};
use ecm_bridge::connectors::dropbox::DropboxMarker;
use ecm_bridge::model::{Body, DocRef, Document};
use ecm_bridge::sink::{AfterWrite, Receipt, WriteAction};
use support::{Env, APPROVED, APPROVED_FOLDER, CS_FOLDER};

#[tokio::test]
async fn an_archive_run_reads_nothing_back_per_file() {
    let env = Env::start().await;
    env.sandbox.dropbox_stats().reset();
    env.sandbox.contentserver_stats().reset();
    let report = env.flow().build().unwrap().run_once().await.unwrap();
    assert!(report.failed.is_empty(), "{:#?}", report.failed);
    assert_eq!(report.written.len(), APPROVED.len(), "{}", report.summary());
    let (d, c) = (
        env.sandbox.dropbox_stats(),
        env.sandbox.contentserver_stats(),
    );
    let n = APPROVED.len() as u64;
    assert_eq!(d.count("/2/files/get_metadata"), 0, "{}", d.snapshot());
    assert_eq!(d.count("/2/files/tags/add"), n, "{}", d.snapshot());
    for route in [
        "GET /api/v1/nodes/{id}/rmclassifications",
        "GET /api/v2/nodes/{id}/permissions",
    ] {
        assert_eq!(c.count(route), 0, "{route}: {}", c.snapshot());
    }
    assert_eq!(
        c.count("POST /api/v1/nodes/{id}/rmclassifications"),
        n,
        "{}",
        c.snapshot()
    );
    assert_eq!(
        c.count("POST /api/v2/nodes/{id}/permissions/custom"),
        n,
        "{}",
        c.snapshot()
    );
    // The documents, and the folders of the archive path that the seed does not have.
    let creates = c.count("POST /api/v2/nodes");
    assert!(
        (n..=n + CS_FOLDER.len() as u64).contains(&creates),
        "{}",
        c.snapshot()
    );
    let env_ok = env.cs_archive_children().await;
    assert_eq!(env_ok.len(), APPROVED.len());
}

#[tokio::test]
async fn a_file_moved_after_it_was_listed_is_tagged_where_it_is_now() {
    let env = Env::start().await;
    let files = env.dropbox.files();
    let listed = format!("{APPROVED_FOLDER}/{}", APPROVED[0]);
    let Metadata::File(f) = files.get_metadata(listed.as_str()).await.unwrap() else {
        panic!("{listed} is not a file");
    };
    let moved = format!("/Marketing/Moved {}", APPROVED[0]);
    files
        .move_entry(RelocationArg::new(listed.clone(), moved.clone()))
        .await
        .unwrap();
    let mut doc = Document::new(
        DocRef::dropbox(&f.id, &f.rev),
        format!("Marketing/Campaign 2026/Approved/{}", APPROVED[0]),
        f.size,
        Body::from_bytes(Vec::new()),
    );
    doc.name = f.name.clone();
    doc.context.full_path = Some(listed);
    let receipt = Receipt {
        target: DocRef::cs(1, 1),
        bytes: f.size,
        sent_hashes: Vec::new(),
        action: WriteAction::Created,
        location: "Archive".into(),
    };
    DropboxMarker::new(env.dropbox.clone())
        .tag("archived")
        .after_write(&doc, &receipt)
        .await
        .unwrap();
    let tags = files.get_tags([moved.as_str()]).await.unwrap();
    let texts: Vec<&str> = tags.paths_to_tags[0]
        .tags
        .iter()
        .filter_map(|t| t.text())
        .collect();
    assert!(texts.contains(&"archived"), "{tags:?}");

    // Gone from Dropbox: nothing to mark, and no error.
    files.delete(moved.as_str()).await.unwrap();
    DropboxMarker::new(env.dropbox.clone())
        .tag("archived")
        .after_write(&doc, &receipt)
        .await
        .unwrap();
}

#[tokio::test]
async fn an_earlier_write_found_under_the_name_gets_a_new_version_not_a_duplicate() {
    let env = Env::start().await;
    let first = env.flow().build().unwrap().run_once().await.unwrap();
    assert_eq!(first.written.len(), APPROVED.len(), "{}", first.summary());
    // The state file is lost: nothing says the documents were written, nothing is in doubt.
    for suffix in ["", "-wal", "-shm"] {
        let mut p = env.state_path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    let again = env.flow().build().unwrap().run_once().await.unwrap();
    assert!(again.failed.is_empty(), "{:#?}", again.failed);
    assert_eq!(again.written.len(), APPROVED.len(), "{}", again.summary());
    for w in &again.written {
        assert_eq!(w.action, Some(WriteAction::AddedVersion), "{w:?}");
    }
    let children = env.cs_archive_children().await;
    assert_eq!(children.len(), APPROVED.len(), "no duplicate: {children:?}");
    for node in &children {
        assert_eq!(env.cs_versions(node.id).await.len(), 2, "{}", node.name);
    }
}

#[tokio::test]
async fn a_name_taken_by_another_document_fails_and_is_not_overwritten() {
    let env = Env::start().await;
    let nodes = env.cs.nodes();
    let mut parent = nodes.enterprise_workspace().await.unwrap().id;
    for name in CS_FOLDER {
        parent = match nodes.find_child(parent, name).await.unwrap() {
            Some(n) => n.id,
            None => nodes.create_folder(parent, name).send().await.unwrap().id,
        };
    }
    let theirs = env
        .cs
        .documents()
        .create(
            parent,
            APPROVED[0],
            contentserver_client::UploadBody::from_bytes(&b"hand-made"[..]),
        )
        .description("hand-made document")
        .send()
        .await
        .unwrap();
    let report = env.flow().build().unwrap().run_once().await.unwrap();
    assert_eq!(
        report.written.len(),
        APPROVED.len() - 1,
        "{}",
        report.summary()
    );
    assert_eq!(report.failed.len(), 1, "{:#?}", report.failed);
    assert!(
        report.failed[0].error.contains("not written from"),
        "{}",
        report.failed[0].error
    );
    assert_eq!(env.cs_versions(theirs.id).await.len(), 1);
    assert_eq!(&env.cs_bytes(theirs.id, None).await[..], b"hand-made");
}

#[tokio::test]
async fn a_refused_write_on_a_new_node_reads_the_node_and_settles() {
    use sandbox::FaultRule;
    let env = Env::start().await;
    let cs = env.sandbox.contentserver_faults();
    // Each refused once, the way a server that gave the new node its own governance (from
    // its folder) might refuse: an edit conflict, a bad request.
    cs.add(FaultRule::status("POST /api/v1/nodes/{id}/rmclassifications", 409).with_count(1))
        .unwrap();
    cs.add(FaultRule::status("POST /api/v2/nodes/{id}/permissions/custom", 400).with_count(1))
        .unwrap();
    env.sandbox.contentserver_stats().reset();
    let report = env.flow().build().unwrap().run_once().await.unwrap();
    assert!(report.failed.is_empty(), "{:#?}", report.failed);
    assert_eq!(report.written.len(), APPROVED.len(), "{}", report.summary());
    let c = env.sandbox.contentserver_stats();
    // The one refused document read its records details and permissions, then wrote.
    assert_eq!(
        c.count("GET /api/v1/nodes/{id}/rmclassifications"),
        1,
        "{}",
        c.snapshot()
    );
    assert_eq!(
        c.count("GET /api/v2/nodes/{id}/permissions"),
        1,
        "{}",
        c.snapshot()
    );
    let records_managers = env
        .cs
        .members()
        .find_group("Records Managers")
        .await
        .unwrap()
        .unwrap();
    for node in env.cs_archive_children().await {
        let rm = env.cs.records().details(node.id).await.unwrap();
        assert_eq!(rm.records.len(), 1, "{}: {:?}", node.name, rm.raw);
        let perms = env.cs.permissions().get(node.id).await.unwrap();
        assert!(
            perms
                .iter()
                .any(|p| p.kind == "custom" && p.right_id == Some(records_managers.id)),
            "{}: {perms:?}",
            node.name
        );
    }
}
