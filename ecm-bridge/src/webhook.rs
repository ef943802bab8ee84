//! Dropbox webhooks wake the flows that watch the notified accounts.
//!
//! Three pieces, each usable alone:
//! - [`WakeHub`]: flows subscribe (by Dropbox account id, or to every notification); a
//!   notification wakes the matching subscribers. A wake-up that arrives while a flow is busy
//!   is kept (one pending wake-up per subscriber, later ones coalesce into it).
//! - [`WebhookHandler`]: a plain function of headers and body. It checks
//!   `X-Dropbox-Signature` (HMAC-SHA256 of the raw body with the app secret, compared in
//!   constant time, [`dropbox_client::webhook`]), reads the notified accounts and wakes them;
//!   it also answers Dropbox's `GET ?challenge=` verification. Nothing is read from Dropbox in
//!   the request, so it answers at once (Dropbox wants an answer within 10 seconds).
//! - [`WokenSource`]: a [`Source`] whose [`Source::wake`] also yields on the hub's notifications for
//!   its account, besides its own wake-ups (Dropbox longpoll), so [`crate::runner::Flow::watch`]
//!   runs when a webhook arrives. No runner change is needed: the hub is one more wake-up.
//!
//! With the `webhook-server` feature, [`router`] is the handler as an axum `Router` (a
//! `tower::Service`), to mount in any axum or tower server.
//!
//! ```
//! use ecm_bridge::webhook::{WakeHub, WebhookHandler};
//! let hub = WakeHub::new();
//! let handler = WebhookHandler::new("app-secret", hub.clone());
//! let body = br#"{"list_folder": {"accounts": ["dbid:AAA"]}}"#;
//! let mut headers = http::HeaderMap::new();
//! let sig = dropbox_client::webhook::sign("app-secret", body);
//! headers.insert("x-dropbox-signature", sig.parse().unwrap());
//! let woken = handler.handle(&headers, body).unwrap();
//! assert_eq!(woken.accounts, ["dbid:AAA"]);
//! headers.insert("x-dropbox-signature", "00".parse().unwrap());
//! assert!(handler.handle(&headers, body).is_err());
//! ```

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use dropbox_client::webhook::{verify_and_parse, WebhookError, SIGNATURE_HEADER};
use futures::stream::{self, BoxStream, StreamExt};
use tokio::sync::mpsc;
use tokio::sync::OnceCell;

use crate::error::Result;
use crate::model::{Checkpoint, DocRef, Document};
use crate::source::{Item, Source};

struct Subscriber {
    /// `None`: every notification.
    account: Option<String>,
    tx: mpsc::Sender<()>,
}

/// Flows waiting for webhook notifications, by Dropbox account id. Cheap to clone (shared).
#[derive(Clone, Default)]
pub struct WakeHub {
    subscribers: Arc<Mutex<Vec<Subscriber>>>,
}

impl std::fmt::Debug for WakeHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.subscribers.lock().map(|s| s.len()).unwrap_or(0);
        f.debug_struct("WakeHub").field("subscribers", &n).finish()
    }
}

impl WakeHub {
    /// An empty hub.
    pub fn new() -> Self {
        Self::default()
    }

    /// A stream that yields once per notification for `account` (a `dbid:…` id; `None`: any
    /// account). Armed when this returns: a notification before the first poll is kept.
    /// Several notifications while nobody polls become one wake-up.
    pub fn subscribe(&self, account: Option<String>) -> BoxStream<'static, ()> {
        let (tx, rx) = mpsc::channel(1);
        self.lock().push(Subscriber { account, tx });
        stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|()| ((), rx)) },
        )
        .boxed()
    }

    /// Wakes the subscribers of these accounts (and those of any account); returns how many
    /// were woken. Subscribers whose stream is gone are dropped.
    pub fn wake(&self, accounts: &[String]) -> usize {
        let mut subs = self.lock();
        subs.retain(|s| !s.tx.is_closed());
        let mut woken = 0;
        for s in subs.iter() {
            let hit = match &s.account {
                None => true,
                Some(a) => accounts.iter().any(|x| x == a),
            };
            if hit {
                // Full means a wake-up is already pending: this one joins it.
                let _ = s.tx.try_send(());
                woken += 1;
            }
        }
        woken
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Subscriber>> {
        self.subscribers.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What a verified notification did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notified {
    /// The accounts it named.
    pub accounts: Vec<String>,
    /// How many subscribers were woken.
    pub flows: usize,
}

/// An HTTP answer, framework-neutral.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookResponse {
    /// The status code.
    pub status: u16,
    /// Headers to send.
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: String,
}

/// Verifies Dropbox notifications and wakes the flows watching the notified accounts.
#[derive(Clone)]
pub struct WebhookHandler {
    app_secret: Arc<str>,
    hub: WakeHub,
}

impl std::fmt::Debug for WebhookHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookHandler")
            .field("app_secret", &"<redacted>")
            .field("hub", &self.hub)
            .finish()
    }
}

