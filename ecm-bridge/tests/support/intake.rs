//! The intake_to_workflow tests' shared parts (moved from `tests/intake_to_workflow.rs` so
//! that the reliability scenario reuses them): the demo's file request, its submissions by
//! outside parties, and the flow's settings.

use dropbox_client::models::file_requests::UpdateFileRequestArgs;
use ecm_bridge::connectors::contentserver::Owner;
use ecm_bridge::flows::intake_to_workflow::IntakeConfig;
use ecm_bridge::model::Grant;

use super::Env;

/// The demo file request's title (the CS folder under `Intake`).
pub const TITLE: &str = "Outside tax documents";
/// The demo file request's Dropbox folder.
pub const DESTINATION: &str = "/Finance/Tax Intake";

/// (file, submitter name, e-mail, bytes)
pub const SUBMISSIONS: [(&str, &str, &str, &str); 2] = [
    (
        "W-2.pdf",
        "Avery Accountant",
        "avery@cpa.example",
        "W-2 wage statement, 2026",
    ),
    (
        "1099.pdf",
        "Blake Bookkeeper",
        "blake@books.example",
        "1099 miscellaneous income",
    ),
];

/// The demo's file request (the sandbox's first).
pub fn request_id(env: &Env) -> String {
    env.sandbox.dropbox_manifest()["file_requests"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// An outside party submits `bytes` as `name` into the demo's file request.
pub async fn submit(env: &Env, name: &str, who: (&str, &str), bytes: &str) {
    let mut url: reqwest::Url = env.sandbox.dropbox_url().parse().unwrap();
    url.set_path(&format!(
        "/__sandbox/file_requests/{}/submit",
        request_id(env)
    ));
    url.query_pairs_mut()
        .append_pair("name", name)
        .append_pair("submitter_name", who.0)
        .append_pair("submitter_email", who.1);
    let status = reqwest::Client::new()
        .post(url)
        .body(bytes.to_owned())
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
}

/// Both submissions made, then the request closed: its late files are still taken in.
pub async fn submit_all(env: &Env) {
    for (name, who, email, bytes) in SUBMISSIONS {
        submit(env, name, (who, email), bytes).await;
    }
    env.dropbox
        .file_requests()
        .update(UpdateFileRequestArgs::new(request_id(env)).open(false))
        .await
        .unwrap();
}

/// The flow's settings in the tests: owned by `editor`, readable by Records Managers.
pub fn config() -> IntakeConfig {
    IntakeConfig {
        owner: Some(Owner::User("editor".into())),
        permissions: vec![Grant {
            member: "Records Managers".into(),
            permissions: vec!["see".into(), "see_contents".into()],
        }],
        ..IntakeConfig::default()
    }
}
