//! The flow's configuration, from Rust or from one TOML file that also holds the rules.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::names::NamePolicy;
use crate::rules::Rule;

/// Where a file that no rule classifies goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum QuarantineTarget {
    /// Moved into this Dropbox folder, keeping its path below it
    /// (`/Intake/Finance/x.bin` → `/Quarantine/Intake/Finance/x.bin`).
    Dropbox(String),
    /// Filed, without governance, into this Content Server folder path (under
    /// [`ClassifyConfig::cs_root`], else the Enterprise Workspace), keeping the file's folder
    /// path below it; the Dropbox file stays where it is.
    Cs(String),
}

impl Default for QuarantineTarget {
    fn default() -> Self {
        QuarantineTarget::Dropbox("/Quarantine".into())
    }
}

/// A category attribute, by names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeRef {
    /// The category's name.
    pub category: String,
    /// The attribute's name.
    pub attribute: String,
}

/// What happens to names Content Server refuses ([`crate::names`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameSettings {
    /// Adapt them (default) or refuse the document.
    #[serde(default)]
    pub policy: NamePolicy,
    /// The category attribute that receives the original name of an adapted one (it always
    /// goes into the document's metadata as `Original Name` too).
    #[serde(default)]
    pub original_name: Option<AttributeRef>,
}

/// The `classify_and_route` settings. In TOML, the rules are `[[rule]]` tables of the same
/// file (see [`crate::rules`]):
///
/// ```
/// use ecm_bridge::flows::classify_and_route::{ClassifyConfig, QuarantineTarget};
/// let c = ClassifyConfig::from_toml(r#"
///     intake = ["/Intake/Finance", "/Intake/Projects"]
///     quarantine = { cs = "Quarantine" }
///     reclassify = true
///     [names]
///     policy = "adapt"
///     original_name = { category = "Intake Classification", attribute = "Original Name" }
///     [[rule]]
///     name = "invoices"
///     folder = "Intake/Finance"
///     name_pattern = '^INV-'
///     target = { cs_folder = "Finance/Invoices" }
///     rm_class = "FIN-07 Tax Records"
/// "#).unwrap();
/// assert_eq!(c.intake.len(), 2);
/// assert_eq!(c.quarantine, QuarantineTarget::Cs("Quarantine".into()));
/// assert_eq!(c.rules.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifyConfig {
    /// The flow's name (keys its state; default `classify_and_route`).
    #[serde(default = "default_name")]
    pub name: String,
    /// The Dropbox intake folders (at least one); files anywhere below them are taken.
    pub intake: Vec<String>,
    /// The team or namespace name recorded with each file (rules match it with `team`).
    #[serde(default)]
    pub team: Option<String>,
    /// The CS node the quarantine folder path starts at (default: the Enterprise Workspace).
    #[serde(default)]
    pub cs_root: Option<i64>,
    /// Where unclassified files go.
    #[serde(default)]
    pub quarantine: QuarantineTarget,
    /// Names CS refuses.
    #[serde(default)]
    pub names: NameSettings,
    /// After a rule change, update the category values and RM class of the documents filed
    /// before (no new version). Off by default.
    #[serde(default)]
    pub reclassify: bool,
    /// Documents processed at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Read every written version back and compare its hash.
    #[serde(default)]
    pub read_back: bool,
    /// The rules, in order.
    #[serde(default, rename = "rule")]
    pub rules: Vec<Rule>,
}

fn default_name() -> String {
    "classify_and_route".into()
}

fn default_concurrency() -> usize {
    4
}

impl ClassifyConfig {
    /// Settings for these intake folders, with every default and no rules.
    pub fn new<I, S>(intake: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ClassifyConfig {
            name: default_name(),
            intake: intake.into_iter().map(Into::into).collect(),
            team: None,
            cs_root: None,
            quarantine: QuarantineTarget::default(),
            names: NameSettings::default(),
            reclassify: false,
            concurrency: default_concurrency(),
            read_back: false,
            rules: Vec::new(),
        }
    }

    /// Parses settings (and `[[rule]]` tables) from TOML.
    pub fn from_toml(text: &str) -> Result<Self> {
        let c: ClassifyConfig = toml::from_str(text).map_err(|e| {
            Error::Config(format!(
                "classify_and_route: {}",
                crate::rules::toml_error(text, &e)
            ))
        })?;
        c.check()?;
        // The rules compile again at build; here an error can still be located in the text.
        crate::rules::Rules::compile_located(text, c.rules.clone())?;
        Ok(c)
    }

    /// Reads [`ClassifyConfig::from_toml`] from a file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        Self::from_toml(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
    }

    /// Refuses settings that cannot work: no intake folder, a quarantine folder inside an
    /// intake folder (its files would be taken in again).
    pub fn check(&self) -> Result<()> {
        if self.intake.is_empty() {
            return Err(Error::Config(
                "classify_and_route: no intake folder configured".into(),
            ));
        }
        if let QuarantineTarget::Dropbox(q) = &self.quarantine {
            let q = crate::state::fold_path(&format!("/{}", q.trim_matches('/')));
            for i in &self.intake {
                let i = crate::state::fold_path(&format!("/{}", i.trim_matches('/')));
                if q == i || q.starts_with(&format!("{i}/")) || i == "/" {
                    return Err(Error::Config(format!(
                        "classify_and_route: the quarantine folder {q} lies in the intake folder {i}"
                    )));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_that_cannot_work_are_refused() {
        for (text, needle) in [
            ("intake = []", "no intake folder"),
            (
                "intake = ['/Intake']\nquarantine = { dropbox = '/intake/Quarantine' }",
                "lies in the intake folder",
            ),
            ("intake = ['/']", "lies in the intake folder"),
            ("intake = ['/A']\nunknown = 1", "unknown field"),
            (
                "intake = ['/A']\nquarantine = { ftp = 'x' }",
                "unknown variant",
            ),
            (
                "intake = ['/A']\n[names]\npolicy = 'drop'",
                "unknown variant",
            ),
        ] {
            let err = ClassifyConfig::from_toml(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
        let ok = ClassifyConfig::from_toml("intake = ['/Intake/A']").unwrap();
        assert_eq!(ok, ClassifyConfig::new(["/Intake/A"]));
        assert_eq!(
            ok.quarantine,
            QuarantineTarget::Dropbox("/Quarantine".into())
        );
        assert_eq!(ok.names.policy, NamePolicy::Adapt);
        assert!(!ok.reclassify);
    }
}
