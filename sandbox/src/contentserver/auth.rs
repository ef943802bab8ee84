//! Authentication: ping, serverinfo, login by password, by OTDS ticket or OTDS bearer token,
//! current user, logout, and the tickets themselves.
//!
//! A ticket names a session and the moment it was issued, signed with the server's secret.
//! Every successful authenticated call answers with a freshly issued ticket in `OTCSTicket`.
//! Whether real tickets have a fixed or a sliding lifetime is UNCONFIRMED, so both are
//! configurable: `ticket_ttl` bounds the age of each ticket (a client that adopts the fresh
//! tickets keeps its session alive; one that keeps its first ticket must log in again), and
//! `ticket_idle_ttl` bounds the time since the session's last request.

use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use super::state::{SessionRec, Store};
use super::wire::{json_ok, ApiError, ApiResult, Req};
use super::ContentServer;

/// The OTDS ticket that `GET /api/v1/auth` exchanges for an `admin` session.
pub(crate) const OTDS_TICKET: &str = "sandbox-otds-ticket";
/// The OTDS OAuth bearer token that `GET /api/v1/auth` exchanges for an `admin` session.
pub(crate) const OTDS_TOKEN: &str = "sandbox-otds-token";

const MAC_LEN: usize = 16;

/// The authentication routes.
pub(crate) fn routes() -> Router<ContentServer> {
    Router::new()
        .route("/api/v1/ping", get(ping))
        .route("/api/v1/auth", get(current).post(login).delete(logout))
        .route("/api/v1/serverinfo", get(serverinfo))
}

impl ContentServer {
    fn sign(&self, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.inner.secret).expect("HMAC takes any key size");
        mac.update(payload);
        mac
    }

    /// A ticket for `session`, issued now.
    fn issue(&self, session: u64) -> String {
        let mut raw = Vec::with_capacity(16 + MAC_LEN);
        raw.extend_from_slice(&session.to_be_bytes());
        raw.extend_from_slice(&self.now_ms().to_be_bytes());
        let tag = self.sign(&raw).finalize().into_bytes();
        raw.extend_from_slice(&tag[..MAC_LEN]);
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// The session and issue time a ticket names, if it carries our signature.
    fn decode(&self, ticket: &str) -> Option<(u64, u64)> {
        let raw = URL_SAFE_NO_PAD.decode(ticket.as_bytes()).ok()?;
        if raw.len() != 16 + MAC_LEN {
            return None;
        }
        let (payload, tag) = raw.split_at(16);
        self.sign(payload).verify_truncated_left(tag).ok()?;
        let session = u64::from_be_bytes(payload[..8].try_into().ok()?);
        let issued = u64::from_be_bytes(payload[8..].try_into().ok()?);
        Some((session, issued))
    }

    /// Opens a session for `user_id` and returns its first ticket.
    pub(crate) fn open_session(&self, user_id: i64) -> String {
        let now = self.now_ms();
        let session = {
            let mut store = self.store();
            store.next_session += 1;
            let id = store.next_session;
            store.sessions.insert(
                id,
                SessionRec {
                    user_id,
                    last_used_ms: now,
                },
            );
            id
        };
        self.issue(session)
    }

    /// Checks a ticket: signature, fixed lifetime, session alive and not idle too long. On
    /// success the session is touched and a fresh ticket is returned with the user id.
    pub(crate) fn authenticate(&self, ticket: &str) -> Result<(i64, String), ApiError> {
        let (session, issued) = self.decode(ticket).ok_or_else(ApiError::unauthorized)?;
        let now = self.now_ms();
        let config = self.config();
        if let Some(ttl) = config.ticket_ttl {
            if now.saturating_sub(issued) > ttl.as_millis() as u64 {
                return Err(ApiError::unauthorized());
            }
        }
        let user_id = {
            let mut store = self.store();
            let rec = store
                .sessions
                .get_mut(&session)
                .ok_or_else(ApiError::unauthorized)?;
            if let Some(idle) = config.ticket_idle_ttl {
                if now.saturating_sub(rec.last_used_ms) > idle.as_millis() as u64 {
                    store.sessions.remove(&session);
                    return Err(ApiError::unauthorized());
                }
            }
            rec.last_used_ms = now;
            rec.user_id
        };
        Ok((user_id, self.issue(session)))
    }

    /// Ends the session a ticket names.
    fn close_session(&self, ticket: &str) {
        if let Some((session, _)) = self.decode(ticket) {
            self.store().sessions.remove(&session);
        }
    }
}

