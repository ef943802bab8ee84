//! Bad input end to end against the sandbox, table-driven (`classify_and_route`, the flow that
//! files whatever lands in an intake folder): names Content Server refuses and names that
//! collide after case folding or NFC/NFD, under both name policies; empty files; category
//! values that break the attribute rules; files deleted or changed between the listing and
//! the download. Each case ends filed under the documented adaptation with its original kept,
//! or failed with an error that names the document. Never a silent drop: every file is in
//! exactly one list of the report.

mod classify_support;
mod support;

use std::collections::HashSet;

use bytes::Bytes;
use classify_support::*;
use dropbox_client::models::files::{CommitInfo, WriteMode};
use ecm_bridge::flows::classify_and_route::ClassifyConfig;
use ecm_bridge::names::{self, NamePolicy};
use ecm_bridge::runner::Report;
use futures::TryStreamExt;
use support::Env;

const INTAKE: &str = "/Intake/Bad";

fn config(policy: NamePolicy, extra_rules: &str) -> ClassifyConfig {
    let text = format!(
        r#"
        intake = ["{INTAKE}"]
        [names]
        policy = "{}"
        original_name = {{ category = "Intake Classification", attribute = "Original Name" }}
        [[rule]]
        name = "all"
        folder = "{{Intake/Bad,Intake/Bad/**}}"
        target = {{ cs_folder = "Bad" }}
        [rule.categories."Intake Classification"]
        "Department" = "Legal"
        {extra_rules}
        "#,
        match policy {
            NamePolicy::Adapt => "adapt",
            NamePolicy::Refuse => "refuse",
        }
    );
    ClassifyConfig::from_toml(&text).unwrap()
}

/// Names (in sub-folders so that Dropbox, which folds case too, holds them all), and the name
/// CS should show under `adapt`. Names that fold alike in the one target folder: one of them
/// gets that name, the others the same made unique (`~` and a hash of the source id).
fn name_cases() -> Vec<(String, String)> {
    let long = format!("{}.pdf", "Long name ".repeat(25)); // 254: Dropbox takes 255
    let resume = "R\u{e9}sum\u{e9}.pdf".to_owned();
    vec![
        ("/a/Q1: Plan.pdf".into(), "Q1- Plan.pdf".into()),
        ("/a/12:30 Minutes.docx".into(), "12-30 Minutes.docx".into()),
        ("/a/Report.".into(), "Report".into()),
        ("/a/Trailing dots...".into(), "Trailing dots".into()),
        ("/a/😀 Party.jpg".into(), "😀 Party.jpg".into()),
        ("/a/Re\u{301}sume\u{301}.pdf".into(), resume.clone()),
        ("/b/R\u{e9}sum\u{e9}.pdf".into(), resume),
        ("/a/Minutes.pdf".into(), "Minutes.pdf".into()),
        ("/b/MINUTES.pdf".into(), "MINUTES.pdf".into()),
        ("/c/minutes.PDF".into(), "minutes.PDF".into()),
        (format!("/a/{long}"), names::adapt(&long)),
        ("/a/a:b:c.txt".into(), "a-b-c.txt".into()),
        ("/a/empty.txt".into(), "empty.txt".into()),
    ]
}

async fn seed(env: &Env, paths: &[String]) {
    for p in paths {
        let body = if p.ends_with("empty.txt") {
            String::new()
        } else {
            format!("{p}\nbody")
        };
        env.dropbox
            .files()
            .upload_bytes(CommitInfo::new(format!("{INTAKE}{p}")), Bytes::from(body))
            .await
            .unwrap_or_else(|e| panic!("{p}: the sandbox refused the upload: {e}"));
    }
}

/// Every intake file is in exactly one list of the report: nothing dropped.
fn accounted(report: &Report, n: usize) {
    let mut seen = HashSet::new();
    let paths = report
        .written
        .iter()
        .map(|w| w.path.clone())
        .chain(report.failed.iter().filter_map(|f| f.path.clone()))
        .chain(report.skipped.iter().map(|s| s.path.clone()))
        .chain(report.quarantined.iter().map(|q| q.path.clone()));
    for p in paths {
        assert!(seen.insert(p.clone()), "{p} reported twice");
    }
    assert_eq!(seen.len(), n, "{}", report.summary());
}

