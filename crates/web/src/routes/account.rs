//! The account's own routes beyond sign-in: sign-up, MFA enrolment and
//! recovery codes, step-up, the session list, and password reset.
//!
//! Each state change is audited in the person's (oldest) organisation; a
//! sign-up's `org.create` event is written in the transaction that creates
//! the organisation. Codes, passwords and tokens are never logged or
//! audited: only that something happened and counts.

use crate::auth::{audit_for, check_totp, rotate_verified, user_agent, with_cookie};
use crate::error::ApiJson;
use crate::session::{AnySession, CurrentUser, SessionToken, session_data};
use crate::{AppState, WebError, mail, password, qr, secret, totp};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use sentra_domain::{EmailAddress, UserId};
use sentra_store::repo::{organisation, password_reset, session, user};
use sentra_store::{StoreError, crypto, keys};
use serde::Deserialize;

/// How long a password reset link works (ASVS V2.5.6: at most 60 minutes).
pub const RESET_TTL_SECS: i64 = 30 * 60;

/// The sign-up body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignUpBody {
    /// The organisation's name.
    pub organisation: String,
    /// The owner's address.
    pub email: String,
    /// The owner's password.
    pub password: String,
}

fn parse_email(raw: &str) -> Result<EmailAddress, WebError> {
    if raw.len() > 320 {
        return Err(WebError::bad_request(
            "invalid_email",
            "the address is too long",
        ));
    }
    EmailAddress::parse(raw.trim())
        .map_err(|_| WebError::bad_request("invalid_email", "that is not an email address"))
}

/// `POST /api/v1/auth/signup`: a new organisation and its owner, signed in
/// (201). The owner must enrol an authenticator before anything else.
pub async fn signup(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SignUpBody>,
) -> Result<Response, WebError> {
    let name = body.organisation.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(WebError::bad_request(
            "invalid_organisation",
            "the organisation name must be 1 to 200 characters",
        ));
    }
    let email = parse_email(&body.email)?;
    password::check_policy(&body.password)?;
    let hash = password::hash_blocking(body.password).await?;
    let owner = UserId::new();
    let org = organisation::sign_up(
        &state.pool,
        &organisation::SignUp {
            org_name: name,
            owner,
            email: &email,
            password_hash: &hash,
            totp_secret_enc: None,
            actor: "user",
        },
    )
    .await
    .map_err(|e| match e {
        StoreError::Conflict { .. } => WebError::Client {
            status: StatusCode::CONFLICT,
            code: "email_taken",
            message: "that address already has an account; sign in or reset the password"
                .to_owned(),
        },
        other => other.into(),
    })?;
    let token = SessionToken::generate()?;
    session::create_with_agent(
        &state.pool,
        &token.storage_hash(),
        owner,
        &session_data(true),
        crate::session::IDLE_SECS,
        user_agent(&headers),
    )
    .await?;
    let res = (
        StatusCode::CREATED,
        Json(serde_json::json!({
            "org_id": org.to_string(),
            "user_id": owner.to_string(),
            "mfa_enrolment_required": true,
        })),
    )
        .into_response();
    Ok(with_cookie(res, token.set_cookie(state.secure_cookies)))
}

/// A started enrolment: what the person copies into their app.
#[derive(Debug)]
pub struct Enrolment {
    /// The secret, base32.
    pub secret: String,
    /// The `otpauth://` URI.
    pub otpauth_uri: String,
    /// The QR code of the URI, as SVG.
    pub qr_svg: String,
}

/// Starts (or restarts) enrolment for `who`: a fresh pending secret.
/// Replacing an enrolled authenticator needs step-up.
pub async fn start_enrolment(state: &AppState, who: &CurrentUser) -> Result<Enrolment, WebError> {
    who.session()?;
    if who.mfa_enrolled {
        who.require_step_up()?;
    }
    let account = user::get(&state.pool, who.user).await?;
    let secret = zeroize::Zeroizing::new(
        totp::generate_secret().map_err(|_| WebError::internal("no randomness"))?,
    );
    let ctx = keys::USER_TOTP_PENDING.context(keys::GLOBAL_ORG, who.user.as_uuid());
    let enc = crypto::encrypt(&state.keys, &ctx, secret.as_slice())
        .map_err(|e| WebError::internal(format!("TOTP secret: {e}")))?;
    user::set_totp_pending(&state.pool, who.user, &enc).await?;
    let b32 = totp::base32_encode(secret.as_slice());
    let uri = qr::otpauth_uri("Sentra", &account.email, &b32);
    let svg = qr::svg(&uri)?;
    audit_for(
        state,
        who.user,
        "auth.mfa.enrol.start",
        serde_json::json!({}),
    )
    .await?;
    Ok(Enrolment {
        secret: b32,
        otpauth_uri: uri,
        qr_svg: svg,
    })
}

