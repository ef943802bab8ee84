//! The rules engine's unit tests.

use super::*;
use crate::model::{Body, DocRef};

fn doc(path: &str) -> Document {
    let mut d = Document::new(
        DocRef::dropbox("id:1", "r1"),
        path,
        3,
        Body::from_bytes("abc"),
    );
    d.modified = Some(
        chrono::DateTime::parse_from_rfc3339("2026-01-15T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc),
    );
    d.context.account = Some("dana@example.com".into());
    d.context.tags = vec!["approved".into()];
    d.context
        .properties
        .insert("Governance.status".into(), "approved".into());
    d
}

fn pass(o: Outcome) -> Document {
    match o {
        Outcome::Pass(d) => d,
        other => panic!("{other:?}"),
    }
}

#[test]
fn conditions_must_all_hold() {
    let rules = Rules::new(vec![Rule {
        name: "pdf in approved".into(),
        folder: Some("**/Approved".into()),
        extensions: vec![".PDF".into()],
        account: Some("DANA@example.com".into()),
        tags: vec!["approved".into()],
        properties: [("Governance.status".to_string(), "approved".to_string())].into(),
        metadata: [("Hit".to_string(), ValueSpec::Bool(true))].into(),
        ..Rule::default()
    }])
    .unwrap();
    let hit = pass(rules.apply(doc("Marketing/Approved/a.pdf")).unwrap());
    assert_eq!(hit.metadata.get("Hit"), Some(&Value::Bool(true)));
    for miss in [
        "Marketing/Drafts/a.pdf",
        "Marketing/Approved/a.docx",
        "a.pdf",
    ] {
        let d = pass(rules.apply(doc(miss)).unwrap());
        assert!(d.metadata.is_empty(), "{miss}");
    }
    let mut untagged = doc("Marketing/Approved/a.pdf");
    untagged.context.tags.clear();
    assert!(pass(rules.apply(untagged).unwrap()).metadata.is_empty());
}

#[test]
fn captures_templates_and_order() {
    let rules = Rules::from_toml(
        r#"
        [[rule]]
        name = "default"
        rm_class = "GEN-00 General"
        target = { cs_folder = "Archive/{folder}" }
        [rule.categories."Document Governance"]
        "Source System" = "Dropbox"
        "Source Path" = "{source_path}"

        [[rule]]
        name = "project"
        name_pattern = '^(?P<project>P-\d+)\s(?P<title>.+)\.(?P<x>\w+)$'
        rename_to = "{title} ({project}).{ext}"
        rm_class = "PRJ-10 Project Records"
        stop = true
        [rule.metadata]
        "Project Id" = "{project}"
        "Year" = { integer = "2026" }
        "Approved On" = { date = "{modified}" }
        "Owner" = { user = "editor" }
        [rule.categories."Document Governance"]
        "Project Id" = "{Project Id}"
        [[rule.permissions]]
        member = "Outside Counsel"
        permissions = ["see", "see_contents"]

        [[rule]]
        name = "never reached"
        skip = "stopped before"
        "#,
    )
    .unwrap();
    assert_eq!(rules.names(), ["default", "project", "never reached"]);
    let d = pass(rules.apply(doc("Projects/P-1042 Tower plan.pdf")).unwrap());
    assert_eq!(d.metadata["Project Id"], Value::from("P-1042"));
    assert_eq!(d.metadata["Year"], Value::Integer(2026));
    assert_eq!(
        d.metadata["Approved On"],
        Value::Date(NaiveDate::from_ymd_opt(2026, 1, 15).unwrap())
    );
    assert_eq!(d.metadata["Owner"], Value::User("editor".into()));
    let g = &d.governance;
    assert_eq!(g.name.as_deref(), Some("Tower plan (P-1042).pdf"));
    assert_eq!(g.rm_class.as_deref(), Some("PRJ-10 Project Records"));
    assert_eq!(
        g.target,
        Some(Location::CsFolder {
            root: None,
            path: "Archive/Projects".into()
        })
    );
    let dg = &g.categories["Document Governance"];
    assert_eq!(dg["Source System"], Value::from("Dropbox"));
    assert_eq!(
        dg["Source Path"],
        Value::from("Projects/P-1042 Tower plan.pdf")
    );
    assert_eq!(dg["Project Id"], Value::from("P-1042"));
    assert_eq!(g.permissions.len(), 1);

    // Without a match of the second rule, the third one skips.
    match rules.apply(doc("Other/x.pdf")).unwrap() {
        Outcome::Skip { reason } => assert_eq!(reason, "stopped before"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn evaluation_names_the_rules_and_fingerprints_follow_changes() {
    let text = r#"
        [[rule]]
        name = "all"
        metadata = { Seen = true }
        [[rule]]
        name = "pdf"
        extensions = ["pdf"]
        target = { cs_folder = "Docs" }
    "#;
    let rules = Rules::from_toml(text).unwrap();
    let ev = rules.evaluate(doc("a/b.pdf")).unwrap();
    assert_eq!(ev.matched, ["all", "pdf"]);
    assert!(matches!(ev.outcome, Outcome::Pass(_)));
    assert_eq!(rules.evaluate(doc("a/b.txt")).unwrap().matched, ["all"]);
    let same = Rules::from_toml(text).unwrap();
    assert_eq!(rules.fingerprint(), same.fingerprint());
    assert_eq!(rules.fingerprint().len(), 16);
    let changed = Rules::from_toml(&text.replace("\"pdf\"]", "\"pdf\", \"txt\"]")).unwrap();
    assert_ne!(rules.fingerprint(), changed.fingerprint());
}

#[test]
fn bad_rules_are_refused() {
    for (text, needle) in [
        ("[[rule]]\nname='x'\npath='('", "rule \"x\""),
        ("[[rule]]\nname='x'\nfolder='a/[b'", "rule \"x\""),
        (
            "[[rule]]\nname='x'\ntarget={cs_folder='a', cs_node=3}",
            "exactly one",
        ),
        ("[[rule]]\nname='x'\nmetadata={a={}}", "exactly one of date"),
        ("[[rule]]\nname='x'\nunknown=1", "unknown field"),
    ] {
        let err = Rules::from_toml(text).unwrap_err().to_string();
        assert!(err.contains(needle), "{text}: {err}");
    }
    let rules = Rules::from_toml("[[rule]]\nname='x'\nrm_class='{nope}'").unwrap();
    let err = rules.apply(doc("a.pdf")).unwrap_err().to_string();
    assert!(err.contains("no value for {nope}"), "{err}");
}
