//! Test PKI made with rcgen, and a tiny loopback HTTP proxy that counts what it carries.
//! (dropbox-client's network tests have the same file.)

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A test certificate authority.
pub struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl Ca {
    /// A new self-signed CA called `name`.
    pub fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().expect("CA key");
        let cert = params.self_signed(&key).expect("CA certificate");
        Ca { cert, key }
    }

    /// The CA certificate (PEM).
    pub fn pem(&self) -> String {
        self.cert.pem()
    }

    /// A certificate for `127.0.0.1` and `localhost`, for servers: (certificate PEM, key PEM).
    pub fn server_cert(&self) -> (String, String) {
        self.leaf(
            vec!["localhost".to_owned(), "127.0.0.1".to_owned()],
            "localhost",
            ExtendedKeyUsagePurpose::ServerAuth,
        )
    }

    /// A certificate for clients (mutual TLS): (certificate PEM, key PEM).
    pub fn client_cert(&self, name: &str) -> (String, String) {
        self.leaf(Vec::new(), name, ExtendedKeyUsagePurpose::ClientAuth)
    }

    fn leaf(
        &self,
        names: Vec<String>,
        common_name: &str,
        usage: ExtendedKeyUsagePurpose,
    ) -> (String, String) {
        let mut params = CertificateParams::new(names).expect("leaf params");
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().expect("leaf key");
        let cert = params
            .signed_by(&key, &self.cert, &self.key)
            .expect("leaf certificate");
        (cert.pem(), key.serialize_pem())
    }
}

/// A CA, a server certificate it signed, and a client certificate it signed, as files.
pub struct Pki {
    pub ca: Ca,
    pub dir: tempfile::TempDir,
}

impl Pki {
    /// Generates everything and writes `ca.pem`, `server.pem`, `server.key`, `client.pem`
    /// and `client.key`.
    pub fn new() -> Pki {
        let ca = Ca::new("ecm network test CA");
        let dir = tempfile::tempdir().expect("temp dir");
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        write("ca.pem", &ca.pem());
        let (cert, key) = ca.server_cert();
        write("server.pem", &cert);
        write("server.key", &key);
        let (cert, key) = ca.client_cert("bridge client");
        write("client.pem", &cert);
        write("client.key", &key);
        Pki { ca, dir }
    }

    /// A file of the set.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The sandbox configuration serving https with the server certificate.
    pub fn sandbox_config(&self) -> sandbox::SandboxConfig {
        sandbox_config_in(self.dir.path())
    }
}

/// The https sandbox configuration for the files [`Pki::new`] wrote into `dir`.
pub fn sandbox_config_in(dir: &Path) -> sandbox::SandboxConfig {
    sandbox::SandboxConfig::new().tls(dir.join("server.pem"), dir.join("server.key"))
}

/// One connection the proxy took: its first request line and `Proxy-Authorization` header.
#[derive(Debug, Clone)]
pub struct Proxied {
    pub request_line: String,
    pub proxy_authorization: Option<String>,
}

/// What the proxy does with a request.
#[derive(Debug, Clone)]
pub enum ProxyMode {
    /// Carries it (CONNECT tunnels and absolute-form requests), to loopback targets only.
    Forward,
    /// Carries it only with exactly this `Proxy-Authorization` value; 407 otherwise.
    RequireAuth(String),
    /// Answers 403 to everything.
    Refuse,
}

/// A loopback HTTP proxy, stopped when dropped.
pub struct TestProxy {
    pub url: String,
    seen: Arc<Mutex<Vec<Proxied>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestProxy {
    /// Starts a proxy on `127.0.0.1`.
    pub async fn start(mode: ProxyMode) -> TestProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy binds");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (log, mode) = (log.clone(), mode.clone());
                tokio::spawn(async move {
                    let _ = handle(stream, mode, log).await;
                });
            }
        });
        TestProxy { url, seen, task }
    }

    /// Every connection taken so far.
    pub fn seen(&self) -> Vec<Proxied> {
        self.seen.lock().unwrap().clone()
    }
}

fn is_loopback(authority: &str) -> bool {
    let host = authority
        .rsplit_once(':')
        .map_or(authority, |(host, _)| host);
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

async fn handle(
    mut client: TcpStream,
    mode: ProxyMode,
    log: Arc<Mutex<Vec<Proxied>>>,
) -> io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 64 * 1024 {
            return Ok(());
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_owned();
    let proxy_authorization = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("proxy-authorization"))
        .map(|(_, value)| value.trim().to_owned());
    log.lock().unwrap().push(Proxied {
        request_line: request_line.clone(),
        proxy_authorization: proxy_authorization.clone(),
    });
    let answer = |status: &str| {
        format!("HTTP/1.1 {status}\r\nProxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    };
    match &mode {
        ProxyMode::Refuse => {
            return client.write_all(answer("403 Forbidden").as_bytes()).await;
        }
        ProxyMode::RequireAuth(expected) if proxy_authorization.as_deref() != Some(expected) => {
            return client
                .write_all(answer("407 Proxy Authentication Required").as_bytes())
                .await;
        }
        _ => {}
    }
    let mut parts = request_line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let authority = if method == "CONNECT" {
        target.to_owned()
    } else {
        let rest = target.strip_prefix("http://").unwrap_or("");
        rest.split('/').next().unwrap_or("").to_owned()
    };
    if !is_loopback(&authority) {
        return client.write_all(answer("403 Forbidden").as_bytes()).await;
    }
    let mut upstream = TcpStream::connect(&authority).await?;
    if method == "CONNECT" {
        client
            .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            .await?;
        upstream.write_all(&buf[head_end..]).await?;
    } else {
        // HTTP/1.1 servers accept the absolute form, so the request goes on unchanged.
        upstream.write_all(&buf).await?;
    }
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}

/// Runs the ignored test `name` of this test binary in a child process with `env` (and no
/// proxy or certificate variables inherited), and fails if it does not pass.
pub async fn run_child(name: &str, env: Vec<(&'static str, String)>) {
    let exe = std::env::current_exe().expect("test binary path");
    let name = name.to_owned();
    let output = tokio::task::spawn_blocking(move || {
        let mut cmd = std::process::Command::new(exe);
        cmd.args(["--exact", &name, "--ignored", "--test-threads=1"]);
        for var in [
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "NO_PROXY",
            "http_proxy",
            "https_proxy",
            "all_proxy",
            "no_proxy",
            "SSL_CERT_FILE",
            "SSL_CERT_DIR",
            "REQUEST_METHOD",
        ] {
            cmd.env_remove(var);
        }
        cmd.envs(env).output().expect("child test runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "child test failed:\n{stdout}\n{stderr}"
    );
}
