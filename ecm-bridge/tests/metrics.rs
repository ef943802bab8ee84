//! The metrics of a sandbox run, read with the debugging recorder (installed once for this
//! binary): documents by outcome, bytes, requests and retries per server; and the adaptive
//! concurrency toward Content Server lowered by its 429s (reported through the client's
//! `on_retry` hook) and raised again as writes succeed.

mod support;

use std::time::Duration;

use contentserver_client::Credentials;
use ecm_bridge::flows::archive_on_approval::{ArchiveOnApproval, Marking};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use metrics_util::MetricKind;
use sandbox::{FaultRule, SandboxConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_counts_documents_bytes_requests_and_throttles() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();

    let sandbox = sandbox::start(SandboxConfig::new()).await.unwrap();
    let fast = Duration::from_millis(5);
    let dropbox = dropbox_client::Client::builder()
        .base_url(sandbox.dropbox_url().parse().unwrap())
        .access_token("sandbox-token")
        .retry_policy(
            dropbox_client::RetryPolicy::default()
                .initial_backoff(fast)
                .on_retry(ecm_bridge::runner::load::dropbox_retry_hook),
        )
        .build()
        .unwrap();
    let cs = contentserver_client::Client::builder(sandbox.contentserver_url())
        .credentials(Credentials::password("admin", "admin"))
        .retry_policy(
            contentserver_client::RetryPolicy::default()
                .initial_backoff(fast)
                .on_retry(ecm_bridge::runner::load::cs_retry_hook),
        )
        .build()
        .unwrap();
    // The first three document creations are refused with 429 (retry at once).
    sandbox
        .contentserver_faults()
        .add(FaultRule::rate_limited("POST /api/v2/nodes", 0).with_count(3))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state =
        std::sync::Arc::new(ecm_bridge::state::SqliteStore::open(dir.path().join("s.db")).unwrap());
    let flow = ArchiveOnApproval::new(dropbox, cs, state)
        .rules(support::rules())
        .marking(Marking::default().tag("archived"))
        .concurrency(4)
        .build()
        .unwrap();
    let report = flow.run_once().await.unwrap();
    assert_eq!(
        report.written.len(),
        support::APPROVED.len(),
        "{}",
        report.summary()
    );

    let limits = flow.limits();
    let cs_limit = limits
        .iter()
        .find(|l| l.server == "contentserver")
        .unwrap_or_else(|| panic!("{limits:?}"));
    // A write counts one throttle however often its calls were refused, and halves the limit
    // at most once per generation.
    assert!((1..=3).contains(&cs_limit.throttles), "{cs_limit:?}");
    assert!(
        cs_limit.decreases >= 1 && cs_limit.lowest < 4,
        "{cs_limit:?}"
    );

    // One snapshot: taking one drains what it read.
    let snapshot = snapshotter.snapshot().into_vec();
    let counter = |name: &str, labels: &[(&str, &str)]| -> u64 {
        snapshot
            .iter()
            .filter(|(k, _, _, _)| k.kind() == MetricKind::Counter && k.key().name() == name)
            .filter(|(k, _, _, _)| {
                labels
                    .iter()
                    .all(|(n, v)| k.key().labels().any(|l| l.key() == *n && l.value() == *v))
            })
            .map(|(_, _, _, v)| match v {
                DebugValue::Counter(n) => *n,
                _ => 0,
            })
            .sum()
    };
    let flow_name = flow.name().to_owned();
    assert_eq!(
        counter(
            "ecm_documents_total",
            &[("flow", &flow_name), ("outcome", "written")]
        ),
        3
    );
    assert_eq!(
        counter("ecm_bytes_written_total", &[("flow", &flow_name)]),
        report.bytes
    );
    assert_eq!(
        counter(
            "ecm_requests_total",
            &[("server", "contentserver"), ("status", "429")]
        ),
        3
    );
    assert!(
        counter(
            "ecm_requests_total",
            &[("server", "dropbox"), ("status", "ok")]
        ) > 3
    );
    assert_eq!(
        counter("ecm_retries_total", &[("server", "contentserver")]),
        3
    );
    assert_eq!(
        counter("ecm_throttles_total", &[("server", "contentserver")]),
        cs_limit.throttles
    );
}
