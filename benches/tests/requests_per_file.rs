//! The harness's small-file archive, counted: `archive_on_approval` with the harness's
//! governance (category values, an RM class, a permission) and marking (a tag) makes the
//! requests per file that a governed archive needs and no more, so a read that comes back
//! shows up here before it shows up in a benchmark.
//!
//! Per file: Dropbox `files/download` and `files/tags/add`; CS the create (with the category
//! values), the RM classification and the permission. The rest (listing, the target folders,
//! name lookups, the tag batches of the listing) is shared by all files.

use ecm_benches::archive;
use ecm_benches::env::Bench;

const FILES: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_governed_archive_makes_five_requests_per_file() {
    let data = tempfile::tempdir().expect("a temp dir");
    let bench = Bench::start(data.path()).await.expect("the sandbox starts");
    archive::seed(&bench, FILES, 1024).await.expect("seeded");
    let run = archive::flow(&bench, 4, FILES, data.path())
        .await
        .expect("the flow archives every file");
    let c = &run.counts;
    let per_file = c.per_file(FILES);
    let route = |counts: &std::collections::BTreeMap<String, u64>, key: &str| {
        counts.get(key).copied().unwrap_or(0)
    };
    let n = FILES as u64;
    // Once per file.
    assert_eq!(route(&c.dropbox, "/2/files/download"), n, "{per_file:?}");
    assert_eq!(route(&c.dropbox, "/2/files/tags/add"), n, "{per_file:?}");
    assert_eq!(
        route(&c.cs, "POST /api/v1/nodes/{id}/rmclassifications"),
        n,
        "{per_file:?}"
    );
    assert_eq!(
        route(&c.cs, "POST /api/v2/nodes/{id}/permissions/custom"),
        n,
        "{per_file:?}"
    );
    // The creates: one per file, plus the two target folders.
    assert_eq!(route(&c.cs, "POST /api/v2/nodes"), n + 2, "{per_file:?}");
    // Never per file: nothing is read back that the listing, the name cache or the create's
    // answer already told.
    for (counts, key) in [
        (&c.dropbox, "/2/files/get_metadata"),
        (&c.cs, "GET /api/v1/nodes/{id}/rmclassifications"),
        (&c.cs, "GET /api/v2/nodes/{id}/permissions"),
        (&c.cs, "GET /api/v2/nodes/{id}/versions/{version}"),
    ] {
        assert_eq!(route(counts, key), 0, "{key}: {per_file:?}");
    }
    // Child listings: the folder walk and the name lookups, not one per file.
    let listings = route(&c.cs, "GET /api/v2/nodes/{id}/nodes");
    assert!(listings <= 12, "{listings} child listings: {per_file:?}");
    let total = run.requests_per_file();
    assert!(
        total <= 5.0 + 30.0 / FILES as f64,
        "{total:.2} requests per file: {per_file:?}"
    );
}
