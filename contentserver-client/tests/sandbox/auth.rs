//! Ping, server info, the three logins, logout, and tickets that expire (fixed TTL, idle TTL,
//! the "expire now" fault, an existing ticket that cannot be renewed).

use std::time::Duration;

use contentserver_client::{Credentials, Error, ErrorKind};
use futures::future::try_join_all;
use sandbox::{FaultRule, SandboxConfig};

use crate::harness::{start, start_with, Env};

const LOGIN: &str = "POST /api/v1/auth";
const EXCHANGE: &str = "GET /api/v1/auth";
const GET_NODE: &str = "GET /api/v2/nodes/{id}";

#[tokio::test]
async fn ping_needs_no_login_and_server_info_reports_session_limits() {
    let env = start().await;
    let client = env.admin();
    let ping = client.ping().await.unwrap();
    assert!(ping.version.is_some() || ping.build.is_some(), "{ping:?}");
    assert_eq!(env.count(LOGIN), 0, "ping logged in");
    assert!(client.ticket().is_none());

    let info = client.server_info().await.unwrap();
    assert_eq!(env.count(LOGIN), 1);
    assert!(info.version.is_some(), "{:?}", info.raw);
    assert!(info.raw.get("sessions").is_some(), "{:?}", info.raw);
}

#[tokio::test]
async fn password_login_current_user_and_logout() {
    let env = start().await;
    let client = env.admin();
    client.login().await.unwrap();
    assert!(client.ticket().is_some());
    let me = client.current_user().await.unwrap();
    assert_eq!(me.name, "admin");
    assert_eq!(me.id, env.user("admin"));

    let editor = env.client_as("editor").current_user().await.unwrap();
    assert_eq!(editor.id, env.user("editor"));

    client.logout().await.unwrap();
    assert!(client.ticket().is_none());
    assert_eq!(env.count("DELETE /api/v1/auth"), 1);
    // The next call logs in again by itself.
    client.nodes().get(env.ews()).await.unwrap();
    assert_eq!(env.count(LOGIN), 3, "admin twice, editor once");
}

async fn exchange_logs_in_as(env: &Env, credentials: Credentials) {
    let client = env.builder().credentials(credentials).build().unwrap();
    let me = client.current_user().await.unwrap();
    let expected = env
        .at(&["credentials", "otds_exchanges_for"])
        .as_str()
        .unwrap();
    assert_eq!(me.name, expected);
    assert_eq!(env.count(LOGIN), 0);
    // One exchange, one call with the ticket.
    assert_eq!(env.count(EXCHANGE), 2);

    // After an expiry the exchange is repeated once and the call goes through.
    env.sb.contentserver().expire_all_tickets();
    let ews = client.nodes().get(env.ews()).await.unwrap();
    assert_eq!(ews.id, env.ews());
    assert_eq!(env.count(EXCHANGE), 3);
    assert_eq!(env.count(GET_NODE), 2, "the rejected call and its repeat");
}

#[tokio::test]
async fn otds_ticket_is_exchanged_for_a_ticket() {
    let env = start().await;
    let otds = env.at(&["credentials", "otds_ticket"]).as_str().unwrap();
    exchange_logs_in_as(&env, Credentials::OtdsTicket(otds.into())).await;
}

#[tokio::test]
async fn otds_bearer_token_is_exchanged_for_a_ticket() {
    let env = start().await;
    let token = env
        .at(&["credentials", "otds_bearer_token"])
        .as_str()
        .unwrap();
    exchange_logs_in_as(&env, Credentials::OtdsBearer(token.into())).await;
}

#[tokio::test]
async fn bad_credentials_fail_once_without_a_loop() {
    let env = start().await;
    let client = env
        .builder()
        .credentials(Credentials::password("admin", "wrong-password"))
        .build()
        .unwrap();
    let err = client.nodes().get(env.ews()).await.unwrap_err();
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert_eq!(env.count(LOGIN), 1);
    assert_eq!(env.count(GET_NODE), 0);
    assert!(!format!("{err} {err:?}").contains("wrong-password"));

    let bad_otds = env
        .builder()
        .credentials(Credentials::OtdsTicket("not-a-ticket".into()))
        .build()
        .unwrap();
    let err = bad_otds.current_user().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err:?}");
    assert!(!format!("{err} {err:?}").contains("not-a-ticket"));
}

