//! Archives approved Dropbox files into Content Server as governed records (use case 1).
//!
//! With no configuration it starts the sandbox in-process with its demo seed and runs against
//! it. Real servers are named by environment variables (`DROPBOX_TOKEN`, or
//! `DROPBOX_REFRESH_TOKEN` + `DROPBOX_APP_KEY` [+ `DROPBOX_APP_SECRET`]; `CS_URL`, `CS_USER`,
//! `CS_PASSWORD`) or a TOML file given with `--config` (see `examples/config/archive.toml`).
//!
//! ```sh
//! cargo run -p ecm-examples --bin archive_on_approval
//! cargo run -p ecm-examples --bin archive_on_approval -- --config my.toml --mode watch
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use contentserver_client::Credentials;
use ecm_bridge::flows::archive_on_approval::{Approval, ArchiveOnApproval, Marking};
use ecm_bridge::rules::Rules;
use ecm_bridge::runner::Report;
use ecm_bridge::sink::WriteAction;
use serde::Deserialize;

/// The rules used when `--rules` is not given.
const DEFAULT_RULES: &str = include_str!("../../config/rules.toml");

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Mode {
    /// One run.
    Once,
    /// A run every `--interval` seconds until Ctrl-C.
    Every,
    /// A run, then one whenever Dropbox reports changes, until Ctrl-C.
    Watch,
}

