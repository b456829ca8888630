//! `/api/v1/auth/{login,mfa,logout}`.
//!
//! Every sign-in failure answers the same 401, whether the address is
//! unknown, the password wrong or the account locked, and an unknown address
//! still costs one argon2 verification (against a dummy hash), so neither the
//! answer nor its timing tells which addresses have accounts. Ten consecutive
//! failures of a factor lock the account for five minutes (security bar G3.5:
//! at most 10 guesses per 5 minutes); 100 consecutive TOTP failures stop MFA
//! until an administrator resets the account.
//!
//! Each outcome is audited in the user's organisation; a failure for an
//! unknown address has no organisation and is only logged.

use crate::error::ApiJson;
use crate::session::{AnySession, SessionToken, clear_cookie, session_data, token_from};
use crate::{AppState, WebError, password, totp};
use axum::Json;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use sentra_domain::UserId;
use sentra_store::audit::{self, NewEvent};
use sentra_store::repo::{session, user};
use sentra_store::{TenantTx, crypto, keys, memberships};
use serde::Deserialize;

/// Consecutive failures that lock an account.
pub const LOCK_THRESHOLD: i32 = 10;
/// How long a lock lasts.
pub const LOCK_SECS: i64 = 5 * 60;
/// Consecutive TOTP failures after which MFA is refused outright.
pub const TOTP_HARD_CAP: i32 = 100;

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

/// Writes one audit event in `user`'s (oldest) organisation, in its own
/// transaction; no organisation, no event.
pub(crate) async fn audit_for(
    state: &AppState,
    user: UserId,
    action: &str,
    details: serde_json::Value,
) -> Result<(), WebError> {
    let Some((org, _)) = memberships(&state.pool, user).await?.into_iter().next() else {
        return Ok(());
    };
    let mut tx = TenantTx::begin(&state.pool, org, Some(user)).await?;
    audit::append(
        &mut tx,
        NewEvent::new("user", action)
            .target("user", user.to_string())
            .details(details),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) fn with_cookie(mut res: Response, cookie: axum::http::HeaderValue) -> Response {
    res.headers_mut().append(SET_COOKIE, cookie);
    res
}

/// `POST /api/v1/auth/login`.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Response, WebError> {
    if body.email.len() > 320 || body.password.len() > 1024 {
        return Err(WebError::Unauthorized);
    }
    let Some(found) = user::find_for_login(&state.pool, &body.email).await? else {
        let _ = password::verify_blocking(body.password, state.dummy_hash.to_string()).await?;
        tracing::info!("login failed: unknown address");
        return Err(WebError::Unauthorized);
    };
    let id = found.user.id;
    if found.locked {
        let _ = password::verify_blocking(body.password, state.dummy_hash.to_string()).await?;
        audit_for(
            &state,
            id,
            "auth.login.failure",
            serde_json::json!({ "reason": "locked" }),
        )
        .await?;
        return Err(WebError::Unauthorized);
    }
    if !password::verify_blocking(body.password, found.user.password_hash).await? {
        let count = user::record_failure(
            &state.pool,
            id,
            user::Factor::Password,
            LOCK_THRESHOLD,
            LOCK_SECS,
        )
        .await?;
        audit_for(
            &state,
            id,
            "auth.login.failure",
            serde_json::json!({ "reason": "password", "consecutive_failures": count }),
        )
        .await?;
        return Err(WebError::Unauthorized);
    }
    user::reset_password_failures(&state.pool, id).await?;
    // A session the client already holds is ended, never upgraded.
    if let Some(old) = token_from(&headers, state.secure_cookies) {
        session::delete(&state.pool, &old.storage_hash()).await?;
    }
    let mfa_required = found.user.mfa_enrolled;
    let enrolment_required = !mfa_required && must_enrol(&state, id).await?;
    let token = SessionToken::generate()?;
    session::create_with_agent(
        &state.pool,
        &token.storage_hash(),
        id,
        &session_data(!mfa_required, None),
        crate::session::IDLE_SECS,
        user_agent(&headers),
    )
    .await?;
    audit_for(
        &state,
        id,
        "auth.login.success",
        serde_json::json!({ "mfa_required": mfa_required }),
    )
    .await?;
    let res = Json(serde_json::json!({
        "mfa_required": mfa_required,
        "mfa_enrolment_required": enrolment_required,
    }))
    .into_response();
    Ok(with_cookie(res, token.set_cookie(state.secure_cookies)))
}

