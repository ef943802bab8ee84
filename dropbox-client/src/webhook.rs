//! Webhooks: answering Dropbox's verification challenge, checking `X-Dropbox-Signature`, and
//! reading the notification. Framework-neutral: plug these into any HTTP server.
//!
//! ```
//! use dropbox_client::webhook::{sign, verify_and_parse};
//! let body = br#"{"list_folder": {"accounts": ["dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc"]}, "delta": {"users": [12345678]}}"#;
//! let signature = sign("app-secret", body); // what Dropbox sends in X-Dropbox-Signature
//! let note = verify_and_parse("app-secret", body, &signature).unwrap();
//! assert_eq!(note.list_folder.accounts.len(), 1);
//! assert!(verify_and_parse("other-secret", body, &signature).is_err());
//! ```

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-Dropbox-Signature";

/// How to answer `GET <webhook>?challenge=…`: status 200, this body, and these headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeResponse {
    /// The challenge, echoed.
    pub body: String,
    /// Headers to send: `Content-Type: text/plain` and `X-Content-Type-Options: nosniff`.
    pub headers: [(&'static str, &'static str); 2],
}

/// The answer to the verification request.
pub fn challenge_response(challenge: &str) -> ChallengeResponse {
    ChallengeResponse {
        body: challenge.to_owned(),
        headers: [
            ("Content-Type", "text/plain"),
            ("X-Content-Type-Options", "nosniff"),
        ],
    }
}

/// A notification: which accounts have changes (read them with `list_folder/continue`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Notification {
    /// Accounts with changes.
    pub list_folder: AccountList,
    /// Legacy numeric user ids.
    #[serde(default)]
    pub delta: Option<DeltaUsers>,
}

/// `{"accounts": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AccountList {
    /// Account ids (`dbid:…`).
    pub accounts: Vec<String>,
}

/// `{"users": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DeltaUsers {
    /// Legacy user ids.
    pub users: Vec<u64>,
}

/// Why a notification was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum WebhookError {
    /// The signature header is missing, malformed, or does not match the body.
    #[error("webhook: bad X-Dropbox-Signature")]
    BadSignature,
    /// The body is not a notification.
    #[error("webhook: body is not a notification: {0}")]
    BadBody(String),
}

/// The lowercase hex HMAC-SHA256 of `body` with the app secret.
pub fn sign(app_secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `signature` (the header's value) is the HMAC of the raw `body`. Compared in constant
/// time.
pub fn verify_signature(app_secret: &str, body: &[u8], signature: &str) -> bool {
    let Ok(expected) = hex::decode(signature.trim()) else {
        return false;
    };
    let mut mac =
        Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// Checks the signature, then parses the notification.
pub fn verify_and_parse(
    app_secret: &str,
    body: &[u8],
    signature: &str,
) -> Result<Notification, WebhookError> {
    if !verify_signature(app_secret, body, signature) {
        return Err(WebhookError::BadSignature);
    }
    serde_json::from_slice(body).map_err(|e| WebhookError::BadBody(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector() {
        let body = br#"{"delta": {"users": [12345]}}"#;
        assert_eq!(
            sign("the_secret", body),
            "0a8c16b085420b960dc78664279fe09e936a2a01b1f91064869d9e77dfd64529"
        );
        assert!(verify_signature(
            "the_secret",
            body,
            "0a8c16b085420b960dc78664279fe09e936a2a01b1f91064869d9e77dfd64529"
        ));
    }

    #[test]
    fn bad_signatures_are_refused() {
        let body = br#"{"list_folder": {"accounts": []}}"#;
        let good = sign("s", body);
        assert!(verify_signature("s", body, &good));
        assert!(!verify_signature("s", b"tampered", &good));
        assert!(!verify_signature("s", body, "zz"));
        assert!(!verify_signature("s", body, ""));
        assert_eq!(
            verify_and_parse("t", body, &good),
            Err(WebhookError::BadSignature)
        );
        assert!(matches!(
            verify_and_parse("s", b"{}", &sign("s", b"{}")),
            Err(WebhookError::BadBody(_))
        ));
    }

    #[test]
    fn challenge_echoes() {
        let r = challenge_response("abc123");
        assert_eq!(r.body, "abc123");
        assert!(r.headers.contains(&("X-Content-Type-Options", "nosniff")));
    }
}
