//! A rules transform: rules match documents by folder glob, file extension, name or path
//! pattern (regular expressions with named captures), source account or team, tags and
//! property values; they set metadata, the target location, the name, and governance
//! (category values, RM class, hold, permissions, workflow), or skip the document.
//!
//! Rules apply in order; every matching rule applies (a later one overrides an earlier one's
//! values) until one with `stop = true` matches. Text values are templates: `{key}` is replaced
//! by a capture of the rule's patterns, a built-in, or a metadata value set earlier.
//! Built-ins: `name`, `stem`, `ext`, `path`, `folder`, `parent` (the folder's last name),
//! `source_path` (the full source path), `account`, `team`, `modified`, `created`, `today`
//! (dates as `YYYY-MM-DD`), `source_id`, `version`.
//!
//! Rules are Rust values ([`Rule`]) or TOML (see `examples/config/rules.toml`):
//!
//! ```
//! use ecm_bridge::rules::Rules;
//! use ecm_bridge::model::{Body, DocRef, Document, Value};
//! use ecm_bridge::transform::{Outcome, Transform};
//!
//! let rules = Rules::from_toml(r#"
//!     [[rule]]
//!     name = "projects"
//!     folder = "Projects/**"
//!     path = '^Projects/(?P<project>P-\d+)\s'
//!     rm_class = "PRJ-10 Project Records"
//!     target = { cs_folder = "Projects/{project}/{parent}" }
//!     [rule.metadata]
//!     "Project Id" = "{project}"
//!     [rule.categories."Document Governance"]
//!     "Project Id" = "{Project Id}"
//!     "Approved On" = { date = "{today}" }
//!     "Keywords" = ["project", "{project}"]
//! "#).unwrap();
//! let doc = Document::new(
//!     DocRef::dropbox("id:1", "1"),
//!     "Projects/P-1042 Riverside Tower/Drawings/Site Plan.pdf",
//!     3,
//!     Body::from_bytes("abc"),
//! );
//! let Outcome::Pass(doc) = rules.apply(doc).unwrap() else { unreachable!() };
//! assert_eq!(doc.metadata["Project Id"], Value::from("P-1042"));
//! assert_eq!(doc.governance.rm_class.as_deref(), Some("PRJ-10 Project Records"));
//! assert_eq!(doc.governance.target.unwrap().to_string(), "Enterprise/Projects/P-1042/Drawings");
//! ```

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::{NaiveDate, Utc};
use globset::GlobMatcher;
use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{Document, Grant, Location, Value, WorkflowStart};
use crate::transform::{Outcome, Transform};

/// A value in a rule: a template of one of the model's [`Value`] types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ValueSpec {
    /// A boolean.
    Bool(bool),
    /// An integer.
    Integer(i64),
    /// A text template.
    Text(String),
    /// Several values.
    List(Vec<ValueSpec>),
    /// A typed template: `{ date = "{modified}" }`, `{ user = "editor" }`,
    /// `{ integer = "{n}" }`.
    Typed(TypedSpec),
}

/// A typed value template (exactly one field set).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypedSpec {
    /// A date (`YYYY-MM-DD`, or a timestamp whose date is taken).
    #[serde(default)]
    pub date: Option<String>,
    /// A user, by login name.
    #[serde(default)]
    pub user: Option<String>,
    /// An integer, from text.
    #[serde(default)]
    pub integer: Option<String>,
}

impl From<&str> for ValueSpec {
    fn from(s: &str) -> Self {
        ValueSpec::Text(s.to_owned())
    }
}

/// Where a rule sends the document (exactly one of `cs_folder`, `cs_node`, `dropbox`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    /// A CS folder path template, created as needed.
    #[serde(default)]
    pub cs_folder: Option<String>,
    /// The node the CS path starts at (default: the Enterprise Workspace).
    #[serde(default)]
    pub cs_root: Option<i64>,
    /// An existing CS container.
    #[serde(default)]
    pub cs_node: Option<i64>,
    /// A Dropbox folder path template.
    #[serde(default)]
    pub dropbox: Option<String>,
}

/// A workflow to start (templates in the values).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowSpec {
    /// The map's name or node id.
    pub map: String,
    /// Form values.
    #[serde(default)]
    pub values: BTreeMap<String, ValueSpec>,
    /// A comment.
    #[serde(default)]
    pub comment: Option<String>,
}

