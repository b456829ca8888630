//! Liveness (`/healthz`: the process answers) and readiness (`/readyz`: the
//! database answers too).

use crate::{AppState, WebError};
use axum::Json;
use axum::extract::State;

/// Always 200 while the process serves.
pub async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// 200 when the database answers, else 503.
pub async fn readyz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, WebError> {
    match state.pool.ping().await {
        Ok(()) => Ok(Json(serde_json::json!({ "status": "ready" }))),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            Err(WebError::Unavailable)
        }
    }
}
