//! Hostile or broken server answers from a stub server: no panic, no endless loop, and no
//! secret in any error.

mod common;

use common::*;
use contentserver_client::{Client, Credentials, ErrorKind};
use futures::TryStreamExt;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn child(id: u64) -> serde_json::Value {
    json!({"data": {"properties": {"id": id, "name": format!("n{id}"), "type": 144, "parent_id": 5}}})
}

/// A server that ignores `page` and sends full pages without paging information would be read
/// forever; the stream ends with an error after the second page repeats the first.
#[tokio::test]
async fn a_server_that_ignores_the_page_number_is_not_read_forever() {
    let server = MockServer::start().await;
    let page: Vec<_> = (1..=2).map(child).collect();
    Mock::given(method("GET"))
        .and(path("/api/v2/nodes/5/nodes"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": page})))
        .mount(&server)
        .await;
    let client = ticket_client(&server, "", "T1");
    let listed = client
        .nodes()
        .children(5)
        .page_size(2)
        .into_stream()
        .try_collect::<Vec<_>>()
        .await;
    let err = listed.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode, "{err}");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

/// A login answer cut short holds the ticket: the decode error quotes none of it.
#[tokio::test]
async fn a_broken_login_answer_does_not_show_the_ticket() {
    let ticket = "TKT-Zq7-distinctive";
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/auth"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(format!("{{\"ticket\": \"{ticket}")),
        )
        .mount(&server)
        .await;
    let client = Client::builder(server.uri())
        .credentials(Credentials::password("admin", "pw-Zq7-distinctive"))
        .retry_policy(fast_retry(1))
        .build()
        .unwrap();
    let err = client.nodes().get(5).await.unwrap_err();
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(!shown.contains("Zq7"), "{shown}");
    }
}
