//! Bulk holds (one call for many nodes), the category definition read from the create form,
//! the advertised 248-character limit of text attributes, and the attribute search helper.

use contentserver_client::api::category_definition::AttrType;
use contentserver_client::{AttrKey, AttrValue, CategoryValues, UploadBody};
use futures::TryStreamExt;

use crate::harness::start;

#[tokio::test]
async fn a_bulk_hold_covers_many_nodes_in_one_call() {
    let env = start().await;
    let admin = env.admin();
    let records = admin.records();
    let hold = records.create_hold("Bulk Matter").await.unwrap();
    let mut ids = Vec::new();
    for name in ["a.txt", "b.txt", "c.txt"] {
        let doc = admin
            .documents()
            .create(
                env.folder("Projects"),
                name,
                UploadBody::from_bytes(name.to_owned()),
            )
            .await
            .unwrap();
        ids.push(doc.id);
    }
    let held = records.apply_hold_to(hold, &ids).await.unwrap();
    assert_eq!(held, ids);
    assert_eq!(env.count("POST /api/v1/rmclassifications/applyhold"), 1);
    for id in &ids {
        let on = records.node_holds(*id).await.unwrap();
        assert_eq!(on.len(), 1, "{on:?}");
        assert_eq!(on[0].id, hold);
        assert_eq!(on[0].name, "Bulk Matter");
        assert!(on[0].active);
    }
    let listed = records.holds().await.unwrap();
    let bulk = listed.iter().find(|h| h.id == hold).unwrap();
    assert_eq!(bulk.object_count, Some(3));
    assert!(bulk.date_applied.is_some());
    // Held nodes cannot be deleted; after the bulk release they can.
    assert!(admin.nodes().delete(ids[0]).await.is_err());
    let released = records.remove_hold_from(hold, &ids[..2]).await.unwrap();
    assert_eq!(released, ids[..2]);
    assert!(records.node_holds(ids[0]).await.unwrap().is_empty());
    assert_eq!(records.node_holds(ids[2]).await.unwrap().len(), 1);
    admin.nodes().delete(ids[0]).await.unwrap();
    // A user who may not manage holds fails the whole call.
    let err = env
        .client_as("editor")
        .records()
        .apply_hold_to(hold, &ids[1..])
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(500), "{err:?}");
    assert!(records.apply_hold_to(hold, &[]).await.unwrap().is_empty());
}

#[tokio::test]
async fn the_category_definition_lists_attributes_and_sets() {
    let env = start().await;
    let admin = env.admin();
    let gov = env.category("Document Governance");
    let def = admin
        .categories()
        .definition(env.folder("Projects"), gov)
        .await
        .unwrap();
    assert_eq!(def.id, gov);
    assert_eq!(def.name.as_deref(), Some("Document Governance"));
    let source = def.attribute("Source System").unwrap();
    assert!(source.required);
    assert_eq!(source.attr_type, AttrType::Text);
    assert_eq!(source.max_length, Some(248));
    assert_eq!(
        source.value_key(gov),
        Some(AttrKey::attr(
            gov,
            env.attr("Document Governance", "Source System")
        ))
    );
    let doc_type = def.attribute("Document Type").unwrap();
    assert!(doc_type.valid_values.iter().any(|v| v == "Marketing"));
    assert!(!doc_type.required);
    assert_eq!(
        def.attribute("Approved On").unwrap().attr_type,
        AttrType::Date
    );
    let keywords = def.attribute("Keywords").unwrap();
    assert_eq!(keywords.multi_value_max, Some(5));
    assert_eq!(keywords.attr_type, AttrType::Text);
    let review = def.attribute("Review").unwrap();
    assert_eq!(review.attr_type, AttrType::Set);
    assert_eq!(review.multi_value_max, Some(10));
    let names: Vec<&str> = review.attributes.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["Reviewer", "Reviewed On"]);
    assert_eq!(review.attributes[0].attr_type, AttrType::User);
    assert_eq!(review.attributes[1].attr_type, AttrType::Date);
    assert_eq!(
        review.attributes[0].key_in_row(gov, 2),
        Some(AttrKey::set_row(gov, review.id, 2, review.attributes[0].id))
    );
    let closeout = env.category("Project Closeout");
    let def = admin
        .categories()
        .definition(env.folder("Projects"), closeout)
        .await
        .unwrap();
    assert_eq!(def.attribute("Final").unwrap().attr_type, AttrType::Boolean);
    assert!(def.attribute("Closed On").unwrap().required);
}

