//! Dropbox emulator over raw HTTP: OAuth refresh and PKCE code grants, short-lived tokens,
//! expiry and revocation.

mod dropbox_support;

use base64::Engine;
use dropbox_support::{json_body, Db};
use reqwest::StatusCode;
use sandbox::SandboxConfig;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

async fn token(db: &Db, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let r = db
        .http
        .post(format!("{}/oauth2/token", db.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(form).unwrap())
        .send()
        .await
        .unwrap();
    (r.status(), json_body(r).await)
}

#[tokio::test]
async fn refresh_grant_issues_short_lived_tokens() {
    let db = Db::start().await;
    let (status, body) = token(
        &db,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "sandbox-refresh"),
            ("client_id", "sandbox-app"),
            ("client_secret", "sandbox-secret"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 14400);
    let access = body["access_token"].as_str().unwrap().to_owned();
    let me = db
        .rpc_with(&access, &[], "users/get_current_account", Value::Null)
        .await
        .ok();
    assert_eq!(me["email"], "dana@example.com");

    // Expire it (the fault hook), then it answers expired_access_token.
    db.sandbox.dropbox().expire_all_tokens();
    let r = db
        .rpc_with(&access, &[], "users/get_current_account", Value::Null)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers["content-type"], "application/json");
    assert_eq!(r.json["error"][".tag"], "expired_access_token");
    assert!(r.json["error_summary"]
        .as_str()
        .unwrap()
        .starts_with("expired_access_token/"));
    // Static tokens cannot be refreshed, so they stay valid.
    db.rpc("users/get_current_account", Value::Null).await.ok();

    let (status, body) = token(
        &db,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "bogus"),
            ("client_id", "sandbox-app"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    let (status, body) = token(
        &db,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "sandbox-refresh"),
            ("client_id", "sandbox-app"),
            ("client_secret", "wrong"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_client");
}

#[tokio::test]
async fn zero_lifetime_tokens_are_expired_at_once() {
    let db = Db::with(SandboxConfig::new().token_lifetime(std::time::Duration::ZERO)).await;
    // Client credentials through HTTP Basic this time.
    let r = db
        .http
        .post(format!("{}/oauth2/token", db.url))
        .basic_auth("sandbox-app", Some("sandbox-secret"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=refresh_token&refresh_token=sandbox-refresh")
        .send()
        .await
        .unwrap();
    let body = json_body(r).await;
    let access = body["access_token"].as_str().unwrap();
    let r = db
        .rpc_with(access, &[], "files/list_folder", json!({"path": ""}))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json["error"][".tag"], "expired_access_token");
}

#[tokio::test]
async fn pkce_code_grant_and_revoke() {
    let db = Db::start().await;
    let verifier = "a".repeat(43) + "-._~0123456789";
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = no_redirect
        .get(format!("{}/oauth2/authorize", db.url))
        .query(&[
            ("client_id", "sandbox-app"),
            ("response_type", "code"),
            ("redirect_uri", "http://127.0.0.1:1/callback"),
            ("state", "xyz"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("token_access_type", "offline"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let location = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    let params: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(params["state"], "xyz");
    let code = params["code"].clone();

    // A wrong verifier fails and burns the code; so get a fresh one for the good exchange.
    let (status, body) = token(
        &db,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", "sandbox-app"),
            (
                "code_verifier",
                "wrong-verifier-wrong-verifier-wrong-verifier",
            ),
            ("redirect_uri", "http://127.0.0.1:1/callback"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");

    let code = db
        .http
        .get(format!("{}/oauth2/authorize", db.url))
        .query(&[
            ("client_id", "sandbox-app"),
            ("response_type", "code"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("token_access_type", "offline"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (status, body) = token(
        &db,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", "sandbox-app"),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    let access = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(body["account_id"].as_str().unwrap().len(), 40);
    // The code is single-use.
    let (status, _) = token(
        &db,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", "sandbox-app"),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, 400);
    // The new refresh token works without a secret (PKCE app).
    let (status, _) = token(
        &db,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", "sandbox-app"),
        ],
    )
    .await;
    assert_eq!(status, 200);

    // Revoking the token also revokes its refresh token.
    let r = db
        .rpc_with(&access, &[], "auth/token/revoke", Value::Null)
        .await;
    assert_eq!(r.status, 200);
    let r = db
        .rpc_with(&access, &[], "users/get_current_account", Value::Null)
        .await;
    assert_eq!(r.json["error"][".tag"], "invalid_access_token");
    let (status, _) = token(
        &db,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", "sandbox-app"),
        ],
    )
    .await;
    assert_eq!(status, 400);
}
