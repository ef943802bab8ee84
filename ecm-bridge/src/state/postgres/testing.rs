//! The PostgreSQL server of the tests (this crate's and the integration tests'): `ECM_PG_URL`
//! when set, else a throwaway cluster started through `.ci/pg-cluster` and stopped and removed
//! when the process exits. Not part of the API (hidden from the docs).

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use chrono::Utc;

use super::PG_URL_VAR;

/// The server the tests use, and (for a cluster started here) the pipe whose closing at exit
/// tells the watcher to stop it.
struct Server {
    url: String,
    _watch: Option<Mutex<ChildStdin>>,
}

static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.ci/pg-cluster")
}

/// Starts a throwaway cluster, and a watcher that stops and removes it when this process's end
/// of its stdin closes (at exit, however the process ends).
fn start_cluster() -> Result<Server, String> {
    let dir = std::env::temp_dir().join(format!(
        "ecm-pg-test-{}-{}",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or_default()
    ));
    let out = Command::new("bash")
        .arg(script())
        .arg("start")
        .arg(&dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script().display()))?;
    if !out.status.success() {
        let _ = Command::new("bash")
            .arg(script())
            .args(["stop".as_ref(), dir.as_os_str()])
            .output();
        return Err(format!(
            "{} start failed: {}",
            script().display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let url = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let watcher = Command::new("bash")
        .arg("-c")
        .arg("cat >/dev/null; exec bash \"$0\" stop \"$1\"")
        .arg(script())
        .arg(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the cluster's watcher: {e}"))?;
    Ok(Server {
        url,
        _watch: watcher.stdin.map(Mutex::new),
    })
}

/// The server's URL, or `None` (after a loud SKIPPED line) when there is none and this is not
/// CI.
pub fn server_url(test: &str) -> Option<String> {
    let server = SERVER.get_or_init(|| match std::env::var(PG_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Ok(Server { url, _watch: None }),
        _ => start_cluster(),
    });
    match server {
        Ok(s) => Some(s.url.clone()),
        Err(why) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{test}: no PostgreSQL server under CI=true: {why}")
        }
        Err(why) => {
            let mut err = std::io::stderr();
            let _ = writeln!(
                err,
                "SKIPPED {test}: no PostgreSQL server ({PG_URL_VAR} unset, and none could be \
                 started: {why})"
            );
            None
        }
    }
}
