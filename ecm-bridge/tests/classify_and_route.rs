//! End to end against the sandbox: intake files are filed into Content Server where the rules
//! say (bytes, category values, RM class, folders), a name CS refuses is adapted with the
//! original kept, names that collide after case folding are made unique, an unclassified
//! file is quarantined (Dropbox or CS) and taken up again after a rule change; a second run
//! changes nothing; faults (answers lost after the write committed) end in the same state;
//! re-classification updates categories without a new version; a signed webhook wakes `watch`.

mod classify_support;
mod support;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use dropbox_client::models::files::CommitInfo;
use ecm_bridge::flows::classify_and_route::{
    ClassifyAndRoute, ClassifyConfig, PlanAction, QuarantineTarget, ORIGINAL_NAME,
};
use ecm_bridge::model::Value;
use ecm_bridge::state::{DocStatus, DocumentStore, SqliteStore};
use sandbox::{FaultRule, LostAnswer};
use support::Env;

use classify_support::*;

#[tokio::test]
async fn files_route_quarantine_and_come_back_after_a_rule_change() {
    let env = Env::start().await;
    seed_intake(&env).await;
    let store = env.state();
    let flow = build(&env, store.clone(), config(QuarantineTarget::default()));

    // The plan first: nothing changes, everything is said.
    let plan = flow.plan().await.unwrap();
    assert_eq!(plan.rows.len(), 7, "{}", plan.table());
    let row = |p: &str| {
        plan.rows
            .iter()
            .find(|r| r.path == p.trim_start_matches('/'))
    };
    let minutes = row("/Intake/Projects/P-1042 Minutes 12:30.docx").unwrap();
    assert_eq!(minutes.matched, ["intake defaults", "project documents"]);
    assert_eq!(minutes.name.as_deref(), Some("P-1042 Minutes 12-30.docx"));
    assert_eq!(minutes.rm_class.as_deref(), Some("PRJ-10 Project Records"));
    assert!(matches!(
        &row(UNCLASSIFIED).unwrap().action,
        PlanAction::Quarantine { reason } if reason.contains("none sets a target")
    ));
    let table = plan.table();
    assert!(
        table.contains("QUARANTINE") && table.contains("FIN-07 Tax Records"),
        "{table}"
    );
    serde_json::to_value(&plan).unwrap();
    assert!(
        dropbox_exists(&env, UNCLASSIFIED).await,
        "the plan changed nothing"
    );
    assert!(cs_children(&env, "Finance").await.is_empty());

    let report = flow.run_once().await.unwrap().run;
    assert!(report.failed.is_empty(), "{:#?}", report.failed);
    assert_eq!(report.written.len(), 6, "{}", report.summary());
    assert_eq!(report.quarantined.len(), 1, "{:#?}", report.quarantined);
    let q = &report.quarantined[0];
    assert!(q.reason.contains("no rule classifies it"), "{}", q.reason);
    assert!(
        q.reason.contains("/Quarantine/Intake/Finance/notes.bin"),
        "{}",
        q.reason
    );
    assert!(q.reason.contains(flow.fingerprint()), "{}", q.reason);
    // The route is the rule that chose the target, and the adapted name keeps its original.
    let minutes = report
        .written
        .iter()
        .find(|w| w.path.ends_with("12:30.docx"))
        .unwrap();
    assert_eq!(
        minutes.metadata[ORIGINAL_NAME],
        Value::from("P-1042 Minutes 12:30.docx")
    );
    let rec = store
        .record("classify_and_route", &minutes.source.key())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rec.sink.as_deref(), Some("project documents"));
    assert_filed(&env).await;
    assert_quarantined_in_dropbox(&env).await;

    // A second run changes nothing.
    let again = flow.run_once().await.unwrap().run;
    assert!(again.written.is_empty(), "{}", again.summary());
    assert!(again.quarantined.is_empty() && again.failed.is_empty());
    assert!(again.deleted.is_empty(), "{:?}", again.deleted);
    assert_filed(&env).await;
    assert_quarantined_in_dropbox(&env).await;

    // The rules change: the quarantined file comes back and is filed; the rest stays.
    let flow = build(
        &env,
        store.clone(),
        with_bin_rule(config(QuarantineTarget::default())),
    );
    let report = flow.run_once().await.unwrap().run;
    assert!(report.failed.is_empty(), "{:#?}", report.failed);
    assert_eq!(report.written.len(), 1, "{}", report.summary());
    assert!(report.quarantined.is_empty());
    assert!(dropbox_exists(&env, UNCLASSIFIED).await);
    assert!(!dropbox_exists(&env, &format!("/Quarantine{UNCLASSIFIED}")).await);
    let note = cs_node(&env, "Finance/Notes", "notes.bin").await.unwrap();
    assert_eq!(
        env.cs_bytes(note.id, None).await,
        env.dropbox_bytes(UNCLASSIFIED).await
    );
    assert_eq!(
        category(&env, note.id, "Intake Classification").await["Document Type"],
        "Note"
    );
    assert!(store
        .records_by_status("classify_and_route", DocStatus::Quarantined)
        .await
        .unwrap()
        .is_empty());
    assert_filed(&env).await;
    let last = flow.run_once().await.unwrap().run;
    assert!(
        last.written.is_empty() && last.quarantined.is_empty(),
        "{}",
        last.summary()
    );
}

