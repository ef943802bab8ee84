//! Network settings against the sandbox in https mode, with a test CA made here: private CAs,
//! OS roots, mutual TLS, proxies (configured and from the environment), the caller's own
//! `reqwest::Client`, and typed errors for unusable PEM. Loopback only.

mod support;

use std::time::Duration;

use dropbox_client::network::{NetworkSetting, PemOrigin};
use dropbox_client::{
    CaCertificates, Client, ClientBuilder, ClientIdentity, Error, NetworkError, Proxy, RetryPolicy,
    TransportKind,
};
use sandbox::Sandbox;
use support::{run_child, Ca, Pki, ProxyMode, TestProxy};

const TOKEN: &str = "sandbox-token";
const ROUTE: &str = "users/get_current_account";
const PROXY_PASSWORD: &str = "pr0xy-PASSWORD-never-shown";

async fn start(pki: &Pki) -> Sandbox {
    sandbox::start(pki.sandbox_config())
        .await
        .expect("https sandbox starts")
}

/// A builder for the sandbox with one attempt per call and the environment's proxy off.
fn builder(sb: &Sandbox) -> ClientBuilder {
    Client::builder()
        .base_url(sb.dropbox_url().parse().unwrap())
        .retry_policy(RetryPolicy::never())
        .access_token(TOKEN)
}

fn ca(pki: &Pki) -> CaCertificates {
    CaCertificates::from_pem_file(pki.path("ca.pem")).expect("test CA loads")
}

fn calls(sb: &Sandbox) -> u64 {
    sb.dropbox_stats().count("/2/users/get_current_account")
}

/// The error and its causes, as one string.
fn full(e: &Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(" | ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The call failed before reaching the server, at connect/TLS time, and says which call.
fn assert_tls_refused(e: &Error) {
    match e {
        Error::Transport { route, kind, .. } => {
            assert_eq!(route, ROUTE);
            assert_eq!(*kind, TransportKind::Tls, "{}", full(e));
            assert!(!e.is_retryable(), "a TLS refusal is never repeated");
        }
        other => panic!("expected a connect error, got {}", full(other)),
    }
    assert!(e.to_string().contains(ROUTE), "{e}");
    assert!(
        full(e).to_lowercase().contains("certificate"),
        "the cause names the certificate: {}",
        full(e)
    );
}

#[tokio::test]
async fn accepted_with_the_ca_added() {
    let pki = Pki::new();
    let sb = start(&pki).await;
    assert!(sb.dropbox_url().starts_with("https://127.0.0.1:"));
    let client = builder(&sb)
        .proxy_from_env(false)
        .add_ca_certificates(ca(&pki))
        .build()
        .unwrap();
    let account = client.users().get_current_account().await.unwrap();
    assert!(!account.account_id.is_empty());
    assert_eq!(calls(&sb), 1);
}

#[tokio::test]
async fn refused_without_the_ca_or_with_a_wrong_one() {
    let pki = Pki::new();
    let sb = start(&pki).await;
    let without = builder(&sb).proxy_from_env(false).build().unwrap();
    let e = without.users().get_current_account().await.unwrap_err();
    assert_tls_refused(&e);

    let other = CaCertificates::from_pem(Ca::new("some other CA").pem()).unwrap();
    let wrong = builder(&sb)
        .proxy_from_env(false)
        .add_ca_certificates(other)
        .build()
        .unwrap();
    let e = wrong.users().get_current_account().await.unwrap_err();
    assert_tls_refused(&e);

    // Only the web roots trusted, the right CA with them turned off: still no.
    let only_web = builder(&sb)
        .proxy_from_env(false)
        .trust_web_roots(false)
        .build()
        .unwrap();
    assert_tls_refused(&only_web.users().get_current_account().await.unwrap_err());
    assert_eq!(calls(&sb), 0, "no call reached a route");
}

#[tokio::test]
async fn several_ca_sets_and_web_roots_off() {
    let pki = Pki::new();
    let sb = start(&pki).await;
    // A bundle with an unrelated CA first, then the right one; plus a second set.
    let bundle = format!("{}{}", Ca::new("unrelated").pem(), pki.ca.pem());
    let set = CaCertificates::from_pem(bundle).unwrap();
    assert_eq!(set.len(), 2);
    let client = builder(&sb)
        .proxy_from_env(false)
        .trust_web_roots(false)
        .add_ca_certificates(CaCertificates::from_pem(Ca::new("another").pem()).unwrap())
        .add_ca_certificates(set)
        .build()
        .unwrap();
    client.users().get_current_account().await.unwrap();
}

#[tokio::test]
async fn mutual_tls_identity_is_offered() {
    let pki = Pki::new();
    let sb = sandbox::start(pki.sandbox_config().tls_client_ca(pki.path("ca.pem")))
        .await
        .unwrap();
    let identity = ClientIdentity::from_pem_files(pki.path("client.pem"), pki.path("client.key"))
        .expect("identity loads");
    assert!(!format!("{identity:?}").contains("PRIVATE"));
    let with = builder(&sb)
        .proxy_from_env(false)
        .add_ca_certificates(ca(&pki))
        .client_identity(identity)
        .build()
        .unwrap();
    with.users().get_current_account().await.unwrap();
    assert_eq!(calls(&sb), 1);

    // Without a certificate, or with one from another CA, the handshake fails.
    let without = builder(&sb)
        .proxy_from_env(false)
        .add_ca_certificates(ca(&pki))
        .build()
        .unwrap();
    let e = without.users().get_current_account().await.unwrap_err();
    assert!(
        matches!(&e, Error::Transport { route, .. } if route == ROUTE),
        "{}",
        full(&e)
    );
    let stranger = Ca::new("stranger CA");
    let (cert, key) = stranger.client_cert("intruder");
    let foreign = ClientIdentity::from_pem(format!("{cert}{key}")).unwrap();
    let e = builder(&sb)
        .proxy_from_env(false)
        .add_ca_certificates(ca(&pki))
        .client_identity(foreign)
        .build()
        .unwrap()
        .users()
        .get_current_account()
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Transport { route, .. } if route == ROUTE),
        "{}",
        full(&e)
    );
    assert_eq!(calls(&sb), 1, "refused clients reached no route");
}

