//! The fault matrix's parts: the fault kinds as sandbox rules, the tree of files a run
//! archives, clients with a short timeout and waits that do not sleep, and the read-back of
//! both sides compared with the expected end state.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bytes::Bytes;
use dropbox_client::models::files::{CommitInfo, WriteMode};
use ecm_bridge::state::Store;
use futures::{FutureExt, StreamExt, TryStreamExt};
use sandbox::{FaultRule, LostAnswer, Sandbox};

/// The governance of every archived file (the workers' rules: a class, a category, a
/// permission).
pub const RULES: &str = r#"
[[rule]]
name = "reliability records"
rm_class = "MKT-01 Marketing Records"
[rule.categories."Document Governance"]
"Source System" = "Dropbox"
"Source Path" = "{source_path}"
"Document Type" = "Marketing"
[[rule.permissions]]
member = "Records Managers"
permissions = ["see", "see_contents"]
"#;
/// The Dropbox root of the tree (files are in `ROOT/Approved`).
pub const ROOT: &str = "/Reliability";
/// The CS folder under the Enterprise Workspace (the files land in `CS_ROOT/Approved`).
pub const CS_ROOT: &str = "Reliability";
/// The flow's name in the store.
pub const FLOW: &str = "archive_on_approval";
/// The clients' per-request timeout: short, so that a stalled answer costs little.
pub const CLIENT_TIMEOUT: Duration = Duration::from_millis(1000);

/// One fault kind of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 429 with `Retry-After: 1` (the clients' waits are shortened, not skipped).
    RateLimited,
    /// A plain 5xx answer.
    Status(u16),
    /// The connection reset mid-request.
    Reset,
    /// A Dropbox download cut short after 7 bytes.
    Truncate,
    /// A request handled (its write committed) whose answer is lost this way.
    Lose(LostAnswer),
    /// The answer held past the client's timeout (`lose=stall`).
    Stall,
    /// Every CS ticket expires now.
    TicketExpired,
    /// Every Dropbox OAuth token expires now.
    TokenExpired,
}

/// Every kind, in the order of the summary.
pub const KINDS: [Kind; 12] = [
    Kind::RateLimited,
    Kind::Status(500),
    Kind::Status(502),
    Kind::Status(503),
    Kind::Status(504),
    Kind::Reset,
    Kind::Truncate,
    Kind::Lose(LostAnswer::Status(502)),
    Kind::Lose(LostAnswer::Reset),
    Kind::Stall,
    Kind::TicketExpired,
    Kind::TokenExpired,
];

impl Kind {
    /// A short label for the summary.
    pub fn label(self) -> String {
        match self {
            Kind::RateLimited => "429".into(),
            Kind::Status(s) => s.to_string(),
            Kind::Reset => "reset".into(),
            Kind::Truncate => "truncate".into(),
            Kind::Lose(how) => format!("lose={how}"),
            Kind::Stall => "stall".into(),
            Kind::TicketExpired => "cs-expire".into(),
            Kind::TokenExpired => "oauth-expire".into(),
        }
    }

    /// The rules of this kind at `rate`: (Dropbox rules, CS rules).
    pub fn rules(self, rate: f64) -> (Vec<FaultRule>, Vec<FaultRule>) {
        let both = |r: FaultRule| (vec![r.clone().with_rate(rate)], vec![r.with_rate(rate)]);
        match self {
            Kind::RateLimited => both(FaultRule::rate_limited("*", 1)),
            Kind::Status(s) => both(FaultRule::status("*", s)),
            Kind::Reset => both(FaultRule::reset("*")),
            Kind::Truncate => (
                vec![FaultRule::truncate("/2/files/download", 7).with_rate(rate)],
                vec![FaultRule::truncate("GET /api/v1/nodes/{id}/content", 7).with_rate(rate)],
            ),
            Kind::Lose(how) => both(FaultRule::lose("*", how)),
            Kind::Stall => {
                both(FaultRule::lose("*", LostAnswer::Stall).with_hold(CLIENT_TIMEOUT * 4))
            }
            Kind::TicketExpired => (vec![], vec![FaultRule::expire("*").with_rate(rate)]),
            Kind::TokenExpired => (vec![FaultRule::expire("*").with_rate(rate)], vec![]),
        }
    }
}

/// Installs the rules of `kinds` at `rate` on the sandbox.
pub fn install(sandbox: &Sandbox, kinds: &[Kind], rate: f64) {
    for kind in kinds {
        let (db, cs) = kind.rules(rate);
        for r in db {
            sandbox.dropbox_faults().add(r).unwrap();
        }
        for r in cs {
            sandbox.contentserver_faults().add(r).unwrap();
        }
    }
}

/// Removes every rule (the read-back must see the truth).
pub fn clear(sandbox: &Sandbox) {
    sandbox.dropbox_faults().clear();
    sandbox.contentserver_faults().clear();
}