/// One rule: conditions (all must hold; absent ones hold) and actions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The rule's name (in reports and errors).
    pub name: String,
    /// Glob on the relative folder path (`Marketing/**`, `**/Approved`), case-insensitive.
    #[serde(default)]
    pub folder: Option<String>,
    /// Regular expression on the relative path; named captures become template keys.
    #[serde(default)]
    pub path: Option<String>,
    /// Regular expression on the file name; named captures become template keys.
    #[serde(default)]
    pub name_pattern: Option<String>,
    /// File extensions, without the dot, case-insensitive.
    #[serde(default)]
    pub extensions: Vec<String>,
    /// The source account (case-insensitive).
    #[serde(default)]
    pub account: Option<String>,
    /// The source team or namespace.
    #[serde(default)]
    pub team: Option<String>,
    /// Tags the document must carry (all of them).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Property values the document must carry (`"Governance.status" = "approved"`).
    #[serde(default)]
    pub properties: BTreeMap<String, String>,

    /// Skip matching documents with this reason (a template).
    #[serde(default)]
    pub skip: Option<String>,
    /// Metadata to set.
    #[serde(default)]
    pub metadata: BTreeMap<String, ValueSpec>,
    /// The target location.
    #[serde(default)]
    pub target: Option<TargetSpec>,
    /// The name at the target (a template).
    #[serde(default)]
    pub rename_to: Option<String>,
    /// Category values: category name → attribute name → value.
    #[serde(default)]
    pub categories: BTreeMap<String, BTreeMap<String, ValueSpec>>,
    /// The RM classification, by name.
    #[serde(default)]
    pub rm_class: Option<String>,
    /// A hold, by name.
    #[serde(default)]
    pub hold: Option<String>,
    /// Permission grants (a grant for a member replaces an earlier one for the same member).
    #[serde(default)]
    pub permissions: Vec<Grant>,
    /// A workflow to start.
    #[serde(default)]
    pub workflow: Option<WorkflowSpec>,
    /// Stop after this rule when it matches.
    #[serde(default)]
    pub stop: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    rule: Vec<Rule>,
}

struct Compiled {
    rule: Rule,
    folder: Option<GlobMatcher>,
    path: Option<Regex>,
    name: Option<Regex>,
    extensions: Vec<String>,
}

/// A compiled rule set; a [`Transform`].
pub struct Rules {
    rules: Vec<Compiled>,
}

impl std::fmt::Debug for Rules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.rules.iter().map(|c| c.rule.name.as_str()).collect();
        f.debug_struct("Rules").field("rules", &names).finish()
    }
}

fn rule_err(rule: &str, msg: impl std::fmt::Display) -> Error {
    Error::Rules(format!("rule {rule:?}: {msg}"))
}

impl Rules {
    /// Compiles rules.
    pub fn new(rules: Vec<Rule>) -> Result<Rules> {
        compile::compile(rules).map_err(|e| Error::Rules(e.message))
    }

    /// Parses and compiles rules from TOML (`[[rule]]` tables). Every error says where it is:
    /// `line L, column C: …` (of the field at fault, for a rule that does not compile).
    pub fn from_toml(text: &str) -> Result<Rules> {
        let file: RulesFile =
            toml::from_str(text).map_err(|e| Error::Rules(located::toml_error(text, &e)))?;
        Rules::compile_located(text, file.rule)
    }

    /// Compiles `rules` parsed from the TOML `text` (as `[[rule]]` tables, in order); an error
    /// is located in `text` like [`Rules::from_toml`]'s.
    pub fn compile_located(text: &str, rules: Vec<Rule>) -> Result<Rules> {
        compile::compile(rules).map_err(|e| {
            Error::Rules(match located::rule_field(text, e.index, e.field) {
                Some((line, col)) => format!("line {line}, column {col}: {}", e.message),
                None => e.message,
            })
        })
    }

    /// Reads and compiles a TOML rules file.
    pub fn load(path: impl AsRef<Path>) -> Result<Rules> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Rules(format!("{}: {e}", path.display())))?;
        Rules::from_toml(&text).map_err(|e| match e {
            Error::Rules(m) => Error::Rules(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// The rules' names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.rules.iter().map(|c| c.rule.name.as_str()).collect()
    }

    /// The rules as written, in order.
    pub fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter().map(|c| &c.rule)
    }
}

