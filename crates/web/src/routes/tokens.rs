//! `/api/v1/tokens`: personal API tokens. A token is shown once, stored as
//! its SHA-256, bound to its owner and organisation, and carries no role of
//! its own: each use acts with the owner's role at that moment, and stops
//! working when they leave the organisation. Tokens are made and listed
//! from a signed-in session only (a token cannot mint tokens).

use crate::error::ApiJson;
use crate::secret::{API_TOKEN_PREFIX, OrgToken};
use crate::session::{CurrentUser, TenantSession};
use crate::{AppState, WebError};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use sentra_domain::UserId;
use sentra_store::TenantTx;
use sentra_store::audit::{self, NewEvent};
use sentra_store::repo::api_token::{self, ApiToken};
use serde::Deserialize;

fn view(t: &ApiToken) -> serde_json::Value {
    serde_json::json!({
        "id": t.id.to_string(),
        "name": t.name,
        "created_at": crate::routes::rfc3339(t.created_at),
        "expires_at": t.expires_at.map(crate::routes::rfc3339),
        "last_used_at": t.last_used_at.map(crate::routes::rfc3339),
    })
}

/// `GET /api/v1/tokens`: the caller's tokens in this organisation.
pub async fn list(mut s: TenantSession) -> Result<Json<serde_json::Value>, WebError> {
    let rows = api_token::list_for_user(&mut s.tx, s.user).await?;
    s.tx.commit().await?;
    Ok(Json(rows.iter().map(view).collect()))
}

/// The body of `POST /tokens`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// A label (1–100 characters).
    pub name: String,
    /// Days until it expires (1–365); none for no expiry.
    #[serde(default)]
    pub expires_in_days: Option<i32>,
}

/// Makes a token named `name` for `tx`'s user and organisation, expiring
/// after `expires_in_days` (1–365) or never, and records it. Bad input is a
/// 400 and nothing is written. Returns the row and the token's text, which
/// is shown once and never stored. Shared with the `/account` page.
pub async fn create_in(
    tx: &mut TenantTx,
    user: UserId,
    name: &str,
    expires_in_days: Option<i32>,
) -> Result<(ApiToken, String), WebError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(WebError::bad_request(
            "invalid_name",
            "the name must be 1 to 100 characters",
        ));
    }
    if expires_in_days.is_some_and(|d| !(1..=365).contains(&d)) {
        return Err(WebError::bad_request(
            "invalid_expiry",
            "expires_in_days must be between 1 and 365",
        ));
    }
    let token = OrgToken::generate(API_TOKEN_PREFIX, tx.org())?;
    let row = api_token::create(tx, user, name, &token.storage_hash(), expires_in_days).await?;
    audit::append(
        tx,
        NewEvent::new("user", "token.create")
            .target("api_token", row.id.to_string())
            .details(serde_json::json!({ "expires_in_days": expires_in_days })),
    )
    .await?;
    Ok((row, token.reveal().to_owned()))
}

/// `POST /api/v1/tokens`: a new token (201), its text in `token`, shown
/// only in this answer.
pub async fn create(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<(StatusCode, Json<serde_json::Value>), WebError> {
    who.session()?;
    let mut s = TenantSession::open(&state, &who).await?;
    let (row, text) = create_in(&mut s.tx, s.user, &body.name, body.expires_in_days).await?;
    s.tx.commit().await?;
    let mut out = view(&row);
    out["token"] = serde_json::Value::String(text);
    Ok((StatusCode::CREATED, Json(out)))
}

/// Revokes `user`'s token `id` in `tx` and records it (404 for another
/// person's or a missing token, nothing written). The caller commits.
pub async fn revoke_in(tx: &mut TenantTx, user: UserId, id: uuid::Uuid) -> Result<(), WebError> {
    api_token::revoke(tx, user, id).await?;
    audit::append(
        tx,
        NewEvent::new("user", "token.revoke").target("api_token", id.to_string()),
    )
    .await?;
    Ok(())
}

/// `DELETE /api/v1/tokens/{id}`: revokes one of the caller's tokens (204).
pub async fn revoke(mut s: TenantSession, Path(id): Path<String>) -> Result<StatusCode, WebError> {
    let id = crate::routes::parse_uuid(&id)?;
    revoke_in(&mut s.tx, s.user, id).await?;
    s.tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
