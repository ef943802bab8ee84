//! `publish_to_dropbox` (use case 2) against the sandbox's demo seed: the two documents of
//! `Published/Outside Counsel` with `Publication.External = yes` are published to
//! `/Shared/Outside Counsel` with one view-only, password-protected, expiring link each and a
//! shared folder with an outside member; a new CS version replaces the Dropbox copy by rev; a
//! changed value, a hold or a delete withdraws the document (links revoked, copy deleted,
//! record `removed`); CS records where, when and as which version each one was published.
//! Every case checks Dropbox, CS and the store; a second run changes nothing; lost answers
//! and stops at every failpoint end in the same state.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use contentserver_client::api::categories::{AttrKey, AttrValue, CategoryValues};
use dropbox_client::models::files::Metadata;
use dropbox_client::models::sharing::{FolderMember, ListFolderMembersArgs, ListSharedLinksArg};
use ecm_bridge::flows::publish_to_dropbox::{PublishToDropbox, Publisher};
use ecm_bridge::runner::{Failpoint, RetryPolicy};
use ecm_bridge::sink::WriteAction;
use ecm_bridge::state::{DocStatus, Store};
use ecm_bridge::Error;
use futures::TryStreamExt;
use sandbox::{FaultRule, LostAnswer};
use support::publish::{config, now};
use support::Env;

const FOLDER: &str = "/Shared/Outside Counsel";
const SUMMARY: &str = "Contract Summary.pdf";
const LETTER: &str = "Engagement Letter.pdf";
const FLOW: &str = "publish_to_dropbox";

async fn publisher(env: &Env, state: Arc<dyn Store>) -> PublishToDropbox {
    PublishToDropbox::new(env.dropbox.clone(), env.cs.clone(), state, config())
        .clock(Arc::new(now))
        .concurrency(1)
        .retry(RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(100),
            multiplier: 2,
            jitter: false,
        })
}

async fn build(env: &Env, state: Arc<dyn Store>) -> Publisher {
    publisher(env, state).await.build().await.unwrap()
}

async fn node(env: &Env, name: &str) -> i64 {
    let ews = env.cs.nodes().enterprise_workspace().await.unwrap();
    env.cs
        .nodes()
        .resolve_path(ews.id, &["Published", "Outside Counsel", name])
        .await
        .unwrap()
        .unwrap()
        .id
}

/// The `Publication` values of `node` by attribute name (text).
async fn publication(env: &Env, node: i64) -> std::collections::BTreeMap<String, String> {
    let cats = env.cs.categories().list(node).await.unwrap();
    let cat = cats
        .iter()
        .find(|c| c.name.as_deref() == Some("Publication"))
        .expect("Publication applied");
    cat.attributes
        .iter()
        .filter_map(|a| {
            let v = cat.values.get(&a.key)?;
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            };
            Some((a.name.clone()?, text))
        })
        .collect()
}

async fn set_external(env: &Env, node: i64, value: &str) {
    let cats = env.cs.categories().list(node).await.unwrap();
    let cat = cats
        .iter()
        .find(|c| c.name.as_deref() == Some("Publication"))
        .unwrap();
    let key = cat
        .attributes
        .iter()
        .find(|a| a.name.as_deref() == Some("External"))
        .unwrap()
        .key
        .clone();
    let attr: i64 = key.rsplit('_').next().unwrap().parse().unwrap();
    let values = CategoryValues::new()
        .category(cat.id)
        .set(AttrKey::attr(cat.id, attr), AttrValue::Text(value.into()));
    env.cs
        .categories()
        .update(node, cat.id, &values)
        .await
        .unwrap();
}

/// The direct links of `path` (none when the file is gone).
async fn links(env: &Env, path: &str) -> Vec<dropbox_client::models::sharing::SharedLinkMetadata> {
    match env
        .dropbox
        .sharing()
        .list_shared_links(ListSharedLinksArg {
            path: Some(path.to_owned()),
            cursor: None,
            direct_only: Some(true),
        })
        .await
    {
        Ok(page) => page.links,
        Err(e) if e.kind() == dropbox_client::ErrorKind::NotFound => Vec::new(),
        Err(e) => panic!("{e}"),
    }
}

