//! Listing follows `has_more` lazily across pages, exposes cursors, and stops.

use futures::{StreamExt, TryStreamExt};
use serde_json::json;
use wiremock::matchers::{body_json, path};
use wiremock::Mock;

use crate::common::*;

fn entry(name: &str) -> serde_json::Value {
    let mut f = file_json(&format!("/Docs/{name}"), "a1c10ce0dd78", 1, None);
    f[".tag"] = json!("file");
    f
}

#[tokio::test]
async fn follows_cursors_across_pages_and_stops() {
    let server = server().await;
    Mock::given(path("/2/files/list_folder"))
        .respond_with(json_body(
            json!({"entries": [entry("a"), entry("b")], "cursor": "c1", "has_more": true}),
        ))
        .mount(&server)
        .await;
    Mock::given(path("/2/files/list_folder/continue"))
        .and(body_json(json!({"cursor": "c1"})))
        .respond_with(json_body(json!({"entries": [entry("c"), {".tag": "deleted", "name": "old", "path_lower": "/docs/old", "path_display": "/Docs/old"}], "cursor": "c2", "has_more": true})))
        .mount(&server)
        .await;
    Mock::given(path("/2/files/list_folder/continue"))
        .and(body_json(json!({"cursor": "c2"})))
        .respond_with(json_body(
            json!({"entries": [entry("d")], "cursor": "c3", "has_more": false}),
        ))
        .mount(&server)
        .await;
    let c = client(&server);

    let listing = c.files().list_folder("/Docs");
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "nothing is sent before polling"
    );

    let pages: Vec<_> = listing.clone().pages().try_collect().await.unwrap();
    assert_eq!(
        pages.iter().map(|p| p.cursor.as_str()).collect::<Vec<_>>(),
        ["c1", "c2", "c3"]
    );

    let names: Vec<String> = c
        .files()
        .list_folder("/Docs")
        .into_stream()
        .map_ok(|m| m.name().to_owned())
        .try_collect()
        .await
        .unwrap();
    // Three requests for the pages, three more for the entries: nothing else.
    assert_eq!(server.received_requests().await.unwrap().len(), 6);
    assert_eq!(names, ["a", "b", "c", "old", "d"]);
}

#[tokio::test]
async fn resumes_from_a_saved_cursor_and_treats_a_repeated_cursor_as_the_end() {
    let server = server().await;
    Mock::given(path("/2/files/list_folder/continue"))
        .and(body_json(json!({"cursor": "saved"})))
        .respond_with(json_body(
            json!({"entries": [entry("new")], "cursor": "saved", "has_more": true}),
        ))
        .mount(&server)
        .await;
    let c = client(&server);
    let pages: Vec<_> = c
        .files()
        .list_folder_from_cursor("saved")
        .pages()
        .collect()
        .await;
    assert_eq!(
        pages.len(),
        1,
        "a server that repeats its cursor must not loop forever"
    );
    assert_eq!(pages[0].as_ref().unwrap().entries.len(), 1);
}

#[tokio::test]
async fn an_error_ends_the_stream_after_being_yielded() {
    let server = server().await;
    Mock::given(path("/2/files/list_folder"))
        .respond_with(json_body(
            json!({"entries": [entry("a")], "cursor": "c1", "has_more": true}),
        ))
        .mount(&server)
        .await;
    Mock::given(path("/2/files/list_folder/continue"))
        .respond_with(error_409("reset/..", json!({".tag": "reset"})))
        .mount(&server)
        .await;
    let c = client(&server);
    let items: Vec<_> = c.files().list_folder("/Docs").into_stream().collect().await;
    assert_eq!(items.len(), 2);
    assert!(items[0].is_ok());
    let e = items[1].as_ref().unwrap_err();
    assert!(e.api().unwrap().has_tag("reset"));
}