async fn ping(req: Req) -> ApiResult {
    Ok(json_ok(json!({
        "build": "24.4.0.1000",
        "href": req.href,
        "version": "1",
    })))
}

async fn login(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let username = req
        .params
        .str("username")
        .ok_or_else(|| ApiError::server("Missing required parameter 'username'."))?;
    let password = req
        .params
        .str("password")
        .ok_or_else(|| ApiError::server("Missing required parameter 'password'."))?;
    let user_id = {
        let store = cs.store();
        match store.user_by_name(&username) {
            Some(u) if u.password == password => u.id,
            _ => {
                return Err(ApiError {
                    status: axum::http::StatusCode::UNAUTHORIZED,
                    message: "Invalid username/password specified.".to_owned(),
                })
            }
        }
    };
    let ticket = cs.open_session(user_id);
    req.slot.set(ticket.clone());
    Ok(json_ok(json!({ "ticket": ticket })))
}

/// `GET /api/v1/auth`: exchanges an OTDS ticket or bearer token for a CS ticket (in the
/// `OTCSTicket` response header), or, with a CS ticket, describes the current user.
async fn current(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    let otds = req
        .headers
        .get("otdsticket")
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    let bearer = req
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let user_id = if otds == Some(OTDS_TICKET) || bearer == Some(OTDS_TOKEN) {
        let admin = cs
            .store()
            .user_by_name("admin")
            .map(|u| u.id)
            .ok_or_else(ApiError::unauthorized)?;
        req.slot.set(cs.open_session(admin));
        admin
    } else if otds.is_some() || bearer.is_some() {
        return Err(ApiError::unauthorized());
    } else {
        req.user()?
    };
    let store = cs.store();
    Ok(json_ok(json!({ "data": user_json(&store, user_id) })))
}

async fn logout(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    req.user()?;
    if let Some(ticket) = Req::ticket_in(&req.headers) {
        cs.close_session(&ticket);
    }
    req.slot.clear();
    Ok(json_ok(json!({})))
}

async fn serverinfo(State(cs): State<ContentServer>, req: Req) -> ApiResult {
    req.user()?;
    let config = cs.config();
    let ms = |d: Option<std::time::Duration>| d.map(|d| d.as_millis() as u64).unwrap_or(0);
    Ok(json_ok(json!({
        "mobile": {"cs_viewer_support": false, "offline_use": true},
        "server": {
            "advanced_versioning": false,
            "character_encoding": 1,
            "current_date": cs.now().format("%Y-%m-%dT%H:%M:%S").to_string(),
            "domain_access_enabled": false,
            "enhanced_advanced_versioning": false,
            "force_download_for_mime_types": [],
            "language_code": "en_US",
            "languages": [{"active": true, "language_code": "en_US", "language_name": "English (United States)"}],
            "metadata_languages": [{"default": true, "language_code": "en", "language_name": "English"}],
            "url": config.prefix,
            "version": "24.4",
        },
        "sessions": {
            "enabled": config.ticket_ttl.is_some() || config.ticket_idle_ttl.is_some(),
            "expire_after_last_login": config.ticket_ttl.is_some(),
            "expire_after_last_request": config.ticket_idle_ttl.is_some(),
            "logging_enabled": false,
            "session_inactivity": ms(config.ticket_idle_ttl),
            "session_reaction_time": 180000,
            "session_timeout": ms(config.ticket_ttl),
        },
        "viewer": {"content_suite": {}},
    })))
}

/// The `data` of `GET /api/v1/auth` and v1 member answers.
pub(crate) fn user_json(store: &Store, user_id: i64) -> serde_json::Value {
    let Some(m) = store.member(user_id) else {
        return json!({ "id": user_id });
    };
    json!({
        "id": m.id,
        "name": m.name,
        "type": m.kind,
        "type_name": if m.kind == 0 { "User" } else { "Group" },
        "first_name": m.first_name,
        "last_name": m.last_name,
        "business_email": m.email,
        "group_id": m.group_id,
        "deleted": false,
        "privilege_login": m.kind == 0,
        "privilege_system_admin_rights": m.admin,
        "privilege_user_admin_rights": m.admin,
    })
}
