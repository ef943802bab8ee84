//! Runs under injected faults (429 with `Retry-After`, 503 on the Nth call, connection resets,
//! download bodies cut short) that still end with the right bytes; and the faults the client
//! must not paper over.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use contentserver_client::{Client, Credentials, Error, ErrorKind, TransportKind};
use futures::TryStreamExt;
use sandbox::{FaultRule, SandboxConfig};

use crate::harness::{fast_retry, start, start_with, Content, Env};

const MIB: u64 = 1024 * 1024;

/// An admin client whose retry policy counts its retries.
fn counting_client(env: &Env, attempts: u32) -> (Client, Arc<AtomicU32>) {
    let retries = Arc::new(AtomicU32::new(0));
    let seen = retries.clone();
    let policy = fast_retry(attempts).on_retry(move |_| {
        seen.fetch_add(1, Ordering::SeqCst);
    });
    let client = env
        .builder()
        .credentials(Credentials::password("admin", env.password("admin")))
        .retry_policy(policy)
        .build()
        .unwrap();
    (client, retries)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_under_faults_still_ends_with_the_right_bytes() {
    let env = start().await;
    let (client, retries) = counting_client(&env, 4);
    let docs = client.documents();
    let folder = client
        .nodes()
        .create_folder(env.folder("Intake"), "Under Fire")
        .await
        .unwrap();
    let faults = env.sb.contentserver_faults();
    let throttled = faults
        .add(FaultRule::rate_limited("POST /api/v2/nodes", 1).with_count(1))
        .unwrap();
    let unavailable = faults
        .add(FaultRule::status("POST /api/v2/nodes/{id}/versions", 503).with_nth(2))
        .unwrap();
    let reset = faults
        .add(FaultRule::reset("GET /api/v1/nodes/{id}/content").with_nth(1))
        .unwrap();
    let cut = faults
        .add(FaultRule::truncate("GET /api/v2/nodes/{id}/versions/{id}/content", 1000).with_nth(1))
        .unwrap();
    let page_reset = faults
        .add(FaultRule::reset("GET /api/v2/nodes/{id}/nodes").with_nth(1))
        .unwrap();

    // The create is throttled once: the whole 4 MiB + 1 body is sent again after Retry-After.
    let v1 = Content::new(4 * MIB + 1, 21);
    let doc = docs
        .create(folder.id, "Under Fire.bin", v1.body())
        .await
        .unwrap();
    assert_eq!(env.fired(throttled), 1);
    assert_eq!(env.count("POST /api/v2/nodes"), 3, "folder, 429, repeat");

    // The second new version gets a 503 without Retry-After. The client does not repeat a
    // write the server may have done: the error comes back in doubt, and the caller looks.
    let v2 = Content::new(MIB, 22);
    let v3 = Content::new(3 * MIB + 7, 23);
    docs.add_version(doc.id, v2.body()).await.unwrap();
    let err = docs.add_version(doc.id, v3.body()).await.unwrap_err();
    assert!(err.is_in_doubt(), "{err:?}");
    assert_eq!(env.fired(unavailable), 1);
    assert_eq!(env.count("POST /api/v2/nodes/{id}/versions"), 2);
    assert_eq!(docs.versions(doc.id).await.unwrap().len(), 2, "not done");
    docs.add_version(doc.id, v3.body()).await.unwrap();
    assert_eq!(env.count("POST /api/v2/nodes/{id}/versions"), 3);
    assert_eq!(
        docs.versions(doc.id).await.unwrap().len(),
        3,
        "no version twice"
    );

    // The latest content: the first connection is reset, the repeat streams every byte.
    v3.verify(docs.download(doc.id).await.unwrap())
        .await
        .unwrap();
    assert_eq!(env.fired(reset), 1);

    // Version 1: the body is cut after 1000 bytes. The stream says so (never a short file)...
    let broken = docs.download(doc.id).version(1).await.unwrap();
    let err = v1.verify(broken).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport {
                kind: TransportKind::Body,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(env.fired(cut), 1);
    // ... and the caller's repeat gets it whole.
    v1.verify(docs.download(doc.id).version(1).await.unwrap())
        .await
        .unwrap();
    v2.verify(docs.download(doc.id).version(2).await.unwrap())
        .await
        .unwrap();

    // Children: the first page request is reset and repeated.
    let names: Vec<String> = client
        .nodes()
        .children(folder.id)
        .page_size(1)
        .into_stream()
        .map_ok(|n| n.name)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(names, ["Under Fire.bin"]);
    assert_eq!(env.fired(page_reset), 1);

    assert_eq!(
        retries.load(Ordering::SeqCst),
        3,
        "429 and two resets (not the 503)"
    );
    assert_eq!(
        client.nodes().get(doc.id).await.unwrap().size,
        Some(v3.len as i64)
    );
}

#[tokio::test]
async fn seeded_random_resets_and_503s_on_reads_are_absorbed() {
    // The same seed gives the same faults on every run.
    let rule = |r: FaultRule| (sandbox::FaultTarget::ContentServer, r);
    let (t1, r1) = rule(FaultRule::reset("GET /api/v2/nodes/{id}").with_rate(0.3));
    let (t2, r2) = rule(FaultRule::status("GET /api/v2/nodes/{id}", 503).with_rate(0.2));
    let env = start_with(
        SandboxConfig::new()
            .fault_seed(7)
            .fault(t1, r1)
            .fault(t2, r2),
    )
    .await;
    let (client, retries) = counting_client(&env, 8);
    let ids: Vec<i64> = [
        "Archive",
        "Archive/HR",
        "Backups",
        "Intake",
        "Projects",
        "Published",
    ]
    .iter()
    .map(|p| env.folder(p))
    .collect();
    for _ in 0..5 {
        for id in &ids {
            assert_eq!(client.nodes().get(*id).await.unwrap().id, *id);
        }
    }
    let fired: u64 = (1..=2).map(|id| env.fired(id)).sum();
    assert!(fired > 0, "the seeded faults fired");
    assert_eq!(u64::from(retries.load(Ordering::SeqCst)), fired);
    assert_eq!(env.count("GET /api/v2/nodes/{id}"), 30 + fired);
}

#[tokio::test]
async fn a_reset_upload_post_is_reported_not_repeated() {
    let env = start().await;
    let (client, retries) = counting_client(&env, 4);
    let folder = env.folder("Intake");
    client.login().await.unwrap();
    let rule = env
        .sb
        .contentserver_faults()
        .add(FaultRule::reset("POST /api/v2/nodes").with_nth(1))
        .unwrap();
    let err = client
        .documents()
        .create(folder, "maybe.bin", Content::new(1000, 5).body())
        .await
        .unwrap_err();
    // The server may have acted on a POST whose answer never came: the caller decides.
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(!err.is_retryable());
    assert_eq!(env.fired(rule), 1);
    assert_eq!(retries.load(Ordering::SeqCst), 0);
    assert!(client
        .nodes()
        .find_child(folder, "maybe.bin")
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn a_long_retry_after_or_lasting_503_ends_the_call() {
    let env = start().await;
    let (client, retries) = counting_client(&env, 3);
    client.login().await.unwrap();
    let faults = env.sb.contentserver_faults();
    let slow = faults
        .add(FaultRule::rate_limited("GET /api/v2/volumes/{id}", 600))
        .unwrap();
    let err = client.nodes().enterprise_workspace().await.unwrap_err();
    assert!(
        matches!(err, Error::RateLimited { retry_after: d, .. } if d == Duration::from_secs(600)),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(env.fired(slow), 1, "given up at once");

    faults
        .add(FaultRule::status("GET /api/v2/nodes/{id}", 503))
        .unwrap();
    let err = client.nodes().get(env.ews()).await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(env.count("GET /api/v2/nodes/{id}"), 3, "every attempt used");
    assert_eq!(retries.load(Ordering::SeqCst), 2);
}

/// The case adoption exists for: the version is committed, then its answer is lost behind a
/// proxy's 502 (or a reset). The client does not repeat the POST: the error comes back in
/// doubt, and the server holds exactly one new version, not two.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_committed_version_whose_answer_is_lost_is_not_repeated() {
    let env = start().await;
    let (client, retries) = counting_client(&env, 4);
    let docs = client.documents();
    let v1 = Content::new(1000, 31);
    let doc = docs
        .create(env.folder("Intake"), "Lost Answer.bin", v1.body())
        .await
        .unwrap();
    for (how, name) in [
        (sandbox::LostAnswer::Status(502), "502"),
        (sandbox::LostAnswer::Status(504), "504"),
        (sandbox::LostAnswer::Reset, "reset"),
    ] {
        let before = docs.versions(doc.id).await.unwrap().len();
        let rule = env
            .sb
            .contentserver_faults()
            .add(FaultRule::lose("POST /api/v2/nodes/{id}/versions", how).with_nth(1))
            .unwrap();
        let next = Content::new(2000, 32);
        let err = docs.add_version(doc.id, next.body()).await.unwrap_err();
        assert!(err.is_in_doubt(), "{name}: {err:?}");
        assert!(!err.is_retryable(), "{name}");
        assert_eq!(env.fired(rule), 1, "{name}");
        let after = docs.versions(doc.id).await.unwrap();
        assert_eq!(
            after.len(),
            before + 1,
            "{name}: committed once, never twice"
        );
        next.verify(docs.download(doc.id).await.unwrap())
            .await
            .unwrap();
    }
    assert_eq!(retries.load(Ordering::SeqCst), 0, "no write was repeated");
}
