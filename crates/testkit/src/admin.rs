//! The test-only admin API under `/_fake` (`graph-contract.md` §12): the
//! same operations as the [`crate::FakeGraph`] handle, over HTTP, so a fake
//! started with `sentra dev fake-graph` can be seeded and steered with curl.

use crate::FakeError;
use crate::config::{Fault, LifecycleEvent, Switches};
use crate::server::{FakeGraph, Inner, NewMessage};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

pub(crate) fn router() -> Router<Arc<Inner>> {
    Router::new()
        .route("/standard", post(standard))
        .route("/apps", post(add_app))
        .route("/tenants", post(add_tenant))
        .route("/tenants/{tenant}/scope", post(set_scope))
        .route("/mailboxes/{upn}/messages", post(add_message))
        .route("/switches", get(get_switches).put(put_switches))
        .route("/faults", post(add_fault))
        .route("/subscriptions/{id}/lifecycle", post(lifecycle))
        .route("/report", get(report))
}

fn fail(e: &FakeError) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": e.to_string()})),
    )
        .into_response()
}

async fn standard(State(inner): State<Arc<Inner>>) -> Response {
    let s = FakeGraph::view(inner).seed_standard();
    Json(json!({
        "tenant_id": s.tenant_id, "client_id": s.client_id, "client_secret": s.client_secret,
        "monitored": s.monitored.upn, "unmonitored": s.unmonitored.upn,
    }))
    .into_response()
}

#[derive(Deserialize)]
struct AppBody {
    client_id: String,
    client_secret: String,
}

async fn add_app(State(inner): State<Arc<Inner>>, Json(b): Json<AppBody>) -> Response {
    FakeGraph::view(inner).add_app(&b.client_id, &b.client_secret);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
struct MailboxBody {
    upn: String,
    #[serde(default)]
    in_scope: bool,
}

#[derive(Deserialize)]
struct TenantBody {
    tenant_id: String,
    #[serde(default)]
    mailboxes: Vec<MailboxBody>,
}

async fn add_tenant(State(inner): State<Arc<Inner>>, Json(b): Json<TenantBody>) -> Response {
    let fake = FakeGraph::view(inner);
    fake.add_tenant(&b.tenant_id);
    let mut out = Vec::new();
    for m in b.mailboxes {
        match fake.add_mailbox(&b.tenant_id, &m.upn, m.in_scope) {
            Ok(info) => out.push(json!({"upn": info.upn, "user_id": info.user_id})),
            Err(e) => return fail(&e),
        }
    }
    Json(json!({"mailboxes": out})).into_response()
}

#[derive(Deserialize)]
struct ScopeBody {
    upns: Vec<String>,
}

async fn set_scope(
    State(inner): State<Arc<Inner>>,
    Path(tenant): Path<String>,
    Json(b): Json<ScopeBody>,
) -> Response {
    let upns: Vec<&str> = b.upns.iter().map(String::as_str).collect();
    match FakeGraph::view(inner).set_scope(&tenant, &upns) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => fail(&e),
    }
}

/// Body: raw RFC 822. Query: `folder` (default inbox), `notify` (default true).
async fn add_message(
    State(inner): State<Arc<Inner>>,
    Path(upn): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    raw: Bytes,
) -> Response {
    let fake = FakeGraph::view(inner);
    let msg = NewMessage::new(raw).in_folder(q.get("folder").map_or("inbox", String::as_str));
    let result = if q.get("notify").is_some_and(|v| v == "false") {
        fake.add_message(&upn, msg)
    } else {
        fake.deliver(&upn, msg)
    };
    match result {
        Ok(id) => (StatusCode::CREATED, Json(json!({"id": id}))).into_response(),
        Err(e) => fail(&e),
    }
}

async fn get_switches(State(inner): State<Arc<Inner>>) -> Response {
    Json(FakeGraph::view(inner).switches()).into_response()
}

/// Replaces all switches; fields left out take their defaults.
async fn put_switches(State(inner): State<Arc<Inner>>, Json(sw): Json<Switches>) -> Response {
    FakeGraph::view(inner).set_switches(|s| *s = sw);
    StatusCode::NO_CONTENT.into_response()
}

async fn add_fault(State(inner): State<Arc<Inner>>, Json(f): Json<Fault>) -> Response {
    FakeGraph::view(inner).inject(f);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
struct LifecycleBody {
    event: LifecycleEvent,
}

async fn lifecycle(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    Json(b): Json<LifecycleBody>,
) -> Response {
    match FakeGraph::view(inner).lifecycle(&id, b.event) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => fail(&e),
    }
}

async fn report(State(inner): State<Arc<Inner>>) -> Response {
    Json(FakeGraph::view(inner).report()).into_response()
}
