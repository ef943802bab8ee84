//! Content Server emulator, the stricter wire rules: JSON request bodies refused, `type`
//! required on create, the 248-character limit on names and advertised on text attributes,
//! and the category create form's sets and field types.

mod contentserver_support;

use contentserver_support::{json, start, Cs};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn governance(cs: &Cs) -> (i64, Value) {
    let cat = cs.server.manifest()["categories"]["Document Governance"].clone();
    (cat["id"].as_i64().unwrap(), cat["attributes"].clone())
}

#[tokio::test]
async fn a_json_request_body_is_refused_and_the_connection_stays_usable() {
    let cs = start().await;
    let t = cs.login("admin", "admin").await;
    let body = json!({"type": 0, "parent_id": 2000, "name": "From JSON"});
    for content_type in [
        "application/json",
        "application/json; charset=utf-8",
        "application/vnd.api+json",
    ] {
        let resp = cs
            .req(Method::POST, &t, "/api/v2/nodes")
            .header("Content-Type", content_type)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let (status, answer) = json(resp).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert!(
            answer["error"]
                .as_str()
                .unwrap()
                .contains("application/json"),
            "{answer}"
        );
    }
    // Nothing was created, and the same client (keep-alive) goes on working.
    let (status, kids) = cs
        .get(&t, "/api/v2/nodes/2000/nodes?where_name=From%20JSON")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kids["results"].as_array().unwrap().len(), 0, "{kids}");
    // A JSON-looking text sent url-encoded is not read as JSON either.
    let resp = cs
        .req(Method::POST, &t, "/api/v2/nodes")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let (status, answer) = json(resp).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    // A PUT as well: the name does not change.
    let id = cs.folder(&t, 2000, "Stays").await;
    let resp = cs
        .req(Method::PUT, &t, &format!("/api/v2/nodes/{id}"))
        .header("Content-Type", "application/json")
        .body(json!({"name": "Renamed"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let (_, node) = cs.get(&t, &format!("/api/v2/nodes/{id}")).await;
    assert_eq!(node["results"]["data"]["properties"]["name"], "Stays");
    // A GET that carries `Content-Type: application/json` and no body is fine (pyxecm).
    let resp = cs
        .req(Method::GET, &t, "/api/v2/nodes/2000")
        .header("Content-Type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn create_needs_a_type_except_for_a_copy() {
    let cs = start().await;
    let t = cs.login("admin", "admin").await;
    let (status, body) = cs
        .body(
            Method::POST,
            &t,
            "/api/v2/nodes",
            json!({"parent_id": 2000, "name": "No type"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["error"].as_str().unwrap().contains("'type'"), "{body}");
    // Plain fields: the same rule.
    let (status, _) = cs
        .form(
            Method::POST,
            &t,
            "/api/v1/nodes",
            &[("parent_id", "2000"), ("name", "No type v1")],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A copy names no type (`original_id`).
    let original = cs.folder(&t, 2000, "Original").await;
    let (status, body) = cs
        .body(
            Method::POST,
            &t,
            "/api/v2/nodes",
            json!({"original_id": original, "parent_id": 2000, "name": "Copied"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["results"]["data"]["properties"]["type"], 0);
    // The type may come as a string.
    let (status, body) = cs
        .body(
            Method::POST,
            &t,
            "/api/v2/nodes",
            json!({"type": "0", "parent_id": "2000", "name": "Typed"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn names_and_text_attributes_stop_at_248_characters() {
    let cs = start().await;
    let t = cs.login("admin", "admin").await;
    let at_limit = "n".repeat(248);
    let (status, _) = cs
        .body(
            Method::POST,
            &t,
            "/api/v2/nodes",
            json!({"type": 0, "parent_id": 2000, "name": at_limit}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = cs
        .body(
            Method::POST,
            &t,
            "/api/v2/nodes",
            json!({"type": 0, "parent_id": 2000, "name": "n".repeat(249)}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (cat, attrs) = governance(&cs);
    let key = |name: &str| attrs[name]["key"].as_str().unwrap().to_owned();
    let doc = cs.document(&t, 2000, "limits.pdf", b"x".to_vec()).await;
    let path = format!("/api/v2/nodes/{doc}/categories");
    let c = cat.to_string();
    let long = "p".repeat(249);
    let (status, body) = cs
        .form(
            Method::POST,
            &t,
            &path,
            &[
                ("category_id", &c),
                (&key("Source System"), "Dropbox"),
                (&key("Source Path"), &long),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["error"].as_str().unwrap().contains("248"), "{body}");
    let fits = "p".repeat(248);
    let (status, body) = cs
        .form(
            Method::POST,
            &t,
            &path,
            &[
                ("category_id", &c),
                (&key("Source System"), "Dropbox"),
                (&key("Source Path"), &fits),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The metadata advertises the limit the values are held to.
    let (_, meta) = cs.get(&t, &format!("{path}/{cat}?metadata")).await;
    let source_path = &meta["results"]["metadata"]["categories"][key("Source Path")];
    assert_eq!(source_path["max_length"], 248, "{meta}");
    // Through `body` too, and one element of a multi-value is enough to refuse.
    let (status, _) = cs
        .body(
            Method::PUT,
            &t,
            &format!("{path}/{cat}"),
            json!({ key("Keywords"): ["ok", "k".repeat(249)] }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_create_form_lists_set_rows_and_field_types() {
    let cs = start().await;
    let t = cs.login("admin", "admin").await;
    let (cat, attrs) = governance(&cs);
    let (status, form) = cs
        .get(
            &t,
            &format!("/api/v1/forms/nodes/categories/create?id=2000&category_id={cat}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{form}");
    let props = &form["forms"][0]["schema"]["properties"];
    let review = attrs["Review"]["id"].as_i64().unwrap();
    let set = &props[format!("{cat}_{review}")];
    assert_eq!(set["type"], "array", "{set}");
    assert_eq!(set["maxItems"], 10);
    let row = &set["items"]["properties"];
    let reviewer = attrs["Review"]["attributes"]["Reviewer"]["id"]
        .as_i64()
        .unwrap();
    let reviewer_key = format!("{cat}_{review}_x_{reviewer}");
    assert_eq!(row[&reviewer_key]["title"], "Reviewer", "{row}");
    let fields = &form["forms"][0]["options"]["fields"];
    assert_eq!(
        fields[&reviewer_key]["type"], "otcs_user_picker",
        "{fields}"
    );
    let source = &props[attrs["Source System"]["key"].as_str().unwrap()];
    assert_eq!(source["maxLength"], 248);
    assert_eq!(source["required"], true);
}
