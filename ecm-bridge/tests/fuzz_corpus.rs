//! The fuzz corpora (`fuzz/corpus/<target>/`: the seeds, and every input a fuzzer found a
//! fault with) replayed on stable through the same functions the cargo-fuzz targets call, so
//! CI checks them without nightly. `./fuzz/run.sh SECONDS` is the fuzzing itself.

use std::path::{Path, PathBuf};

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let data = std::fs::read(&p).unwrap();
            (p, data)
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no corpus in {}", dir.display());
    out
}

/// Runs `f` on every input of `target`'s corpus; a panic names the input. Returns `f`'s results.
fn replay<T>(target: &str, f: impl Fn(&[u8]) -> T + std::panic::RefUnwindSafe) -> Vec<(String, T)> {
    corpus(target)
        .into_iter()
        .map(|(path, data)| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            match std::panic::catch_unwind(|| f(&data)) {
                Ok(v) => (name, v),
                Err(_) => panic!("{target}: input {} fails", path.display()),
            }
        })
        .collect()
}

fn of<T: Copy>(results: &[(String, T)], name: &str) -> T {
    results
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no corpus input {name}"))
        .1
}

#[test]
fn dropbox_decode() {
    let r = replay("dropbox_decode", dropbox_client::fuzzing::decode_answer);
    // The seeds are what they say: a good listing decodes, a truncated one does not.
    assert!(of(&r, "list_folder.json") >= 1);
    assert!(of(&r, "metadata.json") >= 1);
    assert_eq!(of(&r, "truncated.json"), 0);
    assert_eq!(of(&r, "html_502.html"), 0);
}

#[test]
fn cs_decode() {
    let r = replay("cs_decode", contentserver_client::fuzzing::decode_answer);
    assert!(of(&r, "children.json") >= 1);
    assert_eq!(of(&r, "truncated.json"), 0);
    assert_eq!(of(&r, "html_503.html"), 0);
}

#[test]
fn api_arg() {
    replay("api_arg", dropbox_client::fuzzing::api_arg_round_trip);
}

#[test]
fn webhook() {
    replay("webhook", |d| {
        dropbox_client::fuzzing::webhook_notification(d);
        ecm_bridge::fuzzing::webhook_request(d);
    });
}

#[test]
fn rules() {
    let r = replay("rules", ecm_bridge::fuzzing::rules_toml);
    assert!(of(&r, "example.toml"));
    for bad in [
        "bad_regex.toml",
        "unclosed.toml",
        "two_targets.toml",
        "syntax.toml",
    ] {
        assert!(!of(&r, bad), "{bad}");
    }
}

#[test]
fn state_record() {
    let r = replay("state_record", ecm_bridge::fuzzing::state_record);
    // The well-formed record row decodes (records and claims share its first columns).
    assert!(of(&r, "record.bin") >= 1);
}