#[tokio::test]
async fn configured_proxy_carries_the_calls_and_hides_its_password() {
    let pki = Pki::new();
    let sb = start(&pki).await;
    // "Basic " + base64("svc-bridge:pr0xy-PASSWORD-never-shown")
    let expected = "Basic c3ZjLWJyaWRnZTpwcjB4eS1QQVNTV09SRC1uZXZlci1zaG93bg==";
    let proxy = TestProxy::start(ProxyMode::RequireAuth(expected.to_owned())).await;
    let configured = Proxy::all(&proxy.url)
        .unwrap()
        .basic_auth("svc-bridge", PROXY_PASSWORD);
    assert!(!format!("{configured:?}").contains(PROXY_PASSWORD));
    let b = builder(&sb).add_ca_certificates(ca(&pki)).proxy(configured);
    let debug = format!("{b:?}");
    assert!(
        debug.contains("svc-bridge") && !debug.contains(PROXY_PASSWORD),
        "{debug}"
    );
    let client = b.build().unwrap();
    assert!(!format!("{client:?}").contains(PROXY_PASSWORD));

    client.users().get_current_account().await.unwrap();
    let seen = proxy.seen();
    let port = sb.dropbox_addr().port();
    assert!(!seen.is_empty());
    assert!(
        seen.iter()
            .all(|p| p.request_line == format!("CONNECT 127.0.0.1:{port} HTTP/1.1")),
        "{seen:?}"
    );
    assert_eq!(seen[0].proxy_authorization.as_deref(), Some(expected));
    assert_eq!(calls(&sb), 1);

    // Credentials in the URL work the same; a wrong password is refused by the proxy, and
    // the error shows neither password.
    let in_url = Proxy::all(&proxy.url.replace("http://", "http://svc-bridge:wrong-pw@")).unwrap();
    assert!(!format!("{in_url:?}").contains("wrong-pw"));
    assert!(!in_url.url().as_str().contains("wrong-pw"));
    let e = builder(&sb)
        .add_ca_certificates(ca(&pki))
        .proxy(in_url)
        .build()
        .unwrap()
        .users()
        .get_current_account()
        .await
        .unwrap_err();
    assert!(
        matches!(
            &e,
            Error::Transport {
                kind: TransportKind::Connect,
                ..
            }
        ),
        "{}",
        full(&e)
    );
    assert!(!full(&e).contains("wrong-pw"));
    assert_eq!(calls(&sb), 1);

    // A no-proxy list sends matching hosts directly.
    let before = proxy.seen().len();
    let direct = builder(&sb)
        .add_ca_certificates(ca(&pki))
        .proxy(
            Proxy::all(&proxy.url)
                .unwrap()
                .no_proxy("localhost,127.0.0.1"),
        )
        .build()
        .unwrap();
    direct.users().get_current_account().await.unwrap();
    assert_eq!(proxy.seen().len(), before);
    assert_eq!(calls(&sb), 2);
}

