//! Ticket handling: login forms, refreshed tickets, re-login on 401 (shared), bad credentials,
//! OTDS exchanges, and secrets kept out of Debug and errors.

mod common;

use common::*;
use contentserver_client::{Client, Credentials, Error, ErrorKind};
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn mount_login(server: &MockServer, prefix: &str, tickets: &[&str]) {
    // The first login answers tickets[0], the next tickets[1], ...
    for (i, t) in tickets.iter().enumerate() {
        let mock = Mock::given(method("POST"))
            .and(path(format!("{prefix}/api/v1/auth")))
            .and(NoTicket)
            .and(header("content-type", "application/x-www-form-urlencoded"))
            .and(FieldIs("username", "admin".into()))
            .and(FieldIs("password", "pw-s3cret".into()))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ticket": t})));
        let mock = if i + 1 < tickets.len() {
            mock.up_to_n_times(1)
        } else {
            mock
        };
        mock.with_priority(1 + i as u8).mount(server).await;
    }
}

async fn login_count(server: &MockServer, prefix: &str) -> usize {
    requests_to(server, "POST", &format!("{prefix}/api/v1/auth"))
        .await
        .len()
}

#[tokio::test]
async fn password_login_then_ticket_header_and_refresh() {
    let server = MockServer::start().await;
    mount_login(&server, PREFIX, &["T1"]).await;
    Mock::given(method("GET"))
        .and(path(format!("{PREFIX}/api/v2/nodes/1")))
        .and(header("OTCSTicket", "T1"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("OTCSTicket", "T2")
                .set_body_json(v2_node(1, "a", 0)),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{PREFIX}/api/v2/nodes/2")))
        .and(header("OTCSTicket", "T2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(v2_node(2, "b", 0)))
        .expect(1)
        .mount(&server)
        .await;
    let client = password_client(&server, PREFIX);
    client.nodes().get(1).await.unwrap();
    // The refreshed ticket from the response header is used next.
    client.nodes().get(2).await.unwrap();
    assert_eq!(client.ticket().unwrap().expose(), "T2");
    assert_eq!(login_count(&server, PREFIX).await, 1);
}

#[tokio::test]
async fn login_with_domain() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/auth"))
        .and(FieldIs("domain", "corp".into()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ticket": "TD"})))
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::builder(server.uri())
        .credentials(Credentials::Password {
            username: "u".into(),
            password: "p".into(),
            domain: Some("corp".into()),
        })
        .build()
        .unwrap();
    client.login().await.unwrap();
    assert_eq!(client.ticket().unwrap().expose(), "TD");
}

#[tokio::test]
async fn unauthorized_logs_in_once_and_repeats() {
    let server = MockServer::start().await;
    mount_login(&server, "", &["T1", "T2"]).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/nodes/1"))
        .and(header("OTCSTicket", "T1"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"error": "Authentication Required"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/nodes/1"))
        .and(header("OTCSTicket", "T2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(v2_node(1, "a", 0)))
        .expect(1)
        .mount(&server)
        .await;
    let client = password_client(&server, "");
    assert_eq!(client.nodes().get(1).await.unwrap().id, 1);
    assert_eq!(login_count(&server, "").await, 2);
}

#[tokio::test]
async fn concurrent_calls_share_one_login() {
    let server = MockServer::start().await;
    mount_login(&server, "", &["T1", "T2", "T3"]).await;
    Mock::given(method("GET"))
        .and(header("OTCSTicket", "T1"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"error": "Authentication Required"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("OTCSTicket", "T2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(v2_node(1, "a", 0)))
        .mount(&server)
        .await;
    let client = password_client(&server, "");
    let calls: Vec<_> = (0..16)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.nodes().get(1).await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    // One first login plus one re-login, however many calls saw the 401.
    assert_eq!(login_count(&server, "").await, 2);
}

#[tokio::test]
async fn bad_credentials_give_auth_error_without_loop() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/auth"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"error": "Invalid username/password specified."})),
        )
        .mount(&server)
        .await;
    let client = password_client(&server, "");
    let err = client.nodes().get(1).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    match &err {
        Error::Auth {
            status, message, ..
        } => {
            assert_eq!(*status, Some(401));
            assert_eq!(message, "Invalid username/password specified.");
        }
        other => panic!("{other:?}"),
    }
    assert!(!format!("{err} {err:?}").contains("pw-s3cret"));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn still_unauthorized_after_relogin_is_an_auth_error() {
    let server = MockServer::start().await;
    mount_login(&server, "", &["T1", "T2"]).await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"error": "Authentication Required"})),
        )
        .mount(&server)
        .await;
    let client = password_client(&server, "");
    let err = client.nodes().get(1).await.unwrap_err();
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
    assert_eq!(login_count(&server, "").await, 2);
    assert_eq!(
        requests_to(&server, "GET", "/api/v2/nodes/1").await.len(),
        2
    );
}

#[tokio::test]
async fn fixed_ticket_cannot_relogin() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"error": "Authentication Required"})),
        )
        .mount(&server)
        .await;
    let client = ticket_client(&server, "", "T-SECRET-1");
    let err = client.nodes().get(1).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert!(!format!("{err} {err:?} {client:?}").contains("T-SECRET-1"));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn otds_ticket_and_bearer_are_exchanged() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/cs/cs/api/v1/auth"))
        .and(header("OTDSTicket", "otds-t"))
        .and(NoTicket)
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("OTCSTicket", "CS-FROM-OTDS")
                .set_body_json(json!({"data": {"id": 1000, "name": "Admin"}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/cs/cs/api/v1/auth"))
        .and(header("Authorization", "Bearer oauth-tok"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("OTCSTicket", "CS-FROM-BEARER")
                .set_body_json(json!({"data": {"id": 1000}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/cs/cs/api/v2/nodes/1"))
        .and(header("OTCSTicket", "CS-FROM-OTDS"))
        .respond_with(ResponseTemplate::new(200).set_body_json(v2_node(1, "a", 0)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/cs/cs/api/v2/nodes/2"))
        .and(header("OTCSTicket", "CS-FROM-BEARER"))
        .respond_with(ResponseTemplate::new(200).set_body_json(v2_node(2, "b", 0)))
        .expect(1)
        .mount(&server)
        .await;
    let otds = Client::builder(format!("{}/cs/cs", server.uri()))
        .credentials(Credentials::OtdsTicket("otds-t".into()))
        .build()
        .unwrap();
    otds.nodes().get(1).await.unwrap();
    let bearer = Client::builder(format!("{}/cs/cs", server.uri()))
        .credentials(Credentials::OtdsBearer("oauth-tok".into()))
        .build()
        .unwrap();
    bearer.nodes().get(2).await.unwrap();
    assert!(!format!("{bearer:?}").contains("oauth-tok"));
}

#[tokio::test]
async fn current_user_and_logout() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/auth"))
        .and(header("OTCSTicket", "T1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": {"id": 1000, "name": "Admin", "type": 0}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/api/v1/auth"))
        .and(header("OTCSTicket", "T1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    let client = ticket_client(&server, "", "T1");
    assert_eq!(client.current_user().await.unwrap().name, "Admin");
    client.logout().await.unwrap();
    assert!(client.ticket().is_none());
}
