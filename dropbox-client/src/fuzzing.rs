//! Entry points for the fuzz targets in `fuzz/` and for the corpus regression test
//! (`tests/fuzz_corpus.rs`): the decoding of server answers, as the transport does it, from raw
//! bytes. Not part of the supported API (hidden from the docs); each function must return for
//! every input, never panic.

use reqwest::header::{HeaderMap, HeaderValue};

use crate::models::files::{ListFolderResult, Metadata, UploadSessionFinishBatchResult};
use crate::models::sharing::ListSharedLinksResult;
use crate::models::team_log::GetTeamEventsResult;
use crate::transport::{error_from_answer, from_json, header_safe_json};

/// Decodes `data` as every kind of answer the client reads: the JSON result of several routes,
/// the `Dropbox-API-Result` header of a download, and an error answer (status and
/// `Retry-After` taken from the first bytes). Returns how many decodes succeeded; every error's
/// text is rendered (a `Display` must not panic either).
pub fn decode_answer(data: &[u8]) -> usize {
    let mut ok = 0;
    let mut seen = |r: Result<(), crate::Error>| match r {
        Ok(()) => ok += 1,
        Err(e) => {
            let _ = e.to_string();
            let _ = (e.kind(), e.is_retryable(), e.retry_after(), e.is_in_doubt());
        }
    };
    seen(from_json::<ListFolderResult>("files/list_folder", data).map(drop));
    seen(from_json::<Metadata>("files/get_metadata", data).map(drop));
    seen(
        from_json::<UploadSessionFinishBatchResult>("files/upload_session/finish_batch", data)
            .map(drop),
    );
    seen(from_json::<ListSharedLinksResult>("sharing/list_shared_links", data).map(drop));
    seen(from_json::<GetTeamEventsResult>("team_log/get_events", data).map(drop));
    let (status, rest) = match data {
        [a, b, rest @ ..] => (400 + (u16::from(*a) << 8 | u16::from(*b)) % 200, rest),
        _ => (409, data),
    };
    let mut headers = HeaderMap::new();
    let (hint, body) = rest.split_at(rest.len().min(8));
    if let Ok(v) = HeaderValue::from_bytes(hint) {
        headers.insert(reqwest::header::RETRY_AFTER, v);
    }
    let e = error_from_answer("files/upload", false, status, &headers, body);
    let _ = (e.to_string(), e.kind(), e.is_retryable(), e.retry_after());
    ok
}

/// The `Dropbox-API-Arg` escaping round trip: when `data` is a JSON value, the header form of
/// it is printable ASCII, a valid header value, and decodes to what its plain JSON form
/// decodes to; any text (as a `path`) round-trips the same way. Panics (the fuzzer's finding)
/// when one does not. (The plain form, not the value itself: serde_json's float parsing is
/// not correctly rounded for long numbers, so a 103-digit integer read as a float does not
/// come back bit for bit from its shortest printed form, escaped or not.)
pub fn api_arg_round_trip(data: &[u8]) {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        check_header_form(&value);
    }
    let text = String::from_utf8_lossy(data);
    check_header_form(&serde_json::json!({ "path": text }));
}

fn check_header_form(value: &serde_json::Value) {
    let header = header_safe_json(value).expect("a JSON value always encodes");
    assert!(
        header.bytes().all(|b| (0x20..0x7f).contains(&b)),
        "not printable ASCII: {header:?}"
    );
    assert!(
        HeaderValue::from_str(&header).is_ok(),
        "not a header value: {header:?}"
    );
    let back: serde_json::Value = serde_json::from_str(&header).expect("the header form decodes");
    let plain: serde_json::Value =
        serde_json::from_str(&value.to_string()).expect("the plain form decodes");
    assert_eq!(back, plain, "the escaping changed the value");
}

/// The webhook notification parser: `data` signed with a fixed secret is verified and parsed
/// (parsed or refused with [`crate::webhook::WebhookError::BadBody`], never a bad signature),
/// and `data` under its own first 64 bytes as the signature is refused unless it is that
/// signature. Panics when one does not hold.
pub fn webhook_notification(data: &[u8]) {
    use crate::webhook::{sign, verify_and_parse, WebhookError};
    const SECRET: &str = "fuzz-app-secret";
    let signature = sign(SECRET, data);
    match verify_and_parse(SECRET, data, &signature) {
        Ok(note) => {
            let _ = note.list_folder.accounts.len();
        }
        Err(WebhookError::BadBody(m)) => assert!(!m.is_empty()),
        Err(other) => panic!("a correctly signed body was refused: {other:?}"),
    }
    let forged = String::from_utf8_lossy(&data[..data.len().min(64)]);
    // Hex is read in either case: only the same bytes are the same signature.
    if hex::decode(forged.trim()).ok() != hex::decode(&signature).ok() {
        assert_eq!(
            verify_and_parse(SECRET, data, &forged),
            Err(WebhookError::BadSignature)
        );
    }
}
