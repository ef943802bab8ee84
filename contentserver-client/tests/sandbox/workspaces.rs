//! Business workspaces: create from the seeded template with category values and a business
//! object, then get, find, look up by business object, and list its folders.

use chrono::NaiveDate;
use contentserver_client::api::workspaces::TYPE_BUSINESS_WORKSPACE;
use contentserver_client::{AttrKey, CategoryValues};
use futures::TryStreamExt;

use crate::harness::start;

#[tokio::test]
async fn create_from_template_then_find_it_every_way() {
    let env = start().await;
    let client = env.admin();
    let ws = client.workspaces();
    let kind = env.id(&["workspace_types", "Project", "id"]);
    let template = env.id(&[
        "workspace_types",
        "Project",
        "templates",
        "Project Workspace Template",
    ]);
    let ext = env
        .at(&["workspace_types", "Project", "ext_system_id"])
        .as_str()
        .unwrap()
        .to_string();
    let bo_type = env
        .at(&["workspace_types", "Project", "bo_type"])
        .as_str()
        .unwrap()
        .to_string();
    let closeout = env.category("Project Closeout");
    let key = |name: &str| AttrKey::attr(closeout, env.attr("Project Closeout", name));
    let values = CategoryValues::new()
        .set(key("Project Id"), "P-2001")
        .set(
            key("Closed On"),
            NaiveDate::from_ymd_opt(2026, 6, 30).unwrap(),
        )
        .set(key("Project Manager"), "Ada");

    let created = ws
        .create(template, kind)
        .name("P-2001 Harbor Bridge")
        .description("bridge project")
        .categories(values)
        .business_object(&ext, &bo_type, "P-2001")
        .await
        .unwrap();
    assert!(created.id > 0);

    let node = ws.get(created.id).await.unwrap();
    assert_eq!(node.name, "P-2001 Harbor Bridge");
    assert_eq!(node.node_type, TYPE_BUSINESS_WORKSPACE);
    assert_eq!(node.description.as_deref(), Some("bridge project"));
    // Default location from the workspace type.
    let location = env.id(&["workspace_types", "Project", "location_id"]);
    assert_eq!(node.parent_id, Some(location));

    let mut folders: Vec<String> = ws
        .folders(created.id)
        .map_ok(|n| n.name)
        .try_collect()
        .await
        .unwrap();
    folders.sort();
    assert_eq!(
        folders,
        ["Contracts", "Correspondence", "Drawings", "Handover"]
    );

    let cat = client.categories().get(created.id, closeout).await.unwrap();
    assert_eq!(cat.value(&key("Project Id")).unwrap(), "P-2001");
    assert_eq!(cat.value(&key("Project Manager")).unwrap(), "Ada");

    let by_bo = ws
        .by_business_object(&ext, &bo_type, "P-2001")
        .await
        .unwrap();
    assert_eq!(by_bo.id, created.id);
    let by_name = ws
        .find_by_name("P-2001 Harbor Bridge", Some(kind))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_name.id, created.id);
    assert!(ws.find_by_name("P-2001", None).await.unwrap().is_none());
    let of_type: Vec<i64> = ws
        .find()
        .workspace_type_name("Project")
        .into_stream()
        .map_ok(|n| n.id)
        .try_collect()
        .await
        .unwrap();
    assert!(of_type.contains(&created.id), "{of_type:?}");

    // The same business object again, or the required category values missing: refused.
    let err = ws
        .create(template, kind)
        .name("P-2001 again")
        .business_object(&ext, &bo_type, "P-2001")
        .categories(CategoryValues::new().set(key("Project Id"), "P-2001").set(
            key("Closed On"),
            NaiveDate::from_ymd_opt(2026, 6, 30).unwrap(),
        ))
        .await
        .unwrap_err();
    assert!(err.status().is_some(), "{err:?}");
    let err = ws
        .create(template, kind)
        .name("P-2002 No Values")
        .categories(CategoryValues::new().set(key("Project Manager"), "Ada"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err:?}");
    let missing = ws
        .by_business_object(&ext, &bo_type, "P-9999")
        .await
        .unwrap_err();
    assert!(missing.status().is_some(), "{missing:?}");
}