#[tokio::test]
async fn fixed_ticket_ttl_is_renewed_by_fresh_tickets_then_relogin_once() {
    let env = start_with(SandboxConfig::new().ticket_ttl(Duration::from_secs(60))).await;
    let cs = env.sb.contentserver().clone();
    let client = env.admin();
    let info = client.server_info().await.unwrap();
    assert_eq!(info.session_timeout, Some(Duration::from_secs(60)));
    client.nodes().get(env.ews()).await.unwrap();
    let first = client.ticket().unwrap();

    // 40 s later the first ticket still lives; the answer carries a fresh one, adopted.
    cs.advance_clock(Duration::from_secs(40));
    client.nodes().get(env.ews()).await.unwrap();
    assert_ne!(client.ticket().unwrap(), first, "fresh ticket adopted");
    // 80 s after the first ticket, 40 s after the fresh one: no login needed.
    cs.advance_clock(Duration::from_secs(40));
    client.nodes().get(env.ews()).await.unwrap();
    assert_eq!(env.count(LOGIN), 1);

    // Past every ticket's lifetime: one 401, one login, the call repeated.
    cs.advance_clock(Duration::from_secs(61));
    let node = client.nodes().get(env.ews()).await.unwrap();
    assert_eq!(node.id, env.ews());
    assert_eq!(env.count(LOGIN), 2);
    assert_eq!(env.count(GET_NODE), 5, "four calls, the last one repeated");
}

#[tokio::test]
async fn idle_ticket_ttl_expires_and_the_client_logs_in_again() {
    let env = start_with(SandboxConfig::new().ticket_idle_ttl(Duration::from_secs(30))).await;
    let client = env.admin();
    client.nodes().get(env.ews()).await.unwrap();
    env.sb
        .contentserver()
        .advance_clock(Duration::from_secs(31));
    let children = client.nodes().children(env.ews()).page(1).await.unwrap();
    assert!(!children.items.is_empty());
    assert_eq!(env.count(LOGIN), 2);
    assert_eq!(env.count("GET /api/v2/nodes/{id}/nodes"), 2);
}

#[tokio::test]
async fn expire_fault_mid_run_costs_one_relogin_and_a_repeat() {
    let env = start().await;
    let client = env.admin();
    let rule = env
        .sb
        .contentserver_faults()
        .add(FaultRule::expire(GET_NODE).with_nth(2))
        .unwrap();
    for id in [env.ews(), env.folder("Archive"), env.folder("Projects")] {
        assert_eq!(client.nodes().get(id).await.unwrap().id, id);
    }
    assert_eq!(env.fired(rule), 1);
    assert_eq!(env.count(LOGIN), 2);
    assert_eq!(
        env.count(GET_NODE),
        4,
        "three calls, the second one repeated"
    );
}

#[tokio::test]
async fn concurrent_calls_after_an_expiry_share_one_login() {
    let env = start().await;
    let client = env.admin();
    client.login().await.unwrap();
    env.sb.contentserver().expire_all_tickets();
    let ids: Vec<i64> = [
        "Archive",
        "Archive/HR",
        "Backups",
        "Intake",
        "Projects",
        "Published",
    ]
    .iter()
    .map(|p| env.folder(p))
    .collect();
    let calls = ids.iter().map(|id| {
        let client = client.clone();
        async move { client.nodes().get(*id).await }
    });
    let nodes = try_join_all(calls).await.unwrap();
    assert_eq!(nodes.iter().map(|n| n.id).collect::<Vec<_>>(), ids);
    assert_eq!(
        env.count(LOGIN),
        2,
        "one login at start, one after the expiry"
    );
    assert_eq!(
        env.count(GET_NODE),
        12,
        "each call rejected once, then repeated"
    );
}

#[tokio::test]
async fn an_existing_ticket_works_until_it_expires_then_fails_with_auth() {
    let env = start().await;
    let admin = env.admin();
    admin.login().await.unwrap();
    let ticket = admin.ticket().unwrap();
    let borrowed = env
        .builder()
        .credentials(Credentials::Ticket(ticket))
        .build()
        .unwrap();
    assert_eq!(borrowed.current_user().await.unwrap().name, "admin");
    env.sb.contentserver().expire_all_tickets();
    let err = borrowed.nodes().get(env.ews()).await.unwrap_err();
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
    assert_eq!(env.count(LOGIN), 1, "a ticket cannot log in");
}