#[tokio::test]
async fn text_values_longer_than_the_advertised_limit_are_refused() {
    let env = start().await;
    let admin = env.admin();
    let gov = env.category("Document Governance");
    let key = |n: &str| AttrKey::attr(gov, env.attr("Document Governance", n));
    let folder = env.folder("Archive/HR");
    let at_limit = CategoryValues::new()
        .set(key("Source System"), "Dropbox")
        .set(key("Source Path"), "p".repeat(248));
    admin
        .categories()
        .apply(folder, gov, &at_limit)
        .await
        .unwrap();
    let over = CategoryValues::new().set(key("Source Path"), "p".repeat(249));
    let err = admin
        .categories()
        .update(folder, gov, &over)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err:?}");
    let read = admin.categories().get(folder, gov).await.unwrap();
    assert_eq!(
        read.value(&key("Source Path"))
            .unwrap()
            .as_str()
            .unwrap()
            .len(),
        248
    );
    // Multi-values are held to it element by element.
    let multi = CategoryValues::new().set(
        key("Keywords"),
        AttrValue::Multi(vec!["ok".into(), "k".repeat(249).into()]),
    );
    let err = admin
        .categories()
        .update(folder, gov, &multi)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err:?}");
}

#[tokio::test]
async fn attribute_search_finds_nodes_by_category_value() {
    let env = start().await;
    let admin = env.admin();
    let gov = env.category("Document Governance");
    let key = |n: &str| AttrKey::attr(gov, env.attr("Document Governance", n));
    let folder = env.folder("Projects");
    let mut made = Vec::new();
    for (name, team, kind) in [
        ("Brochure.pdf", "Marketing Team", "Marketing"),
        ("Flyer.pdf", "Marketing Team", "Marketing"),
        ("Ledger.xlsx", "Finance", "Report"),
    ] {
        let values = CategoryValues::new()
            .set(key("Source System"), "Dropbox")
            .set(key("Team"), team)
            .set(key("Document Type"), kind)
            .set(
                key("Keywords"),
                AttrValue::Multi(vec!["q3".into(), name.into()]),
            )
            .set(
                key("Approved On"),
                chrono::NaiveDate::from_ymd_opt(2026, 1, 15).unwrap(),
            );
        let doc = admin
            .documents()
            .create(folder, name, UploadBody::from_bytes(name.to_owned()))
            .categories(values)
            .await
            .unwrap();
        made.push(doc.id);
    }
    let names = |hits: Vec<contentserver_client::api::search::SearchHit>| {
        let mut n: Vec<String> = hits.into_iter().map(|h| h.node.name).collect();
        n.sort();
        n
    };
    let hits: Vec<_> = admin
        .search()
        .attribute(key("Team"), "marketing team")
        .page_size(1)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(names(hits), ["Brochure.pdf", "Flyer.pdf"]);
    assert_eq!(env.count("POST /api/v2/search"), 2, "one hit a page");
    // Two conditions: both must hold.
    let hits: Vec<_> = admin
        .search()
        .attribute(key("Team"), "Marketing Team")
        .attribute(key("Keywords"), "Flyer.pdf")
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(names(hits), ["Flyer.pdf"]);
    // Dates by day; a word is not a substring match.
    let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 15).unwrap();
    let hits: Vec<_> = admin
        .search()
        .attribute(key("Approved On"), day)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(hits.len(), 3);
    let none: Vec<_> = admin
        .search()
        .attribute(key("Team"), "Market")
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert!(none.is_empty());
    // Combined with a location.
    let hits: Vec<_> = admin
        .search()
        .attribute(key("Document Type"), "Report")
        .location(folder)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(names(hits), ["Ledger.xlsx"]);
}
