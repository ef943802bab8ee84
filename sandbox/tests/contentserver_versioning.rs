//! Content Server emulator: reserve / unreserve, advanced versioning (minor and major
//! versions, promote), bulk holds, attribute search, task actions and the paged process
//! listing, all over raw HTTP.

mod contentserver_support;

use contentserver_support::{start, Cs};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Adds a version with multipart `file` and extra plain fields.
async fn add_version(
    cs: &Cs,
    t: &str,
    id: i64,
    bytes: &[u8],
    fields: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut form = reqwest::multipart::Form::new();
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    let form = form.part(
        "file",
        reqwest::multipart::Part::bytes(bytes.to_vec()).file_name("v.txt"),
    );
    contentserver_support::json(
        cs.req(Method::POST, t, &format!("/api/v2/nodes/{id}/versions"))
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Creates a document under 2000, with `advanced_versioning` when asked.
async fn doc(cs: &Cs, t: &str, name: &str, advanced: bool) -> i64 {
    let mut body = json!({"type": 144, "parent_id": 2000, "name": name});
    if advanced {
        body["advanced_versioning"] = json!(true);
    }
    let form = reqwest::multipart::Form::new()
        .text("body", body.to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"first".to_vec()).file_name(name.to_owned()),
        );
    let (s, answer) = contentserver_support::json(
        cs.req(Method::POST, t, "/api/v2/nodes")
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{answer}");
    let props = &answer["results"]["data"]["properties"];
    assert_eq!(props["advanced_versioning"], advanced);
    props["id"].as_i64().unwrap()
}

fn number(v: &Value) -> (i64, i64, String) {
    (
        v["version_number_major"].as_i64().unwrap(),
        v["version_number_minor"].as_i64().unwrap(),
        v["version_number_name"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn advanced_versioning_adds_minor_and_major_versions_and_promotes() {
    let cs = start().await;
    let t = cs.login("admin", "admin").await;
    let id = doc(&cs, &t, "adv.txt", true).await;
    let (_, v) = cs.get(&t, &format!("/api/v2/nodes/{id}/versions/1")).await;
    assert_eq!(
        number(&v["results"]["data"]["versions"]),
        (1, 0, "1.0".into())
    );
    let (s, v) = add_version(&cs, &t, id, b"minor", &[]).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        number(&v["results"]["data"]["versions"]),
        (1, 1, "1.1".into())
    );
    let (_, v) = add_version(&cs, &t, id, b"major", &[("add_major_version", "true")]).await;
    assert_eq!(
        number(&v["results"]["data"]["versions"]),
        (2, 0, "2.0".into())
    );
    assert_eq!(v["results"]["data"]["versions"]["version_number"], 3);

    // Promote 1.1 (sequence number 2): a new 3.0 with its bytes, description from `body`.
    let (s, v) = cs
        .body(
            Method::POST,
            &t,
            &format!("/api/v2/nodes/{id}/versions/2/promote"),
            json!({"description": "promoted"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let promoted = &v["results"]["data"]["versions"];
    assert_eq!(number(promoted), (3, 0, "3.0".into()));
    assert_eq!(promoted["version_number"], 4);
    assert_eq!(promoted["description"], "promoted");
    let (s, _, bytes) = cs.bytes(&t, &format!("/api/v1/nodes/{id}/content")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(bytes, b"minor");
    // Promoting a major version, or on a standard document, is refused.
    let (s, _) = cs
        .body(
            Method::POST,
            &t,
            &format!("/api/v2/nodes/{id}/versions/3/promote"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let plain = doc(&cs, &t, "plain.txt", false).await;
    let (_, v) = add_version(&cs, &t, plain, b"two", &[("add_major_version", "false")]).await;
    assert_eq!(
        number(&v["results"]["data"]["versions"]),
        (2, 0, "2".into())
    );
    let (s, _) = cs
        .body(
            Method::POST,
            &t,
            &format!("/api/v2/nodes/{plain}/versions/1/promote"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_reserved_node_refuses_versions_by_others_until_unreserved() {
    let cs = start().await;
    let admin = cs.login("admin", "admin").await;
    let editor = cs.login("editor", "editor").await;
    let intake = cs.id("/folders/Intake");
    let id = cs
        .document(&editor, intake, "draft.txt", b"v1".to_vec())
        .await;
    let (s, _) = cs
        .body(
            Method::PUT,
            &admin,
            &format!("/api/v2/nodes/{id}"),
            json!({"reserved_user_id": 1000}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, node) = cs.get(&editor, &format!("/api/v2/nodes/{id}")).await;
    let props = &node["results"]["data"]["properties"];
    assert_eq!(props["reserved"], true);
    assert_eq!(props["reserved_user_id"], 1000);
    let (s, body) = add_version(&cs, &editor, id, b"v2", &[]).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("reserved"),
        "{body}"
    );
    // Someone else cannot take over the reservation either.
    let (s, _) = cs
        .body(
            Method::PUT,
            &editor,
            &format!("/api/v2/nodes/{id}"),
            json!({"reserved_user_id": 1001}),
        )
        .await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    let (s, _) = add_version(&cs, &admin, id, b"v2", &[]).await;
    assert_eq!(s, StatusCode::OK);
    // `"null"` (a string, as the API documents it) releases it.
    let (s, _) = cs
        .body(
            Method::PUT,
            &admin,
            &format!("/api/v2/nodes/{id}"),
            json!({"reserved_user_id": "null"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = add_version(&cs, &editor, id, b"v3", &[]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["results"]["data"]["properties"]["reserved"], false);
}

#[tokio::test]
async fn bulk_holds_apply_and_remove_many_nodes_in_one_call() {
    let cs = start().await;
    let t = cs.login("admin", "admin").await;
    let (s, created) = cs
        .form(
            Method::POST,
            &t,
            "/api/v1/holds",
            &[("name", "Bulk"), ("type", "LEGAL")],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{created}");
    let hold = created["holdID"].as_i64().unwrap();
    let a = cs.document(&t, 2000, "a.pdf", b"a".to_vec()).await;
    let b = cs.document(&t, 2000, "b.pdf", b"b".to_vec()).await;
    let (s, body) = cs
        .form(
            Method::POST,
            &t,
            "/api/v1/rmclassifications/applyhold",
            &[
                ("holdID", &hold.to_string()),
                ("ids", &a.to_string()),
                ("ids", &b.to_string()),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["results"]["ids"], json!([a, b]));
    for id in [a, b] {
        let (_, on) = cs.get(&t, &format!("/api/v1/nodes/{id}/holds")).await;
        assert_eq!(on["results"]["data"]["holds"][0]["HoldID"], hold, "{on}");
        let resp = cs
            .req(Method::DELETE, &t, &format!("/api/v2/nodes/{id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status(),
            StatusCode::INTERNAL_SERVER_ERROR,
            "a held node is not deleted"
        );
    }
    let (s, _) = cs
        .form(
            Method::POST,
            &t,
            "/api/v1/rmclassifications/removehold",
            &[("holdID", &hold.to_string()), ("ids", &a.to_string())],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, on) = cs.get(&t, &format!("/api/v1/nodes/{a}/holds")).await;
    assert_eq!(on["results"]["data"]["holds"], json!([]));
    // A user who is not a records manager is refused, for every node.
    let editor = cs.login("editor", "editor").await;
    let (s, _) = cs
        .form(
            Method::POST,
            &editor,
            "/api/v1/rmclassifications/applyhold",
            &[("holdID", &hold.to_string()), ("ids", &a.to_string())],
        )
        .await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    let (_, on) = cs.get(&t, &format!("/api/v1/nodes/{a}/holds")).await;
    assert_eq!(on["results"]["data"]["holds"], json!([]));
}

#[tokio::test]
async fn attribute_regions_are_searchable() {
    let cs = start().await;
    let t = cs.login("admin", "admin").await;
    let m = cs.server.manifest();
    let gov = &m["categories"]["Document Governance"];
    let cat = gov["id"].as_i64().unwrap();
    let key = |n: &str| gov["attributes"][n]["key"].as_str().unwrap().to_owned();
    let attr = |n: &str| gov["attributes"][n]["id"].as_i64().unwrap();
    let review = attr("Review");
    let reviewed_on = gov["attributes"]["Review"]["attributes"]["Reviewed On"]["id"]
        .as_i64()
        .unwrap();
    for (name, team) in [("x.pdf", "Tower Team"), ("y.pdf", "Harbor Team")] {
        let d = cs.document(&t, 2000, name, b"x".to_vec()).await;
        let (s, body) = cs
            .form(
                Method::POST,
                &t,
                &format!("/api/v2/nodes/{d}/categories"),
                &[
                    ("category_id", &cat.to_string()),
                    (&key("Source System"), "Dropbox"),
                    (&key("Team"), team),
                    (&format!("{cat}_{review}_2_{reviewed_on}"), "2026-02-03"),
                ],
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }
    let (cs, t) = (&cs, &t);
    let search = |q: String| async move {
        let (s, body) = cs
            .form(
                Method::POST,
                t,
                "/api/v2/search",
                &[("where", &q), ("limit", "10")],
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        let mut names: Vec<String> = body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["data"]["properties"]["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    let team = attr("Team");
    assert_eq!(
        search(format!("Attr_{cat}_{team}:\"tower team\"")).await,
        ["x.pdf"]
    );
    assert_eq!(
        search(format!("Attr_{cat}_{team}:\"Team\"")).await,
        ["x.pdf", "y.pdf"]
    );
    assert!(search(format!("Attr_{cat}_{team}:\"Tow\""))
        .await
        .is_empty());
    assert_eq!(
        search(format!("Attr_{cat}_{team}:\"Team\" and OTName:y")).await,
        ["y.pdf"]
    );
    // A set member, any row; dates by day.
    assert_eq!(
        search(format!("Attr_{cat}_{review}_{reviewed_on}:\"2026-02-03\"")).await,
        ["x.pdf", "y.pdf"]
    );
    let (s, _) = cs
        .form(
            Method::POST,
            t,
            "/api/v2/search",
            &[("where", "Attr_x_2:\"a\"")],
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn send_on_moves_a_task_and_the_status_listing_pages() {
    let cs = start().await;
    let t = cs.login("admin", "admin").await;
    let map = cs.server.manifest()["workflow_maps"]["Policy Approval"]["id"]
        .as_i64()
        .unwrap();
    let mut pids = Vec::new();
    for _ in 0..3 {
        let (s, body) = cs
            .body(
                Method::POST,
                &t,
                "/api/v2/draftprocesses/startwf",
                json!({"workflow_id": map}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        pids.push(body["results"]["process_id"].as_i64().unwrap());
    }
    let pid = pids[0];
    let (s, body) = cs
        .body(
            Method::PUT,
            &t,
            &format!("/api/v2/processes/{pid}/subprocesses/{pid}/tasks/1"),
            json!({"action": "SendOn", "comment": "next"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (_, st) = cs
        .get(&t, &format!("/api/v2/workflows/status/processes/{pid}"))
        .await;
    let steps = &st["results"]["step_list"];
    assert_eq!(steps["completed"][0]["disposition"], "SendOn");
    assert_eq!(steps["current"][0]["task_id"], 2);

    let mut seen = Vec::new();
    for page in 1..=2 {
        let (s, body) = cs
            .get(
                &t,
                &format!("/api/v2/workflows/status?kind=Initiated&page={page}&limit=2"),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        let paging = &body["collection"]["paging"];
        assert_eq!(paging["total_count"], 3);
        assert_eq!(paging["page_total"], 2);
        for item in body["results"].as_array().unwrap() {
            seen.push(item["data"]["wfstatus"]["process_id"].as_i64().unwrap());
        }
    }
    seen.sort_unstable();
    assert_eq!(seen, pids);
    let (_, all) = cs.get(&t, "/api/v2/workflows/status?kind=Both").await;
    assert_eq!(all["results"].as_array().unwrap().len(), 3);
}