#[tokio::test]
async fn lost_answers_and_faults_end_in_the_same_state() {
    let env = Env::start().await;
    seed_intake(&env).await;
    let cs = env.sandbox.contentserver_faults();
    let db = env.sandbox.dropbox_faults();
    // Writes that commit and whose answers are lost: a document create, a category apply,
    // the quarantine move; plus plain failures of listing and classification.
    cs.add(FaultRule::lose("POST /api/v2/nodes", LostAnswer::Status(502)).with_nth(2))
        .unwrap();
    cs.add(FaultRule::lose("POST /api/v2/nodes", LostAnswer::Reset).with_nth(5))
        .unwrap();
    cs.add(FaultRule::status("POST /api/v1/nodes/{id}/rmclassifications", 503).with_nth(1))
        .unwrap();
    db.add(FaultRule::lose("/2/files/move_v2", LostAnswer::Reset).with_nth(1))
        .unwrap();
    db.add(FaultRule::status("/2/files/list_folder", 503).with_nth(1))
        .unwrap();
    db.add(FaultRule::reset("/2/files/download").with_nth(2))
        .unwrap();
    let store = env.state();
    let flow = build(&env, store.clone(), config(QuarantineTarget::default()));
    let mut runs = 0;
    loop {
        runs += 1;
        let r = flow.run_once().await;
        let done = matches!(&r, Ok(r) if r.run.failed.is_empty());
        if done || runs == 4 {
            let r = r.unwrap().run;
            assert!(r.failed.is_empty(), "after {runs} runs: {:#?}", r.failed);
            break;
        }
    }
    assert!(cs.lost_answers() + db.lost_answers() >= 2);
    cs.clear();
    db.clear();
    assert_filed(&env).await;
    assert_quarantined_in_dropbox(&env).await;
    // Nothing twice: one document per filed file.
    assert_eq!(cs_children(&env, "Projects/P-1042/Intake").await.len(), 3);
    assert_eq!(cs_children(&env, "Finance/Invoices/2026").await.len(), 3);
    let again = flow.run_once().await.unwrap().run;
    assert!(
        again.written.is_empty() && again.quarantined.is_empty(),
        "{}",
        again.summary()
    );
}

#[tokio::test]
async fn a_cs_quarantine_is_released_when_the_rules_classify_the_file() {
    let env = Env::start().await;
    seed_intake(&env).await;
    let store = env.state();
    let q = QuarantineTarget::Cs("Quarantine".into());
    let flow = build(&env, store.clone(), config(q.clone()));
    let report = flow.run_once().await.unwrap().run;
    assert!(report.failed.is_empty(), "{:#?}", report.failed);
    assert_eq!(report.quarantined.len(), 1);
    // Filed, ungoverned, in the CS quarantine; the Dropbox file stays in the intake.
    let held = cs_node(&env, "Quarantine/Intake/Finance", "notes.bin")
        .await
        .expect("in the CS quarantine");
    assert_eq!(
        env.cs_bytes(held.id, None).await,
        env.dropbox_bytes(UNCLASSIFIED).await
    );
    assert!(rm_class(&env, held.id).await.is_empty());
    assert!(dropbox_exists(&env, UNCLASSIFIED).await);
    assert_filed(&env).await;
    let again = flow.run_once().await.unwrap().run;
    assert!(
        again.written.is_empty() && again.quarantined.is_empty(),
        "{}",
        again.summary()
    );

    let flow = build(&env, store, with_bin_rule(config(q)));
    let report = flow.run_once().await.unwrap().run;
    assert!(report.failed.is_empty(), "{:#?}", report.failed);
    assert_eq!(report.written.len(), 1, "{}", report.summary());
    assert!(cs_node(&env, "Finance/Notes", "notes.bin").await.is_some());
    assert!(cs_node(&env, "Quarantine/Intake/Finance", "notes.bin")
        .await
        .is_none());
}

