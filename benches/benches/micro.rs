//! Micro measures (criterion): the content hash against plain SHA-256, decoding a 2,000-entry
//! `list_folder` page and a 1,000-item CS children page, and documents settled through the
//! durable `SqliteStore` against `MemoryStore`.
//!
//! ```sh
//! cargo bench -p ecm-benches --bench micro
//! ```

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ecm_benches::micro;
use ecm_bridge::state::{MemoryStore, SqliteStore, Store};

fn content_hash(c: &mut Criterion) {
    let data = micro::pattern(256 << 20);
    let mut g = c.benchmark_group("hash_256MiB");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(10);
    g.bench_function("content_hasher", |b| b.iter(|| micro::content_hash(&data)));
    g.bench_function("sha256_limit", |b| b.iter(|| micro::sha256(&data)));
    g.finish();
}

fn decode(c: &mut Criterion) {
    let list = micro::list_folder_page(2000);
    let children = micro::cs_children_page(1000);
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(1));
    g.bench_function("list_folder_2000", |b| {
        b.iter(|| micro::decode_list_folder(&list).expect("decodes"))
    });
    g.bench_function("list_folder_2000_untyped", |b| {
        b.iter(|| micro::parse_untyped(&list).expect("parses"))
    });
    g.bench_function("cs_children_1000", |b| {
        b.iter(|| micro::decode_cs_children(&children).expect("decodes"))
    });
    g.bench_function("cs_children_1000_untyped", |b| {
        b.iter(|| micro::parse_untyped(&children).expect("parses"))
    });
    g.finish();
}

fn state_store(c: &mut Criterion) {
    const DOCS: usize = 100;
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    // On the real disk: synchronous = FULL means an fsync per commit there.
    let dir = tempfile::tempdir().expect("a temp dir");
    let sqlite: Arc<dyn Store> =
        Arc::new(SqliteStore::open(dir.path().join("bench.db")).expect("opens"));
    let memory: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let mut g = c.benchmark_group("settle_100_docs");
    g.throughput(Throughput::Elements(DOCS as u64));
    g.sample_size(10);
    for (name, store) in [("sqlite_full", sqlite), ("memory", memory)] {
        let mut offset = 0;
        g.bench_function(name, |b| {
            b.iter_batched(
                || {
                    offset += DOCS;
                    offset
                },
                |off| {
                    rt.block_on(micro::settle(&store, off, DOCS))
                        .expect("settles")
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, content_hash, decode, state_store);
criterion_main!(benches);
