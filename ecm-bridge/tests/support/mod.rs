//! Shared setup of the end-to-end tests: the sandbox with its demo seed, clients with short
//! retry delays, a SQLite state file, and the example's rules.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use contentserver_client::api::nodes::Node;
use contentserver_client::Credentials;
use ecm_bridge::flows::archive_on_approval::{ArchiveOnApproval, Marking};
use ecm_bridge::rules::Rules;
use ecm_bridge::runner::RetryPolicy;
use ecm_bridge::state::SqliteStore;
use sandbox::{Sandbox, SandboxConfig};

pub mod backup;
pub mod intake;
pub mod mem;
pub mod publish;
pub mod store;
pub mod submit;

/// The approved demo files (in the approval folder).
pub const APPROVED: [&str; 3] = [
    "Press Release.pdf",
    "Brand Guidelines.pdf",
    "Launch Plan.xlsx",
];
/// Their Dropbox folder.
pub const APPROVED_FOLDER: &str = "/Marketing/Campaign 2026/Approved";
/// Their CS folder path under the Enterprise Workspace.
pub const CS_FOLDER: [&str; 4] = ["Archive", "Marketing", "Campaign 2026", "Approved"];

pub struct Env {
    pub sandbox: Sandbox,
    pub dropbox: dropbox_client::Client,
    pub cs: contentserver_client::Client,
    pub state_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Env {
    pub async fn start() -> Env {
        Env::start_with(SandboxConfig::new()).await
    }

    /// [`Env::start`] on a sandbox of this configuration (e.g. with a fault seed).
    pub async fn start_with(config: SandboxConfig) -> Env {
        let sandbox = sandbox::start(config).await.unwrap();
        let dropbox = dropbox_client::Client::builder()
            .base_url(sandbox.dropbox_url().parse().unwrap())
            .access_token("sandbox-token")
            .retry_policy(
                dropbox_client::RetryPolicy::default()
                    .initial_backoff(Duration::from_millis(5))
                    .max_backoff(Duration::from_millis(50)),
            )
            .build()
            .unwrap();
        let cs = contentserver_client::Client::builder(sandbox.contentserver_url())
            .credentials(Credentials::password("admin", "admin"))
            .retry_policy(
                contentserver_client::RetryPolicy::default()
                    .initial_backoff(Duration::from_millis(5))
                    .max_backoff(Duration::from_millis(50)),
            )
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let state_path = dir.path().join("state.db");
        Env {
            sandbox,
            dropbox,
            cs,
            state_path,
            _dir: dir,
        }
    }

    pub fn state(&self) -> Arc<SqliteStore> {
        Arc::new(SqliteStore::open(&self.state_path).unwrap())
    }

    /// The flow as the example configures it, with fast bridge-level retries.
    pub fn flow(&self) -> ArchiveOnApproval {
        self.flow_with(rules())
    }

    /// The flow with the example's rules plus [`GOVERNED_RULE`] (a hold and a workflow for
    /// `Press Release.pdf`).
    pub fn governed_flow(&self) -> ArchiveOnApproval {
        self.flow_with(governed_rules())
    }

    /// The flow with `rules`, marking as the example does, with fast bridge-level retries.
    pub fn flow_with(&self, rules: Rules) -> ArchiveOnApproval {
        ArchiveOnApproval::new(self.dropbox.clone(), self.cs.clone(), self.state())
            .rules(rules)
            .marking(Marking::default().tag("archived").governance_property())
            .retry(RetryPolicy {
                max_attempts: 4,
                initial_backoff: Duration::from_millis(10),
                max_backoff: Duration::from_millis(100),
                multiplier: 2,
                jitter: false,
            })
    }

    pub async fn dropbox_bytes(&self, path: &str) -> Bytes {
        self.dropbox
            .files()
            .download(path)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
    }

    /// The archived document `name`, if there.
    pub async fn cs_doc(&self, name: &str) -> Option<Node> {
        let ews = self.cs.nodes().enterprise_workspace().await.unwrap();
        let mut path: Vec<&str> = CS_FOLDER.to_vec();
        path.push(name);
        self.cs.nodes().resolve_path(ews.id, &path).await.unwrap()
    }

    /// How many documents of this name are in the archive folder (0 or 1: names are unique).
    pub async fn cs_versions(
        &self,
        node: i64,
    ) -> Vec<contentserver_client::api::documents::Version> {
        self.cs.documents().versions(node).send().await.unwrap()
    }

    pub async fn cs_bytes(&self, node: i64, version: Option<i64>) -> Bytes {
        let mut d = self.cs.documents().download(node);
        if let Some(v) = version {
            d = d.version(v);
        }
        d.send().await.unwrap().bytes().await.unwrap()
    }

    /// The current user's workflow assignments titled `title`.
    pub async fn assignments_titled(
        &self,
        title: &str,
    ) -> Vec<contentserver_client::api::workflows::Assignment> {
        self.cs
            .workflows()
            .assignments()
            .await
            .unwrap()
            .into_iter()
            .filter(|a| a.extra.get("title").and_then(|t| t.as_str()) == Some(title))
            .collect()
    }

    /// The ids of the documents attached to a process (the originals of the shortcuts in its
    /// attachment folder).
    pub async fn attachments(
        &self,
        status: &contentserver_client::api::workflows::WorkflowStatus,
    ) -> Vec<i64> {
        use futures::TryStreamExt;
        let folder = status.attachment_folder_id.expect("an attachment folder");
        let children: Vec<Node> = self
            .cs
            .nodes()
            .children(folder)
            .into_stream()
            .try_collect()
            .await
            .unwrap();
        children
            .iter()
            .map(|c| {
                c.extra
                    .get("original_id")
                    .and_then(|v| v.as_i64())
                    .unwrap_or_else(|| panic!("not a shortcut: {c:?}"))
            })
            .collect()
    }

    /// Whether the hold named `hold` is applied to `node`.
    pub async fn has_hold(&self, node: i64, hold: &str) -> bool {
        let id = self
            .cs
            .records()
            .hold_by_name(hold)
            .await
            .unwrap()
            .unwrap()
            .id;
        let holds = self.cs.records().node_holds(node).await.unwrap();
        holds.iter().any(|h| h.id == id)
    }

    /// Every document below the archive folder (names must be unique there anyway).
    pub async fn cs_archive_children(&self) -> Vec<Node> {
        use futures::TryStreamExt;
        let ews = self.cs.nodes().enterprise_workspace().await.unwrap();
        let Some(folder) = self
            .cs
            .nodes()
            .resolve_path(ews.id, &CS_FOLDER)
            .await
            .unwrap()
        else {
            return Vec::new();
        };
        self.cs
            .nodes()
            .children(folder.id)
            .into_stream()
            .try_collect()
            .await
            .unwrap()
    }
}

/// The example's rules file.
pub fn rules() -> Rules {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/config/rules.toml");
    Rules::load(path).unwrap()
}

/// A rule that puts `Press Release.pdf` on the demo hold and starts the demo workflow.
pub const GOVERNED_RULE: &str = r#"
[[rule]]
name = "press releases go to approval"
name_pattern = "^Press Release"
hold = "Riverside Tower Litigation"
[rule.workflow]
map = "Policy Approval"
values = { WorkflowForm_Title = "Approve {stem}" }
"#;

/// The title of the workflow that [`GOVERNED_RULE`] starts.
pub const GOVERNED_TITLE: &str = "Approve Press Release";

/// The example's rules plus [`GOVERNED_RULE`].
pub fn governed_rules() -> Rules {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/config/rules.toml");
    let text = std::fs::read_to_string(path).unwrap();
    Rules::from_toml(&format!("{text}\n{GOVERNED_RULE}")).unwrap()
}
