//! Content Server emulator: categories, RM classifications, holds, permissions, members.

mod contentserver_support;

use contentserver_support::{start, Cs};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn governance(cs: &Cs) -> (i64, Value) {
    let m = cs.server.manifest();
    let cat = m["categories"]["Document Governance"].clone();
    (cat["id"].as_i64().unwrap(), cat["attributes"].clone())
}

#[tokio::test]
async fn categories_are_validated_on_apply_and_update() {
    let cs = start().await;
    let t = cs.login("admin", "admin").await;
    let (cat, attrs) = governance(&cs);
    let key = |name: &str| attrs[name]["key"].as_str().unwrap().to_owned();
    let doc = cs.document(&t, 2000, "gov.pdf", b"x".to_vec()).await;
    let path = format!("/api/v2/nodes/{doc}/categories");
    let c = cat.to_string();

    // Required attribute missing.
    let (status, body) = cs
        .form(Method::POST, &t, &path, &[("category_id", &c)])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"].as_str().unwrap().contains("Source System"),
        "{body}"
    );
    // Not one of the valid values.
    let (status, body) = cs
        .form(
            Method::POST,
            &t,
            &path,
            &[
                ("category_id", &c),
                (&key("Source System"), "Dropbox"),
                (&key("Document Type"), "Poem"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"].as_str().unwrap().contains("valid values"),
        "{body}"
    );
    // Wrong type.
    let (status, _) = cs
        .form(
            Method::POST,
            &t,
            &path,
            &[
                ("category_id", &c),
                (&key("Source System"), "Dropbox"),
                (&key("Approved On"), "yesterday"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Too many values for a multi-value attribute (repeated keys).
    let kw = key("Keywords");
    let mut fields = vec![
        ("category_id", c.as_str()),
        (key_ref(&attrs, "Source System"), "Dropbox"),
    ];
    for _ in 0..6 {
        fields.push((kw.as_str(), "k"));
    }
    let (status, body) = cs.form(Method::POST, &t, &path, &fields).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"].as_str().unwrap().contains("at most 5"),
        "{body}"
    );
    // A valid apply: plain fields, repeated key for the multi-value attribute, a set row.
    let reviewer = format!("{cat}_9_1_10");
    let reviewed = format!("{cat}_9_1_11");
    let (status, body) = cs
        .form(
            Method::POST,
            &t,
            &path,
            &[
                ("category_id", &c),
                (&key("Source System"), "Dropbox"),
                (&key("Document Type"), "Contract"),
                (&key("Approved On"), "2026-02-01"),
                (&kw, "alpha"),
                (&kw, "beta"),
                (&reviewer, "1001"),
                (&reviewed, "2026-02-02T10:00:00"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Applying twice is refused with CS's message.
    let (status, body) = cs
        .form(
            Method::POST,
            &t,
            &path,
            &[("category_id", &c), (&key("Source System"), "x")],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"],
        "The attribute group 'Document Governance' already exists"
    );

    let (_, list) = cs.get(&t, &format!("{path}?metadata")).await;
    let values = &list["results"][0]["data"]["categories"];
    assert_eq!(values[key("Source System")], "Dropbox");
    assert_eq!(values[key("Approved On")], "2026-02-01T00:00:00");
    assert_eq!(values[&kw], json!(["alpha", "beta"]));
    assert_eq!(values[&reviewer], 1001);
    let meta = &list["results"][0]["metadata"]["categories"];
    assert_eq!(meta[key("Approved On")]["type"], -7);
    assert_eq!(meta[format!("{cat}_9")]["persona"], "set");

    // Update through `body`: set row 2, a user that does not exist is refused.
    let one = format!("{path}/{cat}");
    let (status, _) = cs
        .body(
            Method::PUT,
            &t,
            &one,
            json!({ format!("{cat}_9_2_10"): 999_999 }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = cs
        .body(
            Method::PUT,
            &t,
            &one,
            json!({ format!("{cat}_9_2_10"): "1000", key("Team"): "Legal" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // A key of another category is refused with CS's message.
    let (status, body) = cs.body(Method::PUT, &t, &one, json!({ "1_2": "x" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"]
        .as_str()
        .unwrap()
        .contains("non-matching attribute ('1_2')"));
    // Row beyond the set's maximum.
    let (status, _) = cs
        .body(
            Method::PUT,
            &t,
            &one,
            json!({ format!("{cat}_9_11_10"): 1000 }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, single) = cs.get(&t, &one).await;
    let v = &single["results"]["data"]["categories"];
    assert_eq!(v[format!("{cat}_9_2_10")], 1000);
    assert_eq!(v[key("Team")], "Legal");
    assert_eq!(v[key("Source System")], "Dropbox");
    // The update form carries the metadata token; a stale one gets 409.
    let (_, form) = cs
        .get(
            &t,
            &format!("/api/v1/forms/nodes/categories/update?id={doc}&category_id={cat}"),
        )
        .await;
    assert_eq!(
        form["forms"][0]["schema"]["properties"][key("Keywords")]["maxItems"],
        5
    );
    assert_eq!(form["forms"][0]["data"][key("Team")], "Legal");
    let token = form["forms"][0]["data"][format!("{cat}_1")]["metadata_token"].clone();
    let (status, _) = cs
        .body(
            Method::PUT,
            &t,
            &one,
            json!({ format!("{cat}_1"): {"metadata_token": token}, key("Team"): "Ops" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = cs
        .body(
            Method::PUT,
            &t,
            &one,
            json!({ format!("{cat}_1"): {"metadata_token": token}, key("Team"): "HR" }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    // Remove.
    let resp = cs.req(Method::DELETE, &t, &one).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let (_, list) = cs.get(&t, &path).await;
    assert!(list["results"].as_array().unwrap().is_empty());
}

fn key_ref<'a>(attrs: &'a Value, name: &str) -> &'a str {
    attrs[name]["key"].as_str().unwrap()
}

#[tokio::test]
async fn categories_on_create_flat_and_nested() {
    let cs = start().await;
    let t = cs.login("admin", "admin").await;
    let (cat, attrs) = governance(&cs);
    let ss = key_ref(&attrs, "Source System");
    for (name, cats) in [
        ("flat", json!({ ss: "SAP", format!("{cat}_1"): {} })),
        ("nested", json!({ cat.to_string(): { ss: "SAP" } })),
    ] {
        let (status, body) = cs
            .body(
                Method::POST,
                &t,
                "/api/v2/nodes",
                json!({"type": 0, "parent_id": 2000, "name": name, "roles": {"categories": cats}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let id = body["results"]["data"]["properties"]["id"]
            .as_i64()
            .unwrap();
        let (_, one) = cs
            .get(&t, &format!("/api/v2/nodes/{id}/categories/{cat}"))
            .await;
        assert_eq!(one["results"]["data"]["categories"][ss], "SAP");
    }
    let (status, _) = cs
        .body(Method::POST, &t, "/api/v2/nodes", json!({"type": 0, "parent_id": 2000, "name": "bad", "roles": {"categories": {format!("{cat}_1"): {}}}}))
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "required attribute missing on create"
    );
}

#[tokio::test]
async fn rm_classification_and_records_details() {
    let cs = start().await;
    let t = cs.login("admin", "admin").await;
    let class = cs.id("/rm_classifications/PRJ-10 Project Records");
    let doc = cs.document(&t, 2000, "rec.pdf", b"r".to_vec()).await;
    let path = format!("/api/v1/nodes/{doc}/rmclassifications");
    let (status, body) = cs
        .body(
            Method::POST,
            &t,
            &path,
            json!({"class_id": class, "apply_to_sub_items": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, details) = cs.get(&t, &path).await;
    assert_eq!(details["data"][0]["rmclassification_id"], class);
    assert_eq!(details["data"][0]["file_number"], "PRJ-10");
    let token = details["rm_metadataToken"].as_str().unwrap().to_owned();
    // Changing it again needs the token.
    let other = cs.id("/rm_classifications/GEN-00 General");
    let (status, _) = cs
        .body(Method::POST, &t, &path, json!({"class_id": other}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = cs
        .body(
            Method::PUT,
            &t,
            &path,
            json!({"rm_metadataToken": token, "essential": "YES", "file_status": "CLS"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, details) = cs.get(&t, &path).await;
    assert_eq!(details["data"][0]["essential"], "YES");
    // A stale token after the update.
    let (status, _) = cs
        .body(
            Method::PUT,
            &t,
            &path,
            json!({"rm_metadataToken": token, "rsi": "R1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Classifications (non-RM list).
    let cpath = format!("/api/v1/nodes/{doc}/classifications");
    let (status, _) = cs
        .body(
            Method::POST,
            &t,
            &cpath,
            json!({"class_id": [class, other]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, cl) = cs.get(&t, &cpath).await;
    assert_eq!(cl["data"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn holds_block_delete_and_new_versions() {
    let cs = start().await;
    let t = cs.login("admin", "admin").await;
    let hold = cs.id("/holds/Riverside Tower Litigation");
    let (_, holds) = cs.get(&t, "/api/v2/holds").await;
    assert_eq!(
        holds["results"]["data"]["holds"][0]["HoldName"],
        "Riverside Tower Litigation"
    );
    let (_, by_name) = cs
        .get(&t, "/api/v2/hold?holdname=Riverside%20Tower%20Litigation")
        .await;
    assert_eq!(by_name["results"]["data"]["hold"]["HoldID"], hold);

    let folder = cs.folder(&t, 2000, "Held").await;
    let doc = cs.document(&t, folder, "evidence.pdf", b"e".to_vec()).await;
    let (status, _) = cs
        .body(
            Method::POST,
            &t,
            &format!("/api/v1/nodes/{doc}/holds"),
            json!({"hold_id": hold}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, on_node) = cs.get(&t, &format!("/api/v1/nodes/{doc}/holds")).await;
    assert_eq!(on_node["data"][0]["HoldID"], hold);

    for id in [doc, folder] {
        let resp = cs
            .req(Method::DELETE, &t, &format!("/api/v2/nodes/{id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"v2".to_vec()).file_name("evidence.pdf"),
    );
    let resp = cs
        .req(Method::POST, &t, &format!("/api/v2/nodes/{doc}/versions"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(resp.text().await.unwrap().contains("under hold"));

    // Create a hold with plain fields, then release the first one: delete works again.
    let (status, body) = cs
        .form(
            Method::POST,
            &t,
            "/api/v1/holds",
            &[("type", "FOIA"), ("name", "Request 7"), ("comment", "c")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["holdID"].is_i64());
    let resp = cs
        .req(
            Method::DELETE,
            &t,
            &format!("/api/v1/nodes/{doc}/holds/{hold}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = cs
        .req(Method::DELETE, &t, &format!("/api/v2/nodes/{folder}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // Editor is not a records manager.
    let e = cs.login("editor", "editor").await;
    let (status, body) = cs
        .form(Method::POST, &e, "/api/v1/holds", &[("name", "Mine")])
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        body["error"],
        "Insufficient permissions to perform that action"
    );
}

#[tokio::test]
async fn permissions_are_enforced_for_editor() {
    let cs = start().await;
    let admin = cs.login("admin", "admin").await;
    let e = cs.login("editor", "editor").await;
    let archive = cs.id("/folders/Archive");
    let intake = cs.id("/folders/Intake");
    // Editor sees and browses the Enterprise Workspace ...
    let (status, _) = cs.get(&e, &format!("/api/v2/nodes/{archive}/nodes")).await;
    assert_eq!(status, StatusCode::OK);
    // ... but may not add to Archive, may add to Intake.
    let (status, body) = cs
        .body(
            Method::POST,
            &e,
            "/api/v2/nodes",
            json!({"type": 0, "parent_id": archive, "name": "nope"}),
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        body["error"],
        "Insufficient permissions to perform that action"
    );
    let mine = cs.folder(&e, intake, "Editor work").await;
    // May not rename or delete Archive.
    let (status, _) = cs
        .body(
            Method::PUT,
            &e,
            &format!("/api/v2/nodes/{archive}"),
            json!({"name": "X"}),
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let resp = cs
        .req(Method::DELETE, &e, &format!("/api/v2/nodes/{archive}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    // Admin hides a folder from editor: it vanishes from listings and from direct reads, and
    // the container size follows.
    let secret = cs.folder(&admin, mine, "Secret").await;
    cs.folder(&admin, mine, "Open").await;
    let (status, _) = cs
        .body(
            Method::PUT,
            &admin,
            &format!("/api/v2/nodes/{secret}/permissions/public"),
            json!({"permissions": []}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = cs
        .body(
            Method::POST,
            &admin,
            &format!("/api/v2/nodes/{secret}/permissions/custom"),
            json!({"right_id": 2001, "permissions": []}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, list) = cs.get(&e, &format!("/api/v2/nodes/{mine}/nodes")).await;
    assert_eq!(list["results"].as_array().unwrap().len(), 1);
    let (_, node) = cs.get(&e, &format!("/api/v2/nodes/{mine}")).await;
    assert_eq!(node["results"]["data"]["properties"]["size"], 1);
    let (status, _) = cs.get(&e, &format!("/api/v2/nodes/{secret}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, eff) = cs
        .get(
            &admin,
            &format!("/api/v2/nodes/{secret}/permissions/effective/1001"),
        )
        .await;
    assert_eq!(
        eff["results"]["data"]["permissions"]["permissions"],
        json!([])
    );
    // Editor may not change permissions on Archive.
    let (status, _) = cs
        .body(
            Method::POST,
            &e,
            &format!("/api/v2/nodes/{archive}/permissions/custom"),
            json!({"right_id": 1001, "permissions": ["see", "add_items"]}),
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    // Admin grants add_items (see_contents implied) and editor can add to Archive.
    let (status, _) = cs
        .body(
            Method::POST,
            &admin,
            &format!("/api/v2/nodes/{archive}/permissions/custom"),
            json!({"right_id": 1001, "permissions": ["add_items"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, eff) = cs
        .get(
            &admin,
            &format!("/api/v2/nodes/{archive}/permissions/effective/1001"),
        )
        .await;
    assert_eq!(
        eff["results"]["data"]["permissions"]["permissions"],
        json!(["see", "see_contents", "add_items"])
    );
    cs.folder(&e, archive, "granted").await;
    // apply_to on a document is an error.
    let doc = cs.document(&admin, intake, "p.pdf", b"p".to_vec()).await;
    let (status, _) = cs
        .body(
            Method::PUT,
            &admin,
            &format!("/api/v2/nodes/{doc}/permissions/public"),
            json!({"permissions": ["see"], "apply_to": 2}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Counsel sees only what Outside Counsel was given.
    let c = cs.login("counsel", "counsel").await;
    let (status, _) = cs.get(&c, &format!("/api/v2/nodes/{archive}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let oc = cs.id("/folders/Published~1Outside Counsel");
    let (_, list) = cs.get(&c, &format!("/api/v2/nodes/{oc}/nodes")).await;
    assert_eq!(list["results"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn members_search_get_and_groups() {
    let cs = start().await;
    let t = cs.login("admin", "admin").await;
    let (_, users) = cs.get(&t, "/api/v2/members?where_type=0&sort=asc_id").await;
    let ids: Vec<i64> = users["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["data"]["properties"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [1000, 1001, 1002]);
    let (_, q) = cs.get(&t, "/api/v2/members?query=counsel").await;
    assert_eq!(q["results"].as_array().unwrap().len(), 2, "user and group");
    let (_, g) = cs
        .get(&t, "/api/v2/members?where_type=1&where_name=Outside")
        .await;
    let group = g["results"][0]["data"]["properties"]["id"]
        .as_i64()
        .unwrap();
    let (_, members) = cs
        .get(&t, &format!("/api/v2/members/{group}/members"))
        .await;
    assert_eq!(
        members["results"][0]["data"]["properties"]["name"],
        "counsel"
    );
    let (_, one) = cs.get(&t, "/api/v2/members/1001").await;
    assert_eq!(one["results"]["data"]["properties"]["name"], "editor");
    let (_, v1) = cs.get(&t, "/api/v1/members/1000").await;
    assert_eq!(v1["data"]["name"], "admin");
    let (_, paged) = cs.get(&t, "/api/v2/members?limit=50").await;
    assert_eq!(
        paged["collection"]["paging"]["limit"], 20,
        "page size capped at 20"
    );
    let (status, _) = cs.get(&t, "/api/v2/members/4242").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_demo_seed_has_the_intake_category_and_keeps_earlier_ids() {
    let cs = start().await;
    let m = cs.server.manifest();
    let intake = &m["categories"]["Intake Submission"];
    let attrs = &intake["attributes"];
    for name in [
        "Request Title",
        "Request Id",
        "Submitter Name",
        "Submitter Email",
        "Received On",
        "Received At",
    ] {
        assert!(attrs[name]["key"].is_string(), "{name}: {intake}");
    }
    // Seeded last: every id seeded before it is below its own.
    let id = intake["id"].as_i64().unwrap();
    for other in ["Document Governance", "Project Closeout"] {
        assert!(m["categories"][other]["id"].as_i64().unwrap() < id);
    }
    for (_, rm) in m["rm_classifications"].as_object().unwrap() {
        assert!(rm.as_i64().unwrap() < id, "{rm}");
    }
    // Applied over HTTP with its required title.
    let t = cs.login("admin", "admin").await;
    let doc = cs.document(&t, 2000, "intake.pdf", b"x".to_vec()).await;
    let path = format!("/api/v2/nodes/{doc}/categories");
    let title = attrs["Request Title"]["key"].as_str().unwrap();
    let (status, body) = cs
        .form(
            Method::POST,
            &t,
            &path,
            &[
                ("category_id", &id.to_string()),
                (title, "Outside tax documents"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
