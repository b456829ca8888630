//! The password routes: change it (signed in, with the current one),
//! replace the recovery codes (step-up), and reset it by a mailed link.
//!
//! Each change is written in the same transaction as its one audit event
//! ([`AccountTx`]): the change and its record commit or roll back together.
//! Passwords, codes and tokens are never logged or audited.

use crate::auth::audit_for;
use crate::error::ApiJson;
use crate::session::CurrentUser;
use crate::{AppState, WebError, mail, password, secret};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sentra_domain::UserId;
use sentra_store::repo::account::AccountTx;
use sentra_store::repo::user;
use serde::Deserialize;
use std::time::Duration;

/// How long a password reset link works (ASVS V2.5.6: at most 60 minutes).
pub const RESET_TTL_SECS: i64 = 30 * 60;
/// Reset mails one sign-in address can trigger per [`RESET_MAIL_WINDOW`]:
/// enough for a lost mail or two, not enough to flood someone's inbox.
pub const RESET_MAILS_PER_ADDRESS: u32 = 3;
/// See [`RESET_MAILS_PER_ADDRESS`].
pub const RESET_MAIL_WINDOW: Duration = Duration::from_mins(15);

/// The answer to every reset request, known address or not.
pub const RESET_REQUESTED: &str = "if that address has an account, a reset link is on its way";

/// The change-password body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeBody {
    /// The password now.
    pub current_password: String,
    /// The new one.
    pub new_password: String,
}

/// Changes `who`'s password after checking the current one, and ends every
/// other session of the account (the one making the change stays). A wrong
/// current password is `Unauthorized`, counted towards the lockout and
/// audited as a failure; a new password the policy refuses is a 400 and
/// nothing is written. Returns how many sessions were ended.
pub async fn change(
    state: &AppState,
    who: &CurrentUser,
    current: String,
    new: String,
) -> Result<u64, WebError> {
    let session_ = who.session()?.clone();
    if current.len() > 1024 {
        return Err(WebError::Unauthorized);
    }
    password::check_policy(&new)?;
    let account = user::get(&state.pool, who.user).await?;
    if !password::verify_blocking(current, account.password_hash).await? {
        let count = user::record_failure(
            &state.pool,
            who.user,
            user::Factor::Password,
            crate::auth::LOCK_THRESHOLD,
            crate::auth::LOCK_SECS,
        )
        .await?;
        audit_for(
            state,
            who.user,
            "auth.password.change.failure",
            serde_json::json!({ "consecutive_failures": count }),
        )
        .await?;
        return Err(WebError::Unauthorized);
    }
    let hash = password::hash_blocking(new).await?;
    let mut tx = AccountTx::begin(&state.pool, who.user).await?;
    tx.set_password(&hash).await?;
    let ended = tx
        .revoke_sessions_except(Some(&session_.token.storage_hash()))
        .await?;
    tx.audit(
        "auth.password.change",
        serde_json::json!({ "sessions_ended": ended }),
    )
    .await?;
    tx.commit().await?;
    Ok(ended)
}

