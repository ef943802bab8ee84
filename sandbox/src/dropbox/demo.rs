//! Seed data: the accounts and credentials (always), and the demo files, tags, property
//! template and file request of the demo seed contract. Ids are stable for a given seed.

use std::io;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Value};

use super::auth::{APP_KEY, APP_SECRET, REFRESH_TOKEN, STATIC_TOKEN, STATIC_TOKEN_2, TEAM_TOKEN};
use super::blobs::BlobStore;
use super::file_properties::{insert_template, Template};
use super::file_requests::{self, FileRequest};
use super::state::{lower, Account, FileRev, Loc, Store, View, TEAM_NS};
use crate::seed::Seed;

/// The fixed date of the seed data.
pub(crate) fn seed_date() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 15, 9, 0, 0)
        .single()
        .unwrap_or_default()
}

const DANA_FILES: [&str; 13] = [
    "/Marketing/Campaign 2026/Drafts/Brief.docx",
    "/Marketing/Campaign 2026/Drafts/Banner v1.png",
    "/Marketing/Campaign 2026/Approved/Press Release.pdf",
    "/Marketing/Campaign 2026/Approved/Brand Guidelines.pdf",
    "/Marketing/Campaign 2026/Approved/Launch Plan.xlsx",
    "/Projects/P-1042 Riverside Tower/Drawings/Site Plan.pdf",
    "/Projects/P-1042 Riverside Tower/Drawings/Elevations.pdf",
    "/Projects/P-1042 Riverside Tower/Contracts/Main Contract.pdf",
    "/Projects/P-1042 Riverside Tower/Handover/Completion Certificate.pdf",
    "/HR/Policies/Drafts/Remote Work Policy.docx",
    "/HR/Policies/Drafts/Travel Policy.docx",
    "/Finance/Tax Intake",
    "/Shared/Outside Counsel",
];

const TEAM_FILES: [&str; 4] = [
    "/Legal/Contracts/NDA Template.docx",
    "/Legal/Contracts/MSA 2025.pdf",
    "/Finance/Reports/Q3 Report.xlsx",
    "/Finance/Reports/Q4 Report.xlsx",
];

fn accounts() -> Vec<Account> {
    vec![
        Account {
            account_id: format!("dbid:AA{:0<33}", "DanaDemoSandboxAccount"),
            team_member_id: "dbmid:dana".into(),
            uid: 1001,
            given: "Dana",
            surname: "Demo",
            email: "dana@example.com",
            home_ns: 1001,
            team_space: true,
            admin: true,
        },
        Account {
            account_id: format!("dbid:AB{:0<33}", "OluOutsideSandboxAccount"),
            team_member_id: "dbmid:olu".into(),
            uid: 1002,
            given: "Olu",
            surname: "Outside",
            email: "olu@example.org",
            home_ns: 1002,
            team_space: false,
            admin: false,
        },
    ]
}

/// Generated, readable contents for a seeded file (a few KiB).
fn contents(path: &str) -> Vec<u8> {
    let mut text =
        format!("{path}\nSandbox demo document. Generated content, stable for every start.\n");
    let line = format!(
        "{} - lorem ipsum dolor sit amet, consectetur adipiscing elit.\n",
        path
    );
    for i in 0..40 {
        text.push_str(&format!("{i:03} {line}"));
    }
    text.into_bytes()
}

fn put(store: &mut Store, blobs: &BlobStore, ns: u64, path: &str) -> io::Result<()> {
    let view = View::namespace(ns);
    let loc = Loc {
        view,
        lower: lower(path),
        display: path.to_owned(),
    };
    store
        .ensure_parents(&loc)
        .map_err(|e| io::Error::other(format!("seed: {e:?}")))?;
    if !path.rsplit('/').next().unwrap_or("").contains('.') {
        store.insert_folder(ns, &loc.lower, path, None);
        return Ok(());
    }
    let (blob, received) = blobs.put_bytes(&contents(path))?;
    let rev = store.new_rev(ns);
    store.write_file(
        ns,
        &loc.lower,
        path,
        None,
        FileRev {
            rev,
            size: received.len,
            content_hash: received.hash,
            blob,
            client_modified: seed_date(),
            server_modified: seed_date(),
        },
    );
    Ok(())
}

