//! Credentials, and the session that holds the `OTCSTicket`.
//!
//! The session logs in lazily on the first call, adopts the fresh ticket that Content Server
//! returns in the `OTCSTicket` response header, and, when a call gets `401`, logs in again:
//! one login at a time, shared by every call that saw the same (now rejected) ticket.

use std::fmt;
use std::sync::Mutex;

use reqwest::Method;

use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::transport::{AuthMode, Call, Transport};

/// How the client authenticates against Content Server.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Credentials {
    /// Username and password, exchanged for a ticket with `POST /api/v1/auth`.
    Password {
        /// The login name.
        username: String,
        /// The password.
        password: Secret,
        /// The optional login domain.
        domain: Option<String>,
    },
    /// An OTDS ticket, exchanged with `GET /api/v1/auth` and header `OTDSTicket`.
    OtdsTicket(Secret),
    /// An OTDS OAuth bearer token, exchanged with `GET /api/v1/auth` and
    /// `Authorization: Bearer`.
    OtdsBearer(Secret),
    /// An existing `OTCSTicket`. It cannot be renewed: a `401` ends in [`Error::Auth`].
    Ticket(Secret),
}

impl Credentials {
    /// Username and password credentials without a domain.
    pub fn password(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        Credentials::Password {
            username: username.into(),
            password: password.into(),
            domain: None,
        }
    }

    /// Whether these credentials can obtain a new ticket.
    fn can_login(&self) -> bool {
        !matches!(self, Credentials::Ticket(_))
    }
}

struct TicketState {
    ticket: Option<Secret>,
    /// Bumped by every login attempt (success or failure).
    generation: u64,
    /// The message of the last failed login, shared with the calls that waited for it.
    last_failure: Option<String>,
}