/// The enrolment already started for `who`, shown again (after a wrong
/// code, or a reload), or `None` when none is pending.
pub async fn pending_enrolment(
    state: &AppState,
    who: &CurrentUser,
) -> Result<Option<Enrolment>, WebError> {
    let Some(pending) = user::totp_pending(&state.pool, who.user).await? else {
        return Ok(None);
    };
    let account = user::get(&state.pool, who.user).await?;
    let ctx = keys::USER_TOTP_PENDING.context(keys::GLOBAL_ORG, who.user.as_uuid());
    let secret = zeroize::Zeroizing::new(
        crypto::decrypt(&state.keys, &ctx, &pending)
            .map_err(|e| WebError::internal(format!("TOTP secret: {e}")))?,
    );
    let b32 = totp::base32_encode(&secret);
    let uri = qr::otpauth_uri("Sentra", &account.email, &b32);
    let svg = qr::svg(&uri)?;
    Ok(Some(Enrolment {
        secret: b32,
        otpauth_uri: uri,
        qr_svg: svg,
    }))
}

/// `POST /api/v1/auth/mfa/enrol`: starts (or restarts) enrolment and shows
/// the secret: the `otpauth://` URI, the QR code as SVG and the base32
/// text. Replacing an enrolled authenticator needs step-up.
pub async fn enrol(State(state): State<AppState>, who: CurrentUser) -> Result<Response, WebError> {
    let e = start_enrolment(&state, &who).await?;
    Ok(Json(serde_json::json!({
        "secret": e.secret,
        "otpauth_uri": e.otpauth_uri,
        "qr_svg": e.qr_svg,
    }))
    .into_response())
}

/// A body with one code.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeBody {
    /// A TOTP code or a recovery code.
    pub code: String,
}

/// Confirms the pending secret with the first code from the app; returns
/// the rotated session cookie and the ten recovery codes (shown once).
pub async fn confirm_enrolment(
    state: &AppState,
    who: &CurrentUser,
    code: &str,
) -> Result<(axum::http::HeaderValue, Vec<String>), WebError> {
    let session_ = who.session()?.clone();
    let no_enrolment = || WebError::Client {
        status: StatusCode::CONFLICT,
        code: "no_enrolment",
        message: "start enrolment first (POST /api/v1/auth/mfa/enrol)".to_owned(),
    };
    let pending = user::totp_pending(&state.pool, who.user)
        .await?
        .ok_or_else(no_enrolment)?;
    let ctx = keys::USER_TOTP_PENDING.context(keys::GLOBAL_ORG, who.user.as_uuid());
    let secret = zeroize::Zeroizing::new(
        crypto::decrypt(&state.keys, &ctx, &pending)
            .map_err(|e| WebError::internal(format!("TOTP secret: {e}")))?,
    );
    let now = crate::session::unix_now().max(0) as u64;
    let Some(step) = totp::matching_step(&secret, code, totp::step_at(now)) else {
        user::record_failure(
            &state.pool,
            who.user,
            user::Factor::Totp,
            crate::auth::LOCK_THRESHOLD,
            crate::auth::LOCK_SECS,
        )
        .await?;
        return Err(WebError::bad_request(
            "wrong_code",
            "that code is not right; try the next one",
        ));
    };
    let ctx = keys::USER_TOTP.context(keys::GLOBAL_ORG, who.user.as_uuid());
    let enc = crypto::encrypt(&state.keys, &ctx, &secret)
        .map_err(|e| WebError::internal(format!("TOTP secret: {e}")))?;
    let (codes, hashes) = password::new_recovery_codes().await?;
    if !user::confirm_totp(&state.pool, who.user, &enc, step as i64, &hashes).await? {
        return Err(no_enrolment());
    }
    let cookie = rotate_verified(state, &session_.token).await?;
    audit_for(
        state,
        who.user,
        "auth.mfa.enrol",
        serde_json::json!({ "recovery_codes": codes.len() }),
    )
    .await?;
    Ok((cookie, codes))
}