impl WebhookHandler {
    /// A handler checking signatures with the Dropbox app's secret.
    pub fn new(app_secret: impl Into<String>, hub: WakeHub) -> Self {
        WebhookHandler {
            app_secret: Arc::from(app_secret.into()),
            hub,
        }
    }

    /// The hub it wakes.
    pub fn hub(&self) -> &WakeHub {
        &self.hub
    }

    /// A `POST` notification: checks the signature header against the raw `body`, then wakes
    /// the notified accounts. A missing or wrong signature wakes nobody.
    pub fn handle(
        &self,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> std::result::Result<Notified, WebhookError> {
        let signature = headers
            .get(SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or(WebhookError::BadSignature)?;
        let note = verify_and_parse(&self.app_secret, body, signature)?;
        let accounts = note.list_folder.accounts;
        let flows = self.hub.wake(&accounts);
        tracing::debug!(?accounts, flows, "webhook notification");
        Ok(Notified { accounts, flows })
    }

    /// The whole exchange: `GET ?challenge=x` echoes the challenge (the verification request);
    /// `POST` is [`WebhookHandler::handle`]: `200` when verified, `403` for a bad signature,
    /// `400` for a body that is not a notification; anything else is `405`.
    pub fn respond(
        &self,
        method: &http::Method,
        query: Option<&str>,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> WebhookResponse {
        let text = |status: u16, body: String| WebhookResponse {
            status,
            headers: vec![("Content-Type", "text/plain".to_owned())],
            body,
        };
        if method == http::Method::GET {
            let challenge = query.and_then(|q| {
                q.split('&').find_map(|kv| {
                    let (k, v) = kv.split_once('=')?;
                    (k == "challenge").then(|| percent_decode(v))
                })
            });
            return match challenge {
                Some(c) => {
                    let r = dropbox_client::webhook::challenge_response(&c);
                    WebhookResponse {
                        status: 200,
                        headers: r
                            .headers
                            .iter()
                            .map(|(k, v)| (*k, (*v).to_owned()))
                            .collect(),
                        body: r.body,
                    }
                }
                None => text(400, "missing challenge".into()),
            };
        }
        if method != http::Method::POST {
            return text(405, "method not allowed".into());
        }
        match self.handle(headers, body) {
            Ok(_) => text(200, String::new()),
            Err(e @ WebhookError::BadSignature) => text(403, e.to_string()),
            Err(e) => text(400, e.to_string()),
        }
    }
}

/// `%XX` and `+` decoding of a query value (a challenge is plain ASCII in practice).
fn percent_decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The handler as an axum `Router` serving `GET` (challenge) and `POST` (notification) at
/// `/`; nest it where the webhook URL points. A `Router` is a `tower::Service`.
#[cfg(feature = "webhook-server")]
pub fn router(handler: WebhookHandler) -> axum::Router {
    use axum::body::Bytes;
    use axum::extract::{OriginalUri, State};
    use axum::http::{HeaderMap, Method, StatusCode};
    use axum::response::{IntoResponse, Response};

    async fn serve(
        State(h): State<WebhookHandler>,
        method: Method,
        OriginalUri(uri): OriginalUri,
        headers: HeaderMap,
        body: Bytes,
    ) -> Response {
        let r = h.respond(&method, uri.query(), &headers, &body);
        let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut out = (status, r.body).into_response();
        for (k, v) in r.headers {
            if let Ok(v) = v.parse() {
                out.headers_mut().insert(k, v);
            }
        }
        out
    }

    axum::Router::new()
        .route("/", axum::routing::get(serve).post(serve))
        .with_state(handler)
}

/// Whose notifications wake a [`WokenSource`] source.
#[derive(Clone)]
enum Account {
    Any,
    Id(String),
    /// The account the client is signed in as (looked up once, at the first `wake`).
    Client(dropbox_client::Client, Arc<OnceCell<Option<String>>>),
}

/// A source that the hub also wakes (see the module docs).
#[derive(Clone)]
pub struct WokenSource<S> {
    inner: S,
    hub: WakeHub,
    account: Account,
}

impl<S> std::fmt::Debug for WokenSource<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WokenSource").finish_non_exhaustive()
    }
}

impl<S: Source> WokenSource<S> {
    /// Woken by notifications for the account that `client` is signed in as.
    pub fn for_client(inner: S, hub: WakeHub, client: dropbox_client::Client) -> Self {
        WokenSource {
            inner,
            hub,
            account: Account::Client(client, Arc::default()),
        }
    }

    /// Woken by notifications for `account_id` (`dbid:…`).
    pub fn for_account(inner: S, hub: WakeHub, account_id: impl Into<String>) -> Self {
        WokenSource {
            inner,
            hub,
            account: Account::Id(account_id.into()),
        }
    }