/// Holds the current ticket and serialises logins.
pub(crate) struct Session {
    credentials: Option<Credentials>,
    state: Mutex<TicketState>,
    login_lock: tokio::sync::Mutex<()>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

/// The ticket a call was sent with, and the login generation it came from.
pub(crate) struct TicketSnapshot {
    pub(crate) ticket: Secret,
    pub(crate) generation: u64,
}

const AUTH_PATH: &str = "api/v1/auth";

impl Session {
    pub(crate) fn new(credentials: Option<Credentials>) -> Self {
        let ticket = match &credentials {
            Some(Credentials::Ticket(t)) => Some(t.clone()),
            _ => None,
        };
        Session {
            credentials,
            state: Mutex::new(TicketState {
                ticket,
                generation: 0,
                last_failure: None,
            }),
            login_lock: tokio::sync::Mutex::new(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TicketState> {
        // A poisoned lock only means another thread panicked while holding it; the state
        // (an Option and a counter) is always consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current ticket, if any.
    pub(crate) fn ticket(&self) -> Option<Secret> {
        self.lock().ticket.clone()
    }

    /// The current login generation.
    pub(crate) fn current_generation(&self) -> u64 {
        self.lock().generation
    }

    /// Adopts a refreshed ticket from a successful response to a request sent under login
    /// `generation`. A ticket from before the latest login is ignored: it belongs to a session
    /// that has been replaced (possibly because it expired).
    pub(crate) fn adopt(&self, ticket: Secret, generation: u64) {
        let mut state = self.lock();
        if state.generation != generation {
            tracing::trace!("ignoring a ticket from before the latest login");
            return;
        }
        if state.ticket.as_ref() != Some(&ticket) {
            tracing::trace!("adopting refreshed OTCSTicket");
            state.ticket = Some(ticket);
        }
    }

    /// The ticket for the next call, logging in first when there is none.
    pub(crate) async fn current(&self, transport: &Transport) -> Result<TicketSnapshot> {
        let generation = {
            let state = self.lock();
            if let Some(ticket) = &state.ticket {
                return Ok(TicketSnapshot {
                    ticket: ticket.clone(),
                    generation: state.generation,
                });
            }
            state.generation
        };
        self.login(transport, generation).await?;
        let state = self.lock();
        match &state.ticket {
            Some(ticket) => Ok(TicketSnapshot {
                ticket: ticket.clone(),
                generation: state.generation,
            }),
            None => Err(auth_error(
                state
                    .last_failure
                    .clone()
                    .unwrap_or_else(|| "no ticket after login".into()),
            )),
        }
    }

    /// Logs in again because the ticket of generation `seen` was rejected. When another call
    /// already logged in since, this waits for it and reuses its outcome.
    pub(crate) async fn login(&self, transport: &Transport, seen: u64) -> Result<()> {
        let credentials =
            match &self.credentials {
                Some(c) if c.can_login() => c,
                Some(_) => return Err(auth_error(
                    "the OTCSTicket was rejected and no credentials are configured to log in again",
                )),
                None => return Err(auth_error("no credentials configured")),
            };
        let _guard = self.login_lock.lock().await;
        {
            let state = self.lock();
            if state.generation != seen {
                // Someone else logged in (or failed to) while we waited: share the outcome.
                return match (&state.ticket, &state.last_failure) {
                    (Some(_), _) => Ok(()),
                    (None, Some(message)) => Err(auth_error(message.clone())),
                    (None, None) => Err(auth_error("login failed")),
                };
            }
        }
        tracing::debug!(generation = seen + 1, "logging in to Content Server");
        let outcome = do_login(transport, credentials).await;
        let mut state = self.lock();
        state.generation += 1;
        match outcome {
            Ok(ticket) => {
                state.ticket = Some(ticket);
                state.last_failure = None;
                Ok(())
            }
            Err(error) => {
                tracing::warn!(error = %error, "Content Server login failed");
                state.ticket = None;
                state.last_failure = Some(error.to_string());
                Err(error)
            }
        }
    }

    /// Forgets the ticket (after logout).
    pub(crate) fn clear(&self) {
        let mut state = self.lock();
        state.ticket = None;
        state.generation += 1;
    }
}

fn auth_error(message: impl Into<String>) -> Error {
    Error::Auth {
        path: AUTH_PATH.into(),
        status: None,
        message: message.into(),
    }
}

/// Exchanges the credentials for a ticket. Returns a boxed future: the login runs through the
/// same transport that asked for it, and boxing here breaks that cycle of future types.
fn do_login<'a>(
    transport: &'a Transport,
    credentials: &'a Credentials,
) -> futures::future::BoxFuture<'a, Result<Secret>> {
    Box::pin(async move {
        let call = match credentials {
            Credentials::Password {
                username,
                password,
                domain,
            } => {
                // Logging in again is harmless, so a lost answer may be repeated.
                let mut call = Call::new(Method::POST, AUTH_PATH)
                    .auth(AuthMode::None)
                    .safe_to_repeat()
                    .secret_answer()
                    .form("username", username)
                    .form("password", password.expose());
                if let Some(domain) = domain {
                    call = call.form("domain", domain);
                }
                call
            }
            Credentials::OtdsTicket(ticket) => Call::new(Method::GET, AUTH_PATH)
                .auth(AuthMode::Header("OTDSTicket", ticket.clone())),
            Credentials::OtdsBearer(token) => {
                Call::new(Method::GET, AUTH_PATH).auth(AuthMode::Header(
                    "Authorization",
                    Secret::new(format!("Bearer {}", token.expose())),
                ))
            }
            Credentials::Ticket(_) => return Err(auth_error("an existing ticket cannot log in")),
        };
        let answer = match transport.json(call.secret_answer()).await {
            Ok(answer) => answer,
            Err(Error::Api {
                status, message, ..
            }) if status == 401 || status == 403 => {
                return Err(Error::Auth {
                    path: AUTH_PATH.into(),
                    status: Some(status),
                    message,
                })
            }
            Err(other) => return Err(other),
        };
        // POST answers {"ticket": ...}; the OTDS exchanges answer with the OTCSTicket header.
        // Accept either from either call (lenient).
        if let Some(ticket) = answer.value.get("ticket").and_then(|t| t.as_str()) {
            if !ticket.is_empty() {
                return Ok(Secret::new(ticket));
            }
        }
        answer.ticket.ok_or_else(|| Error::Auth {
            path: AUTH_PATH.into(),
            status: Some(answer.status),
            message: "the login answer carried no ticket".into(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_from_before_the_latest_login_is_not_adopted() {
        let session = Session::new(Some(Credentials::Ticket(Secret::new("t0"))));
        session.adopt(Secret::new("t1"), 0);
        assert_eq!(session.ticket(), Some(Secret::new("t1")));
        // A login happens (generation 1); then a slow answer sent under generation 0 arrives.
        session.lock().generation += 1;
        session.lock().ticket = Some(Secret::new("fresh-login"));
        session.adopt(Secret::new("t2-of-the-dead-session"), 0);
        assert_eq!(session.ticket(), Some(Secret::new("fresh-login")));
        session.adopt(Secret::new("t3"), 1);
        assert_eq!(session.ticket(), Some(Secret::new("t3")));
    }

    #[test]
    fn secrets_are_redacted() {
        let c = Credentials::Password {
            username: "admin".into(),
            password: Secret::new("hunter2"),
            domain: Some("d".into()),
        };
        let shown = format!("{c:?}");
        assert!(shown.contains("admin"));
        assert!(!shown.contains("hunter2"));
        assert!(!format!("{:?}", Credentials::Ticket("T0PSECRET".into())).contains("T0PSECRET"));
        assert!(!format!(
            "{:?}",
            Session::new(Some(Credentials::OtdsBearer("B3ARER".into())))
        )
        .contains("B3ARER"));
    }
}
