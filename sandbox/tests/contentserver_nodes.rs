//! Content Server emulator: nodes, documents, versions, content, children paging, names.

mod contentserver_support;

use contentserver_support::{json, start};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn create_folder_upload_and_download() {
    let cs = start().await;
    let t = cs.login("admin", "admin").await;
    let folder = cs.folder(&t, 2000, "Smoke").await;
    let doc = cs
        .document(&t, folder, "a.pdf", b"hello world".to_vec())
        .await;
    let (status, len, bytes) = cs.bytes(&t, &format!("/api/v1/nodes/{doc}/content")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(len, Some(11));
    assert_eq!(bytes, b"hello world");
    let (_, node) = cs.get(&t, &format!("/api/v2/nodes/{doc}")).await;
    let p = &node["results"]["data"]["properties"];
    assert_eq!(p["type"], 144);
    assert_eq!(p["size"], 11);
    assert_eq!(p["mime_type"], "application/pdf");
    assert_eq!(p["parent_id"], folder);
    assert_eq!(p["volume_id"], -2000);
    // v1 shape.
    let (_, v1) = cs.get(&t, &format!("/api/v1/nodes/{doc}")).await;
    assert_eq!(v1["data"]["name"], "a.pdf");
    assert_eq!(v1["type"], 144);
    // v1 create answers {"id"}.
    let (status, body) = cs
        .body(
            Method::POST,
            &t,
            "/api/v1/nodes",
            json!({"type": 0, "parent_id": folder, "name": "v1 folder"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["id"].is_i64());
}

#[tokio::test]
async fn versions_and_content_of_any_version_through_v1_and_v2() {
    let cs = start().await;
    let t = cs.login("admin", "admin").await;
    let doc = cs
        .document(&t, 2000, "Report.pdf", b"version one".to_vec())
        .await;
    // v2 add version: multipart file + plain description.
    let form = reqwest::multipart::Form::new()
        .text("description", "second")
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"version two!".to_vec()).file_name("Report.pdf"),
        );
    let resp = cs
        .req(Method::POST, &t, &format!("/api/v2/nodes/{doc}/versions"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (status, body) = json(resp).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["results"]["data"]["versions"]["version_number"], 2);
    // v1 add version answers {"id", "version_number"}.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"v3".to_vec()).file_name("Report.pdf"),
    );
    let resp = cs
        .req(Method::POST, &t, &format!("/api/v1/nodes/{doc}/versions"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (_, body) = json(resp).await;
    assert_eq!(body, json!({"id": doc, "version_number": 3}));

    let (_, list) = cs.get(&t, &format!("/api/v2/nodes/{doc}/versions")).await;
    let numbers: Vec<i64> = list["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["data"]["versions"]["version_number"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [1, 2, 3]);
    let (_, latest) = cs
        .get(&t, &format!("/api/v1/nodes/{doc}/versions/latest"))
        .await;
    assert_eq!(latest["data"]["version_number"], 3);
    let (_, two) = cs.get(&t, &format!("/api/v2/nodes/{doc}/versions/2")).await;
    assert_eq!(two["results"]["data"]["versions"]["description"], "second");
    assert_eq!(two["results"]["data"]["versions"]["file_size"], 12);

    for (path, expected) in [
        (
            format!("/api/v2/nodes/{doc}/versions/1/content"),
            &b"version one"[..],
        ),
        (
            format!("/api/v1/nodes/{doc}/versions/2/content"),
            &b"version two!"[..],
        ),
        (format!("/api/v2/nodes/{doc}/content"), &b"v3"[..]),
        (
            format!("/api/v1/nodes/{doc}/content/Report.pdf?action=download"),
            &b"v3"[..],
        ),
    ] {
        let (status, len, bytes) = cs.bytes(&t, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(len, Some(expected.len() as u64), "{path}");
        assert_eq!(bytes, expected, "{path}");
    }
    let (status, body) = cs
        .get(&t, &format!("/api/v2/nodes/{doc}/versions/9/content"))
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["error"], "The version is not found");
    let (status, body) = cs.get(&t, "/api/v1/nodes/987654/content").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["error"], "Could not locate node: 987654");

    // Purge keeps the newest.
    let resp = cs
        .req(Method::DELETE, &t, &format!("/api/v2/nodes/{doc}/versions"))
        .form(&[("number_to_keep", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let (_, list) = cs.get(&t, &format!("/api/v2/nodes/{doc}/versions")).await;
    assert_eq!(list["results"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn duplicate_and_bad_names_are_refused() {
    let cs = start().await;
    let t = cs.login("admin", "admin").await;
    cs.folder(&t, 2000, "Taken").await;
    let create = |name: String| {
        let cs = &cs;
        let t = &t;
        async move {
            cs.body(
                Method::POST,
                t,
                "/api/v2/nodes",
                json!({"type": "0", "parent_id": "2000", "name": name}),
            )
            .await
        }
    };
    let (status, body) = create("Taken".into()).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        body["error"],
        "An item with the name 'Taken' already exists."
    );
    let (status, body) = create("a:b".into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("':'"));
    let (status, _) = create("x".repeat(249)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = create("x".repeat(248)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = create("   ".into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Missing parent.
    let (status, body) = cs
        .body(
            Method::POST,
            &t,
            "/api/v2/nodes",
            json!({"type": 0, "parent_id": 424242, "name": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"]
        .as_str()
        .unwrap()
        .starts_with("Sorry, the item you requested"));
    // A document without a file.
    let (status, _) = cs
        .body(
            Method::POST,
            &t,
            "/api/v2/nodes",
            json!({"type": 144, "parent_id": 2000, "name": "nofile"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn rename_move_copy_delete_restore() {
    let cs = start().await;
    let t = cs.login("admin", "admin").await;
    let a = cs.folder(&t, 2000, "A").await;
    let b = cs.folder(&t, 2000, "B").await;
    let doc = cs.document(&t, a, "doc.pdf", b"abc".to_vec()).await;
    cs.document(&t, b, "clash.pdf", b"zzz".to_vec()).await;

    let (status, _) = cs
        .body(
            Method::PUT,
            &t,
            &format!("/api/v2/nodes/{doc}"),
            json!({"name": "renamed.pdf"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // Rename into a clash.
    cs.document(&t, a, "other.pdf", b"o".to_vec()).await;
    let (status, body) = cs
        .body(
            Method::PUT,
            &t,
            &format!("/api/v2/nodes/{doc}"),
            json!({"name": "other.pdf"}),
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        body["error"],
        "An item with the name 'other.pdf' already exists."
    );
    // Move.
    let (status, _) = cs
        .body(
            Method::PUT,
            &t,
            &format!("/api/v2/nodes/{doc}"),
            json!({"parent_id": b}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, node) = cs.get(&t, &format!("/api/v2/nodes/{doc}")).await;
    assert_eq!(node["results"]["data"]["properties"]["parent_id"], b);
    assert_eq!(node["results"]["data"]["properties"]["name"], "renamed.pdf");
    // A folder cannot move into itself.
    let (status, _) = cs
        .body(
            Method::PUT,
            &t,
            &format!("/api/v2/nodes/{a}"),
            json!({"parent_id": a}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Copy the whole folder B (two documents) into A under a new name.
    let (status, body) = cs
        .body(
            Method::POST,
            &t,
            "/api/v2/nodes",
            json!({"original_id": b, "parent_id": a, "name": "B copy"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let copy = body["results"]["data"]["properties"]["id"]
        .as_i64()
        .unwrap();
    assert_eq!(body["results"]["data"]["properties"]["size"], 2);
    let (_, kids) = cs
        .get(&t, &format!("/api/v2/nodes/{copy}/nodes?sort=asc_name"))
        .await;
    let copied = kids["results"][1]["data"]["properties"]["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        kids["results"][1]["data"]["properties"]["name"],
        "renamed.pdf"
    );
    let (_, _, bytes) = cs
        .bytes(&t, &format!("/api/v2/nodes/{copied}/content"))
        .await;
    assert_eq!(bytes, b"abc");
    // Delete, then the node is gone; restore brings it back.
    let resp = cs
        .req(Method::DELETE, &t, &format!("/api/v2/nodes/{doc}"))
        .send()
        .await
        .unwrap();
    let (status, body) = json(resp).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["results"], json!({}));
    let (status, _) = cs.get(&t, &format!("/api/v2/nodes/{doc}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = cs
        .form(
            Method::POST,
            &t,
            "/api/v2/volumes/recyclebin/nodes/restore",
            &[("ids", &doc.to_string())],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["results"]["success"]["ids"], json!([doc]));
    let (status, _) = cs.get(&t, &format!("/api/v2/nodes/{doc}")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn edit_conflict_on_stale_metadata_token() {
    let cs = start().await;
    let t = cs.login("admin", "admin").await;
    let f = cs.folder(&t, 2000, "Tokens").await;
    let (_, node) = cs.get(&t, &format!("/api/v2/nodes/{f}?state")).await;
    let token = node["results"]["state"]["properties"]["metadata_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = cs
        .body(
            Method::PUT,
            &t,
            &format!("/api/v2/nodes/{f}"),
            json!({"description": "one", "metadata_token": token}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = cs
        .body(
            Method::PUT,
            &t,
            &format!("/api/v2/nodes/{f}"),
            json!({"description": "two", "metadata_token": token}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"], "Could not update metadata (edit conflict)");
}

fn names(list: &Value) -> Vec<String> {
    list["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["data"]["properties"]["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn children_paging_through_2500_children() {
    let cs = start().await;
    let t = cs.login("admin", "admin").await;
    let parent = cs.folder(&t, 2000, "Many").await;
    for i in 0..2500 {
        let (status, body) = cs
            .form(
                Method::POST,
                &t,
                "/api/v2/nodes",
                &[
                    ("type", "0"),
                    ("parent_id", &parent.to_string()),
                    ("name", &format!("child {i:04}")),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // pyxecm pages by the container's size.
    let (_, node) = cs.get(&t, &format!("/api/v2/nodes/{parent}")).await;
    assert_eq!(node["results"]["data"]["properties"]["size"], 2500);
    let mut seen = Vec::new();
    for page in 1..=25 {
        let (_, list) = cs
            .get(
                &t,
                &format!("/api/v2/nodes/{parent}/nodes?limit=100&page={page}&sort=asc_name"),
            )
            .await;
        let paging = &list["collection"]["paging"];
        assert_eq!(paging["total_count"], 2500);
        assert_eq!(paging["page_total"], 25);
        assert_eq!(paging["range_min"], (page - 1) * 100 + 1);
        seen.extend(names(&list));
    }
    let expected: Vec<String> = (0..2500).map(|i| format!("child {i:04}")).collect();
    assert_eq!(seen, expected);
    // Past the end: empty page.
    let (_, list) = cs
        .get(
            &t,
            &format!("/api/v2/nodes/{parent}/nodes?limit=100&page=26"),
        )
        .await;
    assert!(list["results"].as_array().unwrap().is_empty());
    // v1 browse has paging at the top level.
    let (_, v1) = cs
        .get(&t, &format!("/api/v1/nodes/{parent}/nodes?limit=10&page=3"))
        .await;
    assert_eq!(v1["total_count"], 2500);
    assert_eq!(v1["data"][0]["name"], "child 0020");
}

#[tokio::test]
async fn children_sort_and_filters() {
    let cs = start().await;
    let t = cs.login("admin", "admin").await;
    let p = cs.folder(&t, 2000, "Mixed").await;
    cs.folder(&t, p, "beta folder").await;
    cs.folder(&t, p, "Alpha folder").await;
    cs.document(&t, p, "gamma.pdf", vec![1; 10]).await;
    cs.document(&t, p, "Delta.pdf", vec![1; 30]).await;
    let list = |q: &str| {
        let path = format!("/api/v2/nodes/{p}/nodes{q}");
        let cs = &cs;
        let t = &t;
        async move { names(&cs.get(t, &path).await.1) }
    };
    assert_eq!(
        list("").await,
        ["Alpha folder", "beta folder", "Delta.pdf", "gamma.pdf"]
    );
    assert_eq!(
        list("?sort=desc_name").await,
        ["gamma.pdf", "Delta.pdf", "beta folder", "Alpha folder"]
    );
    assert_eq!(
        list("?where_type=-1").await,
        ["Alpha folder", "beta folder"]
    );
    assert_eq!(list("?where_type=-3").await, ["Delta.pdf", "gamma.pdf"]);
    assert_eq!(
        list("?where_type=144&sort=desc_size").await,
        ["Delta.pdf", "gamma.pdf"]
    );
    assert_eq!(
        list("?where_type=-2&where_name=FOLD").await,
        ["Alpha folder", "beta folder"]
    );
    assert_eq!(
        list("?where_type=0&where_type=144&where_name=ta").await,
        ["beta folder", "Delta.pdf"]
    );
    // Repeated fields and value-less flags.
    let (status, body) = cs
        .get(
            &t,
            &format!(
                "/api/v2/nodes/{p}?fields=properties&fields=versions&metadata&expand=properties"
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["results"]["metadata"]["properties"]["name"].is_object());
    let (_, body) = cs
        .get(
            &t,
            &format!("/api/v2/nodes/{p}?fields=properties{{id,name}}"),
        )
        .await;
    assert_eq!(
        body["results"]["data"]["properties"]
            .as_object()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn volumes_ancestors_and_seeded_paths() {
    let cs = start().await;
    let t = cs.login("admin", "admin").await;
    let (_, ew) = cs.get(&t, "/api/v2/volumes/141").await;
    assert_eq!(ew["results"]["data"]["properties"]["id"], 2000);
    assert_eq!(ew["results"]["data"]["properties"]["volume_id"], -2000);
    let (_, mine) = cs.get(&t, "/api/v2/volumes/142").await;
    assert_eq!(mine["results"]["data"]["properties"]["type"], 142);
    let oc = cs.id("/folders/Published~1Outside Counsel");
    let (_, kids) = cs.get(&t, &format!("/api/v2/nodes/{oc}/nodes")).await;
    assert_eq!(
        names(&kids),
        ["Contract Summary.pdf", "Engagement Letter.pdf"]
    );
    let (_, anc) = cs.get(&t, &format!("/api/v1/nodes/{oc}/ancestors")).await;
    let chain: Vec<&str> = anc["ancestors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        chain,
        ["Enterprise Workspace", "Published", "Outside Counsel"]
    );
    let (_, check) = cs
        .body(
            Method::POST,
            &t,
            "/api/v1/validation/nodes/names",
            json!({"parent_id": 2000, "names": ["Archive", "Nope"]}),
        )
        .await;
    assert_eq!(check["results"].as_array().unwrap().len(), 1);
    assert_eq!(check["results"][0]["name"], "Archive");
}
