//! Content Server emulator: login variants, tickets (fresh, cookies, expiry), wire rules.

mod contentserver_support;

use std::time::Duration;

use contentserver_support::{json, start, start_with};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn ping_needs_no_ticket_and_unknown_paths_get_the_registry_error() {
    let cs = start().await;
    let (status, body) = cs.get("", "/api/v1/ping").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["version"].is_string());
    // A GET carrying a meaningless Content-Type (pyxecm does that) is fine.
    let resp = cs
        .req(Method::GET, "", "/api/v1/ping")
        .header("Content-Type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);

    let t = cs.login("admin", "admin").await;
    for path in ["/api/v2/no/such/thing", "/api/v3/nodes/2000"] {
        let (status, body) = cs.get(&t, path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body["error"],
            "The REST API URL could not be found in the mappings registry"
        );
    }
    // An unknown path with a body is answered after the body is read; the connection stays usable.
    let (status, _) = cs
        .form(
            Method::POST,
            &t,
            "/api/v2/nowhere",
            &[("a", &"x".repeat(100_000))],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = cs.get(&t, "/api/v2/nodes/2000").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn login_by_password_url_encoded_and_multipart() {
    let cs = start().await;
    let t = cs.login("admin", "admin").await;
    assert!(!t.is_empty());
    let form = reqwest::multipart::Form::new()
        .text("username", "editor")
        .text("password", "editor");
    let resp = cs
        .req(Method::POST, "", "/api/v1/auth")
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (status, body) = json(resp).await;
    assert_eq!(status, StatusCode::OK);
    let editor = body["ticket"].as_str().unwrap().to_owned();
    let (_, me) = cs.get(&editor, "/api/v1/auth").await;
    assert_eq!(me["data"]["name"], "editor");
    assert_eq!(me["data"]["id"], 1001);

    let (status, body) = cs
        .form(
            Method::POST,
            "",
            "/api/v1/auth",
            &[("username", "admin"), ("password", "nope")],
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "Invalid username/password specified.");
    let (status, _) = cs
        .form(Method::POST, "", "/api/v1/auth", &[("username", "admin")])
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn otds_ticket_and_bearer_token_exchange_for_a_ticket_header() {
    let cs = start().await;
    for (name, value) in [
        ("OTDSTicket", "sandbox-otds-ticket"),
        ("Authorization", "Bearer sandbox-otds-token"),
    ] {
        let resp = cs
            .req(Method::GET, "", "/api/v1/auth")
            .header(name, value)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let ticket = resp.headers()["OTCSTicket"].to_str().unwrap().to_owned();
        let (_, me) = cs.get(&ticket, "/api/v1/auth").await;
        assert_eq!(me["data"]["name"], "admin");
    }
    let resp = cs
        .req(Method::GET, "", "/api/v1/auth")
        .header("OTDSTicket", "wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let (status, body) = cs.get("", "/api/v2/nodes/2000").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "Authentication Required");
}

#[tokio::test]
async fn ticket_in_any_header_case_or_cookie_and_fresh_ticket_on_success() {
    let cs = start().await;
    let t = cs.login("admin", "admin").await;
    let url = format!("{}/api/v2/nodes/2000", cs.base);
    for (name, value) in [
        ("otcsticket", t.clone()),
        ("OTCSTICKET", t.clone()),
        ("LLCookie", t.clone()),
        ("Cookie", format!("otcsticket={t}")),
        ("Cookie", format!("other=1; LLCookie={t}")),
    ] {
        let resp = cs.http.get(&url).header(name, value).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{name}");
        let fresh = resp.headers()["OTCSTicket"].to_str().unwrap().to_owned();
        // The fresh ticket works too.
        let (status, _) = cs.get(&fresh, "/api/v2/nodes/2000").await;
        assert_eq!(status, StatusCode::OK);
    }
    // Failures carry no fresh ticket.
    let resp = cs
        .req(Method::GET, &t, "/api/v2/nodes/999999")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.headers().get("OTCSTicket").is_none());
    // Served at the root as well as under the prefix.
    let resp = cs
        .http
        .get(format!("{}/api/v2/nodes/2000", cs.root))
        .header("OTCSTicket", &t)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn logout_ends_the_session() {
    let cs = start().await;
    let t = cs.login("admin", "admin").await;
    let resp = cs
        .req(Method::DELETE, &t, "/api/v1/auth")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers().get("OTCSTicket").is_none());
    let (status, _) = cs.get(&t, "/api/v2/nodes/2000").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn fixed_ticket_lifetime_expires_old_tickets_but_fresh_ones_live_on() {
    let cs = start_with(|c| c.ticket_ttl = Some(Duration::from_secs(60))).await;
    let first = cs.login("admin", "admin").await;
    cs.server.advance_clock(Duration::from_secs(40));
    let resp = cs
        .req(Method::GET, &first, "/api/v2/nodes/2000")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let fresh = resp.headers()["OTCSTicket"].to_str().unwrap().to_owned();
    cs.server.advance_clock(Duration::from_secs(30));
    // 70 s after login: the first ticket is too old, the one issued at 40 s is not.
    let (status, body) = cs.get(&first, "/api/v2/nodes/2000").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "Authentication Required");
    let (status, _) = cs.get(&fresh, "/api/v2/nodes/2000").await;
    assert_eq!(status, StatusCode::OK);
    let (_, info) = cs.get(&fresh, "/api/v1/serverinfo").await;
    assert_eq!(info["sessions"]["session_timeout"], 60000);
}

#[tokio::test]
async fn idle_lifetime_slides_with_use() {
    let cs = start_with(|c| c.ticket_idle_ttl = Some(Duration::from_secs(60))).await;
    let t = cs.login("admin", "admin").await;
    for _ in 0..3 {
        cs.server.advance_clock(Duration::from_secs(50));
        let (status, _) = cs.get(&t, "/api/v2/nodes/2000").await;
        assert_eq!(status, StatusCode::OK);
    }
    cs.server.advance_clock(Duration::from_secs(61));
    let (status, _) = cs.get(&t, "/api/v2/nodes/2000").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A new login works.
    let t = cs.login("admin", "admin").await;
    let (status, _) = cs.get(&t, "/api/v2/nodes/2000").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn expire_all_tickets_now() {
    let cs = start().await;
    let a = cs.login("admin", "admin").await;
    let e = cs.login("editor", "editor").await;
    cs.server.expire_all_tickets();
    for t in [&a, &e] {
        let (status, _) = cs.get(t, "/api/v2/nodes/2000").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let a = cs.login("admin", "admin").await;
    let (status, _) = cs.get(&a, "/api/v2/nodes/2000").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn suppress_response_codes_answers_200_with_status_code() {
    let cs = start().await;
    let t = cs.login("admin", "admin").await;
    let (status, body) = cs
        .get(&t, "/api/v2/nodes/999999?suppress_response_codes")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["statusCode"], 400);
    assert!(body["error"].is_string());
}

#[tokio::test]
async fn body_field_merges_over_plain_fields_in_both_encodings() {
    let cs = start().await;
    let t = cs.login("admin", "admin").await;
    // Plain fields only, numbers as strings.
    let (status, body) = cs
        .form(
            Method::POST,
            &t,
            "/api/v2/nodes",
            &[("type", "0"), ("parent_id", "2000"), ("name", "Plain")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Plain name overridden by the body's name.
    let (status, body) = cs
        .form(
            Method::POST,
            &t,
            "/api/v2/nodes",
            &[
                ("name", "Ignored"),
                (
                    "body",
                    &json!({"type": "0", "parent_id": "2000", "name": "FromBody", "roles": {}})
                        .to_string(),
                ),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["results"]["data"]["properties"]["name"], "FromBody");
    // Multipart without a file ([K] posts every write that way).
    let form = reqwest::multipart::Form::new()
        .text("parent_id", "2000")
        .text("body", json!({"type": 0, "name": "Multi"}).to_string());
    let resp = cs
        .req(Method::POST, &t, "/api/v2/nodes")
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (status, body) = json(resp).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["results"]["data"]["properties"]["parent_id"], 2000);
    // A body that is not JSON is refused.
    let (status, _) = cs
        .form(Method::POST, &t, "/api/v2/nodes", &[("body", "{not json")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
