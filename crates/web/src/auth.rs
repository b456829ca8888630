//! Sign-in, MFA and sign-out as plain functions, shared by the JSON API
//! (`routes::auth`) and the HTML pages (`pages::auth`), so both paths run
//! the very same checks, lockouts and audit events.
//!
//! Every sign-in failure answers the same [`WebError::Unauthorized`],
//! whether the address is unknown, the password wrong or the account locked,
//! and an unknown address still costs one argon2 verification (against a
//! dummy hash), so neither the answer nor its timing tells which addresses
//! have accounts. Ten consecutive failures of a factor lock the account for
//! five minutes (security bar G3.5: at most 10 guesses per 5 minutes); 100
//! consecutive TOTP failures stop MFA until an administrator resets the
//! account.
//!
//! Each outcome is audited in the user's organisation; a failure for an
//! unknown address has no organisation and is only logged.

use crate::session::{AnySession, SessionToken, session_data, session_data_mfa, token_from};
use crate::{AppState, WebError, password, totp};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use sentra_domain::UserId;
use sentra_store::audit::{self, NewEvent};
use sentra_store::repo::{session, user};
use sentra_store::{TenantTx, crypto, keys, memberships};

/// Consecutive failures that lock an account.
pub const LOCK_THRESHOLD: i32 = 10;
/// How long a lock lasts.
pub const LOCK_SECS: i64 = 5 * 60;
/// Consecutive TOTP failures after which MFA is refused outright.
pub const TOTP_HARD_CAP: i32 = 100;

/// A successful password check: the new session and whether it still needs
/// the second factor.
#[derive(Debug)]
pub struct SignedIn {
    /// The new session's token (set it as the cookie).
    pub token: SessionToken,
    /// Whether MFA must be passed before the session is fully signed in.
    pub mfa_required: bool,
    /// Whether the person has no authenticator but must enrol one before
    /// working (owners, admins, or everyone when the organisation says so).
    pub enrolment_required: bool,
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

/// Appends `cookie` as a `Set-Cookie` header.
pub fn with_cookie(mut res: Response, cookie: HeaderValue) -> Response {
    res.headers_mut()
        .append(axum::http::header::SET_COOKIE, cookie);
    res
}

/// Checks `email` and `password`; on success ends any session the client
/// already holds and creates a new one. `headers` are the request's (for
/// the old session cookie).
pub async fn sign_in(
    state: &AppState,
    headers: &HeaderMap,
    email: &str,
    password: String,
) -> Result<SignedIn, WebError> {
    if email.len() > 320 || password.len() > 1024 {
        return Err(WebError::Unauthorized);
    }
    let Some(found) = user::find_for_login(&state.pool, email).await? else {
        let _ = password::verify_blocking(password, state.dummy_hash.to_string()).await?;
        tracing::info!("login failed: unknown address");
        return Err(WebError::Unauthorized);
    };
    let id = found.user.id;
    if found.locked {
        let _ = password::verify_blocking(password, state.dummy_hash.to_string()).await?;
        audit_for(
            state,
            id,
            "auth.login.failure",
            serde_json::json!({ "reason": "locked" }),
        )
        .await?;
        return Err(WebError::Unauthorized);
    }
    if !password::verify_blocking(password, found.user.password_hash).await? {
        let count = user::record_failure(
            &state.pool,
            id,
            user::Factor::Password,
            LOCK_THRESHOLD,
            LOCK_SECS,
        )
        .await?;
        audit_for(
            state,
            id,
            "auth.login.failure",
            serde_json::json!({ "reason": "password", "consecutive_failures": count }),
        )
        .await?;
        return Err(WebError::Unauthorized);
    }
    user::reset_password_failures(&state.pool, id).await?;
    // A session the client already holds is ended, never upgraded.
    if let Some(old) = token_from(headers, state.secure_cookies) {
        session::delete(&state.pool, &old.storage_hash()).await?;
    }
    let mfa_required = found.user.mfa_enrolled;
    let enrolment_required = !mfa_required && must_enrol(state, id).await?;
    let token = SessionToken::generate()?;
    session::create_with_agent(
        &state.pool,
        &token.storage_hash(),
        id,
        &session_data(!mfa_required),
        crate::session::IDLE_SECS,
        user_agent(headers),
    )
    .await?;
    audit_for(
        state,
        id,
        "auth.login.success",
        serde_json::json!({ "mfa_required": mfa_required }),
    )
    .await?;
    Ok(SignedIn {
        token,
        mfa_required,
        enrolment_required,
    })
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

/// Gives the session a new id with MFA passed and `mfa_at` now, and
/// returns the new cookie. 401 when the session is gone.
pub(crate) async fn rotate_verified(
    state: &AppState,
    old: &SessionToken,
) -> Result<HeaderValue, WebError> {
    let token = SessionToken::generate()?;
    if !session::rotate(
        &state.pool,
        &old.storage_hash(),
        &token.storage_hash(),
        &session_data_mfa(crate::session::unix_now()),
    )
    .await?
    {
        return Err(WebError::Unauthorized);
    }
    Ok(token.set_cookie(state.secure_cookies))
}

/// Checks a TOTP `code` for the session's user; on success rotates the
/// session id, marks it MFA-verified with `mfa_at` = now, and returns the
/// new token.
pub async fn pass_mfa(
    state: &AppState,
    current: &AnySession,
    code: &str,
) -> Result<SessionToken, WebError> {
    let id = current.user;
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
            "auth.mfa.failure",
            serde_json::json!({ "reason": "locked" }),
        )
        .await?;
        return Err(WebError::Unauthorized);
    }
    let ctx = keys::USER_TOTP.context(keys::GLOBAL_ORG, id.as_uuid());
    let secret = crypto::decrypt(&state.keys, &ctx, &secret_enc)
        .map_err(|e| WebError::internal(format!("TOTP secret: {e}")))?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp().max(0);
    let accepted = match totp::matching_step(&secret, code, totp::step_at(now as u64)) {
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
            "auth.mfa.failure",
            serde_json::json!({ "reason": "code", "consecutive_failures": count }),
        )
        .await?;
        return Err(WebError::Unauthorized);
    }
    let token = SessionToken::generate()?;
    if !session::rotate(
        &state.pool,
        &current.token.storage_hash(),
        &token.storage_hash(),
        &session_data_mfa(now),
    )
    .await?
    {
        return Err(WebError::Unauthorized);
    }
    audit_for(state, id, "auth.mfa.success", serde_json::json!({})).await?;
    Ok(token)
}

/// Ends the session and audits it.
pub async fn sign_out(state: &AppState, current: &AnySession) -> Result<(), WebError> {
    session::delete(&state.pool, &current.token.storage_hash()).await?;
    audit_for(state, current.user, "auth.logout", serde_json::json!({})).await
}
