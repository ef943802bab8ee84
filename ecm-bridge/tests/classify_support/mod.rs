//! What the classify_and_route end-to-end tests share: the intake files, the flow as the
//! example configures it, and the read-backs of both sides.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use contentserver_client::api::nodes::Node;
use dropbox_client::models::files::{CommitInfo, GetMetadataArg, Metadata};
use ecm_bridge::flows::classify_and_route::{
    ClassifyAndRoute, ClassifyConfig, ClassifyFlow, QuarantineTarget,
};
use ecm_bridge::runner::RetryPolicy;
use ecm_bridge::state::SqliteStore;

use crate::support::Env;

pub const CONFIG: &str = include_str!("../../../examples/config/classify.toml");

pub const LONG: &str = "P-1042 Riverside Tower structural survey of the east and west cores, \
    including the basement levels, the podium transfer slab, the tower crane foundations, \
    the facade anchor points, and every remark of the independent checking engineer so far (rev 2).pdf";

/// (Dropbox path, CS folder under the Enterprise Workspace, name in CS, original name if
/// adapted).
pub fn filed() -> Vec<(&'static str, &'static str, String, Option<&'static str>)> {
    vec![
        (
            "/Intake/Finance/INV-2026-001 Acme.pdf",
            "Finance/Invoices/2026",
            "INV-2026-001 Acme.pdf".into(),
            None,
        ),
        (
            "/Intake/Projects/P-1042 Site Survey.pdf",
            "Projects/P-1042/Intake",
            "P-1042 Site Survey.pdf".into(),
            None,
        ),
        (
            "/Intake/Projects/P-1042 Minutes 12:30.docx",
            "Projects/P-1042/Intake",
            "P-1042 Minutes 12-30.docx".into(),
            Some("P-1042 Minutes 12:30.docx"),
        ),
        (
            "/Intake/Projects/LONG",
            "Projects/P-1042/Intake",
            ecm_bridge::names::adapt(LONG),
            Some(LONG),
        ),
    ]
}

pub const COLLIDING: [&str; 2] = [
    "/Intake/Finance/INV-2026-002 Globex.pdf",
    "/Intake/Finance/Scans/inv-2026-002 globex.pdf",
];
pub const UNCLASSIFIED: &str = "/Intake/Finance/notes.bin";
pub const OUTSIDE: &str = "/Scratch/INV-2026-009 Elsewhere.pdf";

pub fn real_path(p: &str) -> String {
    p.replace("LONG", LONG)
}

pub async fn upload(env: &Env, path: &str, body: &str) {
    env.dropbox
        .files()
        .upload_bytes(CommitInfo::new(path), Bytes::from(body.to_owned()))
        .await
        .unwrap();
}

/// The intake files of the test, written as an outside party would drop them.
pub async fn seed_intake(env: &Env) {
    for (p, ..) in filed() {
        let p = real_path(p);
        upload(env, &p, &format!("{p}\nintake document")).await;
    }
    for p in COLLIDING.iter().chain([&UNCLASSIFIED, &OUTSIDE]) {
        upload(env, p, &format!("{p}\nintake document")).await;
    }
}

pub fn config(quarantine: QuarantineTarget) -> ClassifyConfig {
    let mut c = ClassifyConfig::from_toml(CONFIG).unwrap();
    c.quarantine = quarantine;
    c
}

pub fn build(env: &Env, store: Arc<SqliteStore>, config: ClassifyConfig) -> ClassifyFlow {
    build_on(env.dropbox.clone(), env.cs.clone(), store, config)
}

/// [`build`] on these clients (the reliability scenario's, with a short timeout).
pub fn build_on(
    dropbox: dropbox_client::Client,
    cs: contentserver_client::Client,
    store: Arc<SqliteStore>,
    config: ClassifyConfig,
) -> ClassifyFlow {
    ClassifyAndRoute::new(dropbox, cs, store, config)
        .retry(RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(100),
            multiplier: 2,
            jitter: false,
        })
        .build()
        .unwrap()
}

/// The rules plus one that files `.bin` notes.
pub fn with_bin_rule(mut c: ClassifyConfig) -> ClassifyConfig {
    let extra = ClassifyConfig::from_toml(
        r#"
        intake = ["/x"]
        [[rule]]
        name = "notes"
        extensions = ["bin"]
        target = { cs_folder = "Finance/Notes" }
        [rule.categories."Intake Classification"]
        "Department" = "Finance"
        "Document Type" = "Note"
        "#,
    )
    .unwrap();
    c.rules.extend(extra.rules);
    c
}

pub async fn cs_node(env: &Env, folder: &str, name: &str) -> Option<Node> {
    let ews = env.cs.nodes().enterprise_workspace().await.unwrap();
    let mut path: Vec<&str> = folder.split('/').collect();
    path.push(name);
    env.cs.nodes().resolve_path(ews.id, &path).await.unwrap()
}

