//! Names that Content Server refuses, and the one documented rule that adapts them.
//!
//! Content Server refuses a node name that is blank, longer than [`MAX_NAME_CHARS`]
//! characters, or contains `:` (reference §15: pyxecm's `MAX_ITEM_NAME_LENGTH` and
//! `cleanse_item_name`). Names are unique among the children of one container; whether the
//! check ignores case is not settled by the reference, so a name that equals another one of the
//! folder *after case folding* is treated as taken (the safe reading: a server that folds case
//! refuses it, one that does not would show two names people cannot tell apart). Names ending
//! in a dot or a space, and names with surrounding whitespace, are refused too: they do not
//! survive a Windows download of the document, and pyxecm strips surrounding whitespace.
//!
//! # The adaptation rule
//! [`adapt`] applies, in this order:
//! 1. Unicode NFC (a name typed on macOS arrives decomposed, NFD; both forms look the same and
//!    must not become two documents);
//! 2. every `:` becomes `-` (`12:30 Minutes.pdf` → `12-30 Minutes.pdf`);
//! 3. surrounding whitespace, and trailing dots and spaces, are removed (`Report. .` →
//!    `Report`); a name left empty becomes `_`;
//! 4. a name still longer than 248 characters keeps its extension (up to 16 characters) and
//!    the start of its stem, and gets `~` and the first 8 hex digits of the SHA-256 of the
//!    *original* name before the extension, so that two long names sharing their first 230
//!    characters stay apart.
//!
//! A name taken in its folder after case folding ([`fold_key`]: NFC, then Unicode lowercase)
//! is made unique by [`disambiguate`]: `~` and 8 hex digits of the SHA-256 of a salt (the
//! source document's key) before the extension, again within 248 characters. The salt makes
//! the result the same on every run for the same document.
//!
//! Whoever adapts a name keeps the original next to it (the flows put it in the document's
//! metadata and, when configured, a category attribute). With [`NamePolicy::Refuse`],
//! [`decide`] answers [`NameRefused`] instead, naming the file and every problem.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

/// The longest name Content Server takes, in characters.
pub const MAX_NAME_CHARS: usize = 248;

/// The longest extension [`adapt`] keeps whole when it shortens a name.
const MAX_KEPT_EXTENSION: usize = 16;

/// What to do with a name Content Server refuses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NamePolicy {
    /// Adapt it by the rule of this module and keep the original in metadata.
    #[default]
    Adapt,
    /// Refuse the document with an error that names it.
    Refuse,
}

/// Why Content Server would refuse a name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "problem")]
pub enum NameProblem {
    /// Empty, or only whitespace.
    Blank,
    /// Contains `:`.
    Colon,
    /// Longer than [`MAX_NAME_CHARS`] characters.
    TooLong {
        /// Its length in characters.
        chars: usize,
    },
    /// Ends in a dot or a space.
    TrailingDotOrSpace,
    /// Starts with whitespace.
    LeadingWhitespace,
    /// Equals a name already in the target folder after case folding.
    Collision {
        /// The name it collides with.
        with: String,
    },
}

impl fmt::Display for NameProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameProblem::Blank => f.write_str("the name is blank"),
            NameProblem::Colon => f.write_str("it contains ':'"),
            NameProblem::TooLong { chars } => {
                write!(f, "it has {chars} characters (at most {MAX_NAME_CHARS})")
            }
            NameProblem::TrailingDotOrSpace => f.write_str("it ends in a dot or a space"),
            NameProblem::LeadingWhitespace => f.write_str("it starts with whitespace"),
            NameProblem::Collision { with } => {
                write!(
                    f,
                    "it collides with {with:?} in the target folder (case folded)"
                )
            }
        }
    }
}

/// A name refused under [`NamePolicy::Refuse`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("name {name:?} is refused: {}", join(problems))]
pub struct NameRefused {
    /// The name as the source spells it.
    pub name: String,
    /// Every problem found.
    pub problems: Vec<NameProblem>,
}