#[tokio::test]
async fn bad_names_are_adapted_with_the_original_kept_or_refused_by_name() {
    let cases = name_cases();
    let paths: Vec<String> = cases.iter().map(|(p, _)| p.clone()).collect();

    // adapt: every file filed once, under its adapted (or disambiguated) name.
    let env = Env::start().await;
    seed(&env, &paths).await;
    let flow = build(&env, env.state(), config(NamePolicy::Adapt, ""));
    let report = flow.run_once().await.unwrap().run;
    assert!(report.failed.is_empty(), "{:#?}", report.failed);
    accounted(&report, cases.len());
    let docs = cs_children(&env, "Bad").await;
    assert_eq!(docs.len(), cases.len(), "{docs:?}");
    let keys: HashSet<String> = docs.iter().map(|d| names::fold_key(&d.name)).collect();
    assert_eq!(keys.len(), docs.len(), "two names fold alike: {docs:?}");
    let mut plain = std::collections::HashMap::<String, usize>::new();
    for (path, want) in &cases {
        let original = path.rsplit('/').next().unwrap();
        let w = report
            .written
            .iter()
            .find(|w| w.path.ends_with(&path[1..]))
            .unwrap_or_else(|| panic!("{path}: not written"));
        let node = w.target.as_ref().unwrap().id.parse::<i64>().unwrap();
        let doc = docs.iter().find(|d| d.id == node).unwrap();
        if doc.name == *want {
            *plain.entry(names::fold_key(want)).or_default() += 1;
        } else {
            let stem = want.rsplit_once('.').map_or(want.as_str(), |(s, _)| s);
            let prefix: String = stem.chars().take(200).collect();
            assert!(
                doc.name.starts_with(&prefix) && doc.name.contains('~'),
                "{path}: {:?}, want {want:?} or it made unique",
                doc.name
            );
        }
        assert!(names::problems(&doc.name).is_empty(), "{:?}", doc.name);
        // Lossless: a renamed document keeps its original spelling in CS.
        let kept = category(&env, node, "Intake Classification").await;
        if doc.name != original {
            // The report (and the record) keep it whole; the attribute holds 248 characters,
            // so a longer original is cut there with a final `…` (see the README).
            let attr = kept["Original Name"].as_str().unwrap();
            if original.chars().count() <= names::MAX_NAME_CHARS {
                assert_eq!(attr, original, "{path}: {kept:?}");
            } else {
                let whole = w
                    .metadata
                    .get(ecm_bridge::flows::classify_and_route::ORIGINAL_NAME);
                assert_eq!(
                    whole.map(|v| v.to_string()).as_deref(),
                    Some(original),
                    "{path}"
                );
                let head: String = original.chars().take(names::MAX_NAME_CHARS - 1).collect();
                assert_eq!(attr, format!("{head}…"), "{path}");
            }
        }
        let bytes = env.cs_bytes(node, None).await;
        assert_eq!(
            bytes,
            env.dropbox_bytes(&format!("{INTAKE}{path}")).await,
            "{path}"
        );
    }
    // One plain name per group of names that fold alike.
    let groups: HashSet<String> = cases.iter().map(|(_, w)| names::fold_key(w)).collect();
    assert_eq!(plain.len(), groups.len(), "{plain:?}");
    assert!(plain.values().all(|n| *n == 1), "{plain:?}");
    let empty = docs.iter().find(|d| d.name == "empty.txt").unwrap();
    assert!(env.cs_bytes(empty.id, None).await.is_empty());
    let again = flow.run_once().await.unwrap().run;
    assert!(
        again.written.is_empty() && again.failed.is_empty(),
        "{}",
        again.summary()
    );

    // refuse: each refused name fails with an error naming the file; the others are filed.
    let env = Env::start().await;
    seed(&env, &paths).await;
    let flow = build(&env, env.state(), config(NamePolicy::Refuse, ""));
    let report = flow.run_once().await.unwrap().run;
    accounted(&report, cases.len());
    let mut filed_per_group = std::collections::HashMap::<String, usize>::new();
    for (path, want) in &cases {
        let name = path.rsplit('/').next().unwrap();
        let failed = report
            .failed
            .iter()
            .find(|f| f.path.as_deref().is_some_and(|p| p.ends_with(&path[1..])));
        if !names::problems(name).is_empty() {
            let f = failed.unwrap_or_else(|| panic!("{path}: not refused"));
            assert!(
                f.error.contains(&format!("{name:?}")),
                "{path}: {}",
                f.error
            );
            assert!(f.error.contains("names policy: refuse"), "{}", f.error);
            continue;
        }
        // A good name is filed, unless another of its group took the name first: then it
        // is refused as a collision, by name.
        let group = filed_per_group.entry(names::fold_key(want)).or_default();
        match failed {
            None => *group += 1,
            Some(f) => assert!(
                f.error.contains(&format!("{name:?}")) && f.error.contains("collides"),
                "{path}: {}",
                f.error
            ),
        }
    }
    assert!(
        filed_per_group.values().all(|n| *n == 1),
        "{filed_per_group:?}"
    );
}

