//! Categories on a node: apply with values, read back with metadata, update, guarded update,
//! remove; the server's validation.

use chrono::NaiveDate;
use contentserver_client::{AttrKey, CategoryValues, ErrorKind};

use crate::harness::start;

#[tokio::test]
async fn apply_read_update_guard_and_remove() {
    let env = start().await;
    let client = env.admin();
    let cats = client.categories();
    let closeout = env.category("Project Closeout");
    let key = |name: &str| AttrKey::attr(closeout, env.attr("Project Closeout", name));
    let folder = client
        .nodes()
        .create_folder(env.folder("Projects"), "P-1042 Riverside Tower")
        .await
        .unwrap();

    // Required values missing: refused, nothing applied.
    let err = cats
        .apply(
            folder.id,
            closeout,
            &CategoryValues::new().set(key("Project Manager"), "Ada"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err:?}");
    assert!(cats.list(folder.id).await.unwrap().is_empty());

    let values = CategoryValues::new()
        .set(key("Project Id"), "P-1042")
        .set(
            key("Closed On"),
            NaiveDate::from_ymd_opt(2025, 11, 30).unwrap(),
        )
        .set(key("Project Manager"), "Ada")
        .set(key("Final"), true);
    cats.apply(folder.id, closeout, &values).await.unwrap();
    let read = cats.get(folder.id, closeout).await.unwrap();
    assert_eq!(read.name.as_deref(), Some("Project Closeout"));
    assert_eq!(read.value(&key("Project Id")).unwrap(), "P-1042");
    assert_eq!(read.value(&key("Final")).unwrap(), true);
    assert!(read
        .value(&key("Closed On"))
        .unwrap()
        .as_str()
        .unwrap()
        .starts_with("2025-11-30"));
    let mut required: Vec<String> = read
        .attributes
        .iter()
        .filter(|a| a.required)
        .map(|a| a.key.clone())
        .collect();
    required.sort();
    let mut expected = vec![key("Project Id").to_string(), key("Closed On").to_string()];
    expected.sort();
    assert_eq!(required, expected);

    // Applying it again: "already exists".
    let again = cats.apply(folder.id, closeout, &values).await.unwrap_err();
    assert_eq!(again.kind(), ErrorKind::AlreadyExists, "{again:?}");

    cats.update(
        folder.id,
        closeout,
        &CategoryValues::new().set(key("Project Manager"), "Grace"),
    )
    .await
    .unwrap();
    let read = cats.get(folder.id, closeout).await.unwrap();
    assert_eq!(read.value(&key("Project Manager")).unwrap(), "Grace");
    assert_eq!(read.value(&key("Project Id")).unwrap(), "P-1042", "kept");

    // The metadata token from the update form guards the next update.
    let form = client
        .raw()
        .get("api/v1/forms/nodes/categories/update")
        .query("id", folder.id)
        .query("category_id", closeout)
        .send()
        .await
        .unwrap();
    let token = form["data"][format!("{closeout}_1")]["metadata_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no metadata_token in {form}"))
        .to_string();
    let v = CategoryValues::new().set(key("Project Manager"), "Linus");
    cats.update_guarded(folder.id, closeout, &v, Some(&token))
        .await
        .unwrap();
    let stale = cats
        .update_guarded(folder.id, closeout, &v, Some(&token))
        .await
        .unwrap_err();
    assert_eq!(stale.kind(), ErrorKind::Conflict, "{stale:?}");

    // A value of another category in the update: refused by the client before sending.
    let gov = env.category("Document Governance");
    let foreign = CategoryValues::new().set(AttrKey::attr(gov, 2), "x");
    let err = cats
        .update(folder.id, closeout, &foreign)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);

    cats.remove(folder.id, closeout).await.unwrap();
    assert!(cats.list(folder.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn multi_value_limits_and_valid_values_are_enforced() {
    let env = start().await;
    let client = env.admin();
    let gov = env.category("Document Governance");
    let key = |name: &str| AttrKey::attr(gov, env.attr("Document Governance", name));
    let folder = env.folder("Archive/HR");
    let too_many = CategoryValues::new()
        .set(key("Source System"), "Dropbox")
        .set(
            key("Keywords"),
            contentserver_client::AttrValue::Multi(
                (0..6).map(|i| format!("k{i}").into()).collect(),
            ),
        );
    let err = client
        .categories()
        .apply(folder, gov, &too_many)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err:?}");

    let ok = CategoryValues::new()
        .set(key("Source System"), "Dropbox")
        .set(key("Document Type"), "Policy");
    client.categories().apply(folder, gov, &ok).await.unwrap();
    let bad = CategoryValues::new().set(key("Document Type"), "Sonnet");
    let err = client
        .categories()
        .update(folder, gov, &bad)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err:?}");
    let read = client.categories().get(folder, gov).await.unwrap();
    assert_eq!(read.value(&key("Document Type")).unwrap(), "Policy");
}