fn tag(store: &mut Store, ns: u64, path: &str, tag: &str) {
    if let Some(node) = store.node_mut(ns, &lower(path)) {
        node.tags.push(tag.to_owned());
    }
}

/// Fills a fresh store.
pub(crate) fn seed(store: &mut Store, blobs: &BlobStore, seed: Seed) -> io::Result<()> {
    store.accounts = accounts();
    for ns in [1001, 1002, TEAM_NS] {
        store.ns_mut(ns);
    }
    if seed == Seed::Empty {
        return Ok(());
    }
    for path in DANA_FILES {
        put(store, blobs, 1001, path)?;
    }
    for path in TEAM_FILES {
        put(store, blobs, TEAM_NS, path)?;
    }
    tag(
        store,
        1001,
        "/Marketing/Campaign 2026/Approved/Press Release.pdf",
        "approved",
    );
    tag(store, 1001, "/Projects/P-1042 Riverside Tower", "closed");
    tag(
        store,
        1001,
        "/HR/Policies/Drafts/Remote Work Policy.docx",
        "ready_for_approval",
    );
    insert_template(
        store,
        Template {
            owner: 0,
            name: "Governance".into(),
            description: "Records governance of a document archived to Content Server".into(),
            fields: vec![
                ("status".into(), "Governance status".into()),
                ("cs_node_id".into(), "Content Server node id".into()),
                ("retention_class".into(), "RM classification".into()),
            ],
        },
    );
    file_requests::insert(
        store,
        FileRequest {
            id: String::new(),
            owner: 0,
            title: "Outside tax documents".into(),
            destination: "/Finance/Tax Intake".into(),
            created: seed_date(),
            deadline: Some((seed_date() + Duration::days(30), Some("always".into()))),
            is_open: true,
            file_count: 0,
            description: Some("Upload your tax documents for the current year.".into()),
        },
    );
    // The (empty) folder `version_sync` pairs with `Collaboration/Joint Venture` in CS;
    // last, so every id above stays what it was.
    put(store, blobs, 1001, "/Joint Venture")?;
    Ok(())
}

/// The manifest of seeded ids.
pub(crate) fn manifest(store: &Store) -> Value {
    let tokens = [STATIC_TOKEN, STATIC_TOKEN_2];
    let accounts: Vec<Value> = store
        .accounts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            json!({
                "account_id": a.account_id, "team_member_id": a.team_member_id,
                "display_name": a.display_name(), "email": a.email,
                "home_namespace_id": a.home_ns.to_string(), "token": tokens.get(i),
                "root_info": a.root_info(),
            })
        })
        .collect();
    let paths = |ns: u64| -> Value {
        let map: serde_json::Map<String, Value> = store
            .namespaces
            .get(&ns)
            .map(|s| {
                s.nodes
                    .values()
                    .map(|n| (n.display.clone(), json!(n.id)))
                    .collect()
            })
            .unwrap_or_default();
        Value::Object(map)
    };
    let requests: Vec<Value> = store.file_requests.values().map(|r| r.json()).collect();
    let templates: Vec<Value> = store
        .templates
        .iter()
        .map(|(id, t)| json!({"template_id": id, "name": t.name, "owner_account_id": store.accounts[t.owner].account_id}))
        .collect();
    json!({
        "accounts": accounts,
        "team": {"namespace_id": TEAM_NS.to_string(), "token": TEAM_TOKEN,
                 "path_root": {".tag": "namespace_id", "namespace_id": TEAM_NS.to_string()}},
        "oauth": {"app_key": APP_KEY, "app_secret": APP_SECRET, "refresh_token": REFRESH_TOKEN},
        "paths": paths(1001),
        "team_paths": paths(TEAM_NS),
        "file_requests": requests,
        "property_templates": templates,
    })
}
