//! Entry points for the fuzz targets in `fuzz/` and for the corpus regression test
//! (`tests/fuzz_corpus.rs`): the rules loader, the webhook handler and the state store's
//! record decoding, from raw bytes. Not part of the supported API (hidden from the docs);
//! each function must return for every input, and panics only when a property it checks fails
//! (that is the fuzzer's finding).

use crate::error::Error;
use crate::model::{Body, DocRef, Document};
use crate::rules::Rules;
use crate::webhook::{WakeHub, WebhookHandler};

/// Loads `data` as a TOML rules file. A refused file must be a rules error that says where
/// (`line L, column C`); rules that load are applied to a few documents, which may fail (a
/// missing template value) but not panic. Returns whether the rules loaded.
pub fn rules_toml(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    match Rules::from_toml(text) {
        Ok(rules) => {
            for path in [
                "a.pdf",
                "Projects/P-1 X/Drawings/Site Plan.pdf",
                "noext",
                ".hidden",
            ] {
                let doc = Document::new(
                    DocRef::dropbox("id:1", "1"),
                    path,
                    3,
                    Body::from_bytes("abc"),
                );
                if let Err(e) = rules.evaluate(doc) {
                    let _ = e.chain();
                }
            }
            let _ = rules.fingerprint();
            true
        }
        Err(Error::Rules(m)) => {
            assert!(m.contains("line "), "a rules error without a location: {m}");
            false
        }
        Err(other) => panic!("not a rules error: {other}"),
    }
}

/// One webhook request built from `data` (first byte: the method; up to the first newline:
/// the query; the rest: the body, signed correctly when the method byte is even) through
/// [`WebhookHandler::respond`]. Panics when the answer's status is not one the handler
/// documents, or a correctly signed notification is refused as a bad signature.
pub fn webhook_request(data: &[u8]) {
    const SECRET: &str = "fuzz-app-secret";
    let handler = WebhookHandler::new(SECRET, WakeHub::new());
    let (first, rest) = data.split_first().map_or((0, data), |(f, r)| (*f, r));
    let method = match first % 3 {
        0 => http::Method::POST,
        1 => http::Method::GET,
        _ => http::Method::PUT,
    };
    let (query, body) = match rest.iter().position(|b| *b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let query = String::from_utf8_lossy(query);
    let mut headers = http::HeaderMap::new();
    let signed = first % 2 == 0;
    let signature = if signed {
        dropbox_client::webhook::sign(SECRET, body)
    } else {
        query.chars().take(64).collect()
    };
    if let Ok(v) = http::HeaderValue::from_str(&signature) {
        headers.insert("x-dropbox-signature", v);
    }
    let answer = handler.respond(&method, Some(&query), &headers, body);
    assert!(
        [200, 400, 403, 405].contains(&answer.status),
        "status {}",
        answer.status
    );
    if method == http::Method::POST && signed {
        assert_ne!(
            answer.status, 403,
            "a signed body was refused: {}",
            answer.body
        );
    }
}

/// The state store's rows decoded from arbitrary column values ([`crate::state`]'s SQLite row
/// readers); returns how many rows decoded.
pub fn state_record(data: &[u8]) -> usize {
    crate::state::decode_rows(data)
}
