//! The sandbox-only admin API every emulator serves next to its own routes (never faulted,
//! never counted): faults, stats and the manifest of seeded ids.
//!
//! * `GET /__sandbox/faults` → `{"seed": n, "lost": n, "rules": [{"id", ...rule, "matched", "fired", "lost"?}]}`
//! * `POST /__sandbox/faults` with a JSON rule → `{"id": n}`
//! * `DELETE /__sandbox/faults` removes every rule; `DELETE /__sandbox/faults/{id}` one rule
//! * `GET /__sandbox/stats` → `{"total": n, "routes": {"<key>": n}, "limited": n}` (`limited`:
//!   writes refused by the write limit);
//!   `POST /__sandbox/stats/reset` or `DELETE /__sandbox/stats` resets it
//! * `GET /__sandbox/manifest` → the seeded ids (Dropbox: also `routes`, every path it serves,
//!   from [`RouteTable`])

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::handler::Handler;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, MethodRouter};
use axum::Router;
use bytes::Bytes;
use serde_json::{json, Value};

use crate::faults::{FaultRule, Faults};
use crate::stats::Stats;

/// A router that remembers the path of every route added to it, so that the manifest can list
/// what an emulator serves (axum's `Router` cannot be asked). It is built with the same
/// `.route(path, method_router)` chain as a `Router`, so a route added to an emulator is listed
/// without further work; a conformance test reads the list to find routes it does not cover.
pub(crate) struct RouteTable<S> {
    router: Router<S>,
    paths: Vec<&'static str>,
}

impl<S: Clone + Send + Sync + 'static> RouteTable<S> {
    /// An empty table.
    pub(crate) fn new() -> RouteTable<S> {
        RouteTable {
            router: Router::new(),
            paths: Vec::new(),
        }
    }

    /// Adds a route, as [`Router::route`] does, and records its path.
    pub(crate) fn route(mut self, path: &'static str, method_router: MethodRouter<S>) -> Self {
        self.router = self.router.route(path, method_router);
        self.paths.push(path);
        self
    }

    /// Sets the fallback, as [`Router::fallback`] does (not listed: it is not a route).
    pub(crate) fn fallback<H, T>(mut self, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.router = self.router.fallback(handler);
        self
    }

    /// The paths of the routes, in the order they were added.
    pub(crate) fn paths(&self) -> &[&'static str] {
        &self.paths
    }

    /// The router itself.
    pub(crate) fn into_router(self) -> Router<S> {
        self.router
    }
}

/// Produces the manifest of seeded ids.
pub(crate) type ManifestFn = Arc<dyn Fn() -> Value + Send + Sync>;

#[derive(Clone)]
struct Admin {
    faults: Faults,
    stats: Stats,
    manifest: ManifestFn,
}

/// The admin routes for one server.
pub(crate) fn router(faults: Faults, stats: Stats, manifest: ManifestFn) -> Router {
    Router::new()
        .route(
            "/__sandbox/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/__sandbox/faults/{id}", delete(remove_fault))
        .route("/__sandbox/stats", get(show_stats).delete(reset_stats))
        .route(
            "/__sandbox/stats/reset",
            post(reset_stats).delete(reset_stats),
        )
        .route("/__sandbox/manifest", get(show_manifest))
        .with_state(Admin {
            faults,
            stats,
            manifest,
        })
}

/// A JSON response with `Content-Type: application/json`.
pub(crate) fn json_response(status: StatusCode, value: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

async fn list_faults(State(admin): State<Admin>) -> Response {
    json_response(StatusCode::OK, &admin.faults.list())
}

async fn add_fault(State(admin): State<Admin>, body: Bytes) -> Response {
    let rule: FaultRule = match serde_json::from_slice(&body) {
        Ok(rule) => rule,
        Err(e) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                &json!({"error": format!("invalid fault rule: {e}")}),
            )
        }
    };
    match admin.faults.add(rule) {
        Ok(id) => json_response(StatusCode::OK, &json!({ "id": id })),
        Err(e) => json_response(StatusCode::BAD_REQUEST, &json!({"error": e.to_string()})),
    }
}

async fn clear_faults(State(admin): State<Admin>) -> StatusCode {
    admin.faults.clear();
    StatusCode::NO_CONTENT
}

async fn remove_fault(State(admin): State<Admin>, Path(id): Path<u64>) -> Response {
    if admin.faults.remove(id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        json_response(
            StatusCode::NOT_FOUND,
            &json!({"error": format!("no fault rule {id}")}),
        )
    }
}

async fn show_stats(State(admin): State<Admin>) -> Response {
    json_response(StatusCode::OK, &admin.stats.snapshot())
}

async fn reset_stats(State(admin): State<Admin>) -> StatusCode {
    admin.stats.reset();
    StatusCode::NO_CONTENT
}

async fn show_manifest(State(admin): State<Admin>) -> Response {
    json_response(StatusCode::OK, &(admin.manifest)())
}
