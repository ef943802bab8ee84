//! Paging through 2,500 children with `children(...).into_stream()`.

use std::collections::BTreeSet;

use contentserver_client::api::nodes::TYPE_FOLDER;
use futures::{stream, StreamExt, TryStreamExt};

use crate::harness::start;

const CHILDREN: usize = 2_500;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_2500_children_page_by_page() {
    let env = start().await;
    let client = env.admin();
    let parent = client
        .nodes()
        .create_folder(env.folder("Backups"), "Many")
        .await
        .unwrap();
    stream::iter(0..CHILDREN)
        .map(|i| {
            let client = client.clone();
            async move {
                client
                    .nodes()
                    .create_folder(parent.id, format!("child-{i:05}"))
                    .await
            }
        })
        .buffer_unordered(8)
        .try_for_each(|_| async { Ok(()) })
        .await
        .unwrap();
    let read = client.nodes().get(parent.id).await.unwrap();
    assert_eq!(read.container_size, Some(CHILDREN as i64));

    env.sb.contentserver_stats().reset();
    let names: Vec<String> = client
        .nodes()
        .children(parent.id)
        .sort("asc_name")
        .page_size(100)
        .into_stream()
        .map_ok(|n| n.name)
        .try_collect()
        .await
        .unwrap();
    let expected: Vec<String> = (0..CHILDREN).map(|i| format!("child-{i:05}")).collect();
    assert_eq!(names, expected, "every child once, in order");
    assert_eq!(
        env.count("GET /api/v2/nodes/{id}/nodes"),
        25,
        "25 pages of 100"
    );

    // An uneven page size, descending, with a type filter: still every child once.
    let ids: Vec<i64> = client
        .nodes()
        .children(parent.id)
        .where_type(TYPE_FOLDER)
        .sort("desc_name")
        .page_size(333)
        .into_stream()
        .map_ok(|n| n.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids.len(), CHILDREN);
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), CHILDREN);
    let last = client
        .nodes()
        .children(parent.id)
        .page_size(333)
        .page(8)
        .await
        .unwrap();
    assert_eq!(last.items.len(), CHILDREN - 7 * 333);
    let paging = last.paging.expect("paging");
    assert_eq!(paging.total_count, Some(CHILDREN as u64));
    assert_eq!(paging.page_total, Some(8));
}
