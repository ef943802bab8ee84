//! The decision about one intake file: the rules' verdict (file it through a route, quarantine
//! it, skip it), and its name at the target (as it is, adapted, or refused).

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;

use super::config::NameSettings;
use super::quarantine::{reason, Quarantiner};
use crate::error::{Error, Result, Step};
use crate::model::{Document, Location, Value};
use crate::names::{self, NameDecision, NameRefused};
use crate::rules::Rules;
use crate::transform::{AsyncTransform, Outcome};

/// The metadata key that keeps the original name of an adapted one.
pub const ORIGINAL_NAME: &str = "Original Name";

/// What the rules and the name rule decided about one file.
#[derive(Debug)]
pub(super) enum Verdict {
    /// File it through the route named after the rule that chose its target.
    Route {
        rule: String,
        doc: Box<Document>,
        matched: Vec<String>,
        name: NameDecision,
    },
    /// No rule classifies it.
    Quarantine { why: String, matched: Vec<String> },
    /// A rule skips it.
    Skip {
        reason: String,
        matched: Vec<String>,
    },
    /// Its name is refused (policy `refuse`).
    Refuse {
        error: NameRefused,
        matched: Vec<String>,
    },
}

/// Records an adapted name: the name at the target, and the original in the metadata and, when
/// configured, a category attribute. A text attribute holds at most 248 characters, so an
/// original longer than that is cut there with a final `…` in the attribute; it is kept whole
/// in the metadata, and in the CS node's description (its source path, written by the sink).
pub(super) fn keep_original(doc: &mut Document, new: &str, names: &NameSettings) {
    let original = doc.name.clone();
    doc.governance.name = Some(new.to_owned());
    doc.metadata
        .entry(ORIGINAL_NAME.to_owned())
        .or_insert_with(|| Value::Text(original.clone()));
    if let Some(a) = &names.original_name {
        doc.governance
            .categories
            .entry(a.category.clone())
            .or_default()
            .insert(a.attribute.clone(), Value::Text(fit_attribute(&original)));
    }
}

/// The flow's transform: rules, names, quarantine.
pub(super) struct Classifier {
    pub(super) rules: Arc<Rules>,
    pub(super) fingerprint: String,
    /// Rules that set a target: the routes.
    pub(super) routes: HashSet<String>,
    pub(super) names: NameSettings,
    pub(super) quarantine: Arc<Quarantiner>,
    pub(super) dry_run: bool,
}

impl Classifier {
    /// The verdict about `doc` (no side effect).
    pub(super) fn verdict(&self, doc: Document) -> Result<Verdict> {
        let ev = self.rules.evaluate(doc)?;
        let matched = ev.matched;
        let mut doc = match ev.outcome {
            Outcome::Skip { reason } => return Ok(Verdict::Skip { reason, matched }),
            Outcome::Quarantine { reason } => {
                return Ok(Verdict::Quarantine {
                    why: reason,
                    matched,
                })
            }
            Outcome::Pass(d) | Outcome::Route { doc: d, .. } => d,
        };
        let rule = matched
            .iter()
            .rev()
            .find(|m| self.routes.contains(*m))
            .cloned();
        let (Some(rule), Some(_)) = (rule, doc.governance.target.as_ref()) else {
            let why = if matched.is_empty() {
                "no rule matches it".to_owned()
            } else {
                format!(
                    "no rule classifies it (matched {}; none sets a target)",
                    matched.join(", ")
                )
            };
            return Ok(Verdict::Quarantine { why, matched });
        };
        if let Some(Location::CsFolder { path, .. }) = &mut doc.governance.target {
            match folder_path(path, self.names.policy) {
                Ok(p) => *path = p,
                Err(error) => return Ok(Verdict::Refuse { error, matched }),
            }
        }
        let name = match names::decide(doc.target_name(), self.names.policy) {
            Ok(n) => n,
            Err(error) => return Ok(Verdict::Refuse { error, matched }),
        };
        if name.adapted() {
            keep_original(&mut doc, &name.name, &self.names);
        }
        Ok(Verdict::Route {
            rule,
            doc: Box::new(doc),
            matched,
            name,
        })
    }
}

#[async_trait]
impl AsyncTransform for Classifier {
    async fn apply(&self, doc: Document) -> Result<Outcome> {
        let original = doc.clone();
        match self.verdict(doc)? {
            Verdict::Route { rule, doc, .. } => Ok(Outcome::Route {
                to: rule,
                doc: *doc,
            }),
            Verdict::Skip { reason, .. } => Ok(Outcome::skip(reason)),
            Verdict::Refuse { error, .. } => Err(Error::governance(
                &original.path,
                Step::Locate,
                format!("{error} (names policy: refuse)"),
            )),
            Verdict::Quarantine { why, .. } => {
                let location = if self.dry_run {
                    self.quarantine.location(&original)
                } else {
                    self.quarantine.hold(&original).await?
                };
                tracing::info!(doc = %original.path, %location, why, "quarantined");
                Ok(Outcome::quarantine(reason(
                    &why,
                    &location,
                    &self.fingerprint,
                )))
            }
        }
    }
}

/// `text` within [`names::MAX_NAME_CHARS`] characters (cut with a final `…`).
fn fit_attribute(text: &str) -> String {
    if text.chars().count() <= names::MAX_NAME_CHARS {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(names::MAX_NAME_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// A CS folder path whose every folder name is acceptable: adapted by the names rule, or
/// refused (the first refused folder name) under [`names::NamePolicy::Refuse`].
pub(super) fn folder_path(path: &str, policy: names::NamePolicy) -> Result<String, NameRefused> {
    let mut out = Vec::new();
    for part in path.split('/').filter(|s| !s.is_empty()) {
        out.push(names::decide(part, policy)?.name);
    }
    Ok(out.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::NamePolicy;

    #[test]
    fn folder_names_follow_the_names_rule() {
        assert_eq!(
            folder_path("Finance/Q1: Reports /2026.", NamePolicy::Adapt).unwrap(),
            "Finance/Q1- Reports/2026"
        );
        assert_eq!(folder_path("a//b", NamePolicy::Refuse).unwrap(), "a/b");
        let err = folder_path("Finance/Q1: Reports", NamePolicy::Refuse).unwrap_err();
        assert_eq!(err.name, "Q1: Reports");
    }
}
