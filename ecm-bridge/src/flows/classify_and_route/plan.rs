//! The plan of a dry run: per file, the rules that matched, what happens to it, where it goes,
//! with which category values and RM class. Typed and serializable; [`Plan::table`] renders it.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::classify::{Classifier, Verdict};
use crate::error::Result;
use crate::model::{Document, Value};
use crate::names::{self, FolderNames};

/// What would happen to one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum PlanAction {
    /// Filed through the route named after the rule that chose its target.
    File {
        /// The route (rule) name.
        route: String,
    },
    /// Quarantined.
    Quarantine {
        /// Why, and where it would go.
        reason: String,
    },
    /// Skipped by a rule.
    Skip {
        /// Why.
        reason: String,
    },
    /// Refused: its name is one CS refuses, and the names policy is `refuse`.
    Refuse {
        /// The error, naming the file.
        error: String,
    },
}

/// One file of a [`Plan`].
#[derive(Debug, Clone, Serialize)]
pub struct PlanRow {
    /// Its Dropbox path (without the leading slash).
    pub path: String,
    /// The rules that matched, in order.
    pub matched: Vec<String>,
    /// What would happen.
    pub action: PlanAction,
    /// Where it would be filed (`Enterprise/Finance/Invoices`), when filed.
    pub target: Option<String>,
    /// Its name at the target, when filed.
    pub name: Option<String>,
    /// Its original name, when the name is adapted.
    pub original_name: Option<String>,
    /// Category values: category → attribute → value.
    pub categories: BTreeMap<String, BTreeMap<String, Value>>,
    /// The RM classification.
    pub rm_class: Option<String>,
}

/// What a run would do, file by file.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The flow.
    pub flow: String,
    /// The fingerprint of the rules the plan was made with.
    pub rules: String,
    /// One row per file, in feed order.
    pub rows: Vec<PlanRow>,
}

impl Plan {
    /// Builds the plan of `docs`. Names that collide among the planned files of one folder
    /// (after case folding) are disambiguated as the filing would do, the later one in feed
    /// order renamed; the run files them concurrently, and the one it files second is the one
    /// renamed, which may be the other one. Collisions with names already in CS are found only
    /// by the run itself (the plan reads nothing from CS).
    pub(super) fn build(
        flow: &str,
        classifier: &Classifier,
        quarantine_location: impl Fn(&Document) -> String,
        docs: Vec<Document>,
    ) -> Result<Plan> {
        let mut folders: HashMap<String, FolderNames> = HashMap::new();
        let mut rows = Vec::with_capacity(docs.len());
        for doc in docs {
            let path = doc.path.clone();
            let original = doc.clone();
            let row = match classifier.verdict(doc)? {
                Verdict::Route {
                    rule,
                    doc,
                    matched,
                    name,
                } => {
                    let target = doc.governance.target.as_ref().map(ToString::to_string);
                    let mut final_name = name.name.clone();
                    let mut original_name = name.adapted().then(|| name.original.clone());
                    let taken = folders
                        .entry(target.clone().unwrap_or_default())
                        .or_default()
                        .claim(&final_name);
                    if taken.is_some() {
                        final_name = names::disambiguate(&final_name, &doc.source.key());
                        original_name = Some(doc.name.clone());
                    }
                    PlanRow {
                        path,
                        matched,
                        action: PlanAction::File { route: rule },
                        target,
                        name: Some(final_name),
                        original_name,
                        categories: doc.governance.categories.clone(),
                        rm_class: doc.governance.rm_class.clone(),
                    }
                }
                Verdict::Quarantine { why, matched } => PlanRow {
                    path,
                    matched,
                    action: PlanAction::Quarantine {
                        reason: format!("{why}; to {}", quarantine_location(&original)),
                    },
                    target: None,
                    name: None,
                    original_name: None,
                    categories: BTreeMap::new(),
                    rm_class: None,
                },
                Verdict::Skip { reason, matched } => PlanRow {
                    path,
                    matched,
                    action: PlanAction::Skip { reason },
                    target: None,
                    name: None,
                    original_name: None,
                    categories: BTreeMap::new(),
                    rm_class: None,
                },
                Verdict::Refuse { error, matched } => PlanRow {
                    path,
                    matched,
                    action: PlanAction::Refuse {
                        error: error.to_string(),
                    },
                    target: None,
                    name: None,
                    original_name: None,
                    categories: BTreeMap::new(),
                    rm_class: None,
                },
            };
            rows.push(row);
        }
        Ok(Plan {
            flow: flow.to_owned(),
            rules: classifier.fingerprint.clone(),
            rows,
        })
    }

    /// The plan as a text table: file, matched rules, target (or what happens instead),
    /// category values, RM class.
    pub fn table(&self) -> String {
        let header = [
            "file",
            "matched rules",
            "target",
            "category values",
            "RM class",
        ];
        let mut cells: Vec<[String; 5]> = vec![header.map(str::to_owned)];
        for r in &self.rows {
            let target = match &r.action {
                PlanAction::File { .. } => {
                    let mut t = format!(
                        "{}/{}",
                        r.target.as_deref().unwrap_or_default(),
                        r.name.as_deref().unwrap_or_default()
                    );
                    if let Some(o) = &r.original_name {
                        t.push_str(&format!(" (was {o:?})"));
                    }
                    t
                }
                PlanAction::Quarantine { reason } => format!("QUARANTINE: {reason}"),
                PlanAction::Skip { reason } => format!("skip: {reason}"),
                PlanAction::Refuse { error } => format!("REFUSED: {error}"),
            };
            let cats: Vec<String> = r
                .categories
                .iter()
                .flat_map(|(c, attrs)| attrs.iter().map(move |(a, v)| format!("{c}.{a}={v}")))
                .collect();
            cells.push([
                r.path.clone(),
                if r.matched.is_empty() {
                    "-".into()
                } else {
                    r.matched.join(", ")
                },
                target,
                if cats.is_empty() {
                    "-".into()
                } else {
                    cats.join("; ")
                },
                r.rm_class.clone().unwrap_or_else(|| "-".into()),
            ]);
        }
        let mut widths = [0usize; 5];
        for row in &cells {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        let mut out = String::new();
        for (i, row) in cells.iter().enumerate() {
            let line: Vec<String> = row
                .iter()
                .zip(widths)
                .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
                .collect();
            out.push_str(line.join(" | ").trim_end());
            out.push('\n');
            if i == 0 {
                let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
                out.push_str(&rule.join("-+-"));
                out.push('\n');
            }
        }
        out
    }
}
