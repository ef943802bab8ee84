//! The secrets audit: a flow runs on the sandbox with tracing at TRACE for every target, with
//! an OAuth refresh token and app secret (Dropbox), the access tokens they yield, a CS ticket,
//! a wrong password and a wrong token (for errors), and a webhook app secret. None of them may
//! appear in the captured logs, in the `Debug` of any value holding them, in any error's
//! display chain, or in the state file (SQLite, with its WAL).

mod support;

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use contentserver_client::Credentials;
use dropbox_client::{OAuthApp, RefreshingToken, TokenProvider};
use ecm_bridge::webhook::{WakeHub, WebhookHandler};
use support::Env;

/// A subscriber that formats every span and event, with all fields, into one string.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<String>>);

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        let _ = write!(self.0, " {}={value}", field.name());
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut out = self.0.lock().unwrap();
        let _ = write!(out, "span {}", span.metadata().name());
        span.record(&mut Fields(&mut out));
        out.push('\n');
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        let mut out = self.0.lock().unwrap();
        values.record(&mut Fields(&mut out));
        out.push('\n');
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut out = self.0.lock().unwrap();
        let _ = write!(
            out,
            "{} {}",
            event.metadata().level(),
            event.metadata().target()
        );
        event.record(&mut Fields(&mut out));
        out.push('\n');
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

const WRONG_PASSWORD: &str = "pw-DISTINCTIVE-cs-password-91c2";
const WRONG_TOKEN: &str = "sl.DISTINCTIVE-dropbox-token-7f3a";
const WEBHOOK_SECRET: &str = "whsec-DISTINCTIVE-app-secret-55e1";

fn assert_absent(what: &str, text: &str, secrets: &[String]) {
    for s in secrets {
        assert!(!text.contains(s.as_str()), "{what} shows the secret {s:?}");
    }
}

#[test]
fn no_secret_in_logs_debug_errors_or_the_state_file() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut env = Env::start().await;
        let origin: reqwest::Url = env.sandbox.dropbox_url().parse().unwrap();
        // Dropbox through an OAuth refresh, as a service runs it.
        let provider = Arc::new(RefreshingToken::new(
            OAuthApp::new(sandbox::dropbox::APP_KEY)
                .secret(sandbox::dropbox::APP_SECRET)
                .api_base(&origin),
            sandbox::dropbox::REFRESH_TOKEN,
        ));
        env.dropbox = dropbox_client::Client::builder()
            .base_url(origin.clone())
            .token_provider(provider.clone())
            .build()
            .unwrap();
        // Content Server with a ticket got from a login (a secret the test knows).
        let login = env.cs.clone();
        login.nodes().enterprise_workspace().await.unwrap();
        let ticket = login.ticket().expect("logged in").expose().to_owned();
        env.cs = contentserver_client::Client::builder(env.sandbox.contentserver_url())
            .credentials(Credentials::Ticket(ticket.clone().into()))
            .build()
            .unwrap();
        let flow = env.flow().build().unwrap();
        let report = flow.run_once().await.unwrap();
        assert_eq!(report.written.len(), 3, "{}", report.summary());
        let access = provider.token().await.unwrap().expose().to_owned();

        let mut secrets = vec![
            sandbox::dropbox::APP_SECRET.to_owned(),
            sandbox::dropbox::REFRESH_TOKEN.to_owned(),
            access.clone(),
            ticket.clone(),
            WRONG_PASSWORD.to_owned(),
            WRONG_TOKEN.to_owned(),
            WEBHOOK_SECRET.to_owned(),
        ];
        secrets.retain(|s| !s.is_empty());
        assert!(access.len() > 8 && ticket.len() > 8);

        // Errors: a wrong password, a wrong token, a bad webhook signature.
        let bad_cs = contentserver_client::Client::builder(env.sandbox.contentserver_url())
            .credentials(Credentials::password("admin", WRONG_PASSWORD))
            .build()
            .unwrap();
        let e = bad_cs.nodes().enterprise_workspace().await.unwrap_err();
        let bad_db = dropbox_client::Client::builder()
            .base_url(origin.clone())
            .access_token(WRONG_TOKEN)
            .build()
            .unwrap();
        let d = bad_db.files().get_metadata("/Marketing").await.unwrap_err();
        let handler = WebhookHandler::new(WEBHOOK_SECRET, WakeHub::new());
        let answer = handler.respond(
            &http::Method::POST,
            None,
            &http::HeaderMap::new(),
            br#"{"list_folder":{"accounts":["dbid:x"]}}"#,
        );
        let bridge_err = ecm_bridge::error::Error::cs("doc", ecm_bridge::error::Step::Write, e);
        let bridge_db = ecm_bridge::error::Error::dropbox("doc", ecm_bridge::error::Step::Read, d);
        let errors = format!(
            "{}\n{:?}\n{}\n{:?}\n{}\n{:?}",
            bridge_err.chain(),
            bridge_err,
            bridge_db.chain(),
            bridge_db,
            answer.body,
            answer
        );
        assert_absent("an error", &errors, &secrets);

        // Debug of everything that holds them.
        let debug = format!(
            "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
            env.dropbox,
            env.cs,
            bad_cs,
            bad_db,
            provider,
            handler,
            Credentials::password("admin", WRONG_PASSWORD),
            Credentials::Ticket(ticket.clone().into()),
            report
        );
        assert_absent("a Debug", &debug, &secrets);

        // The state file and its journal, byte for byte.
        let mut state = Vec::new();
        for ext in ["", "-wal", "-journal"] {
            let p = format!("{}{ext}", env.state_path.display());
            if let Ok(bytes) = std::fs::read(&p) {
                state.extend(bytes);
            }
        }
        assert!(!state.is_empty());
        assert_absent("the state file", &String::from_utf8_lossy(&state), &secrets);

        // The logs, at TRACE, of all of it.
        let logs = capture.0.lock().unwrap().clone();
        assert!(logs.lines().count() > 50, "tracing captured: {logs}");
        assert_absent("the logs", &logs, &secrets);
    });
}
