//! `/api/v1/auth/profile`: the signed-in person's own profile (address,
//! name, whether an authenticator is on). Changing the name is written in
//! one transaction with its audit event ([`AccountTx`]).

use crate::error::ApiJson;
use crate::session::CurrentUser;
use crate::{AppState, WebError};
use axum::Json;
use axum::extract::State;
use sentra_domain::UserId;
use sentra_store::repo::account::{self, AccountTx};
use sentra_store::repo::user;
use serde::Deserialize;

/// The profile as pages and the API show it.
#[derive(Debug, Clone)]
pub struct Profile {
    /// The sign-in address.
    pub email: String,
    /// The name given, if any.
    pub name: Option<String>,
    /// Whether an authenticator is on.
    pub mfa_enrolled: bool,
    /// How many unused recovery codes are left.
    pub recovery_codes_left: usize,
}

/// Loads `user`'s profile.
pub async fn load(state: &AppState, user: UserId) -> Result<Profile, WebError> {
    let u = user::get(&state.pool, user).await?;
    let name = account::display_name(&state.pool, user).await?;
    let left = user::recovery_hashes(&state.pool, user).await?.len();
    Ok(Profile {
        email: u.email,
        name,
        mfa_enrolled: u.mfa_enrolled,
        recovery_codes_left: left,
    })
}

/// A name as typed: trimmed; empty clears it; at most 200 characters and
/// no control characters (400 `invalid_name` otherwise, nothing written).
pub fn parse_name(raw: &str) -> Result<Option<&str>, WebError> {
    let name = raw.trim();
    if name.is_empty() {
        return Ok(None);
    }
    if name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(WebError::bad_request(
            "invalid_name",
            "the name must be at most 200 characters, on one line",
        ));
    }
    Ok(Some(name))
}

/// Sets `who`'s name (raw input) and records it.
pub async fn set_name(state: &AppState, who: &CurrentUser, raw: &str) -> Result<(), WebError> {
    who.session()?;
    let name = parse_name(raw)?;
    let mut tx = AccountTx::begin(&state.pool, who.user).await?;
    tx.set_display_name(name).await?;
    tx.audit(
        "account.profile",
        serde_json::json!({ "name_set": name.is_some() }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

fn view(p: &Profile) -> serde_json::Value {
    serde_json::json!({
        "email": p.email,
        "name": p.name,
        "mfa_enrolled": p.mfa_enrolled,
        "recovery_codes_left": p.recovery_codes_left,
    })
}

/// `GET /api/v1/auth/profile`.
pub async fn get(
    State(state): State<AppState>,
    who: CurrentUser,
) -> Result<Json<serde_json::Value>, WebError> {
    Ok(Json(view(&load(&state, who.user).await?)))
}

/// The body of `PATCH /auth/profile`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchBody {
    /// The new name (empty clears it).
    pub name: String,
}

/// `PATCH /api/v1/auth/profile` `{name}` (a session only).
pub async fn patch(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiJson(body): ApiJson<PatchBody>,
) -> Result<Json<serde_json::Value>, WebError> {
    set_name(&state, &who, &body.name).await?;
    Ok(Json(view(&load(&state, who.user).await?)))
}