pub async fn cs_children(env: &Env, folder: &str) -> Vec<Node> {
    use futures::TryStreamExt;
    let ews = env.cs.nodes().enterprise_workspace().await.unwrap();
    let path: Vec<&str> = folder.split('/').collect();
    let Some(f) = env.cs.nodes().resolve_path(ews.id, &path).await.unwrap() else {
        return Vec::new();
    };
    env.cs
        .nodes()
        .children(f.id)
        .into_stream()
        .try_collect()
        .await
        .unwrap()
}

pub async fn category(env: &Env, node: i64, cat: &str) -> BTreeMap<String, serde_json::Value> {
    let cats = env.cs.categories().list(node).await.unwrap();
    let c = cats
        .iter()
        .find(|c| c.name.as_deref() == Some(cat))
        .unwrap_or_else(|| panic!("node {node}: no category {cat}: {cats:?}"));
    c.attributes
        .iter()
        .filter_map(|a| {
            let v = c.values.get(&a.key).cloned().unwrap_or_default();
            Some((a.name.clone()?, v))
        })
        .collect()
}

pub async fn rm_class(env: &Env, node: i64) -> Vec<String> {
    let rm = env.cs.records().details(node).await.unwrap();
    rm.records.iter().filter_map(|r| r.name.clone()).collect()
}

pub async fn dropbox_exists(env: &Env, path: &str) -> bool {
    match env
        .dropbox
        .files()
        .get_metadata(GetMetadataArg::new(path))
        .await
    {
        Ok(Metadata::File(_)) => true,
        Ok(_) => false,
        Err(e) if e.kind() == dropbox_client::ErrorKind::NotFound => false,
        Err(e) => panic!("{path}: {e}"),
    }
}

/// Asserts what both sides hold after the first (or any later) run with the example's rules.
pub async fn assert_filed(env: &Env) {
    for (path, folder, name, original) in filed() {
        let path = real_path(path);
        let node = cs_node(env, folder, &name)
            .await
            .unwrap_or_else(|| panic!("{path}: not filed as {folder}/{name}"));
        assert_eq!(
            env.cs_bytes(node.id, None).await,
            env.dropbox_bytes(&path).await,
            "{path}: bytes"
        );
        assert_eq!(env.cs_versions(node.id).await.len(), 1, "{path}: versions");
        let c = category(env, node.id, "Intake Classification").await;
        if folder.starts_with("Projects") {
            assert_eq!(c["Project Id"], "P-1042", "{path}: {c:?}");
            assert_eq!(c["Department"], "Projects");
            assert_eq!(c["Retention Schedule"], "PRJ-10: 10 years");
            assert_eq!(rm_class(env, node.id).await, ["PRJ-10 Project Records"]);
        } else {
            assert_eq!(c["Department"], "Finance", "{path}: {c:?}");
            assert_eq!(c["Document Type"], "Invoice");
            assert_eq!(c["Retention Schedule"], "FIN-07: 10 years");
            assert_eq!(rm_class(env, node.id).await, ["FIN-07 Tax Records"]);
        }
        match original {
            Some(o) => {
                let kept = c["Original Name"].as_str().unwrap_or_default().to_owned();
                if o.chars().count() <= 248 {
                    assert_eq!(kept, o, "{path}: original name");
                } else {
                    // Cut to fit a text attribute; whole in the description's source path.
                    assert!(kept.ends_with('…') && o.starts_with(kept.trim_end_matches('…')));
                    assert!(node.description.as_deref().unwrap_or_default().contains(o));
                }
            }
            None => assert!(c["Original Name"].is_null(), "{path}: {c:?}"),
        }
    }
    // The two invoices whose names collide after case folding: both filed, one renamed.
    let invoices: Vec<Node> = cs_children(env, "Finance/Invoices/2026")
        .await
        .into_iter()
        .filter(|n| n.name.to_lowercase().starts_with("inv-2026-002"))
        .collect();
    assert_eq!(invoices.len(), 2, "{invoices:?}");
    let plain: Vec<&Node> = invoices.iter().filter(|n| !n.name.contains('~')).collect();
    assert_eq!(plain.len(), 1, "{invoices:?}");
    let renamed = invoices.iter().find(|n| n.name.contains('~')).unwrap();
    let c = category(env, renamed.id, "Intake Classification").await;
    let original = c["Original Name"].as_str().unwrap().to_owned();
    assert_eq!(original.to_lowercase(), "inv-2026-002 globex.pdf");
    assert_ne!(original, plain[0].name, "{invoices:?}");
    // Outside the intake folders: untouched, not filed.
    assert!(dropbox_exists(env, OUTSIDE).await);
    assert!(
        cs_node(env, "Finance/Invoices/2026", "INV-2026-009 Elsewhere.pdf")
            .await
            .is_none()
    );
}

pub async fn assert_quarantined_in_dropbox(env: &Env) {
    assert!(!dropbox_exists(env, UNCLASSIFIED).await);
    assert!(dropbox_exists(env, &format!("/Quarantine{UNCLASSIFIED}")).await);
    assert!(cs_node(env, "Finance/Notes", "notes.bin").await.is_none());
}
