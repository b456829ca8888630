//! `/api/v1/auth/{login,mfa,logout}`: thin JSON wrappers over [`crate::auth`]
//! (which documents the lockout and audit rules).

use crate::auth::{pass_mfa, sign_in, sign_out, with_cookie};
use crate::error::ApiJson;
use crate::session::{AnySession, clear_cookie};
use crate::{AppState, WebError};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

pub use crate::auth::{LOCK_SECS, LOCK_THRESHOLD, TOTP_HARD_CAP};

/// The login body.
#[derive(Deserialize)]
pub struct LoginBody {
    /// Sign-in address.
    pub email: String,
    /// Password.
    pub password: String,
}

/// The MFA body.
#[derive(Deserialize)]
pub struct MfaBody {
    /// The 6-digit TOTP code.
    pub code: String,
}

/// `POST /api/v1/auth/login`.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Response, WebError> {
    let done = sign_in(&state, &headers, &body.email, body.password).await?;
    let res = Json(serde_json::json!({
        "mfa_required": done.mfa_required,
        "mfa_enrolment_required": done.enrolment_required,
    }))
    .into_response();
    Ok(with_cookie(
        res,
        done.token.set_cookie(state.secure_cookies),
    ))
}

/// `POST /api/v1/auth/mfa`.
pub async fn mfa(
    State(state): State<AppState>,
    session_: AnySession,
    ApiJson(body): ApiJson<MfaBody>,
) -> Result<Response, WebError> {
    let token = pass_mfa(&state, &session_, &body.code).await?;
    let res = Json(serde_json::json!({ "mfa_verified": true })).into_response();
    Ok(with_cookie(res, token.set_cookie(state.secure_cookies)))
}

/// `POST /api/v1/auth/logout`: ends the session (204), or 401 without one.
pub async fn logout(
    State(state): State<AppState>,
    session_: AnySession,
) -> Result<Response, WebError> {
    sign_out(&state, &session_).await?;
    Ok(with_cookie(
        StatusCode::NO_CONTENT.into_response(),
        clear_cookie(state.secure_cookies),
    ))
}