/// `POST /api/v1/auth/mfa/confirm`: the first code from the app confirms
/// the pending secret. Answers the ten recovery codes, shown only now.
pub async fn confirm(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiJson(body): ApiJson<CodeBody>,
) -> Result<Response, WebError> {
    let (cookie, codes) = confirm_enrolment(&state, &who, &body.code).await?;
    let res = Json(serde_json::json!({ "recovery_codes": codes })).into_response();
    Ok(with_cookie(res, cookie))
}

/// `POST /api/v1/auth/recovery`: a recovery code instead of the TOTP code
/// at sign-in. Each code works once; a wrong one counts like a wrong TOTP.
pub async fn recovery(
    State(state): State<AppState>,
    session_: AnySession,
    ApiJson(body): ApiJson<CodeBody>,
) -> Result<Response, WebError> {
    let id = session_.user;
    let (secret, failures, locked) = user::totp_state(&state.pool, id).await?;
    if secret.is_none() {
        return Err(WebError::Client {
            status: StatusCode::CONFLICT,
            code: "mfa_not_enrolled",
            message: "this account has no authenticator enrolled".to_owned(),
        });
    }
    if locked || failures >= crate::auth::TOTP_HARD_CAP {
        audit_for(
            &state,
            id,
            "auth.recovery.failure",
            serde_json::json!({ "reason": "locked" }),
        )
        .await?;
        return Err(WebError::Unauthorized);
    }
    let hashes = user::recovery_hashes(&state.pool, id).await?;
    let matched = password::match_recovery_code(body.code, hashes).await?;
    let left = match matched {
        Some(hash) => user::consume_recovery_code(&state.pool, id, &hash).await?,
        None => None,
    };
    let Some(left) = left else {
        let count = user::record_failure(
            &state.pool,
            id,
            user::Factor::Totp,
            crate::auth::LOCK_THRESHOLD,
            crate::auth::LOCK_SECS,
        )
        .await?;
        audit_for(
            &state,
            id,
            "auth.recovery.failure",
            serde_json::json!({ "reason": "code", "consecutive_failures": count }),
        )
        .await?;
        return Err(WebError::Unauthorized);
    };
    let cookie = rotate_verified(&state, &session_.token).await?;
    audit_for(
        &state,
        id,
        "auth.recovery.success",
        serde_json::json!({ "codes_left": left }),
    )
    .await?;
    let res = Json(serde_json::json!({ "mfa_verified": true, "recovery_codes_left": left }))
        .into_response();
    Ok(with_cookie(res, cookie))
}

/// The step-up body: a TOTP code, or the password for accounts without an
/// authenticator.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepUpBody {
    /// The current TOTP code.
    #[serde(default)]
    pub code: Option<String>,
    /// The password (accounts without an authenticator only).
    #[serde(default)]
    pub password: Option<String>,
}

/// `POST /api/v1/auth/step-up`: re-verifies the person for the sensitive
/// actions of the next five minutes; rotates the session id.
pub async fn step_up(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiJson(body): ApiJson<StepUpBody>,
) -> Result<Response, WebError> {
    let session_ = who.session()?.clone();
    let ok = if who.mfa_enrolled {
        let code = body
            .code
            .ok_or_else(|| WebError::bad_request("code_required", "send the current TOTP code"))?;
        check_totp(&state, who.user, &code, "auth.step_up.failure").await?
    } else {
        let pw = body
            .password
            .ok_or_else(|| WebError::bad_request("password_required", "send your password"))?;
        if pw.len() > 1024 {
            return Err(WebError::Unauthorized);
        }
        let account = user::get(&state.pool, who.user).await?;
        let ok = password::verify_blocking(pw, account.password_hash).await?;
        if !ok {
            let count = user::record_failure(
                &state.pool,
                who.user,
                user::Factor::Password,
                crate::auth::LOCK_THRESHOLD,
                crate::auth::LOCK_SECS,
            )
            .await?;
            audit_for(
                &state,
                who.user,
                "auth.step_up.failure",
                serde_json::json!({ "reason": "password", "consecutive_failures": count }),
            )
            .await?;
        }
        ok
    };
    if !ok {
        return Err(WebError::Unauthorized);
    }
    let cookie = rotate_verified(&state, &session_.token).await?;
    audit_for(&state, who.user, "auth.step_up", serde_json::json!({})).await?;
    let res = Json(serde_json::json!({
        "step_up_until": crate::session::unix_now() + crate::session::STEP_UP_SECS,
    }))
    .into_response();
    Ok(with_cookie(res, cookie))
}

