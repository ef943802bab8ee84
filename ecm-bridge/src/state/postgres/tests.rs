//! The PostgreSQL store against a real server: `ECM_PG_URL` when set, else a throwaway
//! cluster this test binary starts (`.ci/pg-cluster`, stopped and removed when the binary
//! exits). Each test works in a schema of its own, dropped at its end. When no server can be
//! had the tests say SKIPPED on stderr and pass, except under `CI=true`, where they fail.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

use super::{PostgresOptions, PostgresStore};
use crate::model::{Checkpoint, DocRef};
use crate::state::{ClaimOutcome, DocRecord, DocStatus, DocumentStore, StateStore};

use super::testing::server_url;

/// A schema of one test's own on the test server.
struct TestDb {
    url: String,
    schema: String,
}

impl TestDb {
    fn new(test: &str) -> Option<TestDb> {
        static N: AtomicU32 = AtomicU32::new(0);
        let url = server_url(test)?;
        let schema = format!(
            "t{}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            test
        );
        Some(TestDb { url, schema })
    }

    fn options(&self) -> PostgresOptions {
        PostgresOptions {
            schema: Some(self.schema.clone()),
            pool_size: 4,
        }
    }

    async fn store(&self) -> PostgresStore {
        PostgresStore::connect_with(&self.url, &self.options())
            .await
            .unwrap()
    }

    /// Drops the schema (only after a test passed: a failed one leaves it to look at).
    async fn drop(self) {
        let (client, conn) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
            .batch_execute(&format!("DROP SCHEMA {} CASCADE", self.schema))
            .await
            .unwrap();
    }
}

fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + secs, 0).single().unwrap()
}