#[tokio::test]
async fn reclassification_updates_categories_without_a_new_version() {
    let env = Env::start().await;
    seed_intake(&env).await;
    let store = env.state();
    let flow = build(&env, store.clone(), config(QuarantineTarget::default()));
    let first = flow.run_once().await.unwrap();
    assert!(first.reclassified.is_empty());
    assert!(first.run.failed.is_empty(), "{:#?}", first.run.failed);

    let changed = CONFIG.replace("PRJ-10: 10 years", "PRJ-10: 12 years after handover");
    let flow = build(
        &env,
        store.clone(),
        ClassifyConfig::from_toml(&changed).unwrap(),
    );
    let second = flow.run_once().await.unwrap();
    assert!(second.run.written.is_empty(), "{}", second.run.summary());
    // Every filed document was looked at; the project ones carry the new value.
    assert_eq!(second.reclassified.len(), 6, "{:#?}", second.reclassified);
    let node = cs_node(&env, "Projects/P-1042/Intake", "P-1042 Site Survey.pdf")
        .await
        .unwrap();
    assert_eq!(
        category(&env, node.id, "Intake Classification").await["Retention Schedule"],
        "PRJ-10: 12 years after handover"
    );
    assert_eq!(env.cs_versions(node.id).await.len(), 1, "no new version");
    // Unchanged rules: no second pass.
    assert!(flow.run_once().await.unwrap().reclassified.is_empty());

    // Off by default: without the opt-in, a rule change leaves the filed documents alone.
    let mut off =
        ClassifyConfig::from_toml(&CONFIG.replace("PRJ-10: 10 years", "PRJ-10: 1 year")).unwrap();
    off.reclassify = false;
    let flow = build(&env, store, off);
    assert!(flow.run_once().await.unwrap().reclassified.is_empty());
    assert_eq!(
        category(&env, node.id, "Intake Classification").await["Retention Schedule"],
        "PRJ-10: 12 years after handover"
    );
}

#[tokio::test]
async fn refused_names_fail_with_an_error_naming_the_file() {
    let env = Env::start().await;
    seed_intake(&env).await;
    let mut c = config(QuarantineTarget::default());
    c.names.policy = ecm_bridge::names::NamePolicy::Refuse;
    let flow = build(&env, env.state(), c);
    let report = flow.run_once().await.unwrap().run;
    let failed: Vec<&str> = report
        .failed
        .iter()
        .filter_map(|f| f.path.as_deref())
        .collect();
    // The colon, the long name, and the second invoice whose name is taken after case folding.
    assert_eq!(failed.len(), 3, "{:#?}", report.failed);
    let minutes = report
        .failed
        .iter()
        .find(|f| f.path.as_deref().is_some_and(|p| p.ends_with("12:30.docx")))
        .unwrap();
    assert!(
        minutes.error.contains("P-1042 Minutes 12:30.docx"),
        "{}",
        minutes.error
    );
    assert!(minutes.error.contains("':'"), "{}", minutes.error);
    assert!(
        report
            .failed
            .iter()
            .any(|f| f.error.contains("collides with")),
        "{:#?}",
        report.failed
    );
    assert!(
        cs_node(&env, "Projects/P-1042/Intake", "P-1042 Minutes 12-30.docx")
            .await
            .is_none()
    );
}