impl Compiled {
    /// The captures when the rule matches `doc`.
    fn matches(&self, doc: &Document) -> Option<HashMap<String, String>> {
        let r = &self.rule;
        if let Some(g) = &self.folder {
            if !g.is_match(doc.folder()) {
                return None;
            }
        }
        if !self.extensions.is_empty() {
            let ext = doc.extension()?;
            if !self.extensions.contains(&ext) {
                return None;
            }
        }
        let eq = |want: &Option<String>, have: &Option<String>| match want {
            None => true,
            Some(w) => have.as_deref().is_some_and(|h| h.eq_ignore_ascii_case(w)),
        };
        if !eq(&r.account, &doc.context.account) || !eq(&r.team, &doc.context.team) {
            return None;
        }
        if !r.tags.iter().all(|t| {
            doc.context
                .tags
                .iter()
                .any(|have| have.eq_ignore_ascii_case(t))
        }) {
            return None;
        }
        if !r
            .properties
            .iter()
            .all(|(k, v)| doc.context.properties.get(k) == Some(v))
        {
            return None;
        }
        let mut captures = HashMap::new();
        for (re, text) in [
            (&self.path, doc.path.as_str()),
            (&self.name, doc.name.as_str()),
        ] {
            if let Some(re) = re {
                let caps = re.captures(text)?;
                for name in re.capture_names().flatten() {
                    if let Some(m) = caps.name(name) {
                        captures.insert(name.to_owned(), m.as_str().to_owned());
                    }
                }
            }
        }
        Some(captures)
    }
}

/// Expands `{key}` placeholders.
struct Expander<'a> {
    rule: &'a str,
    doc: &'a Document,
    captures: &'a HashMap<String, String>,
}

