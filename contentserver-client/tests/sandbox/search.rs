//! Search by name, by words within a location, paged; and members (users and groups).

use contentserver_client::api::members::{MEMBER_GROUP, MEMBER_USER};
use contentserver_client::api::search::{LookFor, Within};
use contentserver_client::UploadBody;
use futures::TryStreamExt;

use crate::harness::start;

#[tokio::test]
async fn search_by_name_words_location_and_pages() {
    let env = start().await;
    let client = env.admin();
    let summary = env.id(&[
        "documents",
        "Published/Outside Counsel/Contract Summary.pdf",
    ]);
    let hits: Vec<_> = client
        .search()
        .by_name("Contract Summary.pdf")
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        hits.iter().map(|h| h.node.id).collect::<Vec<_>>(),
        [summary]
    );
    assert_eq!(hits[0].node.name, "Contract Summary.pdf");
    assert_eq!(hits[0].regions["OTName"], "Contract Summary.pdf");
    assert_eq!(
        hits[0].metadata["object_id"],
        format!("DataId={summary}&Version=1")
    );

    let folder = client
        .nodes()
        .create_folder(env.folder("Intake"), "Quarterly")
        .await
        .unwrap();
    for i in 1..=5 {
        client
            .documents()
            .create(
                folder.id,
                format!("Quarterly Report {i}.pdf"),
                UploadBody::from_bytes("q"),
            )
            .await
            .unwrap();
    }
    let names: Vec<String> = client
        .search()
        .query("Quarterly Report")
        .lookfor(LookFor::AllWords)
        .within(Within::All)
        .location(folder.id)
        .sort("desc_OTName")
        .page_size(2)
        .into_stream()
        .map_ok(|h| h.node.name)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        names,
        (1..=5)
            .rev()
            .map(|i| format!("Quarterly Report {i}.pdf"))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        env.count("POST /api/v2/search"),
        4,
        "one by name, three pages of two"
    );

    let elsewhere: Vec<_> = client
        .search()
        .query("Quarterly Report")
        .location(env.folder("Archive"))
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert!(elsewhere.is_empty());
    let none = client
        .search()
        .by_name("Quarterly Report 6.pdf")
        .page(1)
        .await
        .unwrap();
    assert!(none.items.is_empty());
}

#[tokio::test]
async fn members_get_search_and_find() {
    let env = start().await;
    let client = env.admin();
    let members = client.members();
    let admin = members.get(env.user("admin")).await.unwrap();
    assert_eq!(admin.name, "admin");
    assert_eq!(admin.member_type, MEMBER_USER);

    let editor = members.find_user("editor").await.unwrap().unwrap();
    assert_eq!(editor.id, env.user("editor"));
    assert!(members.find_user("edit").await.unwrap().is_none());
    let group = members
        .find_group("Outside Counsel")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(group.id, env.id(&["groups", "Outside Counsel"]));
    assert_eq!(group.member_type, MEMBER_GROUP);
    assert!(members.find_group("editor").await.unwrap().is_none());

    let mut users: Vec<String> = members
        .search()
        .where_type(MEMBER_USER)
        .page_size(1)
        .into_stream()
        .map_ok(|m| m.name)
        .try_collect()
        .await
        .unwrap();
    users.sort();
    let mut seeded: Vec<String> = env
        .at(&["users"])
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    seeded.sort();
    assert_eq!(users, seeded);

    let found: Vec<i64> = members
        .search()
        .query("couns")
        .into_stream()
        .map_ok(|m| m.id)
        .try_collect()
        .await
        .unwrap();
    assert!(found.contains(&env.user("counsel")), "{found:?}");
}