/// `GET /api/v1/auth/sessions`: the person's live sessions.
pub async fn sessions(
    State(state): State<AppState>,
    who: CurrentUser,
) -> Result<Json<serde_json::Value>, WebError> {
    let current = who.session()?.public_id;
    let rows = session::list_for_user(&state.pool, who.user).await?;
    Ok(Json(serde_json::Value::Array(
        rows.into_iter()
            .map(|s| {
                serde_json::json!({
                    "id": s.public_id.to_string(),
                    "created_at": crate::routes::rfc3339(s.created_at),
                    "last_seen_at": crate::routes::rfc3339(s.last_seen_at),
                    "user_agent": s.user_agent,
                    "current": s.public_id == current,
                })
            })
            .collect(),
    )))
}

/// `DELETE /api/v1/auth/sessions/{id}`: ends one of the person's sessions
/// (204); someone else's id is a 404.
pub async fn revoke_session(
    State(state): State<AppState>,
    who: CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode, WebError> {
    who.session()?;
    let id = crate::routes::parse_uuid(&id)?;
    session::revoke(&state.pool, who.user, id).await?;
    audit_for(
        &state,
        who.user,
        "auth.session.revoke",
        serde_json::json!({ "session": id.to_string() }),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The reset request body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetRequestBody {
    /// The account's address.
    pub email: String,
}

/// `POST /api/v1/auth/password-reset/request`: always 202 with the same
/// body, whether or not the address has an account (no enumeration). When
/// it does and mail is configured, a link valid for 30 minutes is mailed.
pub async fn reset_request(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ResetRequestBody>,
) -> Result<Response, WebError> {
    let accepted = (
        StatusCode::ACCEPTED,
        Json(serde_json::json!({
            "message": "if that address has an account, a reset link is on its way",
        })),
    )
        .into_response();
    if body.email.len() > 320 {
        return Ok(accepted);
    }
    let Some(found) = user::find_by_email(&state.pool, body.email.trim()).await? else {
        tracing::info!("password reset requested for an unknown address");
        return Ok(accepted);
    };
    if !state.mailer.enabled() {
        tracing::info!("password reset requested but no mail is configured");
        return Ok(accepted);
    }
    let link = issue_reset(&state, found.id).await?;
    state.mailer.send_in_background(mail::Outgoing {
        to: found.email,
        subject: "Reset your Sentra password".to_owned(),
        body: format!(
            "Someone (hopefully you) asked to reset your Sentra password.\n\n\
             Open this link within 30 minutes to choose a new one:\n{link}\n\n\
             If it was not you, ignore this message: nothing changes."
        ),
    });
    audit_for(
        &state,
        found.id,
        "auth.password_reset.request",
        serde_json::json!({}),
    )
    .await?;
    Ok(accepted)
}

/// Makes a reset token for `user` and returns the link carrying it.
pub(crate) async fn issue_reset(state: &AppState, user_id: UserId) -> Result<String, WebError> {
    let token = secret::reset_token()?;
    password_reset::create(
        &state.pool,
        user_id,
        &secret::storage_hash(&token),
        RESET_TTL_SECS,
    )
    .await?;
    Ok(state.link(&format!("/password-reset/confirm?token={token}")))
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

/// `POST /api/v1/auth/password-reset/confirm`: sets the new password (204)
/// and ends every session of the account. The token works once. MFA is not
/// bypassed: the next sign-in still asks for the TOTP code.
pub async fn reset_confirm(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ResetConfirmBody>,
) -> Result<StatusCode, WebError> {
    let invalid = || WebError::Client {
        status: StatusCode::GONE,
        code: "reset_invalid",
        message: "this reset link is invalid, used or expired; ask for a new one".to_owned(),
    };
    if !secret::is_reset_token(&body.token) {
        return Err(invalid());
    }
    password::check_policy(&body.password)?;
    let hash = password::hash_blocking(body.password).await?;
    let user_id = password_reset::consume(&state.pool, &secret::storage_hash(&body.token))
        .await?
        .ok_or_else(invalid)?;
    user::set_password(&state.pool, user_id, &hash).await?;
    let ended = session::revoke_all(&state.pool, user_id).await?;
    audit_for(
        &state,
        user_id,
        "auth.password_reset",
        serde_json::json!({ "sessions_ended": ended }),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
