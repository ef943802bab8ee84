//! The `ecm-sandbox` binary contract: two lines on stdout, serves, exits on SIGTERM.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

#[tokio::test]
async fn prints_two_lines_serves_and_exits_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ecm-sandbox"))
        .args([
            "--seed",
            "demo",
            "--dropbox-fault",
            "route=/2/check/user,status=503,nth=1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout);
    let mut first = String::new();
    let mut second = String::new();
    lines.read_line(&mut first).unwrap();
    lines.read_line(&mut second).unwrap();
    let dropbox = first
        .trim()
        .strip_prefix("dropbox ")
        .expect("first line")
        .to_owned();
    let cs = second
        .trim()
        .strip_prefix("contentserver ")
        .expect("second line")
        .to_owned();
    assert!(dropbox.starts_with("http://127.0.0.1:"), "{dropbox}");
    assert!(
        cs.starts_with("http://127.0.0.1:") && cs.ends_with("/otcs/cs.exe"),
        "{cs}"
    );

    let http = reqwest::Client::builder()
        .tcp_nodelay(true)
        .build()
        .unwrap();
    let r = http
        .post(format!("{dropbox}/2/users/get_current_account"))
        .bearer_auth("sandbox-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let fault = http
        .post(format!("{dropbox}/2/check/user"))
        .bearer_auth("sandbox-token")
        .header("content-type", "application/json")
        .body(r#"{"query": "hi"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(fault.status(), 503, "the --dropbox-fault flag applies");
    let origin = cs.trim_end_matches("/otcs/cs.exe");
    let stats = http
        .get(format!("{origin}/__sandbox/stats"))
        .send()
        .await
        .unwrap();
    assert_eq!(stats.status(), 200);

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "exits cleanly on SIGTERM: {status:?}");
    // Nothing else was printed on stdout.
    let mut rest = String::new();
    lines.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "");
}

#[test]
fn help_lists_the_credentials_and_flags() {
    let out = Command::new(env!("CARGO_BIN_EXE_ecm-sandbox"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "sandbox-token",
        "sandbox-app",
        "sandbox-secret",
        "sandbox-refresh",
        "user admin, password admin",
        "--dropbox-addr",
        "--contentserver-addr",
        "--cs-prefix",
        "--data-dir",
        "--seed",
        "--latency-ms",
        "--tls-cert",
        "--tls-key",
        "--fault",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}");
    }
}

#[test]
fn bad_fault_rules_are_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_ecm-sandbox"))
        .args(["--fault", "route=*,colour=red"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
}