impl Expander<'_> {
    fn lookup(&self, key: &str) -> Option<String> {
        if let Some(v) = self.captures.get(key) {
            return Some(v.clone());
        }
        let d = self.doc;
        let date = |t: Option<chrono::DateTime<Utc>>| t.map(|t| t.format("%Y-%m-%d").to_string());
        let v = match key {
            "name" => Some(d.name.clone()),
            "stem" => Some(
                d.name
                    .rsplit_once('.')
                    .filter(|(s, _)| !s.is_empty())
                    .map_or(d.name.clone(), |(s, _)| s.to_owned()),
            ),
            "ext" => d.extension(),
            "path" => Some(d.path.clone()),
            "folder" => Some(d.folder().to_owned()),
            "parent" => Some(d.folder().rsplit('/').next().unwrap_or_default().to_owned()),
            "source_path" => Some(
                d.context
                    .full_path
                    .clone()
                    .unwrap_or_else(|| d.path.clone()),
            ),
            "account" => d.context.account.clone(),
            "team" => d.context.team.clone(),
            "modified" => date(d.modified),
            "created" => date(d.created.or(d.modified)),
            "today" => Some(Utc::now().format("%Y-%m-%d").to_string()),
            "source_id" => Some(d.source.id.clone()),
            "version" => d.source.version.clone(),
            _ => None,
        };
        v.or_else(|| d.metadata.get(key).map(ToString::to_string))
    }

    fn text(&self, template: &str) -> Result<String> {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let close = after
                .find('}')
                .ok_or_else(|| rule_err(self.rule, format!("unclosed '{{' in {template:?}")))?;
            let key = &after[..close];
            let value = self.lookup(key).ok_or_else(|| {
                rule_err(
                    self.rule,
                    format!("no value for {{{key}}} (in {template:?})"),
                )
            })?;
            out.push_str(&value);
            rest = &after[close + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn value(&self, spec: &ValueSpec) -> Result<Value> {
        Ok(match spec {
            ValueSpec::Bool(b) => Value::Bool(*b),
            ValueSpec::Integer(n) => Value::Integer(*n),
            ValueSpec::Text(t) => Value::Text(self.text(t)?),
            ValueSpec::List(items) => Value::List(
                items
                    .iter()
                    .map(|i| self.value(i))
                    .collect::<Result<Vec<_>>>()?,
            ),
            ValueSpec::Typed(t) => {
                if let Some(d) = &t.date {
                    let s = self.text(d)?;
                    let day = s.get(..10).unwrap_or(&s);
                    let date = NaiveDate::parse_from_str(day, "%Y-%m-%d")
                        .map_err(|e| rule_err(self.rule, format!("{s:?} is not a date: {e}")))?;
                    Value::Date(date)
                } else if let Some(u) = &t.user {
                    Value::User(self.text(u)?)
                } else if let Some(n) = &t.integer {
                    let s = self.text(n)?;
                    Value::Integer(s.trim().parse().map_err(|e| {
                        rule_err(self.rule, format!("{s:?} is not an integer: {e}"))
                    })?)
                } else {
                    return Err(rule_err(self.rule, "empty typed value"));
                }
            }
        })
    }
}

/// What [`Rules::evaluate`] decided, and which rules it took: the names of the rules that
/// matched, in order (the last one is the one that stopped or skipped, if any).
#[derive(Debug)]
pub struct Evaluation {
    /// The outcome, as [`Transform::apply`] gives it.
    pub outcome: Outcome,
    /// The rules that matched, in order.
    pub matched: Vec<String>,
}

impl Rules {
    /// Applies the rules to `doc` like [`Transform::apply`], and also says which rules
    /// matched (for plans and reports).
    pub fn evaluate(&self, doc: Document) -> Result<Evaluation> {
        let mut matched = Vec::new();
        let outcome = self.run(doc, &mut matched)?;
        Ok(Evaluation { outcome, matched })
    }

    /// A fingerprint of the rules as written (their order and every field): the first 16 hex
    /// digits of the SHA-256 of their JSON form. Equal rules give equal fingerprints in every
    /// process; any change to a rule changes it. A flow stores it with what the rules decided
    /// (a quarantine), to take the document up again when the rules change.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let all: Vec<&Rule> = self.rules.iter().map(|c| &c.rule).collect();
        let json = serde_json::to_vec(&all).unwrap_or_default();
        hex::encode(&Sha256::digest(&json)[..8])
    }

    fn run(&self, doc: Document, matched: &mut Vec<String>) -> Result<Outcome> {
        let mut doc = doc;
        for c in &self.rules {
            let Some(captures) = c.matches(&doc) else {
                continue;
            };
            let r = &c.rule;
            matched.push(r.name.clone());
            tracing::debug!(rule = %r.name, doc = %doc.path, "rule matches");
            // Values are computed from the document as it is before this rule changes it.
            let snapshot = doc.clone();
            let x = Expander {
                rule: &r.name,
                doc: &snapshot,
                captures: &captures,
            };
            if let Some(reason) = &r.skip {
                return Ok(Outcome::skip(x.text(reason)?));
            }
            for (k, v) in &r.metadata {
                let value = x.value(v)?;
                doc.metadata.insert(k.clone(), value);
            }
            // Later templates of this rule may use the metadata it just set.
            let snapshot = doc.clone();
            let x = Expander {
                rule: &r.name,
                doc: &snapshot,
                captures: &captures,
            };
            let g = &mut doc.governance;
            if let Some(t) = &r.target {
                g.target = Some(if let Some(p) = &t.cs_folder {
                    Location::CsFolder {
                        root: t.cs_root,
                        path: normalize(&x.text(p)?),
                    }
                } else if let Some(n) = t.cs_node {
                    Location::CsNode(n)
                } else {
                    let p = x.text(t.dropbox.as_deref().unwrap_or_default())?;
                    Location::Dropbox(format!("/{}", normalize(&p)))
                });
            }
            if let Some(n) = &r.rename_to {
                g.name = Some(x.text(n)?);
            }
            for (cat, attrs) in &r.categories {
                let entry = g.categories.entry(x.text(cat)?).or_default();
                for (attr, v) in attrs {
                    entry.insert(attr.clone(), x.value(v)?);
                }
            }
            if let Some(c) = &r.rm_class {
                g.rm_class = Some(x.text(c)?);
            }
            if let Some(h) = &r.hold {
                g.hold = Some(x.text(h)?);
            }
            for grant in &r.permissions {
                let member = x.text(&grant.member)?;
                g.permissions.retain(|p| p.member != member);
                g.permissions.push(Grant {
                    member,
                    permissions: grant.permissions.clone(),
                });
            }
            if let Some(w) = &r.workflow {
                let mut values = BTreeMap::new();
                for (k, v) in &w.values {
                    values.insert(k.clone(), x.value(v)?);
                }
                g.workflow = Some(WorkflowStart {
                    map: x.text(&w.map)?,
                    values,
                    comment: w.comment.as_deref().map(|c| x.text(c)).transpose()?,
                });
            }
            if r.stop {
                break;
            }
        }
        Ok(Outcome::Pass(doc))
    }
}

impl Transform for Rules {
    fn apply(&self, doc: Document) -> Result<Outcome> {
        self.run(doc, &mut Vec::new())
    }
}

/// `a//b/` → `a/b`.
fn normalize(path: &str) -> String {
    path.split('/')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("/")
}

mod compile;
mod located;
pub(crate) use located::toml_error;

#[cfg(test)]
mod tests;
