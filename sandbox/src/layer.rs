//! The per-request layer both emulators sit behind: it counts the request in [`Stats`] and
//! applies the [`Faults`] that fire for it.

use std::io;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use bytes::Bytes;
use futures::StreamExt;
use serde_json::json;

use crate::faults::{Faults, Injected, LostAnswer, ServerKind};
use crate::limit::{self, WriteLimit};
use crate::server::ConnectionControl;
use crate::stats::Stats;

/// Computes the route key of a request from its method and path.
pub(crate) type KeyFn = Arc<dyn Fn(&Method, &str) -> String + Send + Sync>;

/// What the layer needs: the server's faults, its counters and how it names routes.
#[derive(Clone)]
pub(crate) struct LayerState {
    /// The server's fault rules.
    pub faults: Faults,
    /// The server's request counts.
    pub stats: Stats,
    /// The route key function.
    pub key: KeyFn,
    /// The server's write capacity.
    pub writes: WriteLimit,
}

/// Wraps every route (and the fallback) of `router` in the stats and fault layer.
pub(crate) fn wrap(router: Router, state: LayerState) -> Router {
    router.layer(axum::middleware::from_fn_with_state(state, apply))
}

async fn apply(State(state): State<LayerState>, req: Request, next: Next) -> Response {
    let key = (state.key)(req.method(), req.uri().path());
    state.stats.record(&key);
    // Held until the answer is returned: a write is in flight through the faults' latency
    // and a lost answer's hold too.
    let _slot =
        if state.writes.is_limited() && limit::is_write(state.faults.kind(), req.method(), &key) {
            match state.writes.try_acquire() {
                Some(slot) => Some(slot),
                None => {
                    state.stats.record_limited();
                    drain(req).await;
                    return at_capacity(state.faults.kind());
                }
            }
        } else {
            None
        };
    let decision = state.faults.decide(&key);
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    if decision.expire {
        state.faults.expire_credentials();
    }
    match decision.answer {
        Some(Injected::Reset) => {
            let control = req.extensions().get::<ConnectionControl>().cloned();
            return reset(control).await;
        }
        Some(Injected::Lost { rule, how, hold }) => {
            let control = req.extensions().get::<ConnectionControl>().cloned();
            // The handler runs as its own task, so it finishes (and its write commits) even
            // when the client gives up and hyper drops this future.
            match tokio::spawn(next.run(req)).await {
                // The answer, body and all, is dropped unsent.
                Ok(answer) => drop(answer),
                Err(e) => {
                    // The handler panicked: nothing is known to have committed, so this is
                    // not counted as a lost answer.
                    tracing::warn!(error = %e, "handler under a lose fault failed");
                    return StatusCode::INTERNAL_SERVER_ERROR.into_response();
                }
            }
            state.faults.answer_lost(rule);
            tracing::debug!(rule, %how, "fault lost the answer");
            return match how {
                LostAnswer::Status(status) => proxy_error(status),
                LostAnswer::Reset => reset(control).await,
                LostAnswer::Stall => {
                    // A client that disconnects ends the hold early: hyper notices the closed
                    // connection and drops this future.
                    tokio::time::sleep(hold).await;
                    reset(control).await
                }
            };
        }
        Some(Injected::Status {
            status,
            retry_after,
        }) => {
            drain(req).await;
            return injected(state.faults.kind(), status, retry_after);
        }
        None => {}
    }
    let response = next.run(req).await;
    match decision.truncate {
        Some(limit) => truncate(response, limit),
        None => response,
    }
}

/// Reads the whole request body and drops it: answering while a client is still sending a
/// large body makes the close look like a reset to it.
async fn drain(req: Request) {
    let mut body = req.into_body().into_data_stream();
    while let Some(chunk) = body.next().await {
        if chunk.is_err() {
            break;
        }
    }
}

/// How long a write refused by the write limit is told to wait (`Retry-After`, seconds).
pub(crate) const AT_CAPACITY_RETRY_AFTER: u64 = 1;

