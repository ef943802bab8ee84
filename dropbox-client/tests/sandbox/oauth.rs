//! OAuth 2: a refresh-token client through short-lived tokens and the "expire now" fault, and the
//! PKCE code flow through `/oauth2/authorize` and `/oauth2/token`.

use std::sync::Arc;
use std::time::Duration;

use dropbox_client::auth::{OAuthApp, PkceVerifier, RefreshingToken};
use dropbox_client::{Client, ErrorKind};
use sandbox::{FaultRule, SandboxConfig};
use url::Url;

use crate::common::{self, builder, calls, fired, start_with};

#[tokio::test]
async fn a_refresh_token_client_refreshes_when_the_token_expires() {
    let sb = start_with(SandboxConfig::new().token_lifetime(Duration::from_secs(60))).await;
    let c = builder(&sb)
        .refresh_token("sandbox-app", Some("sandbox-secret"), "sandbox-refresh")
        .build()
        .unwrap();

    let me = c.users().get_current_account().await.unwrap();
    assert_eq!(me.email, "dana@example.com");
    assert_eq!(
        calls(&sb, "/oauth2/token"),
        1,
        "the first call obtains a token"
    );
    c.files().list_folder("").send().await.unwrap();
    assert_eq!(
        calls(&sb, "/oauth2/token"),
        1,
        "the token is reused while fresh"
    );

    // Every token issued so far expires now: the server answers 401 expired_access_token, the
    // client refreshes once and repeats the call.
    sb.dropbox_faults()
        .add(FaultRule::expire("/2/files/list_folder").with_nth(1))
        .unwrap();
    let listed = c.files().list_folder("").send().await.unwrap();
    assert!(!listed.entries.is_empty());
    assert_eq!(fired(&sb), [1]);
    assert_eq!(calls(&sb, "/oauth2/token"), 2);
    assert_eq!(
        calls(&sb, "/2/files/list_folder"),
        3,
        "refused once, then repeated"
    );
    c.users().get_current_account().await.unwrap();
    assert_eq!(calls(&sb, "/oauth2/token"), 2);

    // A refresh that meets a 503 (or a 429) is retried under the policy, like any call.
    sb.dropbox_faults()
        .add(FaultRule::status("/oauth2/token", 503).with_nth(1))
        .unwrap();
    sb.dropbox_faults()
        .add(FaultRule::rate_limited("/oauth2/token", 0).with_nth(2))
        .unwrap();
    sb.dropbox_faults()
        .add(FaultRule::expire("/2/users/get_current_account").with_nth(1))
        .unwrap();
    c.users().get_current_account().await.unwrap();
    assert_eq!(fired(&sb), [1, 1, 1, 1]);
    assert_eq!(
        calls(&sb, "/oauth2/token"),
        5,
        "two refused, then a fresh token"
    );
    assert_eq!(calls(&sb, "/2/users/get_current_account"), 4);

    // A wrong secret or refresh token is an authentication error, never retried.
    let wrong = builder(&sb)
        .refresh_token(
            "sandbox-app",
            Some("sandbox-secret"),
            "not-the-refresh-token",
        )
        .build()
        .unwrap();
    let err = wrong.users().get_current_account().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err:?}");
    assert!(!format!("{err} {err:?}").contains("not-the-refresh-token"));
}

#[tokio::test]
async fn pkce_code_flow_without_a_browser() {
    let sb = start_with(SandboxConfig::new()).await;
    let base: Url = sb.dropbox_url().parse().unwrap();
    let app = OAuthApp::new("sandbox-app")
        .api_base(&base)
        .authorize_endpoint(base.join("oauth2/authorize").unwrap());
    let verifier = PkceVerifier::generate();
    let redirect = "http://127.0.0.1:9/callback";
    let url = app.authorize_url(
        redirect,
        "state-42",
        Some(&verifier),
        &["files.content.read"],
    );

    // The sandbox approves at once and redirects with the code and the state.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = http.get(url).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    let location: Url = resp.headers()["location"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(location.as_str().starts_with(redirect), "{location}");
    let query: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(query["state"], "state-42");
    let code = &query["code"];

    // A wrong verifier is refused; the code is then spent, so authorize again.
    let wrong = PkceVerifier::generate();
    let err = app
        .exchange_code(code, Some(redirect), Some(&wrong))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err:?}");
    let resp = http
        .get(app.authorize_url(redirect, "state-43", Some(&verifier), &[]))
        .send()
        .await
        .unwrap();
    let location: Url = resp.headers()["location"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap();

    let tokens = app
        .exchange_code(&code, Some(redirect), Some(&verifier))
        .await
        .unwrap();
    assert_eq!(tokens.token_type, "bearer");
    assert!(tokens.expires_in.is_some_and(|s| s > 0));
    assert_eq!(
        tokens.account_id.as_deref(),
        common::manifest(&sb, "/accounts/0/account_id").as_str()
    );
    let refresh = tokens
        .refresh_token
        .clone()
        .expect("offline access gives a refresh token");

    // The access token works as is, and the refresh token (no secret: a PKCE app) refreshes.
    let provider = RefreshingToken::new(app.clone(), refresh.clone()).with_access_token(
        tokens.access_token.clone(),
        tokens.expires_in.map(Duration::from_secs),
    );
    let provider = Arc::new(provider);
    let c = builder(&sb)
        .token_provider(provider.clone())
        .build()
        .unwrap();
    assert_eq!(
        c.users().get_current_account().await.unwrap().email,
        "dana@example.com"
    );
    assert_eq!(provider.refresh_count(), 0);
    sb.dropbox_faults()
        .add(FaultRule::expire("*").with_nth(1))
        .unwrap();
    c.users().get_current_account().await.unwrap();
    assert_eq!(provider.refresh_count(), 1);

    let pkce_client: Client = builder(&sb)
        .refresh_token("sandbox-app", None, refresh)
        .build()
        .unwrap();
    pkce_client.files().list_folder("").send().await.unwrap();
}
