//! Property templates and the property groups attached to files, tags, and search by name.

use bytes::Bytes;
use dropbox_client::models::file_properties::{
    PropertiesError, PropertyField, PropertyFieldTemplate, PropertyGroup, PropertyGroupTemplate,
    PropertyGroupUpdate, TemplateFilterBase,
};
use dropbox_client::models::files::{
    GetMetadataArg, ListFolderArg, Metadata, SearchOptions, SearchV2Arg, TagError,
};
use futures::TryStreamExt;

use crate::common::{self, client, list, start};

const PRESS: &str = "/Marketing/Campaign 2026/Approved/Press Release.pdf";
const BRIEF: &str = "/Marketing/Campaign 2026/Drafts/Brief.docx";

/// The property groups of a file, as `get_metadata` reports them for `template_id`.
async fn groups_of(
    c: &dropbox_client::Client,
    path: &str,
    template_id: &str,
) -> Vec<PropertyGroup> {
    let meta = c
        .files()
        .get_metadata(
            GetMetadataArg::new(path)
                .include_property_groups(TemplateFilterBase::FilterSome(vec![template_id.into()])),
        )
        .await
        .unwrap();
    match meta {
        Metadata::File(f) => f.property_groups.unwrap_or_default(),
        Metadata::Folder(f) => f.property_groups.unwrap_or_default(),
        Metadata::Deleted(_) => panic!("deleted"),
    }
}

/// The fields of a group, sorted by name.
fn fields(group: &PropertyGroup) -> Vec<(String, String)> {
    let mut f: Vec<(String, String)> = group
        .fields
        .iter()
        .map(|f| (f.name.clone(), f.value.clone()))
        .collect();
    f.sort();
    f
}

#[tokio::test]
async fn templates_and_properties() {
    let sb = start().await;
    let c = client(&sb);
    let props = c.file_properties();

    // The seeded "Governance" template.
    let seeded = common::manifest(&sb, "/property_templates/0/template_id");
    let governance_id = seeded.as_str().unwrap().to_owned();
    let listed = props.list_templates_for_user().await.unwrap();
    assert_eq!(listed.template_ids, std::slice::from_ref(&governance_id));
    let governance = props
        .get_template_for_user(governance_id.clone())
        .await
        .unwrap();
    assert_eq!(governance.name, "Governance");
    let mut names: Vec<&str> = governance.fields.iter().map(|f| f.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["cs_node_id", "retention_class", "status"]);

    // A new template.
    let added = props
        .add_template_for_user(&PropertyGroupTemplate {
            name: "Review".into(),
            description: "Review state".into(),
            fields: vec![
                PropertyFieldTemplate::string("reviewer", "Who reviews"),
                PropertyFieldTemplate::string("due", "When"),
            ],
        })
        .await
        .unwrap();
    assert!(
        added.template_id.starts_with("ptid:"),
        "{}",
        added.template_id
    );
    let mut ids = props.list_templates_for_user().await.unwrap().template_ids;
    ids.sort();
    let mut expected = vec![governance_id.clone(), added.template_id.clone()];
    expected.sort();
    assert_eq!(ids, expected);
    assert_eq!(
        props
            .get_template_for_user(added.template_id.clone())
            .await
            .unwrap()
            .fields
            .len(),
        2
    );
    let err = props
        .get_template_for_user("ptid:unknown")
        .await
        .unwrap_err();
    assert_eq!(common::tags(&err)[0], "template_not_found");

    // add → visible through get_metadata and list_folder.
    let group = |pairs: &[(&str, &str)]| PropertyGroup {
        template_id: governance_id.clone(),
        fields: pairs
            .iter()
            .map(|(n, v)| PropertyField::new(*n, *v))
            .collect(),
    };
    props
        .add(
            PRESS,
            vec![group(&[("status", "approved"), ("cs_node_id", "4711")])],
        )
        .await
        .unwrap();
    let got = groups_of(&c, PRESS, &governance_id).await;
    assert_eq!(got.len(), 1);
    assert_eq!(
        fields(&got[0]),
        [
            ("cs_node_id".to_owned(), "4711".to_owned()),
            ("status".to_owned(), "approved".to_owned())
        ]
    );
    let entries = list(
        &c,
        ListFolderArg::new("/Marketing/Campaign 2026/Approved")
            .include_property_groups(TemplateFilterBase::FilterSome(vec![governance_id.clone()])),
    )
    .await;
    let press = entries
        .iter()
        .find_map(|m| m.as_file().filter(|f| f.name == "Press Release.pdf"))
        .unwrap();
    assert_eq!(press.property_groups.as_ref().map(Vec::len), Some(1));
    // A second add of the same template is refused.
    let err = props
        .add(PRESS, vec![group(&[("status", "again")])])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.api().unwrap().route_error::<PropertiesError>(),
            Some(PropertiesError::PropertyGroupAlreadyExists)
        ),
        "{err:?}"
    );
    // A field the template does not have is refused.
    let err = props
        .add(BRIEF, vec![group(&[("colour", "blue")])])
        .await
        .unwrap_err();
    assert_eq!(common::tags(&err), ["does_not_fit_template"]);

    // update: change one field, remove another.
    props
        .update(
            PRESS,
            vec![PropertyGroupUpdate {
                template_id: governance_id.clone(),
                add_or_update_fields: Some(vec![
                    PropertyField::new("status", "archived"),
                    PropertyField::new("retention_class", "MKT-01"),
                ]),
                remove_fields: Some(vec!["cs_node_id".into()]),
            }],
        )
        .await
        .unwrap();
    let got = groups_of(&c, PRESS, &governance_id).await;
    assert_eq!(
        fields(&got[0]),
        [
            ("retention_class".to_owned(), "MKT-01".to_owned()),
            ("status".to_owned(), "archived".to_owned())
        ]
    );

    // overwrite: the whole group is replaced.
    props
        .overwrite(PRESS, vec![group(&[("cs_node_id", "9000")])])
        .await
        .unwrap();
    let got = groups_of(&c, PRESS, &governance_id).await;
    assert_eq!(
        fields(&got[0]),
        [("cs_node_id".to_owned(), "9000".to_owned())]
    );

    // Groups can come with the upload itself (CommitInfo.property_groups).
    let uploaded = c
        .files()
        .upload_bytes(
            dropbox_client::models::files::CommitInfo::new("/Suite/Props/tagged.txt")
                .property_groups(vec![group(&[("status", "received")])]),
            Bytes::from_static(b"with properties"),
        )
        .await
        .unwrap();
    let got = groups_of(&c, &uploaded.id, &governance_id).await;
    assert_eq!(
        got.iter().map(fields).collect::<Vec<_>>(),
        [vec![("status".to_owned(), "received".to_owned())]]
    );

    // remove: no group left; removing again is a lookup error.
    props
        .remove(PRESS, vec![governance_id.clone()])
        .await
        .unwrap();
    assert!(groups_of(&c, PRESS, &governance_id).await.is_empty());
    let err = props
        .remove(PRESS, vec![governance_id.clone()])
        .await
        .unwrap_err();
    assert_eq!(common::tags(&err)[0], "property_group_lookup");
    let err = props
        .add("/No/Such.pdf", vec![group(&[("status", "x")])])
        .await
        .unwrap_err();
    assert_eq!(common::tags(&err), ["path", "not_found"]);
}