/// Archive approved Dropbox files into Content Server.
#[derive(Debug, Parser)]
struct Args {
    /// A TOML file naming the servers and the flow's settings.
    #[arg(long)]
    config: Option<PathBuf>,
    /// A rules file (default: the bundled examples/config/rules.toml).
    #[arg(long)]
    rules: Option<PathBuf>,
    /// The state: a SQLite file (default: a temporary one for the sandbox,
    /// ./archive_on_approval.db for real servers), or a PostgreSQL URL
    /// (`postgres://user@host/db?schema=name`).
    #[arg(long)]
    state: Option<String>,
    /// Report what would be archived; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// How to run.
    #[arg(long, value_enum, default_value = "once")]
    mode: Mode,
    /// Seconds between runs for `--mode every` (and the fallback of `--mode watch`).
    #[arg(long, default_value_t = 300)]
    interval: u64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default)]
    dropbox: Option<DropboxConfig>,
    #[serde(default)]
    contentserver: Option<CsConfig>,
    #[serde(default)]
    flow: FlowConfig,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DropboxConfig {
    token: Option<dropbox_client::Secret>,
    refresh_token: Option<dropbox_client::Secret>,
    app_key: Option<String>,
    app_secret: Option<dropbox_client::Secret>,
    /// Base URL override (a proxy, the sandbox binary).
    base_url: Option<String>,
    #[serde(default)]
    network: NetworkConfig,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CsConfig {
    url: Option<String>,
    user: Option<String>,
    password: Option<contentserver_client::Secret>,
    #[serde(default)]
    network: NetworkConfig,
}

/// How a server is reached, when it is not straight over the public internet
/// (`[dropbox.network]`, `[contentserver.network]`). Its `Debug` hides the proxy URL, which
/// may carry a password.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NetworkConfig {
    /// A PEM file of private CA certificates to trust besides the bundled roots.
    ca_file: Option<PathBuf>,
    /// Trust the operating system's root store as well.
    #[serde(default)]
    os_roots: bool,
    /// An HTTP(S) proxy URL for every call (else the environment's `HTTPS_PROXY`, ...).
    proxy: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FlowConfig {
    source_root: Option<String>,
    archive_folder: Option<String>,
    archive_root_node: Option<i64>,
    approval_folders: Option<Vec<String>>,
    approval_tags: Option<Vec<String>>,
    approval_properties: Option<BTreeMap<String, String>>,
    approval_name_pattern: Option<String>,
    mark_tag: Option<String>,
    mark_property: Option<bool>,
    move_to: Option<String>,
    concurrency: Option<usize>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The configuration keys whose values are secrets.
/// (`proxy` too: its URL may carry a user and password.)
const SECRET_KEYS: [&str; 5] = ["token", "refresh_token", "app_secret", "password", "proxy"];

impl std::fmt::Debug for NetworkConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkConfig")
            .field("ca_file", &self.ca_file)
            .field("os_roots", &self.os_roots)
            .field("proxy", &self.proxy.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Reads and parses a `--config` file.
fn load_config(path: &Path) -> Result<Config, BoxError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the configuration {}: {e}", path.display()))?;
    parse_config(&text).map_err(|m| format!("configuration {}: {m}", path.display()).into())
}

/// Parses a configuration. An error gives its line and column and toml's own message, but
/// never the text of the file (toml's `Display` quotes the offending line, and its `Debug` the
/// whole input): the value on the line of a secret key is withheld.
fn parse_config(text: &str) -> Result<Config, String> {
    toml::from_str(text).map_err(|e: toml::de::Error| {
        let Some(span) = e.span() else {
            return e.message().to_owned();
        };
        let before = &text[..span.start.min(text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        let line_text = text.lines().nth(line - 1).unwrap_or_default();
        let key = line_text.split('=').next().unwrap_or_default().trim();
        let key = key.trim_matches(|c| c == '"' || c == '\'');
        if SECRET_KEYS.contains(&key) {
            format!("line {line}, column {column}: the value of `{key}` is not valid (withheld: it is a secret)")
        } else {
            format!("line {line}, column {column}: {}", e.message())
        }
    })
}

/// An error and its sources, as one line of `Display` texts (never `Debug`, which may hold
/// more than a message should).
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let more = e.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = e.source();
    }
    text
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Where the flow runs: real servers, or the sandbox (kept alive while the flow runs).
struct Target {
    dropbox: dropbox_client::Client,
    cs: contentserver_client::Client,
    description: String,
    sandbox: Option<sandbox::Sandbox>,
    temp: Option<tempfile_dir::TempDir>,
}

/// A temporary directory removed on drop, without another dependency.
mod tempfile_dir {
    use std::path::{Path, PathBuf};

    pub struct TempDir(PathBuf);

    impl TempDir {
        pub fn new(prefix: &str) -> std::io::Result<Self> {
            let path = std::env::temp_dir().join(format!("{prefix}-{}", std::process::id()));
            std::fs::create_dir_all(&path)?;
            Ok(TempDir(path))
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

async fn target(config: &Config) -> Result<Target, BoxError> {
    let db = config.dropbox.as_ref();
    // Secrets stay wrapped (redacted in Debug) until the one place that sends them.
    let secret = |name: &str| env(name).map(dropbox_client::Secret::new);
    let token = secret("DROPBOX_TOKEN").or_else(|| db.and_then(|d| d.token.clone()));
    let refresh =
        secret("DROPBOX_REFRESH_TOKEN").or_else(|| db.and_then(|d| d.refresh_token.clone()));
    let app_key = env("DROPBOX_APP_KEY").or_else(|| db.and_then(|d| d.app_key.clone()));
    let app_secret = secret("DROPBOX_APP_SECRET").or_else(|| db.and_then(|d| d.app_secret.clone()));
    let cs = config.contentserver.as_ref();
    let cs_url = env("CS_URL").or_else(|| cs.and_then(|c| c.url.clone()));
    let cs_user = env("CS_USER").or_else(|| cs.and_then(|c| c.user.clone()));
    let cs_password = env("CS_PASSWORD")
        .map(contentserver_client::Secret::new)
        .or_else(|| cs.and_then(|c| c.password.clone()));

    let dropbox_named = token.is_some() || refresh.is_some();
    if !dropbox_named && cs_url.is_none() {
        let sandbox = sandbox::start(sandbox::SandboxConfig::new()).await?;
        let dropbox = dropbox_client::Client::builder()
            .base_url(sandbox.dropbox_url().parse()?)
            .access_token("sandbox-token")
            .build()?;
        let cs = contentserver_client::Client::builder(sandbox.contentserver_url())
            .credentials(Credentials::password("admin", "admin"))
            .build()?;
        let description = format!(
            "the sandbox (Dropbox {}, Content Server {})",
            sandbox.dropbox_url(),
            sandbox.contentserver_url()
        );
        return Ok(Target {
            dropbox,
            cs,
            description,
            sandbox: Some(sandbox),
            temp: Some(tempfile_dir::TempDir::new("archive-on-approval")?),
        });
    }
    let mut b = dropbox_client::Client::builder();
    if let Some(d) = db {
        if let Some(url) = &d.base_url {
            b = b.base_url(url.parse()?);
        }
        let n = &d.network;
        b = b.trust_os_roots(n.os_roots);
        if let Some(path) = &n.ca_file {
            b = b.add_ca_certificates(dropbox_client::CaCertificates::from_pem_file(path)?);
        }
        if let Some(url) = &n.proxy {
            b = b.proxy(dropbox_client::Proxy::all(url)?);
        }
    }
    b = match (token, refresh, app_key) {
        (Some(t), _, _) => b.access_token(t),
        (None, Some(r), Some(key)) => {
            b.refresh_token(key, app_secret.as_ref().map(|s| s.expose()), r)
        }
        _ => {
            return Err(
                "Dropbox: set DROPBOX_TOKEN, or DROPBOX_REFRESH_TOKEN with DROPBOX_APP_KEY".into(),
            )
        }
    };
    let dropbox = b.build()?;
    let (Some(url), Some(user), Some(password)) = (cs_url, cs_user, cs_password) else {
        return Err(
            "Content Server: set CS_URL, CS_USER and CS_PASSWORD (or [contentserver] in --config)"
                .into(),
        );
    };
    let mut b = contentserver_client::Client::builder(url.clone())
        .credentials(Credentials::password(user, password));
    if let Some(n) = cs.map(|c| &c.network) {
        b = b.trust_os_roots(n.os_roots);
        if let Some(path) = &n.ca_file {
            b = b.add_ca_certificates(contentserver_client::CaCertificates::from_pem_file(path)?);
        }
        if let Some(url) = &n.proxy {
            b = b.proxy(contentserver_client::Proxy::all(url)?);
        }
    }
    let cs = b.build()?;
    Ok(Target {
        dropbox,
        cs,
        description: format!("Dropbox and Content Server at {url}"),
        sandbox: None,
        temp: None,
    })
}

fn kib(bytes: u64) -> String {
    if bytes < 1024 {
        format!("{bytes} B")
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

/// What each RM class of the report says of itself (its description: the retention period,
/// in the demo), as Content Server reports it: read once per class, from the first record
/// written with it (the flow classified every record and recorded the class by name), not
/// once per document after the run.
async fn retention_texts<'r>(
    report: &'r Report,
    cs: &contentserver_client::Client,
) -> BTreeMap<&'r str, String> {
    let mut out = BTreeMap::new();
    for w in &report.written {
        let (Some(class), Some(node)) = (
            w.governance.rm_class.as_deref(),
            w.target.as_ref().and_then(|t| t.node_id()),
        ) else {
            continue;
        };
        if out.contains_key(class) {
            continue;
        }
        let class_id = cs
            .records()
            .details(node)
            .await
            .ok()
            .and_then(|d| d.records.first().map(|r| r.class_id));
        let text = match class_id {
            Some(id) => cs.nodes().get(id).await.ok().and_then(|n| n.description),
            None => None,
        }
        .filter(|d| !d.is_empty())
        .map(|d| format!(" ({d})"))
        .unwrap_or_default();
        out.insert(class, text);
    }
    out
}

/// Prints what was archived where, with which metadata and retention, and what was skipped.
async fn print_report(report: &Report, cs: &contentserver_client::Client) {
    let mut report = report.clone();
    report.written.sort_by(|a, b| a.path.cmp(&b.path));
    report.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    let verb = if report.dry_run {
        "Would archive"
    } else {
        "Archived"
    };
    println!(
        "\n{verb} {} document(s), {} in {:.2?}:",
        report.written.len(),
        kib(report.bytes),
        report.elapsed
    );
    let retention = retention_texts(&report, cs).await;
    for w in &report.written {
        println!("  {}", w.path);
        let how = match w.action {
            Some(WriteAction::Created) => "new document",
            Some(WriteAction::AddedVersion) => "new version",
            Some(WriteAction::Adopted) => "found from an earlier run",
            Some(_) => "written",
            None => "dry run",
        };
        match &w.target {
            Some(t) => println!(
                "    -> {} (node {}, version {}, {how})",
                w.location,
                t.id,
                t.version.as_deref().unwrap_or("?")
            ),
            None => println!("    -> {} ({how})", w.location),
        }
        if let Some(class) = &w.governance.rm_class {
            let text = retention.get(class.as_str()).map_or("", String::as_str);
            println!("       retention class: {class}{text}");
        }
        for (cat, attrs) in &w.governance.categories {
            let values: Vec<String> = attrs.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            println!("       {cat}: {}", values.join("; "));
        }
        if !w.metadata.is_empty() {
            let values: Vec<String> = w
                .metadata
                .iter()
                .map(|(k, v)| format!("{k} = {v}"))
                .collect();
            println!("       metadata: {}", values.join("; "));
        }
        for g in &w.governance.permissions {
            println!(
                "       access: {} may {}",
                g.member,
                g.permissions.join(", ")
            );
        }
    }
    if !report.skipped.is_empty() {
        println!("\nSkipped {}:", report.skipped.len());
        for s in &report.skipped {
            println!("  {} — {}", s.path, s.reason);
        }
    }
    if !report.failed.is_empty() {
        println!(
            "\nFailed {} (retried on the next run):",
            report.failed.len()
        );
        for f in &report.failed {
            println!(
                "  {} — {} (attempts: {}{})",
                f.path.as_deref().unwrap_or(&f.source.id),
                f.error,
                f.attempts,
                if f.dead { ", given up" } else { "" }
            );
        }
    }
    println!("\n{}", report.summary());
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("archive_on_approval: {}", error_chain(&*e));
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), BoxError> {
    let config: Config = match &args.config {
        Some(path) => load_config(path)?,
        None => Config::default(),
    };
    let target = target(&config).await?;
    let rules = match &args.rules {
        Some(path) => Rules::load(path)?,
        None => Rules::from_toml(DEFAULT_RULES)?,
    };
    let state_spec = match (&args.state, &target.temp) {
        (Some(p), _) => p.clone(),
        (None, Some(temp)) => temp.path().join("state.db").display().to_string(),
        (None, None) => "archive_on_approval.db".to_owned(),
    };
    let state = ecm_examples::state::open(&state_spec, false).await?;

    let f = &config.flow;
    let mut approval = Approval::default();
    for g in f
        .approval_folders
        .clone()
        .unwrap_or_else(|| vec!["**/Approved".into()])
    {
        approval = approval.folder(g);
    }
    for t in f
        .approval_tags
        .clone()
        .unwrap_or_else(|| vec!["approved".into()])
    {
        approval = approval.tag(t);
    }
    for (k, v) in f.approval_properties.clone().unwrap_or_default() {
        approval = approval.property(k, v);
    }
    if let Some(p) = &f.approval_name_pattern {
        approval = approval.name_pattern(p.clone());
    }
    let mut marking = Marking::default();
    if let Some(t) = f
        .mark_tag
        .clone()
        .or(Some("archived".into()))
        .filter(|t| !t.is_empty())
    {
        marking = marking.tag(t);
    }
    if f.mark_property.unwrap_or(true) {
        marking = marking.governance_property();
    }
    if let Some(m) = &f.move_to {
        marking = marking.move_to(m.clone());
    }

    println!("archive_on_approval against {}", target.description);
    let bar = ecm_examples::progress::RunBar::new("archived");
    let flow = ArchiveOnApproval::new(target.dropbox.clone(), target.cs.clone(), state.clone())
        .source_root(f.source_root.clone().unwrap_or_default())
        .approval(approval)
        .cs_folder(
            f.archive_root_node,
            f.archive_folder.clone().unwrap_or_else(|| "Archive".into()),
        )
        .rules(rules)
        .marking(marking)
        .concurrency(f.concurrency.unwrap_or(4))
        .dry_run(args.dry_run)
        .on_progress(bar.events())
        .build()?;

    match args.mode {
        Mode::Once => {
            bar.start();
            let report = flow.run_once().await;
            bar.finish();
            let report = report?;
            print_report(&report, &target.cs).await;
            if target.sandbox.is_some() && !args.dry_run {
                bar.start();
                let again = flow.run_once().await;
                bar.finish();
                let again = again?;
                println!(
                    "Second run (nothing changed in Dropbox): {}",
                    again.summary()
                );
            }
        }
        Mode::Every | Mode::Watch => {
            let stop = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            let every = Duration::from_secs(args.interval.max(1));
            bar.start();
            let runs = match args.mode {
                Mode::Every => flow.run_every(every, stop).await?,
                _ => flow.watch(every, stop).await?,
            };
            bar.finish();
            println!("{runs} run(s)");
        }
    }
    let audit = state.audit(Some(flow.name())).await?;
    println!(
        "State: {} ({} audit entries; export them with StateStore::export_audit_jsonl)",
        ecm_examples::state::display(&state_spec),
        audit.len()
    );
    drop(flow);
    if let Some(s) = target.sandbox {
        s.shutdown().await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_secrets_are_redacted_in_debug() {
        let config: Config = parse_config(
            r#"
[dropbox]
token = "sl.token-value"
app_secret = "app-secret-value"
[contentserver]
url = "https://cs.example.com/otcs/cs.exe"
user = "archiver"
password = "password-value"
[contentserver.network]
proxy = "http://me:proxy-pw-value@proxy:3128"
"#,
        )
        .unwrap();
        let shown = format!("{config:?}");
        for secret in [
            "sl.token-value",
            "app-secret-value",
            "password-value",
            "proxy-pw-value",
        ] {
            assert!(!shown.contains(secret), "{shown}");
        }
        let token = config.dropbox.as_ref().and_then(|d| d.token.as_ref());
        assert_eq!(token.map(|t| t.expose()), Some("sl.token-value"));
        let password = config
            .contentserver
            .as_ref()
            .and_then(|c| c.password.as_ref());
        assert_eq!(password.map(|p| p.expose()), Some("password-value"));
    }

    /// The bundled configuration parses, and a server's `network` table is read.
    #[test]
    fn bundled_and_network_configs_parse() {
        parse_config(include_str!("../../config/archive.toml")).unwrap();
        let config = parse_config(
            "[contentserver]\nurl = \"https://cs\"\n[contentserver.network]\nca_file = \"/ca.pem\"\nos_roots = true\nproxy = \"http://p:3128\"\n",
        )
        .unwrap();
        let n = &config.contentserver.as_ref().unwrap().network;
        assert_eq!(n.ca_file.as_deref(), Some(Path::new("/ca.pem")));
        assert!(n.os_roots);
        assert_eq!(n.proxy.as_deref(), Some("http://p:3128"));
        assert!(parse_config("[dropbox.network]\ncafile = \"x\"\n").is_err());
    }

    /// Broken configurations: the error names the line and column, and no secret of the file
    /// appears in it (toml's own `Display` would quote the line, its `Debug` the whole file).
    #[test]
    fn config_errors_never_show_a_secret() {
        let secret = "Zq7-distinctive-secret";
        let cases = [
            (format!("[contentserver]\npassword = {secret}\n"), 2),
            (
                format!("[contentserver]\npassword = \"{secret}\nuser = \"x\"\n"),
                2,
            ),
            (format!("[dropbox]\ntoken = [\"{secret}\"]\n"), 2),
            (
                format!("[dropbox]\ntoken = \"{secret}\"\nconcurrency = 3\n"),
                3,
            ),
            (
                format!("[dropbox]\napp_secret = \"{secret}\"\n[flow]\nconcurrency = \"four\"\n"),
                4,
            ),
            (format!("[contentserver]\n\"password\" = 42{secret}\n"), 2),
        ];
        for (text, line) in cases {
            let err = parse_config(&text).expect_err(&text);
            assert!(!err.contains(secret), "{err}");
            assert!(err.starts_with(&format!("line {line}, column ")), "{err}");
        }
    }
}