/// Every link of the account, by path.
async fn all_link_paths(env: &Env) -> Vec<String> {
    let page = env
        .dropbox
        .sharing()
        .list_shared_links(ListSharedLinksArg {
            path: None,
            cursor: None,
            direct_only: None,
        })
        .await
        .unwrap();
    let mut paths: Vec<String> = page
        .links
        .iter()
        .filter_map(|l| l.fields().path_lower.clone())
        .collect();
    paths.sort();
    paths
}

/// The names in the published folder.
async fn dropbox_names(env: &Env) -> Vec<String> {
    let entries: Vec<Metadata> = env
        .dropbox
        .files()
        .list_folder(FOLDER)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    let mut names: Vec<String> = entries
        .iter()
        .filter_map(|m| match m {
            Metadata::File(f) => Some(f.name.clone()),
            _ => None,
        })
        .collect();
    names.sort();
    names
}

/// The published state of `published` (names at CS version numbers), checked from every side:
/// exactly these files in Dropbox with the CS bytes, one link each with the settings, the CS
/// record of each publication, the store's records `done` at the Dropbox file's rev, and the
/// shared folder with its member.
async fn assert_published(env: &Env, state: &Arc<dyn Store>, published: &[(&str, i64)]) {
    let mut want: Vec<String> = published.iter().map(|(n, _)| n.to_string()).collect();
    want.sort();
    assert_eq!(dropbox_names(env).await, want, "the Dropbox folder");
    for (name, version) in published {
        let id = node(env, name).await;
        let path = format!("{FOLDER}/{name}");
        assert_eq!(
            env.dropbox_bytes(&path).await,
            env.cs_bytes(id, None).await,
            "{name}: the CS bytes"
        );
        let l = links(env, &path).await;
        assert_eq!(l.len(), 1, "{name}: one link, never a second: {l:?}");
        let f = l[0].fields();
        assert_eq!(
            f.expires,
            Some(now() + chrono::Duration::days(30)),
            "{name}"
        );
        assert!(!f.link_permissions.allow_download, "{name}: view only");
        assert_eq!(
            f.link_permissions.require_password,
            Some(true),
            "{name}: password: {:?}",
            f.link_permissions
        );
        let record = publication(env, id).await;
        assert_eq!(record["Published Version"], version.to_string(), "{name}");
        assert_eq!(
            record["Published On"].get(..10),
            Some("2026-12-01"),
            "{name}"
        );
        assert!(
            record["Published To"].contains(&path)
                && record["Published To"].contains(&l[0].url().to_owned()),
            "{name}: {record:?}"
        );
        let r = state
            .record(FLOW, &ecm_bridge::model::DocRef::cs(id, 0).key())
            .await
            .unwrap()
            .expect("a record");
        assert_eq!(r.status, DocStatus::Done, "{name}");
        let Metadata::File(file) = env
            .dropbox
            .files()
            .get_metadata(path.clone())
            .await
            .unwrap()
        else {
            panic!("{path} is not a file")
        };
        let target = r.target.expect("a target");
        assert_eq!(
            (target.id, target.version),
            (file.id, Some(file.rev)),
            "{name}"
        );
        assert_eq!(r.source.version, Some(version.to_string()), "{name}");
    }
    let Metadata::Folder(folder) = env.dropbox.files().get_metadata(FOLDER).await.unwrap() else {
        panic!("{FOLDER} is not a folder")
    };
    let shared = folder
        .sharing_info
        .and_then(|s| s.shared_folder_id)
        .expect("the folder is shared");
    let members: Vec<FolderMember> = env
        .dropbox
        .sharing()
        .list_folder_members(ListFolderMembersArgs::new(shared))
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    let member = members
        .iter()
        .find_map(|m| match m {
            FolderMember::Invitee(i) => Some(i),
            _ => None,
        })
        .expect("the outside member is invited");
    assert_eq!(
        member.access_type,
        dropbox_client::models::sharing::AccessLevel::Editor
    );
}

