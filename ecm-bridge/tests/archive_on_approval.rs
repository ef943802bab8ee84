//! End to end against the sandbox: the demo's approved files are archived into Content Server
//! with the right bytes and governance; a second run writes nothing; a new Dropbox rev becomes a
//! new version of the same document; injected faults end in the same final state.

mod support;

use dropbox_client::models::file_properties::TemplateFilterBase;
use dropbox_client::models::files::{CommitInfo, GetMetadataArg, WriteMode};
use ecm_bridge::flows::archive_on_approval::ArchiveOnApproval;
use ecm_bridge::model::DocRef;
use ecm_bridge::sink::WriteAction;
use sandbox::FaultRule;
use support::{Env, APPROVED, APPROVED_FOLDER, GOVERNED_TITLE};

/// Asserts the final state: each approved file archived exactly once, latest version = the
/// Dropbox bytes, governance applied, Dropbox file marked.
async fn assert_archived(env: &Env) {
    let children = env.cs_archive_children().await;
    assert_eq!(children.len(), APPROVED.len(), "{children:?}");
    let records_managers = env
        .cs
        .members()
        .find_group("Records Managers")
        .await
        .unwrap()
        .unwrap();
    for name in APPROVED {
        let node = env
            .cs_doc(name)
            .await
            .unwrap_or_else(|| panic!("{name} not archived"));
        let dropbox_path = format!("{APPROVED_FOLDER}/{name}");
        assert_eq!(
            env.cs_bytes(node.id, None).await,
            env.dropbox_bytes(&dropbox_path).await,
            "{name}: bytes"
        );
        // Categories, read back by attribute name.
        let cats = env.cs.categories().list(node.id).await.unwrap();
        let dg = cats
            .iter()
            .find(|c| c.name.as_deref() == Some("Document Governance"))
            .unwrap_or_else(|| panic!("{name}: no Document Governance category: {cats:?}"));
        let value = |attr: &str| dg.value_named(attr).cloned().unwrap_or_default();
        assert_eq!(value("Source System"), "Dropbox");
        assert_eq!(value("Source Path"), dropbox_path.as_str());
        assert_eq!(value("Document Type"), "Marketing");
        assert_eq!(value("Team"), "Marketing");
        assert!(value("Approved On")
            .as_str()
            .unwrap_or_default()
            .starts_with("2026-01-15"));
        assert_eq!(
            value("Keywords"),
            serde_json::json!(["marketing", "Approved"])
        );
        // RM classification.
        let rm = env.cs.records().details(node.id).await.unwrap();
        assert_eq!(rm.records.len(), 1, "{name}: {:?}", rm.raw);
        assert_eq!(
            rm.records[0].name.as_deref(),
            Some("MKT-01 Marketing Records")
        );
        // Permissions.
        let perms = env.cs.permissions().get(node.id).await.unwrap();
        let custom = perms
            .iter()
            .find(|p| p.kind == "custom" && p.right_id == Some(records_managers.id))
            .unwrap_or_else(|| panic!("{name}: no grant for Records Managers: {perms:?}"));
        let mut got: Vec<String> = custom
            .permissions
            .iter()
            .map(|p| {
                serde_json::to_value(p)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        got.sort();
        assert_eq!(got, ["see", "see_contents"]);
        // The source marker.
        let meta = env
            .dropbox
            .files()
            .get_metadata(dropbox_path.as_str())
            .await
            .unwrap();
        let file = meta.as_file().unwrap();
        assert!(
            node.description
                .as_deref()
                .unwrap_or_default()
                .contains(&DocRef::dropbox(&file.id, "").key()),
            "{name}: {:?}",
            node.description
        );
        // Dropbox marking: tag and Governance property with the node id.
        let tags = env
            .dropbox
            .files()
            .get_tags([dropbox_path.as_str()])
            .await
            .unwrap();
        let texts: Vec<&str> = tags.paths_to_tags[0]
            .tags
            .iter()
            .filter_map(|t| t.text())
            .collect();
        assert!(texts.contains(&"archived"), "{name}: tags {texts:?}");
        let templates = env
            .dropbox
            .file_properties()
            .list_templates_for_user()
            .await
            .unwrap()
            .template_ids;
        let meta = env
            .dropbox
            .files()
            .get_metadata(
                GetMetadataArg::new(dropbox_path.as_str())
                    .include_property_groups(TemplateFilterBase::FilterSome(templates)),
            )
            .await
            .unwrap();
        let groups = meta
            .as_file()
            .unwrap()
            .property_groups
            .clone()
            .unwrap_or_default();
        let fields: Vec<(String, String)> = groups
            .iter()
            .flat_map(|g| g.fields.iter().map(|f| (f.name.clone(), f.value.clone())))
            .collect();
        assert!(
            fields.contains(&("cs_node_id".into(), node.id.to_string())),
            "{name}: {fields:?}"
        );
        assert!(
            fields.contains(&("status".into(), "archived".into())),
            "{name}: {fields:?}"
        );
        assert!(
            fields.contains(&("retention_class".into(), "MKT-01 Marketing Records".into())),
            "{name}: {fields:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archives_approved_files_once_and_new_revs_as_versions() {
    let env = Env::start().await;
    let flow = env.flow().build().unwrap();

    let report = flow.run_once().await.unwrap();
    assert_eq!(report.failed.len(), 0, "{:#?}", report.failed);
    assert_eq!(
        report.count(WriteAction::Created),
        3,
        "{}",
        report.summary()
    );
    assert_eq!(report.found, 11);
    assert_eq!(report.skipped.len(), 8);
    assert!(
        report
            .skipped
            .iter()
            .all(|s| s.reason.starts_with("not approved")),
        "{:#?}",
        report.skipped
    );
    assert!(report.checkpoint.is_some());
    assert_archived(&env).await;
    let audit = flow
        .state()
        .audit(Some("archive_on_approval"))
        .await
        .unwrap();
    assert_eq!(audit.iter().filter(|e| e.action == "create").count(), 3);
    assert_eq!(audit.iter().filter(|e| e.action == "mark").count(), 3);

    // A second run writes nothing to Content Server.
    let stats = env.sandbox.contentserver_stats();
    let creates = stats.count("POST /api/v2/nodes");
    let versions = stats.count("POST /api/v2/nodes/{id}/versions");
    let again = flow.run_once().await.unwrap();
    assert!(again.written.is_empty(), "{}", again.summary());
    assert!(again.failed.is_empty(), "{:#?}", again.failed);
    assert_eq!(stats.count("POST /api/v2/nodes"), creates);
    assert_eq!(stats.count("POST /api/v2/nodes/{id}/versions"), versions);
    // Even from scratch (a new state file would re-list everything): a fresh flow on the same
    // state re-lists nothing and writes nothing.
    let fresh = env.flow().build().unwrap().run_once().await.unwrap();
    assert!(fresh.written.is_empty(), "{}", fresh.summary());

    // A new Dropbox rev becomes version 2 of the same node.
    let path = format!("{APPROVED_FOLDER}/Launch Plan.xlsx");
    let node = env.cs_doc("Launch Plan.xlsx").await.unwrap();
    let new_bytes = bytes::Bytes::from(b"Launch plan, revised after the kick-off.\n".repeat(300));
    env.dropbox
        .files()
        .upload(
            CommitInfo::new(path.as_str()).mode(WriteMode::Overwrite),
            futures::stream::iter([Ok::<_, std::io::Error>(new_bytes.clone())]),
        )
        .await
        .unwrap();
    let third = flow.run_once().await.unwrap();
    assert_eq!(
        third.count(WriteAction::AddedVersion),
        1,
        "{}",
        third.summary()
    );
    assert_eq!(third.written[0].target, Some(DocRef::cs(node.id, 2)));
    assert_eq!(env.cs_versions(node.id).await.len(), 2);
    assert_eq!(env.cs_bytes(node.id, Some(2)).await, new_bytes);
    assert_eq!(env.cs_doc("Launch Plan.xlsx").await.unwrap().id, node.id);
    assert_eq!(env.cs_archive_children().await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_end_in_the_same_final_state() {
    let env = Env::start().await;
    let cs = env.sandbox.contentserver_faults();
    let db = env.sandbox.dropbox_faults();
    // Uploads: a 503, then a connection reset (not retried by the client: the bridge finds
    // out whether the document landed, then writes it).
    cs.add(FaultRule::status("POST /api/v2/nodes", 503).with_nth(1))
        .unwrap();
    cs.add(FaultRule::reset("POST /api/v2/nodes").with_nth(3))
        .unwrap();
    cs.add(FaultRule::rate_limited("GET /api/v2/nodes/{id}/permissions", 1).with_count(1))
        .unwrap();
    cs.add(FaultRule::status("POST /api/v1/nodes/{id}/rmclassifications", 502).with_nth(2))
        .unwrap();
    db.add(FaultRule::rate_limited("/2/files/download", 1).with_count(1))
        .unwrap();
    db.add(FaultRule::status("/2/files/list_folder", 503).with_nth(1))
        .unwrap();
    db.add(FaultRule::reset("/2/files/download").with_nth(3))
        .unwrap();
    db.add(FaultRule::status("/2/file_properties/properties/overwrite", 500).with_nth(1))
        .unwrap();

    let flow = env.flow().concurrency(3).build().unwrap();
    let mut report = flow.run_once().await.unwrap();
    // Whatever still failed is retried by the next run.
    for _ in 0..3 {
        if report.failed.is_empty() {
            break;
        }
        report = flow.run_once().await.unwrap();
    }
    assert!(report.failed.is_empty(), "{:#?}", report.failed);
    assert_archived(&env).await;
    let fired: u64 = [cs, db]
        .iter()
        .flat_map(|f| f.list()["rules"].as_array().cloned().unwrap_or_default())
        .map(|r| r["fired"].as_u64().unwrap_or(0))
        .sum();
    assert!(fired >= 6, "faults fired: {fired}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holds_and_workflows_are_applied_and_started_once() {
    let env = Env::start().await;
    let flow = env.governed_flow().build().unwrap();
    let report = flow.run_once().await.unwrap();
    assert!(report.failed.is_empty(), "{:#?}", report.failed);
    assert_eq!(
        report.count(WriteAction::Created),
        3,
        "{}",
        report.summary()
    );
    assert_archived(&env).await;

    // The hold, read back: on the press release only.
    let press = env.cs_doc("Press Release.pdf").await.unwrap();
    let other = env.cs_doc("Brand Guidelines.pdf").await.unwrap();
    assert!(env.has_hold(press.id, "Riverside Tower Litigation").await);
    assert!(!env.has_hold(other.id, "Riverside Tower Litigation").await);

    // The workflow, read back: one process of Policy Approval at its first step, titled from
    // the rule, with the archived record attached.
    let started = env.assignments_titled(GOVERNED_TITLE).await;
    assert_eq!(started.len(), 1, "{started:#?}");
    assert_eq!(started[0].name.as_deref(), Some("Review"));
    let status = env
        .cs
        .workflows()
        .status(started[0].workflow_id.unwrap())
        .await
        .unwrap();
    assert_eq!(status.name.as_deref(), Some(GOVERNED_TITLE));
    assert_eq!(env.attachments(&status).await, [press.id]);
    let audit = flow
        .state()
        .audit(Some("archive_on_approval"))
        .await
        .unwrap();
    let deferred: Vec<_> = audit
        .iter()
        .filter(|e| e.action == "step" && e.outcome.starts_with("workflow:"))
        .collect();
    assert_eq!(deferred.len(), 1, "{deferred:#?}");
    assert_eq!(deferred[0].target, Some(DocRef::cs(press.id, 1)));

    // Another run starts nothing.
    let again = flow.run_once().await.unwrap();
    assert!(again.written.is_empty(), "{}", again.summary());
    assert_eq!(env.assignments_titled(GOVERNED_TITLE).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_cursor_lists_again_and_writes_nothing_twice() {
    // A cursor from a server whose journal is further on than this one's: this server answers
    // `list_folder/continue` with `reset` (as Dropbox does for a cursor it no longer honours).
    let other = Env::start().await;
    for i in 0..20 {
        other
            .dropbox
            .files()
            .upload(
                CommitInfo::new(format!("/Scratch/note {i}.txt")),
                futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from_static(
                    b"scratch",
                ))]),
            )
            .await
            .unwrap();
    }
    other.flow().build().unwrap().run_once().await.unwrap();
    use ecm_bridge::state::StateStore;
    let foreign = other
        .state()
        .checkpoint("archive_on_approval")
        .await
        .unwrap()
        .expect("a cursor");

    let env = Env::start().await;
    let flow = env.flow().build().unwrap();
    let first = flow.run_once().await.unwrap();
    assert_eq!(first.written.len(), APPROVED.len(), "{}", first.summary());
    env.state()
        .set_checkpoint("archive_on_approval", &foreign)
        .await
        .unwrap();
    // Before, every run failed on the reset cursor.
    let again = flow.run_once().await.unwrap();
    assert!(again.failed.is_empty(), "{:#?}", again.failed);
    assert!(again.written.is_empty(), "{}", again.summary());
    assert!(
        again.unchanged >= APPROVED.len() as u64,
        "{}",
        again.summary()
    );
    assert_ne!(
        env.state().checkpoint("archive_on_approval").await.unwrap(),
        Some(foreign),
        "a fresh cursor is saved"
    );
    assert_eq!(env.cs_archive_children().await.len(), APPROVED.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_approved_after_it_was_listed_is_archived_on_a_later_run() {
    let env = Env::start().await;
    let late = "/Marketing/Campaign 2026/Drafts/Brief.docx";
    // Looked at again on every run (a zero interval), so the test needs no clock.
    let flow = ArchiveOnApproval::with_store(env.dropbox.clone(), env.cs.clone(), env.state())
        .rules(support::rules())
        .marking(ecm_bridge::flows::archive_on_approval::Marking::default().tag("archived"))
        .recheck_unapproved(std::time::Duration::ZERO)
        .build()
        .unwrap();
    let first = flow.run_once().await.unwrap();
    assert_eq!(first.written.len(), APPROVED.len(), "{}", first.summary());
    assert!(
        first
            .skipped
            .iter()
            .any(|s| s.path.ends_with("Drafts/Brief.docx")),
        "{:#?}",
        first.skipped
    );

    // Approved by a tag now: the change feed reports nothing for a tag.
    env.dropbox.files().add_tag(late, "approved").await.unwrap();
    let second = flow.run_once().await.unwrap();
    assert!(second.failed.is_empty(), "{:#?}", second.failed);
    let written: Vec<_> = second.written.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(
        written,
        ["Marketing/Campaign 2026/Drafts/Brief.docx"],
        "{}",
        second.summary()
    );
    let node = second.written[0]
        .target
        .as_ref()
        .and_then(DocRef::node_id)
        .expect("written to Content Server");
    assert_eq!(
        env.cs.nodes().get(node).send().await.unwrap().name,
        "Brief.docx"
    );

    // Settled: not looked at or written again.
    let third = flow.run_once().await.unwrap();
    assert!(third.written.is_empty(), "{}", third.summary());
    use ecm_bridge::state::{DocStatus, DocumentStore};
    let due = env
        .state()
        .due_checks("archive_on_approval", chrono::Utc::now())
        .await
        .unwrap();
    assert!(
        due.iter().all(|r| !r
            .path
            .as_deref()
            .unwrap_or_default()
            .ends_with("Brief.docx")),
        "{due:#?}"
    );
    let done = env
        .state()
        .records_by_status("archive_on_approval", DocStatus::Done)
        .await
        .unwrap();
    // Every written document has its record; the late one was settled by the second run.
    assert_eq!(done.len(), APPROVED.len() + 1, "{done:#?}");
    let brief = done
        .iter()
        .find(|r| {
            r.path
                .as_deref()
                .unwrap_or_default()
                .ends_with("Brief.docx")
        })
        .expect("the late document is done");
    assert_eq!(brief.run, second.run.unwrap(), "settled by the second run");
    assert_eq!(brief.target.as_ref().and_then(DocRef::node_id), Some(node));

    // Each run is recorded with its counts and report.
    let runs = env.state().runs("archive_on_approval").await.unwrap();
    let ids: Vec<_> = runs.iter().map(|r| Some(r.id)).collect();
    assert_eq!(ids, [first.run, second.run, third.run]);
    assert!(runs
        .iter()
        .all(|r| r.finished.is_some() && r.report.is_some()));
    assert_eq!(runs[0].counts["written"], APPROVED.len() as u64);
    assert_eq!(runs[1].counts["written"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_out_and_back_gives_a_new_rev_and_no_new_version() {
    use dropbox_client::models::files::RelocationArg;
    use ecm_bridge::state::{DocStatus, DocumentStore};

    let env = Env::start().await;
    let flow = ArchiveOnApproval::with_store(env.dropbox.clone(), env.cs.clone(), env.state())
        .rules(support::rules())
        .marking(ecm_bridge::flows::archive_on_approval::Marking::default().tag("archived"))
        .build()
        .unwrap();
    let first = flow.run_once().await.unwrap();
    assert_eq!(first.written.len(), APPROVED.len(), "{}", first.summary());

    let path = format!("{APPROVED_FOLDER}/Launch Plan.xlsx");
    let aside = "/Marketing/Campaign 2026/Drafts/Launch Plan.xlsx";
    let files = env.dropbox.files();
    let before = files.get_metadata(path.as_str()).await.unwrap();
    let before = before.as_file().unwrap().clone();
    files
        .move_entry(RelocationArg::new(path.as_str(), aside))
        .await
        .unwrap();
    files
        .move_entry(RelocationArg::new(aside, path.as_str()))
        .await
        .unwrap();
    let after = files.get_metadata(path.as_str()).await.unwrap();
    let after = after.as_file().unwrap().clone();
    assert_eq!(after.id, before.id, "a move keeps the id");
    assert_ne!(
        after.rev, before.rev,
        "the sandbox gives a moved file a new rev"
    );
    assert_eq!(after.content_hash, before.content_hash);

    let stats = env.sandbox.contentserver_stats();
    let creates = stats.count("POST /api/v2/nodes");
    let versions = stats.count("POST /api/v2/nodes/{id}/versions");
    let second = flow.run_once().await.unwrap();
    assert!(second.written.is_empty(), "{}", second.summary());
    assert!(second.failed.is_empty(), "{:#?}", second.failed);
    assert!(second.unchanged >= 1, "{}", second.summary());
    assert_eq!(
        stats.count("POST /api/v2/nodes"),
        creates,
        "no new document"
    );
    assert_eq!(
        stats.count("POST /api/v2/nodes/{id}/versions"),
        versions,
        "no new version"
    );
    let record = env
        .state()
        .record("archive_on_approval", &DocRef::dropbox(&after.id, "").key())
        .await
        .unwrap()
        .expect("recorded");
    assert_eq!(record.status, DocStatus::Done);
    assert_eq!(record.source.version.as_deref(), Some(after.rev.as_str()));
}

/// A rule that starts the demo workflow for `Launch Plan.xlsx` (no hold: a held document
/// takes no new version).
const PLAN_WORKFLOW: &str = r#"
[[rule]]
name = "plans go to approval"
name_pattern = "^Launch Plan"
[rule.workflow]
map = "Policy Approval"
values = { WorkflowForm_Title = "Approve {stem}" }
"#;

/// A new version of a governed document starts its own workflow, attached to the same node as
/// the first version's: when that start is refused before the process begins (a 502 on the
/// start's initiating call, which is not repeated), the next run asks the target whether it
/// happened, and must not take the first version's process for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_versions_workflow_start_in_doubt_never_takes_the_first_versions_process() {
    const NAME: &str = "Launch Plan.xlsx";
    let env = Env::start().await;
    let path =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/config/rules.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let rules = ecm_bridge::rules::Rules::from_toml(&format!("{text}\n{PLAN_WORKFLOW}")).unwrap();
    let flow = env.flow_with(rules).build().unwrap();
    let report = flow.run_once().await.unwrap();
    assert!(report.failed.is_empty(), "{:#?}", report.failed);
    let plan = env.cs_doc(NAME).await.unwrap();
    let first = env.assignments_titled("Approve Launch Plan").await;
    assert_eq!(first.len(), 1, "{first:#?}");
    let first = first[0].workflow_id.unwrap();

    let path = format!("{APPROVED_FOLDER}/{NAME}");
    env.dropbox
        .files()
        .upload(
            CommitInfo::new(path.as_str()).mode(WriteMode::Overwrite),
            futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from_static(
                b"Launch plan, second version.",
            ))]),
        )
        .await
        .unwrap();
    // The start's second PUT (after the form update) initiates the process.
    env.sandbox
        .contentserver_faults()
        .add(FaultRule::status("PUT /api/v2/draftprocesses/{id}", 502).with_nth(2))
        .unwrap();
    // The start in doubt is checked at the target in the run's own retry, or by the next run.
    for runs in 1.. {
        let r = flow.run_once().await.unwrap();
        if r.failed.is_empty() {
            break;
        }
        assert!(runs < 3, "{:#?}", r.failed);
    }
    let faults = env.sandbox.contentserver_faults().list();
    assert_eq!(faults["rules"][0]["fired"], 1, "{faults}");

    let attached = env
        .cs
        .workflows()
        .attached_to(plan.id)
        .send()
        .await
        .unwrap();
    assert_eq!(attached.len(), 2, "one process per version: {attached:#?}");
    let meta = env
        .dropbox
        .files()
        .get_metadata(GetMetadataArg::new(path.as_str()))
        .await
        .unwrap();
    let file = meta.as_file().unwrap();
    let key = DocRef::dropbox(file.id.clone(), file.rev.clone()).key();
    let steps = flow
        .state()
        .steps("archive_on_approval", &key, &file.rev)
        .await
        .unwrap();
    let wf = steps.iter().find(|s| s.name == "workflow").unwrap();
    let process = wf.output.as_ref().unwrap()["process_id"].as_i64().unwrap();
    assert_ne!(
        process, first,
        "the first version's process taken for the second's"
    );
    assert!(
        attached.iter().any(|p| p.process_id == Some(process)),
        "{attached:#?}"
    );
}
