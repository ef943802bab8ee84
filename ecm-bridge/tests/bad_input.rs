//! Bad input without a server, table-driven: names Content Server refuses and names that
//! collide (each adapted by the documented rule of `ecm_bridge::names`, keeping the original,
//! or refused with an error naming the file), rules files with errors (each located by line
//! and column), and transfers whose bytes do not match what the source announced (empty,
//! absurd sizes, a wrong content hash): each is an error naming the document. The flows and
//! the clients' own tables are in `bad_input_flow.rs` and the clients' `bad_answers` tests.

use bytes::Bytes;
use ecm_bridge::error::Error;
use ecm_bridge::model::ContentHash;
use ecm_bridge::names::{self, NamePolicy, NameProblem, MAX_NAME_CHARS};
use ecm_bridge::rules::Rules;
use ecm_bridge::verify::hash_stream;

/// What a name becomes: `Keep` (NFC, unchanged otherwise), `Adapt(to, problems)`.
enum Name {
    Keep,
    Adapt(&'static str, &'static [&'static str]),
    /// Too long: shortened to exactly 248 characters, the extension kept.
    Shorten(&'static str),
}

fn problem_tag(p: &NameProblem) -> &'static str {
    match p {
        NameProblem::Blank => "blank",
        NameProblem::Colon => "colon",
        NameProblem::TooLong { .. } => "long",
        NameProblem::TrailingDotOrSpace => "trailing",
        NameProblem::LeadingWhitespace => "leading",
        NameProblem::Collision { .. } => "collision",
    }
}

fn name_cases() -> Vec<(String, Name)> {
    use Name::*;
    let long = |n: usize, ext: &str| format!("{}{ext}", "x".repeat(n));
    vec![
        ("Report.pdf".into(), Keep),
        ("P-1042 Site Plan (rev 2).pdf".into(), Keep),
        (".profile".into(), Keep),
        ("a".into(), Keep),
        ("R\u{e9}sum\u{e9}.pdf".into(), Keep),
        ("😀 party.jpg".into(), Keep),
        ("日本語の文書.docx".into(), Keep),
        ("semi;colon,comma.txt".into(), Keep),
        ("tab\tinside.txt".into(), Keep),
        ("100% done #1 & more.txt".into(), Keep),
        ("quote\"s and 'apostrophes'.txt".into(), Keep),
        ("back\\slash.txt".into(), Keep),
        ("a.b.c.d".into(), Keep),
        ("~tilde~.txt".into(), Keep),
        ("x".repeat(MAX_NAME_CHARS), Keep),
        ("é".repeat(MAX_NAME_CHARS), Keep),
        ("e\u{301}".repeat(MAX_NAME_CHARS), Keep),
        ("Q1: Plan.pdf".into(), Adapt("Q1- Plan.pdf", &["colon"])),
        (
            "12:30 Minutes.docx".into(),
            Adapt("12-30 Minutes.docx", &["colon"]),
        ),
        ("a:b:c.txt".into(), Adapt("a-b-c.txt", &["colon"])),
        (":.pdf".into(), Adapt("-.pdf", &["colon"])),
        ("::".into(), Adapt("--", &["colon"])),
        ("C:\\path.txt".into(), Adapt("C-\\path.txt", &["colon"])),
        ("Report.".into(), Adapt("Report", &["trailing"])),
        ("Report ".into(), Adapt("Report", &["trailing"])),
        ("Report. .".into(), Adapt("Report", &["trailing"])),
        ("Report.pdf.".into(), Adapt("Report.pdf", &["trailing"])),
        ("Report\u{a0}".into(), Adapt("Report", &["trailing"])),
        ("Report\n".into(), Adapt("Report", &["trailing"])),
        (" Report.pdf".into(), Adapt("Report.pdf", &["leading"])),
        ("\tReport.pdf".into(), Adapt("Report.pdf", &["leading"])),
        (
            "  Report.pdf  ".into(),
            Adapt("Report.pdf", &["trailing", "leading"]),
        ),
        ("".into(), Adapt("_", &["blank"])),
        (" ".into(), Adapt("_", &["blank"])),
        ("\t\n".into(), Adapt("_", &["blank"])),
        (".".into(), Adapt("_", &["trailing"])),
        ("..".into(), Adapt("_", &["trailing"])),
        ("...".into(), Adapt("_", &["trailing"])),
        (
            "Q1: Plan.".into(),
            Adapt("Q1- Plan", &["colon", "trailing"]),
        ),
        (
            " a:b ".into(),
            Adapt("a-b", &["colon", "trailing", "leading"]),
        ),
        (
            "R\u{e9}sum\u{e9}: v2.pdf".into(),
            Adapt("R\u{e9}sum\u{e9}- v2.pdf", &["colon"]),
        ),
        (
            "Re\u{301}sume\u{301}: v2.pdf".into(),
            Adapt("R\u{e9}sum\u{e9}- v2.pdf", &["colon"]),
        ),
        (long(MAX_NAME_CHARS + 1, ""), Shorten("")),
        (long(300, ".pdf"), Shorten(".pdf")),
        (long(600, ".docx"), Shorten(".docx")),
        (long(1000, ".tar.gz"), Shorten(".gz")),
        (format!("{}.pdf", "ü".repeat(300)), Shorten(".pdf")),
        (format!("{}.pdf", "😀".repeat(250)), Shorten(".pdf")),
        (format!("{}: x.pdf", "n".repeat(260)), Shorten(".pdf")),
        (format!("{}.pdf ", "n".repeat(260)), Shorten(".pdf")),
        (format!("a.{}", "e".repeat(300)), Shorten("")),
    ]
}

#[test]
fn names_are_kept_adapted_or_refused_naming_the_file() {
    let cases = name_cases();
    let mut checked = 0;
    for (name, want) in &cases {
        let nfc: String = unicode_nfc(name);
        let adapted = names::decide(name, NamePolicy::Adapt)
            .unwrap_or_else(|e| panic!("{name:?}: adapt refused: {e}"));
        assert_eq!(adapted.original, *name, "the original is kept");
        let refused = names::decide(name, NamePolicy::Refuse);
        match want {
            Name::Keep => {
                assert_eq!(adapted.name, nfc, "{name:?}");
                assert!(
                    adapted.problems.is_empty(),
                    "{name:?}: {:?}",
                    adapted.problems
                );
                assert_eq!(refused.unwrap().name, nfc, "{name:?}");
            }
            Name::Adapt(to, problems) => {
                assert_eq!(adapted.name, *to, "{name:?}");
                let tags: Vec<_> = adapted.problems.iter().map(problem_tag).collect();
                assert_eq!(tags, *problems, "{name:?}");
                let err = refused.unwrap_err();
                assert_eq!(err.name, *name);
                assert!(err.to_string().contains(&format!("{name:?}")), "{err}");
            }
            Name::Shorten(ext) => {
                assert_eq!(adapted.name.chars().count(), MAX_NAME_CHARS, "{name:?}");
                assert!(
                    adapted.name.ends_with(ext) && adapted.name.contains('~'),
                    "{name:?}"
                );
                assert!(adapted.problems.iter().any(|p| problem_tag(p) == "long"));
                let err = refused.unwrap_err();
                assert!(
                    err.to_string().contains("characters (at most 248)"),
                    "{err}"
                );
            }
        }
        // Whatever came out is a name Content Server takes, and the rule is stable.
        assert!(
            names::problems(&adapted.name).is_empty(),
            "{name:?} → {:?}",
            adapted.name
        );
        assert_eq!(names::adapt(name), adapted.name, "{name:?}: stable");
        checked += 2;
    }
    assert!(checked >= 100, "{checked}");
}

fn unicode_nfc(s: &str) -> String {
    // The library's own fold is NFC + lowercase; NFC alone is what `adapt` gives a good name.
    names::adapt(s)
}

/// Pairs that are one name in a folder (case folding, NFC/NFD), and pairs that are not.
#[test]
fn names_that_collide_after_case_folding_or_normalisation() {
    let same = [
        ("Report.pdf", "report.pdf"),
        ("Report.pdf", "REPORT.PDF"),
        ("R\u{e9}sum\u{e9}.pdf", "Re\u{301}sume\u{301}.pdf"),
        ("R\u{e9}sum\u{e9}.pdf", "RE\u{301}SUME\u{301}.PDF"),
        ("\u{c4}rger.txt", "\u{e4}rger.txt"),
        ("A\u{308}rger.txt", "\u{e4}rger.txt"),
        ("\u{c5}ngstr\u{f6}m", "a\u{30a}ngstro\u{308}m"),
        (
            "\u{393}\u{3b5}\u{3b9}\u{3ac}",
            "\u{3b3}\u{3b5}\u{3b9}\u{3ac}",
        ),
        (
            "\u{41e}\u{442}\u{447}\u{451}\u{442}.doc",
            "\u{43e}\u{442}\u{447}\u{451}\u{442}.doc",
        ),
        ("Caf\u{e9} Menu.pdf", "CAFE\u{301} MENU.pdf"),
        ("\u{1e9e}.txt", "\u{df}.txt"), // capital sharp s lowercases to ß
        ("Invoice 12-30.pdf", "INVOICE 12-30.PDF"),
    ];
    let apart = [
        ("Report.pdf", "Report.pdf "),
        ("Report.pdf", "Report.pdf.pdf"),
        ("Resume.pdf", "R\u{e9}sum\u{e9}.pdf"),
        ("a-b.txt", "a:b.txt"),
        ("strasse.txt", "stra\u{df}e.txt"), // no full case folding: these stay apart
        ("\u{fb01}le.txt", "file.txt"),     // a ligature is not its letters (NFC keeps it)
        ("1.txt", "\u{661}.txt"),
        ("x", "x\u{200b}"),
    ];
    for (a, b) in same {
        let mut folder = names::FolderNames::default();
        assert_eq!(folder.claim(a), None);
        assert_eq!(
            folder.claim(b).as_deref(),
            Some(a),
            "{a:?} / {b:?} must collide"
        );
        // The second is made unique by the documented rule, stably, within the limit.
        let unique = names::disambiguate(&names::adapt(b), "dropbox:id:2");
        assert_ne!(names::fold_key(&unique), names::fold_key(a));
        assert_eq!(
            unique,
            names::disambiguate(&names::adapt(b), "dropbox:id:2")
        );
        assert!(names::problems(&unique).is_empty(), "{unique:?}");
    }
    for (a, b) in apart {
        let mut folder = names::FolderNames::default();
        assert_eq!(folder.claim(a), None);
        assert_eq!(folder.claim(b), None, "{a:?} / {b:?} must not collide");
    }
}

/// Rules files with errors: (text, line, column, words the message must hold).
fn rules_cases() -> Vec<(&'static str, usize, usize, &'static str)> {
    vec![
        // TOML's own errors.
        ("[[rule]\nname = 'x'", 1, 8, "unclosed array table"),
        ("[[rule]]\nname = 'x", 2, 10, "invalid literal string"),
        ("[[rule]]\nname = \"x", 2, 10, "invalid basic string"),
        ("[[rule]]\nname = x", 2, 8, "string"),
        ("[[rule]]\nname 'x'", 2, 6, "expected"),
        ("[[rule]]\nname = 'x'\nname = 'y'", 3, 1, "duplicate key"),
        ("[[rule]]\nname = 'x'\nunknown = 1", 3, 1, "unknown field"),
        ("[[rule]]\nname = 'x'\nfoldr = 'a'", 3, 1, "unknown field `foldr`"),
        ("[[rule]]\nname = 'x'\nstop = 'yes'", 3, 8, "invalid type"),
        ("[[rule]]\nname = 'x'\nextensions = 'pdf'", 3, 14, "invalid type"),
        ("[[rule]]\nname = 'x'\ntags = [1]", 3, 9, "invalid type"),
        ("[[rule]]\nname = 'x'\ntarget = { cs_folder = 'a', nope = 1 }", 3, 29, "unknown field `nope`"),
        ("[[rule]]\nname = 'x'\ntarget = { cs_node = 'a' }", 3, 22, "invalid type"),
        ("[[rule]]\nname = 'x'\n[rule.workflow]\nvalues = {}", 3, 1, "missing field `map`"),
        ("[[rule]]\nname = 'x'\n[[rule.permissions]]\nmember = 'a'", 3, 1, "missing field `permissions`"),
        ("[[rule]]\nname = 'x'\n[[rule.permissions]]\nmember = 'a'\npermissions = ['see']\nrole = 'r'", 6, 1, "unknown field `role`"),
        ("[[rule]]\nfolder = 'a'", 1, 1, "missing field `name`"),
        ("[[rules]]\nname = 'x'", 1, 3, "unknown field `rules`"),
        ("rule = 3", 1, 8, "invalid type"),
        ("[[rule]]\nname = 'x'\nmetadata = { a = { date = 1 } }", 3, 18, "did not match any variant"),
        ("[[rule]]\nname = 'x'\nmetadata = { a = 1.5 }", 3, 18, "did not match any variant"),
        ("\n\n   [[rule]]\n   name = 'x'\n   extensions = [\n 'pdf',\n 3 ]", 7, 2, "invalid type"),
        // The rules' own errors, found at load and located at the field.
        ("[[rule]]\nname = 'x'\npath = '('", 3, 1, "rule \"x\": path: regex parse error"),
        ("[[rule]]\nname = 'x'\nname_pattern = '[a-'", 3, 1, "rule \"x\": name_pattern"),
        ("[[rule]]\nname = 'x'\nname_pattern = '(?P<a>x)(?P<a>y)'", 3, 1, "duplicate capture group name"),
        ("[[rule]]\nname = 'x'\nfolder = 'a/[b'", 3, 1, "rule \"x\": folder"),
        ("[[rule]]\nname = 'x'\nfolder = 'a/{b'", 3, 1, "rule \"x\": folder"),
        ("[[rule]]\nname = 'x'\ntarget = { cs_folder = 'a', cs_node = 3 }", 3, 1, "exactly one of cs_folder"),
        ("[[rule]]\nname = 'x'\ntarget = {}", 3, 1, "exactly one of cs_folder"),
        ("[[rule]]\nname = 'x'\n[rule.metadata]\na = {}", 3, 7, "exactly one of date, user, integer"),
        ("[[rule]]\nname = 'x'\n[rule.metadata]\na = { date = 'd', user = 'u' }", 3, 7, "exactly one of date"),
        ("[[rule]]\nname = 'x'\nrm_class = '{unclosed'", 3, 1, "rm_class: unclosed '{'"),
        ("[[rule]]\nname = 'x'\nskip = 'because {why'", 3, 1, "skip: unclosed '{'"),
        ("[[rule]]\nname = 'x'\nrename_to = '{stem'", 3, 1, "rename_to: unclosed"),
        ("[[rule]]\nname = 'x'\nhold = 'H {'", 3, 1, "hold: unclosed"),
        ("[[rule]]\nname = 'x'\ntarget = { cs_folder = 'A/{year' }", 3, 1, "target: unclosed"),
        ("[[rule]]\nname = 'x'\n[rule.metadata]\nk = ['a', '{b']", 3, 7, "metadata: unclosed"),
        ("[[rule]]\nname = 'x'\n[rule.categories.'C']\nA = { date = '{d' }", 3, 7, "categories: unclosed"),
        ("[[rule]]\nname = 'x'\n[rule.categories.'C {']\nA = 'v'", 3, 7, "categories: unclosed"),
        ("[[rule]]\nname = 'x'\n[[rule.permissions]]\nmember = '{who'\npermissions = ['see']", 3, 8, "permissions: unclosed"),
        ("[[rule]]\nname = 'x'\n[rule.workflow]\nmap = '{m'", 3, 7, "workflow: unclosed"),
        ("[[rule]]\nname = 'ok'\n\n[[rule]]\nname = 'second'\n\n\n  path = '+'", 8, 3, "rule \"second\": path"),
    ]
}

#[test]
fn rules_files_with_errors_say_where() {
    let dir = tempfile::tempdir().unwrap();
    let mut wrong = Vec::new();
    for (i, (text, line, col, needle)) in rules_cases().into_iter().enumerate() {
        let err = Rules::from_toml(text).expect_err(text);
        let Error::Rules(msg) = &err else {
            panic!("{text:?}: not a rules error: {err}")
        };
        let at = format!("line {line}, column {col}: ");
        if !msg.starts_with(&at) || !msg.contains(needle) {
            wrong.push(format!("{text:?}: want {at:?} and {needle:?}, got {msg:?}"));
            continue;
        }
        assert!(!msg.contains('\n'), "one line: {msg:?}");
        // From a file, the message names the file first.
        let path = dir.path().join(format!("rules-{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let from_file = Rules::load(&path).unwrap_err().to_string();
        assert!(
            from_file.contains(&format!("{}: {at}", path.display())),
            "{from_file}"
        );
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn classify_config_rules_are_located_too() {
    let text = "intake = ['/In']\n\n[[rule]]\nname = 'r'\npath = '('\n";
    let err = ecm_bridge::flows::classify_and_route::ClassifyConfig::from_toml(text)
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 5, column 1: rule \"r\": path"), "{err}");
    let text = "intake = ['/In']\nconcurrency = 'many'\n";
    let err = ecm_bridge::flows::classify_and_route::ClassifyConfig::from_toml(text)
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 2, column 15"), "{err}");
}

/// One transfer case: bytes, announced size, announced hash, expected failure words (`None`:
/// it passes).
type TransferCase<'a> = (&'a [u8], u64, Option<ContentHash>, Option<&'a str>);

/// A transfer whose bytes are not what the source announced.
#[tokio::test]
async fn transfers_that_do_not_match_the_source_name_the_document() {
    let empty_dropbox = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let empty_sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let abc_sha = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    let wrong = "0".repeat(64);
    let cases: Vec<TransferCase> = vec![
        // An empty file is a document like any other: its hash is that of no bytes.
        (b"", 0, Some(ContentHash::sha256(empty_sha)), None),
        (b"", 0, None, None),
        (b"abc", 3, Some(ContentHash::sha256(abc_sha)), None),
        (b"", 1, None, Some("expected 1 bytes, got 0 bytes")),
        (b"abc", 0, None, Some("expected 0 bytes, got 3 bytes")),
        (b"abc", 2, None, Some("expected 2 bytes")),
        (b"abc", 4, None, Some("expected 4 bytes")),
        (
            b"abc",
            u64::MAX,
            None,
            Some("expected 18446744073709551615 bytes"),
        ),
        (
            b"abc",
            i64::MAX as u64 + 1,
            None,
            Some("expected 9223372036854775808 bytes"),
        ),
        (
            b"abc",
            3,
            Some(ContentHash::sha256(wrong.clone())),
            Some("expected sha256:000"),
        ),
        (
            b"abc",
            3,
            Some(ContentHash::dropbox(wrong.clone())),
            Some("expected dropbox:000"),
        ),
        (
            b"abc",
            3,
            Some(ContentHash::sha256("not hex")),
            Some("expected sha256:not hex"),
        ),
        (
            b"abc",
            3,
            Some(ContentHash::sha256("")),
            Some("got sha256:ba78"),
        ),
        (
            b"",
            0,
            Some(ContentHash::dropbox(abc_sha)),
            Some("got dropbox:e3b0"),
        ),
        (
            b"abc",
            3,
            Some(ContentHash::dropbox(empty_dropbox)),
            Some("got dropbox:"),
        ),
        (
            b"abc",
            3,
            Some(ContentHash::sha256(abc_sha.to_uppercase())),
            Some("expected sha256:BA78"),
        ),
    ];
    for (bytes, len, hash, want) in cases {
        let chunks = futures::stream::iter(
            bytes
                .chunks(1)
                .map(|c| Ok::<_, std::io::Error>(Bytes::copy_from_slice(c)))
                .collect::<Vec<_>>(),
        );
        let hashed = hash_stream(chunks).await.unwrap();
        let got = hashed.check("/Intake/Bad/odd.pdf", len, hash.as_ref());
        match (got, want) {
            (Ok(()), None) => {}
            (Err(e), Some(w)) => {
                let text = e.to_string();
                assert!(
                    text.starts_with("/Intake/Bad/odd.pdf: verification failed"),
                    "{text}"
                );
                assert!(text.contains(w), "{len} {hash:?}: want {w:?} in {text}");
                assert!(e.is_retryable(), "a fresh transfer may succeed: {text}");
            }
            (got, want) => panic!("{len} {hash:?}: got {got:?}, want {want:?}"),
        }
    }
}