#[tokio::test]
async fn conforms_as_a_state_store_and_survives_reconnect() {
    let Some(db) = TestDb::new("state") else {
        return;
    };
    crate::state::conformance::run(&db.store().await).await;
    let again = db.store().await;
    assert_eq!(
        again.checkpoint("f").await.unwrap(),
        Some(Checkpoint("c2".into()))
    );
    assert_eq!(again.audit(None).await.unwrap().len(), 3);
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conforms_as_a_document_store_and_survives_reconnect() {
    let Some(db) = TestDb::new("docs") else {
        return;
    };
    crate::state::conformance_docs::run(Arc::new(db.store().await)).await;
    crate::state::conformance_docs::after_reopen(&db.store().await).await;
    db.drop().await;
}

#[tokio::test]
async fn one_handle_serves_both_contracts() {
    let Some(db) = TestDb::new("both") else {
        return;
    };
    let store: Arc<dyn crate::state::Store> = Arc::new(db.store().await);
    let run = store.begin_run("f").await.unwrap();
    store
        .set_checkpoint("f", &Checkpoint(format!("after run {run}")))
        .await
        .unwrap();
    assert_eq!(
        store.checkpoint("f").await.unwrap(),
        Some(Checkpoint("after run 1".into()))
    );
    db.drop().await;
}

/// Two stores with pools of their own (two "workers", as two processes would be) connect to a
/// fresh schema at once, then race on the same claims, steps and checkpoints: each is won
/// exactly once, and the loser's fenced write is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_race_on_claims_steps_and_checkpoints() {
    let Some(db) = TestDb::new("workers") else {
        return;
    };
    let (a, b) = tokio::join!(db.store(), db.store());
    let workers = [("w1", Arc::new(a)), ("w2", Arc::new(b))];
    let lease = Duration::from_secs(30);
    let keys: Vec<String> = (0..40).map(|i| format!("dropbox:id:k{i}")).collect();

    let gate = Arc::new(tokio::sync::Barrier::new(2));
    let tasks: Vec<_> = workers
        .iter()
        .map(|(owner, store)| {
            let (owner, store, gate, keys) = (*owner, store.clone(), gate.clone(), keys.clone());
            tokio::spawn(async move {
                gate.wait().await;
                let (mut claims, mut steps) = (Vec::new(), Vec::new());
                for key in &keys {
                    if let ClaimOutcome::Claimed(c) =
                        store.claim("f", key, owner, lease, t(0)).await.unwrap()
                    {
                        claims.push(c);
                    }
                    if store
                        .begin_step("f", key, "r1", "deliver")
                        .await
                        .unwrap()
                        .began()
                    {
                        steps.push(key.clone());
                    }
                }
                (claims, steps)
            })
        })
        .collect();
    let (mut claims, mut steps) = (Vec::new(), Vec::new());
    for task in tasks {
        let (c, s) = task.await.unwrap();
        claims.extend(c);
        steps.extend(s);
    }
    claims.sort_by(|x, y| x.key.cmp(&y.key));
    steps.sort();
    let mut expected = keys.clone();
    expected.sort();
    assert_eq!(
        claims.iter().map(|c| c.key.clone()).collect::<Vec<_>>(),
        expected,
        "every key claimed exactly once"
    );
    assert!(claims.iter().all(|c| c.token == 1));
    assert_eq!(steps, expected, "every step begun exactly once");

    // Whoever won a key writes under its token; the other worker's write with a stale token
    // (its own later claim after the lease ends has a new one) is refused.
    let (w1, w2) = (&workers[0].1, &workers[1].1);
    let key = &claims[0];
    let (holder, other) = if key.owner == "w1" {
        (w1, w2)
    } else {
        (w2, w1)
    };
    let other_name = if key.owner == "w1" { "w2" } else { "w1" };
    let id = key.key.strip_prefix("dropbox:").unwrap();
    let mut rec = DocRecord::new("f", DocRef::dropbox(id, "r1"), Some("/k.pdf".into()), 1);
    assert!(holder.save_record(&rec, Some(1)).await.unwrap());
    let taken = other
        .claim("f", &key.key, other_name, lease, t(31))
        .await
        .unwrap();
    assert_eq!(
        taken.claimed().map(|c| c.token),
        Some(2),
        "expired: taken over"
    );
    rec.status = DocStatus::Done;
    assert!(
        !holder.save_record(&rec, Some(1)).await.unwrap(),
        "the first holder's late write is fenced"
    );
    assert!(other.save_record(&rec, Some(2)).await.unwrap());

    // Checkpoint CAS from both at once: one of each pair of swaps wins.
    for round in 0..10u64 {
        let expected = (round > 0).then_some(round);
        let (ca, cb) = (
            Checkpoint(format!("a{round}")),
            Checkpoint(format!("b{round}")),
        );
        let (x, y) = tokio::join!(
            w1.swap_checkpoint("f", "root", expected, &ca),
            w2.swap_checkpoint("f", "root", expected, &cb)
        );
        let stored = [x.unwrap(), y.unwrap()]
            .into_iter()
            .filter(|o| matches!(o, crate::state::CasOutcome::Stored(_)))
            .count();
        assert_eq!(stored, 1, "round {round}");
    }
    let cp = w2.partition_checkpoint("f", "root").await.unwrap().unwrap();
    assert_eq!(cp.version, 10);
    db.drop().await;
}

#[tokio::test]
async fn migrates_once_and_refuses_a_newer_schema() {
    let Some(db) = TestDb::new("schema") else {
        return;
    };
    let store = db.store().await;
    let c = store.client().await.ok().unwrap();
    assert_eq!(
        super::schema::version(&c).await.ok(),
        Some(super::schema::MIGRATIONS.len() as i32)
    );
    drop(db.store().await);
    assert_eq!(
        super::schema::version(&c).await.ok(),
        Some(super::schema::MIGRATIONS.len() as i32),
        "connecting again migrates nothing"
    );
    c.batch_execute("UPDATE ecm_state_schema SET version = 99")
        .await
        .unwrap();
    drop(c);
    let err = PostgresStore::connect_with(&db.url, &db.options())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("schema version 99"), "{err}");
    db.drop().await;
}

#[tokio::test]
async fn refuses_a_schema_name_it_would_have_to_quote() {
    let err = PostgresStore::connect_with(
        "postgres://nobody@127.0.0.1:1/none",
        &PostgresOptions {
            schema: Some("x; DROP TABLE y".into()),
            ..PostgresOptions::default()
        },
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("schema"), "{err}");
}

#[tokio::test]
async fn a_bad_url_says_so_without_the_password() {
    let err = PostgresStore::connect("postgres://ecm:s3cret@127.0.0.1:notaport/db")
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("connect"), "{text}");
    assert!(!text.contains("s3cret"), "{text}");
}
