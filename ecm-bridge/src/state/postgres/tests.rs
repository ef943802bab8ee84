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
async fn gives_the_operators_view() {
    let Some(db) = TestDb::new("ops") else {
        return;
    };
    crate::ops::conformance::run(Arc::new(db.store().await)).await;
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

/// A database of schema 1, as the runner of that version left it (records beside its intents
/// and string-named steps), migrates: the intent of a write in doubt makes its record
/// `pending`, the steps go to the step log as `workflow`, the old tables go.
#[tokio::test]
async fn a_schema_1_database_moves_its_intents_and_steps_into_records() {
    let Some(db) = TestDb::new("schema1") else {
        return;
    };
    {
        let (client, conn) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        let s = &db.schema;
        client
            .batch_execute(&format!(
                "CREATE SCHEMA {s}; SET search_path = {s};
                 CREATE TABLE ecm_state_schema (version INTEGER NOT NULL);
                 INSERT INTO ecm_state_schema (version) VALUES (1);
                 {v1}
                 INSERT INTO records (flow, key, source, target, status, attempts, run, created,
                                      updated)
                 VALUES ('f', 'dropbox:id:g', 'dropbox:id:g@r1', 'cs:700@1', 'done', 1, 1,
                         '2026-02-01T00:00:00Z', '2026-02-01T00:00:00Z'),
                        ('f', 'dropbox:id:i', 'dropbox:id:i@r1', NULL, 'failed', 2, 1,
                         '2026-02-01T00:00:00Z', '2026-02-01T00:00:00Z');
                 INSERT INTO intents (flow, source_key, source, started)
                 VALUES ('f', 'dropbox:id:g', 'dropbox:id:g@r2', '2026-02-02T00:00:00Z'),
                        ('f', 'dropbox:id:i', 'dropbox:id:i@r1', '2026-02-02T00:00:00Z'),
                        ('f', 'dropbox:id:n', 'dropbox:id:n@r1', '2026-02-02T00:00:00Z');
                 INSERT INTO steps (flow, source, step, done)
                 VALUES ('f', 'dropbox:id:h@r1', 'sink_deferred_started', '2026-02-01T00:00:01Z'),
                        ('f', 'dropbox:id:j@r3', 'sink_deferred_started', '2026-02-01T00:00:01Z'),
                        ('f', 'dropbox:id:j@r3', 'sink_deferred', '2026-02-01T00:00:02Z');",
                v1 = super::schema::V1
            ))
            .await
            .unwrap();
    }
    let store = db.store().await;
    let rec = |key: &'static str| {
        let store = store.clone();
        async move { store.record("f", key).await.unwrap().unwrap() }
    };
    let g = rec("dropbox:id:g").await;
    assert_eq!(
        (g.source, g.status, g.target),
        (
            DocRef::dropbox("id:g", "r2"),
            DocStatus::Pending,
            Some(DocRef::cs(700, 1))
        )
    );
    let i = rec("dropbox:id:i").await;
    assert_eq!((i.status, i.attempts), (DocStatus::Failed, 2));
    let n = rec("dropbox:id:n").await;
    assert_eq!((n.status, n.target), (DocStatus::Pending, None));
    let h = store.steps("f", "dropbox:id:h", "r1").await.unwrap();
    assert_eq!(
        (h[0].name.as_str(), h[0].state),
        ("workflow", crate::state::StepState::Started)
    );
    let j = store.steps("f", "dropbox:id:j", "r3").await.unwrap();
    assert_eq!((j.len(), j[0].state), (1, crate::state::StepState::Done));
    let Ok(c) = store.client().await else {
        panic!("no client from the pool");
    };
    let old: i64 = c
        .query_one(
            "SELECT count(*) FROM information_schema.tables
             WHERE table_schema = current_schema()
               AND table_name IN ('mappings', 'intents', 'failures', 'steps')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(old, 0);
    drop(c);
    db.drop().await;
}