/// The refusal of a write past the server's write limit: 429 with `Retry-After`; on Dropbox
/// with the `too_many_write_operations` reason its API gives.
fn at_capacity(kind: ServerKind) -> Response {
    let secs = AT_CAPACITY_RETRY_AFTER;
    let mut response = match kind {
        ServerKind::Dropbox => json_body(
            StatusCode::TOO_MANY_REQUESTS,
            &json!({
                "error_summary": "too_many_write_operations/..",
                "error": {"reason": {".tag": "too_many_write_operations"}, "retry_after": secs},
            }),
        ),
        ServerKind::ContentServer => json_body(
            StatusCode::TOO_MANY_REQUESTS,
            &json!({"error": "Too many concurrent write requests. Please retry later."}),
        ),
    };
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    response
}

/// Resets the connection this request came on and never returns; without a connection
/// handle (a router called directly) the closest thing is a 502 without a body.
async fn reset(control: Option<ConnectionControl>) -> Response {
    if let Some(control) = control {
        control.reset();
        // The connection task drops this request together with the connection.
        std::future::pending::<()>().await;
    }
    StatusCode::BAD_GATEWAY.into_response()
}

/// What a reverse proxy in front of either server answers when it lost the server's answer:
/// an HTML page (nginx's wording), never the server's own error shape.
fn proxy_error(status: u16) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    let title = format!(
        "{} {}",
        code.as_u16(),
        code.canonical_reason().unwrap_or("Server Error")
    );
    (
        code,
        [(header::CONTENT_TYPE, "text/html")],
        format!(
            "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1>\
             </center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
        ),
    )
        .into_response()
}

/// The reply to an injected error status, shaped like the server's own errors.
fn injected(kind: ServerKind, status: u16, retry_after: Option<u64>) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match (kind, retry_after) {
        (ServerKind::Dropbox, Some(secs)) => json_body(
            code,
            &json!({
                "error_summary": "too_many_requests/..",
                "error": {"reason": {".tag": "too_many_requests"}, "retry_after": secs},
            }),
        ),
        (ServerKind::Dropbox, None) => (
            code,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("sandbox fault: injected status {status}"),
        )
            .into_response(),
        (ServerKind::ContentServer, Some(_)) => json_body(
            code,
            &json!({"error": "Too many requests. Please retry later."}),
        ),
        (ServerKind::ContentServer, None) => json_body(
            code,
            &json!({"error": format!("sandbox fault: injected status {status}")}),
        ),
    };
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

fn json_body(code: StatusCode, value: &serde_json::Value) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

/// Lets the first `limit` bytes of the body through, then fails it: the peer sees a body cut
/// short (the headers, including `Content-Length`, are unchanged).
fn truncate(response: Response, limit: u64) -> Response {
    enum Step {
        Pass(u64),
        Fail,
        Done,
    }
    let (parts, body) = response.into_parts();
    let stream = futures::stream::unfold(
        (body.into_data_stream(), Step::Pass(0)),
        move |(mut inner, step)| async move {
            let sent = match step {
                Step::Done => return None,
                Step::Fail => {
                    // Return Pending once first: hyper flushes what it has buffered (headers
                    // and the bytes let through) whenever the body is pending, so the peer
                    // always receives them before the connection is aborted.
                    tokio::task::yield_now().await;
                    let cut = io::Error::other("sandbox fault: body cut short");
                    return Some((Err(cut), (inner, Step::Done)));
                }
                Step::Pass(sent) => sent,
            };
            match inner.next().await {
                None => None,
                Some(Err(e)) => Some((Err(io::Error::other(e)), (inner, Step::Done))),
                Some(Ok(chunk)) => {
                    let room = limit - sent;
                    if (chunk.len() as u64) <= room {
                        let next = sent + chunk.len() as u64;
                        Some((Ok(chunk), (inner, Step::Pass(next))))
                    } else {
                        let part: Bytes = chunk.slice(..room as usize);
                        Some((Ok(part), (inner, Step::Fail)))
                    }
                }
            }
        },
    );
    Response::from_parts(parts, Body::from_stream(stream))
}