/// Category values that break the attribute rules of `Intake Classification` (a value not in
/// the valid values, too long a text, an unknown attribute or category, two values for a
/// single-valued attribute): each file fails with an error naming it and what is wrong; the
/// file with good values beside them is filed.
#[tokio::test]
async fn category_values_that_break_attribute_rules_fail_by_name() {
    let cases: Vec<(&str, String, &str)> = vec![
        ("bad-dept.pdf", r#""Department" = "Sales""#.into(), "Sales"),
        (
            "too-long.pdf",
            format!(r#""Document Type" = "{}""#, "x".repeat(300)),
            "too long",
        ),
        (
            "unknown-attr.pdf",
            r#""No Such Attribute" = "x""#.into(),
            "No Such Attribute",
        ),
        (
            "two-values.pdf",
            r#""Department" = ["Finance", "HR"]"#.into(),
            "Department",
        ),
    ];
    let mut rules = String::new();
    for (file, values, _) in &cases {
        rules.push_str(&format!(
            "[[rule]]\nname = \"{file}\"\nname_pattern = '^{}$'\n[rule.categories.\"Intake Classification\"]\n{values}\n",
            regex_escape(file)
        ));
    }
    rules.push_str(
        "[[rule]]\nname = \"unknown category\"\nname_pattern = '^unknown-cat'\n[rule.categories.\"No Such Category\"]\n\"A\" = \"v\"\n",
    );
    let env = Env::start().await;
    let mut paths: Vec<String> = cases.iter().map(|(f, ..)| format!("/{f}")).collect();
    paths.push("/unknown-cat.pdf".into());
    paths.push("/good.pdf".into());
    seed(&env, &paths).await;
    let flow = build(&env, env.state(), config(NamePolicy::Adapt, &rules));
    let report = flow.run_once().await.unwrap().run;
    accounted(&report, paths.len());
    let expect: Vec<(&str, &str)> = cases
        .iter()
        .map(|(f, _, w)| (*f, *w))
        .chain([("unknown-cat.pdf", "No Such Category")])
        .collect();
    for (file, words) in expect {
        let f = report
            .failed
            .iter()
            .find(|f| f.path.as_deref().is_some_and(|p| p.ends_with(file)))
            .unwrap_or_else(|| panic!("{file}: not failed: {}", report.summary()));
        assert!(f.error.contains(file), "{file}: {}", f.error);
        assert!(
            f.error.contains(words),
            "{file}: want {words:?} in {}",
            f.error
        );
    }
    assert_eq!(report.written.len(), 1, "{}", report.summary());
    assert!(report.written[0].path.ends_with("good.pdf"));
    // Nothing half-made: the failed files have no document in CS.
    let docs = cs_children(&env, "Bad").await;
    assert_eq!(docs.len(), 1, "{docs:?}");
}

fn regex_escape(s: &str) -> String {
    s.replace('.', "\\.").replace('-', "\\-")
}

/// A file deleted, or changed, after the listing and before its bytes are read: the listed
/// version is read as it was listed (the source downloads by rev) or the read fails with an
/// error naming the file; nothing passes that does not match the listing.
#[tokio::test]
async fn files_deleted_or_changed_between_listing_and_download() {
    use ecm_bridge::connectors::dropbox::DropboxSource;
    use ecm_bridge::source::{Change, Item, Source};
    let env = Env::start().await;
    let files = ["/gone.pdf", "/changed.pdf", "/replaced.pdf", "/kept.pdf"];
    seed(&env, &files.map(String::from)).await;
    let source = DropboxSource::new(env.dropbox.clone(), INTAKE);
    let items: Vec<Item> = source
        .changes(None)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let docs: Vec<_> = items
        .into_iter()
        .filter_map(|i| match i.change {
            Change::Upsert(d) => Some(*d),
            _ => None,
        })
        .collect();
    assert_eq!(docs.len(), files.len());
    let client = env.dropbox.files();
    client.delete(format!("{INTAKE}/gone.pdf")).await.unwrap();
    client
        .upload_bytes(
            CommitInfo::new(format!("{INTAKE}/changed.pdf")).mode(WriteMode::Overwrite),
            Bytes::from_static(b"a new version"),
        )
        .await
        .unwrap();
    client
        .delete(format!("{INTAKE}/replaced.pdf"))
        .await
        .unwrap();
    client
        .upload_bytes(
            CommitInfo::new(format!("{INTAKE}/replaced.pdf")),
            Bytes::from_static(b"another file of the same name"),
        )
        .await
        .unwrap();
    for doc in docs {
        let read: Result<Vec<Bytes>, String> = match doc.body.open().await {
            Ok(s) => s.map_err(|e| e.to_string()).try_collect().await,
            Err(e) => Err(e.chain()),
        };
        let listed = format!("/{}\nbody", doc.path);
        match read {
            Ok(chunks) => {
                let bytes: Vec<u8> = chunks.concat();
                // What was read is the listed version, byte for byte.
                assert_eq!(bytes.len() as u64, doc.size, "{}", doc.path);
                assert_eq!(String::from_utf8_lossy(&bytes), listed, "{}", doc.path);
            }
            Err(e) => {
                assert_ne!(doc.path, "kept.pdf", "{e}");
                assert!(e.contains(&doc.path), "the error names the file: {e}");
            }
        }
    }
}