/// `POST /api/v1/auth/password`: changes the password (204); other
/// sessions end. A wrong current password is 401.
pub async fn change_password(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiJson(body): ApiJson<ChangeBody>,
) -> Result<StatusCode, WebError> {
    change(&state, &who, body.current_password, body.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ten new recovery codes for `who` (the old ones stop working): a
/// session with an authenticator and a fresh step-up only.
pub async fn regenerate(state: &AppState, who: &CurrentUser) -> Result<Vec<String>, WebError> {
    who.session()?;
    if !who.mfa_enrolled {
        return Err(WebError::Client {
            status: StatusCode::CONFLICT,
            code: "mfa_not_enrolled",
            message: "recovery codes come with an authenticator; set one up first".to_owned(),
        });
    }
    who.require_step_up()?;
    let (codes, hashes) = password::new_recovery_codes().await?;
    let mut tx = AccountTx::begin(&state.pool, who.user).await?;
    if !tx.replace_recovery_codes(&hashes).await? {
        return Err(WebError::internal(
            "authenticator vanished while replacing codes",
        ));
    }
    tx.audit(
        "auth.recovery_codes.regenerate",
        serde_json::json!({ "recovery_codes": codes.len() }),
    )
    .await?;
    tx.commit().await?;
    Ok(codes)
}

/// `POST /api/v1/auth/mfa/recovery-codes`: new recovery codes, shown only
/// in this answer (step-up).
pub async fn regenerate_codes(
    State(state): State<AppState>,
    who: CurrentUser,
) -> Result<Json<serde_json::Value>, WebError> {
    let codes = regenerate(&state, &who).await?;
    Ok(Json(serde_json::json!({ "recovery_codes": codes })))
}

/// The reset request body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetRequestBody {
    /// The account's address.
    pub email: String,
}

/// Mails a reset link to `email` when it has an account, mail is
/// configured and the address has not asked too often
/// ([`RESET_MAILS_PER_ADDRESS`]). Answers nothing either way, so the caller
/// shows the same [`RESET_REQUESTED`] for every address.
pub async fn request(state: &AppState, email: &str) -> Result<(), WebError> {
    let email = email.trim();
    if email.len() > 320 || email.is_empty() {
        return Ok(());
    }
    // Throttled before the lookup: unknown addresses spend the same.
    if !state.reset_throttle.hit(email.to_lowercase()) {
        tracing::info!("password reset throttled for an address");
        return Ok(());
    }
    let Some(found) = user::find_by_email(&state.pool, email).await? else {
        tracing::info!("password reset requested for an unknown address");
        return Ok(());
    };
    if !state.mailer.enabled() {
        tracing::info!("password reset requested but no mail is configured");
        return Ok(());
    }
    let (token_hash, link) = new_reset(state)?;
    let mut tx = AccountTx::begin(&state.pool, found.id).await?;
    tx.create_reset(&token_hash, RESET_TTL_SECS).await?;
    tx.audit("auth.password_reset.request", serde_json::json!({}))
        .await?;
    tx.commit().await?;
    state.mailer.send_in_background(mail::Outgoing {
        to: found.email,
        subject: "Reset your Sentra password".to_owned(),
        body: format!(
            "Someone (hopefully you) asked to reset your Sentra password.\n\n\
             Open this link within 30 minutes to choose a new one:\n{link}\n\n\
             If it was not you, ignore this message: nothing changes."
        ),
    });
    Ok(())
}

/// `POST /api/v1/auth/password-reset/request`: always 202 with the same
/// body, whether or not the address has an account (no enumeration). When
/// it does and mail is configured, a link valid for 30 minutes is mailed.
pub async fn reset_request(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ResetRequestBody>,
) -> Result<Response, WebError> {
    request(&state, &body.email).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "message": RESET_REQUESTED })),
    )
        .into_response())
}

/// A new reset token: its storage hash and the link carrying it.
pub(crate) fn new_reset(state: &AppState) -> Result<(String, String), WebError> {
    let token = secret::reset_token()?;
    let link = state.link(&format!("/password-reset/confirm?token={token}"));
    Ok((secret::storage_hash(&token), link))
}

/// The reset confirmation body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirmBody {
    /// The token from the link.
    pub token: String,
    /// The new password.
    pub password: String,
}

/// The answer for a token that is malformed, unknown, used or expired.
pub fn reset_invalid() -> WebError {
    WebError::Client {
        status: StatusCode::GONE,
        code: "reset_invalid",
        message: "this reset link is invalid, used or expired; ask for a new one".to_owned(),
    }
}

/// Sets a new password with a reset `token`, ends every session of the
/// account, and uses the token up: all in one transaction with its event.
/// MFA is not bypassed: the next sign-in still asks for the TOTP code.
pub async fn confirm(state: &AppState, token: &str, new: String) -> Result<UserId, WebError> {
    if !secret::is_reset_token(token) {
        return Err(reset_invalid());
    }
    password::check_policy(&new)?;
    let hash = password::hash_blocking(new).await?;
    let token_hash = secret::storage_hash(token);
    let mut tx = AccountTx::begin_for_reset(&state.pool, &token_hash)
        .await?
        .ok_or_else(reset_invalid)?;
    if !tx.consume_reset(&token_hash).await? {
        return Err(reset_invalid());
    }
    tx.set_password(&hash).await?;
    let ended = tx.revoke_sessions_except(None).await?;
    tx.audit(
        "auth.password_reset",
        serde_json::json!({ "sessions_ended": ended }),
    )
    .await?;
    let user = tx.user();
    tx.commit().await?;
    Ok(user)
}

/// `POST /api/v1/auth/password-reset/confirm`: sets the new password (204)
/// and ends every session of the account. The token works once.
pub async fn reset_confirm(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ResetConfirmBody>,
) -> Result<StatusCode, WebError> {
    confirm(&state, &body.token, body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}