/// Faults fired on both servers, as the admin API's `GET /__sandbox/faults` lists them.
pub fn fired(sandbox: &Sandbox) -> u64 {
    [sandbox.dropbox_faults(), sandbox.contentserver_faults()]
        .iter()
        .flat_map(|f| f.list()["rules"].as_array().cloned().unwrap_or_default())
        .map(|r| r["fired"].as_u64().unwrap_or(0))
        .sum()
}

/// Requests served on both servers (`GET /__sandbox/stats`).
pub fn requests(sandbox: &Sandbox) -> u64 {
    sandbox.dropbox_stats().total() + sandbox.contentserver_stats().total()
}

/// A wait of the clients' retry policies: a server's `Retry-After` or a backoff is honoured
/// as a 2 ms pause, so that a run under 429s stays fast.
fn short_sleep(_: Duration) -> futures::future::BoxFuture<'static, ()> {
    tokio::time::sleep(Duration::from_millis(2)).boxed()
}

/// The Dropbox client: refresh-token auth (so an expired token is renewed), a short timeout.
pub fn dropbox(sandbox: &Sandbox) -> dropbox_client::Client {
    dropbox_at(&sandbox.dropbox_url())
}

/// The runner's retry policy of the matrix's flows: four attempts, waits of 2 to 20 ms (the
/// sandbox's faults are injected, not load: no need to wait them out).
pub fn runner_retry() -> ecm_bridge::runner::RetryPolicy {
    ecm_bridge::runner::RetryPolicy {
        max_attempts: 4,
        initial_backoff: Duration::from_millis(2),
        max_backoff: Duration::from_millis(20),
        multiplier: 2,
        jitter: false,
    }
}

/// A Dropbox client builder on the server at `url` with the matrix's short timeout and
/// retries; the caller adds the authentication.
fn dropbox_builder(url: &str) -> dropbox_client::ClientBuilder {
    dropbox_client::Client::builder()
        .base_url(url.parse().unwrap())
        .timeout(CLIENT_TIMEOUT)
        .idle_timeout(CLIENT_TIMEOUT)
        .retry_policy(
            dropbox_client::RetryPolicy::default()
                .max_attempts(6)
                .total_budget(Duration::from_secs(600))
                .sleep_with(short_sleep),
        )
}

/// [`dropbox`] on the Dropbox server at `url` (a child process has the URL only).
pub fn dropbox_at(url: &str) -> dropbox_client::Client {
    dropbox_builder(url)
        .refresh_token("sandbox-app", Some("sandbox-secret"), "sandbox-refresh")
        .build()
        .unwrap()
}

/// The Dropbox client of the team (the sandbox's static team token, which an `expire` fault
/// leaves valid: only OAuth-issued tokens expire), a short timeout; for `backup`.
pub fn team_dropbox(sandbox: &Sandbox) -> dropbox_client::Client {
    team_dropbox_at(&sandbox.dropbox_url())
}

/// [`team_dropbox`] on the Dropbox server at `url`.
pub fn team_dropbox_at(url: &str) -> dropbox_client::Client {
    dropbox_builder(url)
        .access_token("sandbox-team-token")
        .build()
        .unwrap()
}

/// Per (flow, path): how many writes (`create`, `add_version`, `adopt`) the audit trail has.
pub fn audited_writes(
    audit: &[ecm_bridge::state::AuditEntry],
) -> BTreeMap<(String, String), usize> {
    let mut writes = BTreeMap::new();
    for e in audit {
        if matches!(e.action.as_str(), "create" | "add_version" | "adopt") {
            let path = e.path.clone().unwrap_or_else(|| e.source.key());
            *writes.entry((e.flow.clone(), path)).or_default() += 1;
        }
    }
    writes
}

/// The Content Server client: password login (a lost ticket is renewed), a short timeout.
pub fn cs(sandbox: &Sandbox) -> contentserver_client::Client {
    cs_at(&sandbox.contentserver_url())
}

/// [`cs`] on the Content Server at `url`.
pub fn cs_at(url: &str) -> contentserver_client::Client {
    contentserver_client::Client::builder(url)
        .credentials(contentserver_client::Credentials::password(
            "admin", "admin",
        ))
        .timeout(CLIENT_TIMEOUT)
        .retry_policy(
            contentserver_client::RetryPolicy::default()
                .max_attempts(6)
                .total_budget(Duration::from_secs(600))
                .sleep_with(short_sleep),
        )
        .build()
        .unwrap()
}

/// The bytes of file `i` (distinct per file, a few hundred bytes up to a few KiB).
pub fn body(i: usize) -> Bytes {
    Bytes::from(format!("file {i} of the reliability test\n").repeat(8 + (i % 13) * 9))
}

/// The name of file `i`.
pub fn name(i: usize) -> String {
    format!("file-{i:05}.bin")
}

/// Uploads `n` files to `ROOT/Approved` (with a client of no faults: run before the rules).
pub async fn seed(sandbox: &Sandbox, n: usize) {
    let dropbox = dropbox(sandbox);
    futures::stream::iter(0..n)
        .map(|i| {
            let dropbox = dropbox.clone();
            async move {
                let commit = CommitInfo::new(format!("{ROOT}/Approved/{}", name(i)))
                    .mode(WriteMode::Overwrite);
                dropbox.files().upload_bytes(commit, body(i)).await
            }
        })
        .buffer_unordered(8)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
}

