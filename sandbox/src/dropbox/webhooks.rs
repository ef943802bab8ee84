//! Webhook notifications: after changes, a background task POSTs
//! `{"list_folder": {"accounts": [..]}, "delta": {"users": [..]}}` signed with
//! `X-Dropbox-Signature` (hex HMAC-SHA256 of the body with the app secret), debounced.

use std::collections::BTreeMap;
use std::io;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::mpsc;

use super::WebhookConfig;

/// Queues account changes for the sender task.
#[derive(Debug)]
pub(crate) struct Notifier {
    tx: mpsc::UnboundedSender<Vec<(String, u64)>>,
}

impl Notifier {
    /// Starts the sender task (needs a tokio runtime).
    pub(crate) fn start(config: WebhookConfig) -> io::Result<Notifier> {
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|e| io::Error::other(format!("webhooks need a tokio runtime: {e}")))?;
        let client = reqwest::Client::builder()
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(io::Error::other)?;
        let (tx, rx) = mpsc::unbounded_channel();
        handle.spawn(run(config, client, rx));
        Ok(Notifier { tx })
    }

    /// Notes that these accounts (account id, legacy uid) changed.
    pub(crate) fn notify(&self, accounts: Vec<(String, u64)>) {
        if !accounts.is_empty() {
            let _ = self.tx.send(accounts);
        }
    }
}

/// The signature of a body.
pub(crate) fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

async fn run(
    config: WebhookConfig,
    client: reqwest::Client,
    mut rx: mpsc::UnboundedReceiver<Vec<(String, u64)>>,
) {
    while let Some(first) = rx.recv().await {
        let mut changed: BTreeMap<String, u64> = first.into_iter().collect();
        tokio::time::sleep(config.debounce).await;
        while let Ok(more) = rx.try_recv() {
            changed.extend(more);
        }
        let body = serde_json::json!({
            "list_folder": {"accounts": changed.keys().collect::<Vec<_>>()},
            "delta": {"users": changed.values().collect::<Vec<_>>()},
        })
        .to_string();
        let sig = signature(&config.app_secret, body.as_bytes());
        let mut delay = Duration::from_millis(500);
        for attempt in 1..=5 {
            let sent = client
                .post(&config.url)
                .header("content-type", "application/json")
                .header("x-dropbox-signature", &sig)
                .body(body.clone())
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => break,
                Ok(r) => tracing::debug!(status = %r.status(), attempt, "webhook refused"),
                Err(e) => tracing::debug!(error = %e, attempt, "webhook failed"),
            }
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn signature_vector() {
        assert_eq!(
            super::signature("the_secret", br#"{"delta": {"users": [12345]}}"#),
            "0a8c16b085420b960dc78664279fe09e936a2a01b1f91064869d9e77dfd64529"
        );
    }
}