async fn withdraw_entries(state: &Arc<dyn Store>) -> usize {
    state
        .audit(Some(FLOW))
        .await
        .unwrap()
        .iter()
        .filter(|e| e.action == "withdraw")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishes_replaces_by_rev_and_withdraws() {
    let env = Env::start().await;
    let state: Arc<dyn Store> = env.state();
    let p = build(&env, state.clone()).await;

    let first = p.run_once().await.unwrap();
    assert!(first.run.failed.is_empty(), "{:#?}", first.run.failed);
    assert_eq!(
        first.run.count(WriteAction::Created),
        2,
        "{}",
        first.summary()
    );
    assert!(first.shared_folder_id.is_some());
    assert_published(&env, &state, &[(SUMMARY, 1), (LETTER, 1)]).await;

    // A second run changes nothing.
    let again = p.run_once().await.unwrap();
    assert!(again.run.written.is_empty(), "{}", again.summary());
    assert!(again.withdrawn.is_empty(), "{}", again.summary());
    assert_published(&env, &state, &[(SUMMARY, 1), (LETTER, 1)]).await;

    // A new CS version replaces the Dropbox copy: the same file at a new rev, the link
    // updated (not a second one), the CS record at version 2.
    let letter = node(&env, LETTER).await;
    let path = format!("{FOLDER}/{LETTER}");
    let Metadata::File(before) = env
        .dropbox
        .files()
        .get_metadata(path.clone())
        .await
        .unwrap()
    else {
        panic!()
    };
    env.cs
        .documents()
        .add_version(
            letter,
            contentserver_client::UploadBody::from_bytes(&b"%PDF-1.4 letter, signed\n"[..]),
        )
        .send()
        .await
        .unwrap();
    let third = p.run_once().await.unwrap();
    assert_eq!(
        third.run.count(WriteAction::AddedVersion),
        1,
        "{}",
        third.summary()
    );
    let Metadata::File(after) = env
        .dropbox
        .files()
        .get_metadata(path.clone())
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(before.id, after.id, "the same Dropbox file");
    assert_ne!(before.rev, after.rev, "a new rev");
    assert_published(&env, &state, &[(SUMMARY, 1), (LETTER, 2)]).await;

    // The selection value changes: withdrawn on the next run (no change feed needed).
    let summary = node(&env, SUMMARY).await;
    set_external(&env, summary, "no").await;
    let fourth = p.run_once().await.unwrap();
    assert_eq!(fourth.withdrawn.len(), 1, "{}", fourth.summary());
    assert!(
        fourth.withdrawn[0].reason.contains("External"),
        "{:?}",
        fourth.withdrawn
    );
    assert_eq!(fourth.withdrawn[0].links_revoked, 1);
    assert_published(&env, &state, &[(LETTER, 2)]).await;
    let summary_path = format!("{FOLDER}/{SUMMARY}").to_lowercase();
    assert!(
        !all_link_paths(&env).await.contains(&summary_path),
        "the link is revoked"
    );
    let r = state
        .record(FLOW, &ecm_bridge::model::DocRef::cs(summary, 0).key())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.status, DocStatus::Removed);
    assert_eq!(withdraw_entries(&state).await, 1);

    // Nothing more to do.
    let fifth = p.run_once().await.unwrap();
    assert!(
        fifth.run.written.is_empty() && fifth.withdrawn.is_empty(),
        "{}",
        fifth.summary()
    );
    assert_eq!(withdraw_entries(&state).await, 1);

    // Back to yes: published again; then a hold forbids sharing it.
    set_external(&env, summary, "yes").await;
    let sixth = p.run_once().await.unwrap();
    assert_eq!(
        sixth.run.count(WriteAction::Created),
        1,
        "{}",
        sixth.summary()
    );
    assert_published(&env, &state, &[(SUMMARY, 1), (LETTER, 2)]).await;
    let hold = env
        .cs
        .records()
        .hold_by_name("Riverside Tower Litigation")
        .await
        .unwrap()
        .unwrap();
    env.cs.records().apply_hold(summary, hold.id).await.unwrap();
    let seventh = p.run_once().await.unwrap();
    assert_eq!(seventh.withdrawn.len(), 1, "{}", seventh.summary());
    assert!(
        seventh.withdrawn[0].reason.contains("hold"),
        "{:?}",
        seventh.withdrawn
    );
    assert_published(&env, &state, &[(LETTER, 2)]).await;

    // Deleted in CS: withdrawn.
    env.cs.nodes().delete(letter).await.unwrap();
    let eighth = p.run_once().await.unwrap();
    assert_eq!(eighth.withdrawn.len(), 1, "{}", eighth.summary());
    assert!(
        eighth.withdrawn[0].reason.contains("deleted"),
        "{:?}",
        eighth.withdrawn
    );
    assert!(dropbox_names(&env).await.is_empty());
    assert!(all_link_paths(&env).await.is_empty());
    let again = p.run_once().await.unwrap();
    assert!(
        again.run.written.is_empty() && again.withdrawn.is_empty(),
        "{}",
        again.summary()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_answers_end_in_the_same_state() {
    let env = Env::start().await;
    let state: Arc<dyn Store> = env.state();
    let db = env.sandbox.dropbox_faults();
    // Each write commits and its answer is lost, once.
    for route in [
        "/2/files/upload",
        "/2/sharing/create_shared_link_with_settings",
        "/2/sharing/add_folder_member",
        "/2/files/delete_v2",
        "/2/sharing/revoke_shared_link",
    ] {
        db.add(FaultRule::lose(route, LostAnswer::Status(502)).with_nth(1))
            .unwrap();
    }
    env.sandbox
        .contentserver_faults()
        .add(
            FaultRule::lose("PUT /api/v2/nodes/{id}/categories/{cat}", LostAnswer::Reset)
                .with_nth(1),
        )
        .unwrap();
    let p = build(&env, state.clone()).await;
    let mut runs = 0;
    loop {
        runs += 1;
        let report = p.run_once().await.unwrap();
        if report.run.failed.is_empty() && report.withdraw_failed.is_empty() {
            break;
        }
        assert!(runs < 4, "{}", report.summary());
    }
    assert!(env.sandbox.dropbox_faults().lost_answers() >= 2);
    assert_published(&env, &state, &[(SUMMARY, 1), (LETTER, 1)]).await;

    // A withdrawal whose deletion and revocation answers are lost.
    set_external(&env, node(&env, SUMMARY).await, "no").await;
    let mut withdrawn = 0;
    for _ in 0..3 {
        let r = p.run_once().await.unwrap();
        withdrawn += r.withdrawn.len();
        if r.withdraw_failed.is_empty() && r.run.failed.is_empty() {
            break;
        }
    }
    assert_eq!(withdrawn, 1);
    // Every one of the five Dropbox writes lost an answer once.
    assert_eq!(env.sandbox.dropbox_faults().lost_answers(), 5);
    assert_published(&env, &state, &[(LETTER, 1)]).await;
    assert_eq!(withdraw_entries(&state).await, 1);
    let again = p.run_once().await.unwrap();
    assert!(
        again.run.written.is_empty() && again.withdrawn.is_empty(),
        "{}",
        again.summary()
    );
}

/// Stops at the `n`th failpoint reached (1-based); records where.
fn stop_at(n: usize, hit: Arc<Mutex<Option<Failpoint>>>) -> ecm_bridge::runner::FailpointFn {
    let count = AtomicUsize::new(0);
    Arc::new(move |at| {
        let i = count.fetch_add(1, Ordering::SeqCst) + 1;
        if i == n {
            *hit.lock().unwrap() = Some(at);
            true
        } else {
            false
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_at_any_failpoint_and_restarted_ends_in_the_same_state() {
    let mut seen = Vec::new();
    for n in 1.. {
        let env = Env::start().await;
        let state: Arc<dyn Store> = env.state();
        let hit = Arc::new(Mutex::new(None));
        let crashing = publisher(&env, state.clone())
            .await
            .failpoint(stop_at(n, hit.clone()))
            .build()
            .await
            .unwrap();
        match crashing.run_once().await {
            Err(Error::Stopped(_)) => {}
            Ok(_) => {
                assert!(n > 10, "only {n} failpoints?");
                break;
            }
            Err(e) => panic!("failpoint {n}: {}", e.chain()),
        }
        drop(crashing);
        seen.push(hit.lock().unwrap().expect("stopped somewhere"));
        let restarted = build(&env, state.clone()).await;
        let report = restarted.run_once().await.unwrap();
        assert!(
            report.run.failed.is_empty(),
            "failpoint {n}: {:#?}",
            report.run.failed
        );
        let again = restarted.run_once().await.unwrap();
        assert!(
            again.run.written.is_empty(),
            "failpoint {n}: {}",
            again.summary()
        );
        assert_published(&env, &state, &[(SUMMARY, 1), (LETTER, 1)]).await;
        env.sandbox.shutdown().await;
    }
    for at in [
        Failpoint::BeforePending,
        Failpoint::BeforeWrite,
        Failpoint::AfterWrite,
        Failpoint::AfterRecord,
        Failpoint::AfterStep,
        Failpoint::AfterSteps,
        Failpoint::BeforeCheckpoint,
    ] {
        assert!(seen.contains(&at), "never stopped at {at:?}: {seen:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_narrows_the_selection_and_its_misses_are_withdrawn() {
    let env = Env::start().await;
    let state: Arc<dyn Store> = env.state();
    let mut c = config();
    c.select.search = Some("engagement".into());
    let p = PublishToDropbox::new(env.dropbox.clone(), env.cs.clone(), state.clone(), c)
        .clock(Arc::new(now))
        .build()
        .await
        .unwrap();
    let first = p.run_once().await.unwrap();
    assert_eq!(
        first.run.count(WriteAction::Created),
        1,
        "{}",
        first.summary()
    );
    assert_eq!(first.run.skipped.len(), 1, "{}", first.summary());
    assert!(
        first.run.skipped[0].reason.contains("search"),
        "{:?}",
        first.run.skipped
    );
    assert_published(&env, &state, &[(LETTER, 1)]).await;

    // The same store, a search that no longer finds the letter: withdrawn.
    let mut c = config();
    c.select.search = Some("summary".into());
    let p = PublishToDropbox::new(env.dropbox.clone(), env.cs.clone(), state.clone(), c)
        .clock(Arc::new(now))
        .build()
        .await
        .unwrap();
    let second = p.run_once().await.unwrap();
    assert_eq!(second.withdrawn.len(), 1, "{}", second.summary());
    assert!(second.withdrawn[0].reason.contains("search"));
    assert_published(&env, &state, &[(SUMMARY, 1)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_moved_out_of_the_folder_is_withdrawn() {
    let env = Env::start().await;
    let state: Arc<dyn Store> = env.state();
    let p = build(&env, state.clone()).await;
    p.run_once().await.unwrap();
    assert_published(&env, &state, &[(SUMMARY, 1), (LETTER, 1)]).await;
    let summary = node(&env, SUMMARY).await;
    let ews = env.cs.nodes().enterprise_workspace().await.unwrap();
    let published = env
        .cs
        .nodes()
        .resolve_path(ews.id, &["Published"])
        .await
        .unwrap()
        .unwrap();
    env.cs.nodes().move_to(summary, published.id).await.unwrap();
    let report = p.run_once().await.unwrap();
    assert_eq!(report.withdrawn.len(), 1, "{}", report.summary());
    assert!(report.withdrawn[0].reason.contains("moved out"));
    assert_published(&env, &state, &[(LETTER, 1)]).await;
    let r = state
        .record(FLOW, &ecm_bridge::model::DocRef::cs(summary, 0).key())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.status, DocStatus::Removed);
    let again = p.run_once().await.unwrap();
    assert!(
        again.run.written.is_empty() && again.withdrawn.is_empty(),
        "{}",
        again.summary()
    );
}

/// Under advanced versioning only the latest approved (major) version goes out: a minor
/// version (a draft) added after it is not published until it is promoted; with
/// `approved_only = false` the latest version goes out whatever its number.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_latest_approved_version_is_published() {
    const TERMS: &str = "Draft Terms.pdf";
    let env = Env::start().await;
    let state: Arc<dyn Store> = env.state();
    let ews = env.cs.nodes().enterprise_workspace().await.unwrap();
    let folder = env
        .cs
        .nodes()
        .resolve_path(ews.id, &["Published", "Outside Counsel"])
        .await
        .unwrap()
        .unwrap()
        .id;
    let upload = |text: &str| {
        contentserver_client::UploadBody::from_bytes(bytes::Bytes::from(text.to_owned()))
    };
    let terms = env
        .cs
        .documents()
        .create(folder, TERMS, upload("terms, approved"))
        .advanced_versioning(true)
        .send()
        .await
        .unwrap()
        .id;
    // The same `Publication.External = yes` the seeded documents carry.
    let cats = env
        .cs
        .categories()
        .list(node(&env, SUMMARY).await)
        .await
        .unwrap();
    let cat = cats
        .iter()
        .find(|c| c.name.as_deref() == Some("Publication"))
        .unwrap();
    let key = cat
        .attributes
        .iter()
        .find(|a| a.name.as_deref() == Some("External"))
        .unwrap()
        .key
        .clone();
    let attr: i64 = key.rsplit('_').next().unwrap().parse().unwrap();
    let values = CategoryValues::new()
        .category(cat.id)
        .set(AttrKey::attr(cat.id, attr), AttrValue::Text("yes".into()));
    env.cs
        .categories()
        .apply(terms, cat.id, &values)
        .await
        .unwrap();
    env.cs
        .documents()
        .add_version(terms, upload("terms, draft"))
        .send()
        .await
        .unwrap();
    let draft = env.cs.documents().latest_version(terms).await.unwrap();
    assert!(!draft.number().unwrap().is_major(), "{draft:?}");
    let path = format!("{FOLDER}/{TERMS}");

    let p = build(&env, state.clone()).await;
    let first = p.run_once().await.unwrap();
    assert_eq!(
        first.run.count(WriteAction::Created),
        3,
        "{}",
        first.summary()
    );
    assert_eq!(&env.dropbox_bytes(&path).await[..], b"terms, approved");
    assert_eq!(publication(&env, terms).await["Published Version"], "1");
    let again = p.run_once().await.unwrap();
    assert!(again.run.written.is_empty(), "{}", again.summary());

    // Promoted: the draft is the approved version now, and replaces the copy by rev.
    env.cs
        .documents()
        .promote(terms, draft.version_number.unwrap())
        .send()
        .await
        .unwrap();
    let promoted = p.run_once().await.unwrap();
    assert_eq!(
        promoted.run.count(WriteAction::AddedVersion),
        1,
        "{}",
        promoted.summary()
    );
    assert_eq!(&env.dropbox_bytes(&path).await[..], b"terms, draft");
    assert_eq!(
        env.dropbox_bytes(&path).await,
        env.cs_bytes(terms, None).await
    );

    // A new draft, with every version allowed out: it is published at once.
    env.cs
        .documents()
        .add_version(terms, upload("terms, second draft"))
        .send()
        .await
        .unwrap();
    let mut c = config();
    c.approved_only = false;
    let any = PublishToDropbox::new(env.dropbox.clone(), env.cs.clone(), state.clone(), c)
        .clock(Arc::new(now))
        .build()
        .await
        .unwrap();
    let latest = any.run_once().await.unwrap();
    assert_eq!(
        latest.run.count(WriteAction::AddedVersion),
        1,
        "{}",
        latest.summary()
    );
    assert_eq!(&env.dropbox_bytes(&path).await[..], b"terms, second draft");
}

/// The publishing pass reports its progress: one `Found` and one `Done` per document written
/// (what the examples' progress bar counts).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_publishing_pass_reports_its_progress() {
    use ecm_bridge::runner::Progress;
    let env = Env::start().await;
    let events: Arc<Mutex<Vec<&'static str>>> = Arc::default();
    let seen = events.clone();
    let p = publisher(&env, env.state())
        .await
        .on_progress(Arc::new(move |e: &Progress| {
            let name = match e {
                Progress::Found { .. } => "found",
                Progress::Done { .. } => "done",
                _ => return,
            };
            seen.lock().unwrap().push(name);
        }))
        .build()
        .await
        .unwrap();
    let report = p.run_once().await.unwrap();
    let written = report.run.written.len();
    assert!(written > 0, "{}", report.summary());
    let events = events.lock().unwrap();
    let count = |n: &str| events.iter().filter(|e| **e == n).count();
    assert_eq!(count("done"), written, "{events:?}");
    assert!(count("found") >= written, "{events:?}");
}
