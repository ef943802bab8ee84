//! Mutual TLS over raw HTTP: with `tls_client_ca`, only clients with a certificate from that
//! CA reach a route. The certificates are made here with rcgen.

use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair};
use sandbox::SandboxConfig;

struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Ca { cert, key }
    }

    /// (certificate PEM, key PEM) signed by this CA.
    fn leaf(&self, names: &[&str], usage: ExtendedKeyUsagePurpose) -> (String, String) {
        let names = names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        let mut params = CertificateParams::new(names).unwrap();
        params.distinguished_name.push(DnType::CommonName, "leaf");
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

fn http(ca: &Ca, identity: Option<(String, String)>) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .no_proxy()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.cert.pem().as_bytes()).unwrap());
    if let Some((cert, key)) = identity {
        b = b.identity(reqwest::Identity::from_pem(format!("{cert}{key}").as_bytes()).unwrap());
    }
    b.build().unwrap()
}

#[tokio::test]
async fn client_certificates_are_required_with_tls_client_ca() {
    let ca = Ca::new("sandbox mTLS test CA");
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = ca.leaf(
        &["127.0.0.1", "localhost"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    std::fs::write(dir.path().join("server.pem"), cert).unwrap();
    std::fs::write(dir.path().join("server.key"), key).unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca.cert.pem()).unwrap();
    let sb = sandbox::start(
        SandboxConfig::new()
            .tls(dir.path().join("server.pem"), dir.path().join("server.key"))
            .tls_client_ca(dir.path().join("ca.pem")),
    )
    .await
    .unwrap();
    let url = format!("{}/2/users/get_current_account", sb.dropbox_url());

    let ok = http(&ca, Some(ca.leaf(&[], ExtendedKeyUsagePurpose::ClientAuth)))
        .post(&url)
        .bearer_auth("sandbox-token")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);

    let without = http(&ca, None)
        .post(&url)
        .bearer_auth("sandbox-token")
        .send()
        .await;
    assert!(without.is_err(), "{without:?}");
    let stranger = Ca::new("stranger");
    let foreign = http(
        &ca,
        Some(stranger.leaf(&[], ExtendedKeyUsagePurpose::ClientAuth)),
    )
    .post(&url)
    .bearer_auth("sandbox-token")
    .send()
    .await;
    assert!(foreign.is_err(), "{foreign:?}");
    assert_eq!(
        sb.dropbox_stats().count("/2/users/get_current_account"),
        1,
        "refused clients reached no route"
    );
}

#[tokio::test]
async fn tls_client_ca_without_tls_is_refused_at_start() {
    let e = sandbox::start(SandboxConfig::new().tls_client_ca("/nonexistent/ca.pem"))
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    assert!(e.to_string().contains("tls_client_ca"), "{e}");
}