/// The Dropbox content hash of `bytes` (the hash a transfer is checked by).
pub fn content_hash(bytes: &[u8]) -> String {
    let mut h = dropbox_client::ContentHasher::new();
    h.update(bytes);
    h.finish()
}

/// What the read-back found.
#[derive(Debug, Default)]
pub struct Checked {
    /// Documents checked (present once, bytes equal, governance applied, audited once).
    pub docs: usize,
}

/// Reads both sides back and compares them with the expected end state of `n` files:
/// each file once in CS with one version, its bytes (hash compared), its category values and
/// RM class, no other node in the folder (no orphaned partial document); every record done,
/// each step done once; one write (`create` or `adopt`) and one `mark` audited per file.
pub async fn assert_end_state(
    sandbox: &Sandbox,
    store: &dyn Store,
    n: usize,
    what: &str,
) -> Checked {
    let cs = cs(sandbox);
    let ews = cs.nodes().enterprise_workspace().await.unwrap();
    let folder = cs
        .nodes()
        .resolve_path(ews.id, &[CS_ROOT, "Approved"])
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{what}: no CS folder"));
    let children: Vec<_> = cs
        .nodes()
        .children(folder.id)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    let names: BTreeSet<String> = children.iter().map(|c| c.name.clone()).collect();
    let expected: BTreeSet<String> = (0..n).map(name).collect();
    assert_eq!(names, expected, "{what}: the documents in CS");
    assert_eq!(children.len(), n, "{what}: a document twice in CS");
    let checks = futures::stream::iter(children.iter().map(|c| (c.id, c.name.clone())))
        .map(|(id, doc)| {
            let cs = cs.clone();
            async move {
                let versions = cs.documents().versions(id).send().await.unwrap().len();
                let bytes = cs
                    .documents()
                    .download(id)
                    .send()
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap();
                let cats = cs.categories().list(id).await.unwrap();
                let classes = cs.records().details(id).await.unwrap().records;
                (doc, versions, bytes, cats, classes)
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await;
    for (doc, versions, bytes, cats, classes) in checks {
        let i: usize = doc[5..10].parse().unwrap();
        assert_eq!(versions, 1, "{what}: {doc}: versions");
        assert_eq!(
            content_hash(&bytes),
            content_hash(&body(i)),
            "{what}: {doc}: bytes"
        );
        let dg = cats
            .iter()
            .find(|c| c.name.as_deref() == Some("Document Governance"))
            .unwrap_or_else(|| panic!("{what}: {doc}: no category"));
        let value = |attr: &str| dg.value_named(attr).cloned().unwrap_or_default();
        assert_eq!(
            value("Source Path"),
            format!("{ROOT}/Approved/{doc}").as_str(),
            "{what}: {doc}: category"
        );
        assert_eq!(value("Source System"), "Dropbox", "{what}: {doc}");
        assert!(!classes.is_empty(), "{what}: {doc}: no RM class");
    }

    crate::support::store::assert_settled(store, FLOW, n, what).await;

    let audit = store.audit(Some(FLOW)).await.unwrap();
    let mut writes: BTreeMap<String, usize> = BTreeMap::new();
    let mut marks: BTreeMap<String, usize> = BTreeMap::new();
    for e in &audit {
        let key = e.source.key();
        match e.action.as_str() {
            "create" | "adopt" | "add_version" => *writes.entry(key).or_default() += 1,
            "mark" => *marks.entry(key).or_default() += 1,
            _ => {}
        }
    }
    let twice: Vec<_> = writes
        .iter()
        .chain(marks.iter())
        .filter(|(_, c)| **c != 1)
        .map(|(k, _)| k)
        .collect();
    for key in &twice {
        let trail: Vec<_> = audit.iter().filter(|e| &&e.source.key() == key).collect();
        eprintln!("{what}: the trail of {key}: {trail:#?}");
    }
    assert_eq!(writes.len(), n, "{what}: documents with a write audited");
    assert!(
        writes.values().all(|c| *c == 1),
        "{what}: a write audited twice: {:?}",
        writes.iter().filter(|(_, c)| **c != 1).collect::<Vec<_>>()
    );
    assert_eq!(marks.len(), n, "{what}: documents marked in the audit");
    assert!(
        marks.values().all(|c| *c == 1),
        "{what}: marked twice: {:?}",
        marks.iter().filter(|(_, c)| **c != 1).collect::<Vec<_>>()
    );
    Checked { docs: n }
}

/// Uploads each (path, text) with `client` (overwriting), 8 at a time: a scenario's seed.
pub async fn upload_all(client: &dropbox_client::Client, files: Vec<(String, String)>) {
    futures::stream::iter(files)
        .map(|(path, text)| {
            let client = client.clone();
            async move {
                let commit = CommitInfo::new(path).mode(WriteMode::Overwrite);
                client.files().upload_bytes(commit, Bytes::from(text)).await
            }
        })
        .buffer_unordered(8)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
}