#[tokio::test]
async fn a_signed_webhook_wakes_the_watching_flow() {
    use contentserver_client::Credentials;
    use ecm_bridge::runner::Progress;
    use ecm_bridge::webhook::{WakeHub, WebhookHandler};

    // The webhook endpoint on loopback, then the sandbox sending signed notifications to it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let secret = sandbox::dropbox::APP_SECRET;
    let hub = WakeHub::new();
    let server = tokio::spawn({
        let handler = WebhookHandler::new(secret, hub.clone());
        async move { axum::serve(listener, app(handler)).await.unwrap() }
    });
    let sb = sandbox::start(sandbox::SandboxConfig::new().webhook(url, secret))
        .await
        .unwrap();
    let dropbox = dropbox_client::Client::builder()
        .base_url(sb.dropbox_url().parse().unwrap())
        .access_token("sandbox-token")
        .build()
        .unwrap();
    let cs = contentserver_client::Client::builder(sb.contentserver_url())
        .credentials(Credentials::password("admin", "admin"))
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("state.db")).unwrap());
    for folder in ["/Intake/Finance", "/Intake/Projects"] {
        dropbox.files().create_folder(folder).await.unwrap();
    }
    let (runs_tx, mut runs) = tokio::sync::mpsc::unbounded_channel();
    let flow = ClassifyAndRoute::new(
        dropbox.clone(),
        cs.clone(),
        store,
        config(QuarantineTarget::default()),
    )
    .wake_hub(hub.clone())
    // No longpoll and an hour's fallback: only the webhook can wake a second run.
    .longpoll(false)
    .on_progress(Arc::new(move |p: &Progress| match p {
        Progress::RunFinished(r) => {
            let _ = runs_tx.send(Ok(r.written.len()));
        }
        Progress::RunFailed { error } => {
            let _ = runs_tx.send(Err(error.clone()));
        }
        _ => {}
    }))
    .build()
    .unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let watcher = {
        let f = flow.clone();
        tokio::spawn(async move {
            f.watch(Duration::from_secs(3600), async {
                let _ = stop_rx.await;
            })
            .await
        })
    };
    let wait = Duration::from_secs(30);
    let first = tokio::time::timeout(wait, runs.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first, Ok(0), "the intake is empty at first");
    dropbox
        .files()
        .upload_bytes(
            CommitInfo::new("/Intake/Finance/INV-2026-100 Initech.pdf"),
            Bytes::from_static(b"webhook"),
        )
        .await
        .unwrap();
    let second = tokio::time::timeout(wait, runs.recv())
        .await
        .expect("the webhook did not wake the flow")
        .unwrap();
    assert_eq!(second, Ok(1));
    let ews = cs.nodes().enterprise_workspace().await.unwrap();
    let path = ["Finance", "Invoices", "2026", "INV-2026-100 Initech.pdf"];
    assert!(cs
        .nodes()
        .resolve_path(ews.id, &path)
        .await
        .unwrap()
        .is_some());
    let _ = stop_tx.send(());
    watcher.await.unwrap().unwrap();
    server.abort();
}

/// The webhook endpoint: the bridge's router (a tower service) with the `webhook-server`
/// feature, else the plain function of headers and body behind a one-route axum app.
#[cfg(feature = "webhook-server")]
fn app(handler: ecm_bridge::webhook::WebhookHandler) -> axum::Router {
    ecm_bridge::webhook::router(handler)
}

#[cfg(not(feature = "webhook-server"))]
fn app(handler: ecm_bridge::webhook::WebhookHandler) -> axum::Router {
    use axum::http::{HeaderMap, Method, StatusCode, Uri};
    axum::Router::new().route(
        "/",
        axum::routing::any(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| async move {
                let r = handler.respond(&method, uri.query(), &headers, &body);
                (StatusCode::from_u16(r.status).unwrap(), r.body)
            },
        ),
    )
}

#[tokio::test]
async fn a_restart_after_a_stop_at_any_step_ends_in_the_same_state() {
    use ecm_bridge::runner::Failpoint;
    use std::sync::atomic::{AtomicU32, Ordering};

    for (at, nth) in [
        (Failpoint::BeforePending, 1),
        (Failpoint::BeforeWrite, 2),
        (Failpoint::AfterWrite, 3),
        (Failpoint::AfterRecord, 1),
        (Failpoint::AfterSteps, 1),
        (Failpoint::AfterStep, 1),
        (Failpoint::BeforeCheckpoint, 1),
    ] {
        let env = Env::start().await;
        seed_intake(&env).await;
        // CS quarantine mode: it has an after-write hook (the release of quarantine copies).
        let q = QuarantineTarget::Cs("Quarantine".into());
        let store = env.state();
        let hits = Arc::new(AtomicU32::new(0));
        let stop: ecm_bridge::runner::FailpointFn = {
            let hits = hits.clone();
            Arc::new(move |p| p == at && hits.fetch_add(1, Ordering::SeqCst) + 1 == nth)
        };
        let stopping = ClassifyAndRoute::new(
            env.dropbox.clone(),
            env.cs.clone(),
            store.clone(),
            config(q.clone()),
        )
        .failpoint(stop)
        .build()
        .unwrap();
        let stopped = stopping.run_once().await;
        assert!(
            matches!(stopped, Err(ecm_bridge::Error::Stopped(_))),
            "{at:?}: the run did not stop: {stopped:?}"
        );
        let flow = build(&env, store.clone(), config(q.clone()));
        let report = flow.run_once().await.unwrap().run;
        assert!(report.failed.is_empty(), "{at:?}: {:#?}", report.failed);
        assert_filed(&env).await;
        assert_eq!(
            cs_children(&env, "Projects/P-1042/Intake").await.len(),
            3,
            "{at:?}"
        );
        assert_eq!(
            cs_children(&env, "Finance/Invoices/2026").await.len(),
            3,
            "{at:?}"
        );
        assert_eq!(
            cs_children(&env, "Quarantine/Intake/Finance").await.len(),
            1,
            "{at:?}"
        );
        let again = flow.run_once().await.unwrap().run;
        assert!(
            again.written.is_empty() && again.quarantined.is_empty() && again.failed.is_empty(),
            "{at:?}: {}",
            again.summary()
        );
    }
}