#[tokio::test]
async fn tags_add_get_and_remove() {
    let sb = start().await;
    let c = client(&sb);
    let files = c.files();
    let seeded = files
        .get_tags([PRESS, "/Projects/P-1042 Riverside Tower", BRIEF])
        .await
        .unwrap();
    let texts: Vec<Vec<&str>> = seeded
        .paths_to_tags
        .iter()
        .map(|p| p.tags.iter().filter_map(|t| t.text()).collect())
        .collect();
    assert_eq!(texts, [vec!["approved"], vec!["closed"], vec![]]);
    assert_eq!(seeded.paths_to_tags[0].path, PRESS);

    // The server lower-cases tags.
    files.add_tag(BRIEF, "Needs_Review").await.unwrap();
    files.add_tag(BRIEF, "q1").await.unwrap();
    let got = files.get_tags([BRIEF]).await.unwrap();
    let mut texts: Vec<&str> = got.paths_to_tags[0]
        .tags
        .iter()
        .filter_map(|t| t.text())
        .collect();
    texts.sort();
    assert_eq!(texts, ["needs_review", "q1"]);

    files.remove_tag(BRIEF, "needs_review").await.unwrap();
    let got = files.get_tags([BRIEF]).await.unwrap();
    let texts: Vec<&str> = got.paths_to_tags[0]
        .tags
        .iter()
        .filter_map(|t| t.text())
        .collect();
    assert_eq!(texts, ["q1"]);
    let err = files.remove_tag(BRIEF, "needs_review").await.unwrap_err();
    assert!(
        matches!(
            err.api().unwrap().route_error::<TagError>(),
            Some(TagError::TagNotPresent)
        ),
        "{err:?}"
    );
    let err = files.add_tag("/No/Such.docx", "x").await.unwrap_err();
    assert_eq!(common::tags(&err), ["path", "not_found"]);
    // Tags follow the pattern [\w]+: a space is malformed input.
    let err = files.add_tag(BRIEF, "two words").await.unwrap_err();
    assert!(err.api().is_some_and(|a| a.status == 400), "{err:?}");
}

#[tokio::test]
async fn search_by_name_with_paging() {
    let sb = start().await;
    let c = client(&sb);
    let files = c.files();

    let found = files.search("Policy").await.unwrap();
    let mut names: Vec<String> = found
        .matches
        .iter()
        .filter_map(|m| match &m.metadata {
            dropbox_client::models::files::MetadataV2::Metadata(md) => Some(md.name().to_owned()),
            _ => None,
        })
        .collect();
    names.sort();
    assert_eq!(names, ["Remote Work Policy.docx", "Travel Policy.docx"]);

    // Scoped to a folder, limited to one result per page, followed to the end.
    for i in 0..3 {
        files
            .upload_bytes(
                format!("/Suite/Search/Quarterly summary {i}.txt"),
                Bytes::from(format!("summary {i}")),
            )
            .await
            .unwrap();
    }
    let arg = SearchV2Arg::new("quarterly").options(SearchOptions {
        path: Some("/Suite".into()),
        max_results: Some(1),
        ..Default::default()
    });
    let first = files.search(arg.clone()).await.unwrap();
    assert_eq!(first.matches.len(), 1);
    assert!(first.has_more);
    assert!(first.cursor.is_some());
    let all: Vec<Metadata> = files.search(arg).into_stream().try_collect().await.unwrap();
    let mut names: Vec<&str> = all.iter().map(|m| m.name()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "Quarterly summary 0.txt",
            "Quarterly summary 1.txt",
            "Quarterly summary 2.txt"
        ]
    );
    assert!(common::calls(&sb, "/2/files/search/continue_v2") >= 2);

    let none = files.search("no-such-name-anywhere").await.unwrap();
    assert!(none.matches.is_empty());
    assert!(!none.has_more);
}