fn join(problems: &[NameProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// What [`decide`] chose for a name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameDecision {
    /// The name to use at the target.
    pub name: String,
    /// The name as the source spells it.
    pub original: String,
    /// What was wrong with the original (empty when it is used as it is).
    pub problems: Vec<NameProblem>,
}

impl NameDecision {
    /// Whether the name differs from the original (adapted, or only NFC-normalised).
    pub fn adapted(&self) -> bool {
        self.name != self.original
    }
}

/// The problems of `name` on its own (not [`NameProblem::Collision`], which needs the folder).
pub fn problems(name: &str) -> Vec<NameProblem> {
    let mut out = Vec::new();
    if name.trim().is_empty() {
        out.push(NameProblem::Blank);
        return out;
    }
    if name.contains(':') {
        out.push(NameProblem::Colon);
    }
    let chars = name.nfc().count();
    if chars > MAX_NAME_CHARS {
        out.push(NameProblem::TooLong { chars });
    }
    if name.ends_with(['.', ' ']) || name.ends_with(char::is_whitespace) {
        out.push(NameProblem::TrailingDotOrSpace);
    }
    if name.starts_with(char::is_whitespace) {
        out.push(NameProblem::LeadingWhitespace);
    }
    out
}

/// The key under which two names collide in one folder: NFC, then Unicode lowercase.
pub fn fold_key(name: &str) -> String {
    name.nfc().collect::<String>().to_lowercase()
}

/// `name` made acceptable by the rule of this module (see the module docs). A name without
/// problems comes back NFC-normalised and otherwise unchanged.
pub fn adapt(name: &str) -> String {
    let nfc: String = name.nfc().collect();
    let replaced = nfc.replace(':', "-");
    let trimmed = replaced
        .trim()
        .trim_end_matches(|c: char| c == '.' || c.is_whitespace());
    let base = if trimmed.is_empty() { "_" } else { trimmed };
    if base.chars().count() <= MAX_NAME_CHARS {
        return base.to_owned();
    }
    with_suffix(base, &short_hash(name))
}

/// `name` made unique in its folder: `~` and 8 hex digits of the SHA-256 of `salt` before the
/// extension, within [`MAX_NAME_CHARS`]. The same `name` and `salt` give the same result.
pub fn disambiguate(name: &str, salt: &str) -> String {
    with_suffix(name, &short_hash(salt))
}

/// Decides the name of a document at the target: as it is, adapted, or refused.
pub fn decide(name: &str, policy: NamePolicy) -> Result<NameDecision, NameRefused> {
    let problems = problems(name);
    if !problems.is_empty() && policy == NamePolicy::Refuse {
        return Err(NameRefused {
            name: name.to_owned(),
            problems,
        });
    }
    Ok(NameDecision {
        name: adapt(name),
        original: name.to_owned(),
        problems,
    })
}

/// Names taken in one folder, by [`fold_key`], to find collisions among names decided together
/// (a plan, a batch).
#[derive(Debug, Clone, Default)]
pub struct FolderNames {
    taken: std::collections::HashMap<String, String>,
}

impl FolderNames {
    /// Claims `name`; when a name with the same fold key is taken, answers that name instead
    /// (and claims nothing).
    pub fn claim(&mut self, name: &str) -> Option<String> {
        match self.taken.entry(fold_key(name)) {
            std::collections::hash_map::Entry::Occupied(e) => Some(e.get().clone()),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(name.to_owned());
                None
            }
        }
    }
}

fn short_hash(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..4])
}