#[tokio::test]
async fn own_reqwest_client_is_used() {
    let pki = Pki::new();
    let sb = start(&pki).await;
    let proxy = TestProxy::start(ProxyMode::Forward).await;
    // The builder has no CA: only the caller's client trusts the test CA, through its proxy.
    let own = reqwest::Client::builder()
        .use_rustls_tls()
        .tcp_nodelay(true)
        .add_root_certificate(reqwest::Certificate::from_pem(pki.ca.pem().as_bytes()).unwrap())
        .proxy(reqwest::Proxy::all(&proxy.url).unwrap())
        .build()
        .unwrap();
    let client = builder(&sb).http_client(own).build().unwrap();
    client.users().get_current_account().await.unwrap();
    assert_eq!(calls(&sb), 1);
    assert_eq!(
        proxy.seen().len(),
        1,
        "the call went through the caller's client"
    );
}

#[tokio::test]
async fn own_client_with_builder_network_settings_is_a_build_error() {
    let e = Client::builder()
        .access_token(TOKEN)
        .http_client(reqwest::Client::new())
        .connect_timeout(Duration::from_secs(1))
        .add_ca_certificates(CaCertificates::from_pem(Ca::new("x").pem()).unwrap())
        .proxy(Proxy::all("http://127.0.0.1:9").unwrap())
        .build()
        .unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, Error::InvalidRequest { .. }), "{text}");
    for name in [
        "http_client",
        "connect_timeout",
        "add_ca_certificates",
        "proxy",
    ] {
        assert!(text.contains(name), "{text}");
    }
    let e = Client::builder()
        .access_token(TOKEN)
        .proxy(Proxy::all("http://127.0.0.1:9").unwrap())
        .proxy_from_env(true)
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("proxy_from_env"), "{e}");
}

#[tokio::test]
async fn unusable_pem_is_a_typed_error_naming_the_file() {
    let pki = Pki::new();
    match CaCertificates::from_pem(b"not a certificate").unwrap_err() {
        NetworkError::InvalidPem {
            setting: NetworkSetting::CaCertificates,
            origin: PemOrigin::Bytes,
            reason,
        } => assert!(reason.contains("no CERTIFICATE block"), "{reason}"),
        other => panic!("{other}"),
    }
    let e = CaCertificates::from_pem_file(pki.path("server.key")).unwrap_err();
    assert!(
        matches!(&e, NetworkError::InvalidPem { origin: PemOrigin::File(p), .. } if p == &pki.path("server.key"))
    );
    assert!(
        e.to_string().contains("server.key") && e.to_string().contains("private key"),
        "{e}"
    );
    let missing = pki.path("missing.pem");
    let e = CaCertificates::from_pem_file(&missing).unwrap_err();
    assert!(
        matches!(&e, NetworkError::ReadFile { path, .. } if path == &missing),
        "{e}"
    );
    let broken = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
    let e = CaCertificates::from_pem(broken).unwrap_err();
    assert!(e.to_string().contains("not valid PEM"), "{e}");
    let not_x509 = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    let e = CaCertificates::from_pem(format!("{}{not_x509}", pki.ca.pem())).unwrap_err();
    assert!(e.to_string().contains("certificate 2 of 2"), "{e}");

    // Identities: the key of another certificate, a missing key, an encrypted key.
    let other_key = Ca::new("o").client_cert("o").1;
    std::fs::write(pki.path("other.key"), &other_key).unwrap();
    let e =
        ClientIdentity::from_pem_files(pki.path("client.pem"), pki.path("other.key")).unwrap_err();
    assert!(
        matches!(
            &e,
            NetworkError::InvalidPem {
                setting: NetworkSetting::ClientIdentity,
                ..
            }
        ),
        "{e}"
    );
    assert!(
        e.to_string().contains("client.pem") && e.to_string().contains("key"),
        "{e}"
    );
    assert!(!e.to_string().contains("PRIVATE KEY-----"));
    let e =
        ClientIdentity::from_pem_files(pki.path("client.pem"), pki.path("client.pem")).unwrap_err();
    assert!(e.to_string().contains("no private key"), "{e}");
    let encrypted =
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
    let e = ClientIdentity::from_pem(encrypted).unwrap_err();
    assert!(e.to_string().contains("encrypted"), "{e}");

    // Proxies: an unsupported scheme, and a bad URL that does not echo its password.
    let e = Proxy::all("socks5://127.0.0.1:1080").unwrap_err();
    assert!(matches!(&e, NetworkError::InvalidProxy { .. }) && e.to_string().contains("socks5"));
    let e = Proxy::all("http://user:s3cret-pw@127.0.0.1:99999").unwrap_err();
    assert!(!e.to_string().contains("s3cret-pw"), "{e}");
    // And into the crate's error with `?`.
    let crate_error: Error = CaCertificates::from_pem("x").unwrap_err().into();
    assert!(matches!(crate_error, Error::InvalidRequest { .. }));
}

