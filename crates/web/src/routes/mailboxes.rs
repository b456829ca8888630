//! `/api/v1/m365…`: connecting Microsoft 365 (owners and admins only).
//! Thin handlers over [`crate::m365::ops`], which the mailboxes pages use
//! too. The consent redirect itself lands on a page
//! (`/mailboxes/consent-callback`), since it is the admin's browser that
//! Microsoft sends back.

use crate::m365::ops::{self, Overview};
use crate::m365::{Actor, MailboxAddress, powershell, require_admin};
use crate::routes::{parse_uuid, rfc3339};
use crate::session::TenantSession;
use crate::{ApiJson, AppState, WebError};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use sentra_store::ids::MailboxId;
use sentra_store::repo::m365_mailbox::M365Mailbox;
use serde::Deserialize;
use serde_json::{Value, json};

/// The API routes of this area (nested under `/api/v1`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/m365", get(show))
        .route("/m365/consent", post(consent))
        .route("/m365/scope-check", post(scope_check))
        .route("/m365/disconnect", post(disconnect))
        .route("/m365/mailboxes", get(list).post(add))
        .route("/m365/mailboxes/{id}", delete(remove))
}

fn actor(session: &TenantSession) -> Actor {
    Actor {
        user: session.user,
        org: session.org,
        role: session.role,
        mfa_at: session.mfa_at,
    }
}

/// One mailbox as the API shows it.
pub fn mailbox_json(m: &M365Mailbox) -> Value {
    json!({
        "id": m.id.to_string(),
        "address": m.address,
        "health": m.health.as_str(),
        "last_error": m.last_error,
        "last_error_at": m.last_error_at.map(rfc3339),
        "last_sync_at": m.last_sync_at.map(rfc3339),
        "subscribed": m.subscription_id.is_some(),
        "scope_verified_at": m.scope_verified_at.map(rfc3339),
    })
}

fn overview_json(v: &Overview) -> Value {
    json!({
        "configured": v.client_id.is_some(),
        "status": v.status(),
        "tenant_id": v.tenant(),
        "consented_at": v.connection.as_ref().and_then(|c| c.consented_at).map(rfc3339),
        "scope_check": v.scope.as_ref().map(|s| json!({
            "checked_at": rfc3339(s.checked_at),
            "verified": s.verified,
            "report": s.report,
        })),
        "mailboxes": v.mailboxes.iter().map(mailbox_json).collect::<Vec<_>>(),
    })
}

/// `GET /api/v1/m365`: the connection, the last scope check, the mailboxes
/// and the PowerShell for them.
pub async fn show(
    State(state): State<AppState>,
    mut session: TenantSession,
) -> Result<Json<Value>, WebError> {
    require_admin(session.role)?;
    let view = ops::overview(&state, &mut session.tx).await?;
    session.tx.commit().await?;
    let mut body = overview_json(&view);
    if let (Some(client_id), Some(map)) = (&view.client_id, body.as_object_mut()) {
        map.insert(
            "powershell".to_owned(),
            json!(powershell::grant_script(client_id, &view.addresses())),
        );
    }
    Ok(Json(body))
}

/// `POST /api/v1/m365/consent`: 200 with the Microsoft admin-consent URL to
/// send the admin to.
pub async fn consent(
    State(state): State<AppState>,
    mut session: TenantSession,
) -> Result<Json<Value>, WebError> {
    require_admin(session.role)?;
    let url = ops::start_consent(&state, &mut session.tx).await?;
    session.tx.commit().await?;
    Ok(Json(json!({ "consent_url": url })))
}

/// `GET /api/v1/m365/mailboxes`.
pub async fn list(
    State(state): State<AppState>,
    mut session: TenantSession,
) -> Result<Json<Vec<Value>>, WebError> {
    require_admin(session.role)?;
    let view = ops::overview(&state, &mut session.tx).await?;
    session.tx.commit().await?;
    Ok(Json(view.mailboxes.iter().map(mailbox_json).collect()))
}

/// `POST /api/v1/m365/mailboxes`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddBody {
    /// The address to monitor.
    pub address: String,
}

/// `POST /api/v1/m365/mailboxes`: 201 with the mailbox.
pub async fn add(
    mut session: TenantSession,
    ApiJson(body): ApiJson<AddBody>,
) -> Result<(StatusCode, Json<Value>), WebError> {
    require_admin(session.role)?;
    let m = ops::add_mailbox(&mut session.tx, &body.address).await?;
    session.tx.commit().await?;
    Ok((StatusCode::CREATED, Json(mailbox_json(&m))))
}

/// `DELETE /api/v1/m365/mailboxes/{id}`: 204 (step-up).
pub async fn remove(
    State(state): State<AppState>,
    session: TenantSession,
    Path(id): Path<String>,
) -> Result<StatusCode, WebError> {
    require_admin(session.role)?;
    let id = MailboxId::from_uuid(parse_uuid(&id)?);
    let who = actor(&session);
    session.tx.commit().await?;
    ops::remove_mailbox(&state, &who, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/m365/scope-check`'s body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeBody {
    /// An address in the tenant the admin did not select (default: a
    /// generated one in the first mailbox's domain).
    pub probe: Option<String>,
}

/// `POST /api/v1/m365/scope-check`: 200 with the report.
pub async fn scope_check(
    State(state): State<AppState>,
    session: TenantSession,
    body: axum::body::Bytes,
) -> Result<Json<Value>, WebError> {
    require_admin(session.role)?;
    // The body is optional: empty means "generate the probe address".
    let probe = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        serde_json::from_slice::<ScopeBody>(&body)
            .map_err(|_| {
                WebError::bad_request(
                    "invalid_body",
                    "expected {\"probe\": \"address\"} or no body",
                )
            })?
            .probe
    };
    if let Some(p) = &probe {
        MailboxAddress::parse(p).map_err(|why| WebError::bad_request("invalid_probe", why))?;
    }
    let who = actor(&session);
    session.tx.commit().await?;
    let checked = ops::scope_check(&state, &who, probe.as_deref()).await?;
    Ok(Json(checked.report))
}

/// `POST /api/v1/m365/disconnect`: 200 with what was done (step-up).
pub async fn disconnect(
    State(state): State<AppState>,
    session: TenantSession,
) -> Result<Json<Value>, WebError> {
    require_admin(session.role)?;
    let who = actor(&session);
    session.tx.commit().await?;
    let done = ops::disconnect(&state, &who).await?;
    Ok(Json(json!({
        "disconnected": done.disconnected,
        "mailboxes": done.mailboxes,
        "subscriptions_deleted": done.subscriptions_deleted.len(),
        "subscriptions_failed": done.subscriptions_failed.len(),
        "jobs_cancelled": done.jobs_cancelled,
        "revoke_powershell": state.m365.as_ref().map(|m| powershell::revoke_script(m.client_id())),
    })))
}