/// The request's `User-Agent`, for the session list.
pub(crate) fn user_agent(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
}

/// Whether `user`, who has no authenticator, must enrol one before using
/// their (oldest) organisation: owners and admins always, everyone when the
/// organisation requires MFA.
pub(crate) async fn must_enrol(state: &AppState, user: UserId) -> Result<bool, WebError> {
    let Some((org, role)) = memberships(&state.pool, user).await?.into_iter().next() else {
        return Ok(false);
    };
    if crate::session::role_requires_mfa(role) {
        return Ok(true);
    }
    let mut tx = TenantTx::begin(&state.pool, org, Some(user)).await?;
    let required = sentra_store::repo::settings::get(&mut tx)
        .await?
        .require_mfa;
    tx.commit().await?;
    Ok(required)
}

/// Checks a TOTP code for `id` with the replay guard and the lockout,
/// auditing a failure as `failure_action`. `Ok(false)` is a refused code
/// (already counted and audited).
pub(crate) async fn check_totp(
    state: &AppState,
    id: UserId,
    code: &str,
    failure_action: &str,
) -> Result<bool, WebError> {
    let (secret_enc, failures, locked) = user::totp_state(&state.pool, id).await?;
    let Some(secret_enc) = secret_enc else {
        return Err(WebError::Client {
            status: StatusCode::CONFLICT,
            code: "mfa_not_enrolled",
            message: "this account has no authenticator enrolled".to_owned(),
        });
    };
    if locked || failures >= TOTP_HARD_CAP {
        audit_for(
            state,
            id,
            failure_action,
            serde_json::json!({ "reason": "locked" }),
        )
        .await?;
        return Ok(false);
    }
    let ctx = keys::USER_TOTP.context(keys::GLOBAL_ORG, id.as_uuid());
    let secret = crypto::decrypt(&state.keys, &ctx, &secret_enc)
        .map_err(|e| WebError::internal(format!("TOTP secret: {e}")))?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp().max(0) as u64;
    let accepted = match totp::matching_step(&secret, code, totp::step_at(now)) {
        Some(step) => user::accept_totp_step(&state.pool, id, step as i64).await?,
        None => false,
    };
    if !accepted {
        let count = user::record_failure(
            &state.pool,
            id,
            user::Factor::Totp,
            LOCK_THRESHOLD,
            LOCK_SECS,
        )
        .await?;
        audit_for(
            state,
            id,
            failure_action,
            serde_json::json!({ "reason": "code", "consecutive_failures": count }),
        )
        .await?;
    }
    Ok(accepted)
}

/// Gives the session a new id with MFA passed and `mfa_at` now; the
/// response carries the new cookie. 401 when the session is gone.
pub(crate) async fn rotate_verified(
    state: &AppState,
    old: &SessionToken,
) -> Result<axum::http::HeaderValue, WebError> {
    let token = SessionToken::generate()?;
    let now = crate::session::unix_now();
    if !session::rotate(
        &state.pool,
        &old.storage_hash(),
        &token.storage_hash(),
        &session_data(true, Some(now)),
    )
    .await?
    {
        return Err(WebError::Unauthorized);
    }
    Ok(token.set_cookie(state.secure_cookies))
}

/// `POST /api/v1/auth/mfa`.
pub async fn mfa(
    State(state): State<AppState>,
    session_: AnySession,
    ApiJson(body): ApiJson<MfaBody>,
) -> Result<Response, WebError> {
    if !check_totp(&state, session_.user, &body.code, "auth.mfa.failure").await? {
        return Err(WebError::Unauthorized);
    }
    let cookie = rotate_verified(&state, &session_.token).await?;
    audit_for(
        &state,
        session_.user,
        "auth.mfa.success",
        serde_json::json!({}),
    )
    .await?;
    let res = Json(serde_json::json!({ "mfa_verified": true })).into_response();
    Ok(with_cookie(res, cookie))
}

/// `POST /api/v1/auth/logout`: ends the session (204), or 401 without one.
pub async fn logout(
    State(state): State<AppState>,
    session_: AnySession,
) -> Result<Response, WebError> {
    session::delete(&state.pool, &session_.token.storage_hash()).await?;
    audit_for(&state, session_.user, "auth.logout", serde_json::json!({})).await?;
    Ok(with_cookie(
        StatusCode::NO_CONTENT.into_response(),
        clear_cookie(state.secure_cookies),
    ))
}