#[tokio::test]
async fn a_file_in_the_quarantine_without_a_record_is_recorded() {
    // What a run stopped between the quarantine move and its record leaves behind.
    let env = Env::start().await;
    seed_intake(&env).await;
    let stray = "/Quarantine/Intake/Finance/stray.bin";
    upload(&env, stray, "moved, never recorded").await;
    let store = env.state();
    let flow = build(&env, store.clone(), config(QuarantineTarget::default()));
    let report = flow.run_once().await.unwrap().run;
    assert!(report.failed.is_empty(), "{:#?}", report.failed);
    let paths: Vec<&str> = report.quarantined.iter().map(|q| q.path.as_str()).collect();
    assert!(paths.contains(&"Intake/Finance/stray.bin"), "{paths:?}");
    assert!(dropbox_exists(&env, stray).await, "left where it is");
    let recorded = store
        .records_by_status("classify_and_route", DocStatus::Quarantined)
        .await
        .unwrap();
    assert_eq!(recorded.len(), 2, "{recorded:#?}");
    let again = flow.run_once().await.unwrap().run;
    assert!(again.quarantined.is_empty(), "{}", again.summary());
}

#[tokio::test]
async fn names_equal_after_nfc_and_case_folding_become_two_documents() {
    let env = Env::start().await;
    let nfc = "/Intake/Finance/INV-2026-003 Soci\u{e9}t\u{e9}.pdf";
    let nfd = "/Intake/Finance/Scans/INV-2026-003 SOCIE\u{301}TE\u{301}.pdf";
    upload(&env, nfc, "composed").await;
    upload(&env, nfd, "decomposed").await;
    let flow = build(&env, env.state(), config(QuarantineTarget::default()));
    let report = flow.run_once().await.unwrap().run;
    assert!(report.failed.is_empty(), "{:#?}", report.failed);
    assert_eq!(report.written.len(), 2, "{}", report.summary());
    let docs = cs_children(&env, "Finance/Invoices/2026").await;
    assert_eq!(docs.len(), 2, "{docs:?}");
    // Every name CS holds is NFC, and no two fold to the same key.
    let keys: std::collections::HashSet<String> = docs
        .iter()
        .map(|d| ecm_bridge::names::fold_key(&d.name))
        .collect();
    assert_eq!(keys.len(), 2, "{docs:?}");
    for d in &docs {
        assert!(!d.name.contains('\u{301}'), "{:?} is not NFC", d.name);
    }
    let renamed = docs
        .iter()
        .find(|d| d.name.contains('~'))
        .expect("one renamed");
    let c = category(&env, renamed.id, "Intake Classification").await;
    let original = c["Original Name"].as_str().unwrap();
    assert!(
        [nfc, nfd].iter().any(|p| p.ends_with(original)),
        "{original:?}"
    );
    // The decomposed one keeps its original spelling wherever it went: renamed (its original
    // is the decomposed name), or under the composed name with the decomposed one kept.
    let nfd_name = nfd.rsplit('/').next().unwrap();
    let plain = docs.iter().find(|d| d.id != renamed.id).unwrap();
    let c = category(&env, plain.id, "Intake Classification").await;
    if original == nfd_name {
        assert!(c["Original Name"].is_null(), "{c:?}");
    } else {
        assert_eq!(c["Original Name"], nfd_name, "{docs:?}");
    }
    let again = flow.run_once().await.unwrap().run;
    assert!(again.written.is_empty(), "{}", again.summary());
}