/// `stem~tag.ext`, the stem cut so that the whole fits in [`MAX_NAME_CHARS`].
fn with_suffix(name: &str, tag: &str) -> String {
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() && e.chars().count() <= MAX_KEPT_EXTENSION => (s, Some(e)),
        _ => (name, None),
    };
    let tail = match ext {
        Some(e) => format!("~{tag}.{e}"),
        None => format!("~{tag}"),
    };
    let room = MAX_NAME_CHARS - tail.chars().count();
    let stem: String = stem.chars().take(room).collect();
    let stem = stem.trim_end_matches(|c: char| c == '.' || c.is_whitespace());
    format!("{stem}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NFD_E: &str = "Re\u{301}sume\u{301}.pdf"; // "Résumé.pdf", decomposed
    const NFC_E: &str = "R\u{e9}sum\u{e9}.pdf";

    fn ok_name(name: &str) {
        assert!(problems(name).is_empty(), "{name}: {:?}", problems(name));
        assert!(name.chars().count() <= MAX_NAME_CHARS);
        assert!(!name.contains(':'));
    }

    #[test]
    fn good_names_pass_unchanged() {
        for n in ["Report.pdf", "P-1042 Site Plan.pdf", ".profile", "a", NFC_E] {
            assert!(problems(n).is_empty(), "{n}");
            assert_eq!(adapt(n), n);
            let d = decide(n, NamePolicy::Refuse).unwrap();
            assert!(!d.adapted() && d.problems.is_empty());
        }
    }

    #[test]
    fn each_problem_is_found() {
        assert_eq!(problems(""), [NameProblem::Blank]);
        assert_eq!(problems("   "), [NameProblem::Blank]);
        assert_eq!(problems("12:30 Minutes.pdf"), [NameProblem::Colon]);
        assert_eq!(problems("Report."), [NameProblem::TrailingDotOrSpace]);
        assert_eq!(problems("Report "), [NameProblem::TrailingDotOrSpace]);
        assert_eq!(problems(" Report"), [NameProblem::LeadingWhitespace]);
        let long = "x".repeat(249);
        assert_eq!(problems(&long), [NameProblem::TooLong { chars: 249 }]);
        assert!(problems(&"x".repeat(248)).is_empty());
        // Characters, not bytes: 248 two-byte letters are fine.
        assert!(problems(&"é".repeat(248)).is_empty());
        // NFD counts as its composed length.
        let nfd_long = "e\u{301}".repeat(248);
        assert!(problems(&nfd_long).is_empty(), "{:?}", problems(&nfd_long));
        assert_eq!(
            problems("a:b. "),
            [NameProblem::Colon, NameProblem::TrailingDotOrSpace]
        );
    }

    #[test]
    fn the_rule_adapts_every_problem() {
        assert_eq!(adapt("12:30 Minutes.pdf"), "12-30 Minutes.pdf");
        assert_eq!(adapt("Report. ."), "Report");
        assert_eq!(adapt("  Report.pdf  "), "Report.pdf");
        assert_eq!(adapt("..."), "_");
        assert_eq!(adapt(""), "_");
        assert_eq!(adapt(NFD_E), NFC_E);
        for bad in [
            "a:b:c.txt",
            "x. . ",
            " y",
            &"z".repeat(600),
            &"w".repeat(300),
        ] {
            ok_name(&adapt(bad));
        }
    }

    #[test]
    fn long_names_keep_extension_and_stay_apart() {
        let a = format!("{}A.pdf", "n".repeat(260));
        let b = format!("{}B.pdf", "n".repeat(260));
        let (aa, ab) = (adapt(&a), adapt(&b));
        assert_eq!(aa.chars().count(), MAX_NAME_CHARS);
        assert!(aa.ends_with(".pdf") && aa.contains('~'), "{aa}");
        assert_ne!(aa, ab);
        ok_name(&aa);
        // The same input always gives the same name.
        assert_eq!(adapt(&a), aa);
        // An over-long "extension" is not kept whole.
        let odd = format!("a.{}", "e".repeat(300));
        let adapted = adapt(&odd);
        ok_name(&adapted);
        // Multi-byte letters are cut on character boundaries.
        let wide = format!("{}.docx", "ü".repeat(300));
        let w = adapt(&wide);
        assert_eq!(w.chars().count(), MAX_NAME_CHARS);
        assert!(w.ends_with(".docx"));
    }

    #[test]
    fn case_folding_and_normal_forms_collide() {
        assert_eq!(fold_key("Report.PDF"), fold_key("report.pdf"));
        assert_eq!(fold_key(NFD_E), fold_key(NFC_E));
        assert_eq!(fold_key("ÄRGER.txt"), fold_key("ärger.txt"));
        assert_ne!(fold_key("Report.pdf"), fold_key("Report.pdf "));
        let mut names = FolderNames::default();
        assert_eq!(names.claim("Report.pdf"), None);
        assert_eq!(names.claim("REPORT.pdf").as_deref(), Some("Report.pdf"));
        assert_eq!(names.claim(NFC_E), None);
        assert_eq!(names.claim(NFD_E).as_deref(), Some(NFC_E));
        assert_eq!(names.claim("Other.pdf"), None);
    }

    #[test]
    fn disambiguation_is_stable_and_fits() {
        let a = disambiguate("report.pdf", "dropbox:id:1");
        let b = disambiguate("report.pdf", "dropbox:id:2");
        assert_ne!(a, b);
        assert_eq!(a, disambiguate("report.pdf", "dropbox:id:1"));
        assert!(a.starts_with("report~") && a.ends_with(".pdf"), "{a}");
        assert_ne!(fold_key(&a), fold_key("Report.pdf"));
        let long = disambiguate(&"q".repeat(248), "k");
        assert_eq!(long.chars().count(), MAX_NAME_CHARS);
        ok_name(&long);
        assert!(disambiguate("README", "k").starts_with("README~"));
    }

    #[test]
    fn refusal_names_the_file_and_every_problem() {
        let err = decide("Q1: Plan.", NamePolicy::Refuse).unwrap_err();
        assert_eq!(err.name, "Q1: Plan.");
        let text = err.to_string();
        assert!(text.contains("\"Q1: Plan.\""), "{text}");
        assert!(
            text.contains("':'") && text.contains("ends in a dot"),
            "{text}"
        );
        let d = decide("Q1: Plan.", NamePolicy::Adapt).unwrap();
        assert_eq!(d.name, "Q1- Plan");
        assert_eq!(d.original, "Q1: Plan.");
        assert!(d.adapted());
        assert_eq!(d.problems.len(), 2);
        // NFD is not a problem, but the name used is NFC, and that counts as adapted.
        let d = decide(NFD_E, NamePolicy::Refuse).unwrap();
        assert_eq!(d.name, NFC_E);
        assert!(d.adapted() && d.problems.is_empty());
    }
}