#[tokio::test]
async fn os_roots_are_trusted_on_request() {
    let pki = Pki::new();
    let dir = pki.dir.path().display().to_string();
    run_child(
        "os_roots_child",
        vec![
            ("ECM_NET_TEST_DIR", dir),
            ("SSL_CERT_FILE", pki.path("ca.pem").display().to_string()),
        ],
    )
    .await;
}

/// Run by `os_roots_are_trusted_on_request` with `SSL_CERT_FILE` naming the test CA: the
/// OS store then holds it.
#[tokio::test]
#[ignore = "run in a child process by os_roots_are_trusted_on_request"]
async fn os_roots_child() {
    let dir = std::env::var("ECM_NET_TEST_DIR").expect("run by the parent test");
    let sb = sandbox::start(support::sandbox_config_in(dir.as_ref()))
        .await
        .unwrap();
    let off = builder(&sb).proxy_from_env(false).build().unwrap();
    assert_tls_refused(&off.users().get_current_account().await.unwrap_err());
    let on = builder(&sb)
        .proxy_from_env(false)
        .trust_os_roots(true)
        .trust_web_roots(false)
        .build()
        .unwrap();
    on.users().get_current_account().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn environment_proxy_is_used_unless_turned_off() {
    let pki = Pki::new();
    let proxy = TestProxy::start(ProxyMode::Refuse).await;
    run_child(
        "environment_proxy_child",
        vec![
            ("ECM_NET_TEST_DIR", pki.dir.path().display().to_string()),
            ("HTTPS_PROXY", proxy.url.clone()),
        ],
    )
    .await;
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(
        seen[0].request_line.starts_with("CONNECT 127.0.0.1:"),
        "{seen:?}"
    );
}

/// Run by `environment_proxy_is_used_unless_turned_off` with `HTTPS_PROXY` naming a proxy
/// that refuses everything.
#[tokio::test]
#[ignore = "run in a child process by environment_proxy_is_used_unless_turned_off"]
async fn environment_proxy_child() {
    let dir = std::env::var("ECM_NET_TEST_DIR").expect("run by the parent test");
    let pki_ca = CaCertificates::from_pem_file(std::path::Path::new(&dir).join("ca.pem")).unwrap();
    let sb = sandbox::start(support::sandbox_config_in(dir.as_ref()))
        .await
        .unwrap();
    let from_env = builder(&sb)
        .add_ca_certificates(pki_ca.clone())
        .build()
        .unwrap();
    let e = from_env.users().get_current_account().await.unwrap_err();
    assert!(
        matches!(
            &e,
            Error::Transport {
                kind: TransportKind::Connect,
                ..
            }
        ),
        "{}",
        full(&e)
    );
    let direct = builder(&sb)
        .add_ca_certificates(pki_ca)
        .proxy_from_env(false)
        .build()
        .unwrap();
    direct.users().get_current_account().await.unwrap();
    assert_eq!(calls(&sb), 1);
}