    /// Woken by every notification (a team app watching many accounts).
    pub fn for_any(inner: S, hub: WakeHub) -> Self {
        WokenSource {
            inner,
            hub,
            account: Account::Any,
        }
    }

    async fn account_id(&self) -> Option<String> {
        match &self.account {
            Account::Any => None,
            Account::Id(id) => Some(id.clone()),
            Account::Client(client, cell) => cell
                .get_or_init(|| async {
                    match client.users().get_current_account().await {
                        Ok(a) => Some(a.account_id),
                        Err(e) => {
                            tracing::warn!(error = %e, "webhook wake-up: account unknown; woken by every notification");
                            None
                        }
                    }
                })
                .await
                .clone(),
        }
    }
}

#[async_trait]
impl<S: Source> Source for WokenSource<S> {
    async fn changes(&self, since: Option<Checkpoint>) -> Result<BoxStream<'static, Result<Item>>> {
        self.inner.changes(since).await
    }

    async fn fetch(&self, id: &DocRef) -> Result<Option<Document>> {
        self.inner.fetch(id).await
    }

    async fn recheck(&self, ids: &[DocRef]) -> Result<Vec<Option<Document>>> {
        self.inner.recheck(ids).await
    }

    /// The hub's notifications for the account, merged with the inner source's wake-ups.
    async fn wake(&self) -> Option<BoxStream<'static, ()>> {
        let account = self.account_id().await;
        let hub = self.hub.subscribe(account);
        Some(match self.inner.wake().await {
            Some(own) => stream::select(hub, own).boxed(),
            None => hub,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dropbox_client::webhook::sign;
    use futures::FutureExt;

    fn signed(secret: &str, body: &[u8]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert("X-Dropbox-Signature", sign(secret, body).parse().unwrap());
        h
    }

    #[tokio::test]
    async fn a_verified_notification_wakes_its_accounts_only() {
        let hub = WakeHub::new();
        let handler = WebhookHandler::new("s3cret", hub.clone());
        let mut a = hub.subscribe(Some("dbid:A".into()));
        let mut b = hub.subscribe(Some("dbid:B".into()));
        let mut any = hub.subscribe(None);
        let body = br#"{"list_folder": {"accounts": ["dbid:A"]}, "delta": {"users": [1]}}"#;
        let w = handler.handle(&signed("s3cret", body), body).unwrap();
        assert_eq!(w.accounts, ["dbid:A"]);
        assert_eq!(w.flows, 2);
        // Armed before the first poll: the wake-up is waiting.
        assert_eq!(a.next().now_or_never(), Some(Some(())));
        assert_eq!(any.next().now_or_never(), Some(Some(())));
        assert_eq!(b.next().now_or_never(), None);
        // Two notifications while nobody polls are one wake-up.
        handler.handle(&signed("s3cret", body), body).unwrap();
        handler.handle(&signed("s3cret", body), body).unwrap();
        assert_eq!(a.next().now_or_never(), Some(Some(())));
        assert_eq!(a.next().now_or_never(), None);
        // A dropped subscriber is forgotten.
        drop(b);
        let body_b = br#"{"list_folder": {"accounts": ["dbid:B"]}}"#;
        let w = handler.handle(&signed("s3cret", body_b), body_b).unwrap();
        assert_eq!(w.flows, 1);
    }

    #[tokio::test]
    async fn bad_signatures_wake_nobody() {
        let hub = WakeHub::new();
        let handler = WebhookHandler::new("s3cret", hub.clone());
        let mut any = hub.subscribe(None);
        let body = br#"{"list_folder": {"accounts": ["dbid:A"]}}"#;
        for headers in [
            http::HeaderMap::new(),
            signed("wrong", body),
            signed("s3cret", b"another body"),
        ] {
            assert_eq!(
                handler.handle(&headers, body),
                Err(WebhookError::BadSignature)
            );
            let r = handler.respond(&http::Method::POST, None, &headers, body);
            assert_eq!(r.status, 403);
        }
        assert_eq!(any.next().now_or_never(), None);
        let junk = b"{}";
        let r = handler.respond(&http::Method::POST, None, &signed("s3cret", junk), junk);
        assert_eq!(r.status, 400);
        assert!(!format!("{handler:?}").contains("s3cret"));
    }

    #[test]
    fn the_challenge_is_echoed() {
        let handler = WebhookHandler::new("s", WakeHub::new());
        let h = http::HeaderMap::new();
        let r = handler.respond(&http::Method::GET, Some("x=1&challenge=abc%2D1"), &h, b"");
        assert_eq!(r.status, 200);
        assert_eq!(r.body, "abc-1");
        assert!(r
            .headers
            .iter()
            .any(|(k, v)| *k == "X-Content-Type-Options" && v == "nosniff"));
        assert_eq!(
            handler.respond(&http::Method::GET, None, &h, b"").status,
            400
        );
        assert_eq!(
            handler.respond(&http::Method::PUT, None, &h, b"").status,
            405
        );
    }
}
