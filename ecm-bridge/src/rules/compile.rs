//! Compiling rules: globs and regular expressions built, targets and typed values checked, and
//! every template checked for an unclosed `{` (found when the rules load, not on the first
//! document that reaches the template). An error names the rule and the field at fault, so a
//! TOML text can be located ([`super::located`]).

use globset::GlobBuilder;
use regex::Regex;

use super::{Compiled, Rule, Rules, ValueSpec};

/// Why rule `index` does not compile, and the field at fault (to locate it in a TOML text).
pub(super) struct CompileError {
    pub index: usize,
    pub field: &'static str,
    pub message: String,
}

pub(super) fn compile(rules: Vec<Rule>) -> std::result::Result<Rules, CompileError> {
    let mut out = Vec::with_capacity(rules.len());
    for (index, rule) in rules.into_iter().enumerate() {
        let fail = |field: &'static str, msg: &dyn std::fmt::Display| CompileError {
            index,
            field,
            // One line (a regex error draws the pattern over several).
            message: format!("rule {:?}: {field}: {msg}", rule.name)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        };
        let folder = match &rule.folder {
            Some(g) => Some(
                GlobBuilder::new(g.trim_matches('/'))
                    .literal_separator(true)
                    .case_insensitive(true)
                    .build()
                    .map_err(|e| fail("folder", &e))?
                    .compile_matcher(),
            ),
            None => None,
        };
        let re = |p: &Option<String>, field| -> std::result::Result<Option<Regex>, CompileError> {
            p.as_deref()
                .map(|p| Regex::new(p).map_err(|e| fail(field, &e)))
                .transpose()
        };
        let path = re(&rule.path, "path")?;
        let name = re(&rule.name_pattern, "name_pattern")?;
        if let Some(t) = &rule.target {
            let set = [
                t.cs_folder.is_some(),
                t.cs_node.is_some(),
                t.dropbox.is_some(),
            ];
            if set.iter().filter(|x| **x).count() != 1 {
                return Err(fail(
                    "target",
                    &"target needs exactly one of cs_folder, cs_node, dropbox",
                ));
            }
        }
        if let Err((field, msg)) = check_values(&rule) {
            return Err(fail(field, &msg));
        }
        let extensions = rule
            .extensions
            .iter()
            .map(|e| e.trim_start_matches('.').to_ascii_lowercase())
            .collect();
        out.push(Compiled {
            rule,
            folder,
            path,
            name,
            extensions,
        });
    }
    Ok(Rules { rules: out })
}

/// An unclosed `{` in a template, found when the rules are compiled rather than on the first
/// document that reaches it.
fn check_template(t: &str) -> std::result::Result<(), String> {
    let mut rest = t;
    while let Some(open) = rest.find('{') {
        match rest[open + 1..].find('}') {
            Some(close) => rest = &rest[open + 1 + close + 1..],
            None => return Err(format!("unclosed '{{' in {t:?}")),
        }
    }
    Ok(())
}

/// Typed values with exactly one field, and well-formed templates, in every field that holds
/// them; the error names the field.
fn check_values(rule: &Rule) -> std::result::Result<(), (&'static str, String)> {
    fn walk(v: &ValueSpec) -> std::result::Result<(), String> {
        match v {
            ValueSpec::Typed(t) => {
                let set = [&t.date, &t.user, &t.integer];
                let n = set.iter().filter(|x| x.is_some()).count();
                if n != 1 {
                    return Err("a typed value needs exactly one of date, user, integer".into());
                }
                set.iter()
                    .flat_map(|x| x.as_deref())
                    .try_for_each(check_template)
            }
            ValueSpec::List(items) => items.iter().try_for_each(walk),
            ValueSpec::Text(t) => check_template(t),
            ValueSpec::Bool(_) | ValueSpec::Integer(_) => Ok(()),
        }
    }
    let at = |field: &'static str| move |m: String| (field, m);
    let text = |field: &'static str, t: &Option<String>| {
        t.as_deref()
            .map_or(Ok(()), check_template)
            .map_err(at(field))
    };
    text("skip", &rule.skip)?;
    text("rename_to", &rule.rename_to)?;
    text("rm_class", &rule.rm_class)?;
    text("hold", &rule.hold)?;
    rule.metadata
        .values()
        .try_for_each(walk)
        .map_err(at("metadata"))?;
    for (cat, attrs) in &rule.categories {
        check_template(cat).map_err(at("categories"))?;
        attrs
            .values()
            .try_for_each(walk)
            .map_err(at("categories"))?;
    }
    if let Some(t) = &rule.target {
        text("target", &t.cs_folder)?;
        text("target", &t.dropbox)?;
    }
    rule.permissions
        .iter()
        .try_for_each(|g| check_template(&g.member))
        .map_err(at("permissions"))?;
    if let Some(w) = &rule.workflow {
        check_template(&w.map).map_err(at("workflow"))?;
        text("workflow", &w.comment)?;
        w.values
            .values()
            .try_for_each(walk)
            .map_err(at("workflow"))?;
    }
    Ok(())
}
