//! The account's own routes beyond sign-in: sign-up, MFA enrolment and
//! recovery codes, step-up and the session list (password change and
//! reset: [`super::password`]).
//!
//! Each state change is audited in the person's (oldest) organisation; a
//! sign-up's `org.create` event is written in the transaction that creates
//! the organisation. Codes, passwords and tokens are never logged or
//! audited: only that something happened and counts.

use crate::auth::{audit_for, check_totp, rotate_verified, user_agent, with_cookie};
use crate::error::ApiJson;
use crate::session::{AnySession, CurrentUser, SessionToken, session_data};
use crate::{AppState, WebError, password, qr, totp};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use sentra_domain::{EmailAddress, UserId};
use sentra_store::repo::account::AccountTx;
use sentra_store::repo::{organisation, session, user};
use sentra_store::{StoreError, crypto, keys};
use serde::Deserialize;

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

/// A new account: the organisation, its owner, and their signed-in
/// session (the owner must enrol an authenticator before anything else).
#[derive(Debug)]
pub struct SignedUp {
    /// The new organisation.
    pub org: sentra_domain::OrgId,
    /// Its owner.
    pub owner: UserId,
    /// The owner's session.
    pub token: SessionToken,
}

/// Creates an organisation and its owner, and signs them in: shared by the
/// JSON route and the `/signup` page. The `org.create` event is written in
/// the transaction that creates the organisation.
pub async fn create_account(
    state: &AppState,
    headers: &HeaderMap,
    organisation_name: &str,
    email: &str,
    raw_password: String,
) -> Result<SignedUp, WebError> {
    let name = organisation_name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(WebError::bad_request(
            "invalid_organisation",
            "the organisation name must be 1 to 200 characters",
        ));
    }
    let email = parse_email(email)?;
    password::check_policy(&raw_password)?;
    let hash = password::hash_blocking(raw_password).await?;
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
        user_agent(headers),
    )
    .await?;
    Ok(SignedUp { org, owner, token })
}

/// `POST /api/v1/auth/signup`: a new organisation and its owner, signed in
/// (201). The owner must enrol an authenticator before anything else.
pub async fn signup(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SignUpBody>,
) -> Result<Response, WebError> {
    let done = create_account(
        &state,
        &headers,
        &body.organisation,
        &body.email,
        body.password,
    )
    .await?;
    let res = (
        StatusCode::CREATED,
        Json(serde_json::json!({
            "org_id": done.org.to_string(),
            "user_id": done.owner.to_string(),
            "mfa_enrolment_required": true,
        })),
    )
        .into_response();
    Ok(with_cookie(
        res,
        done.token.set_cookie(state.secure_cookies),
    ))
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
    let b32 = totp::base32_encode(secret.as_slice());
    let uri = qr::otpauth_uri("Sentra", &account.email, &b32);
    let svg = qr::svg(&uri)?;
    let mut tx = AccountTx::begin(&state.pool, who.user).await?;
    tx.set_totp_pending(&enc).await?;
    tx.audit("auth.mfa.enrol.start", serde_json::json!({}))
        .await?;
    tx.commit().await?;
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
    // The secret, the codes, the session's new id and the event: together.
    let mut tx = AccountTx::begin(&state.pool, who.user).await?;
    if !tx.confirm_totp(&enc, step as i64, &hashes).await? {
        return Err(no_enrolment());
    }
    let token = SessionToken::generate()?;
    let data = crate::session::session_data_mfa(crate::session::unix_now());
    if !tx
        .rotate_session(&session_.token.storage_hash(), &token.storage_hash(), &data)
        .await?
    {
        return Err(WebError::Unauthorized);
    }
    tx.audit(
        "auth.mfa.enrol",
        serde_json::json!({ "recovery_codes": codes.len() }),
    )
    .await?;
    tx.commit().await?;
    Ok((token.set_cookie(state.secure_cookies), codes))
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

/// Re-verifies `who` (the current TOTP code, or the password for an account
/// without an authenticator) for the sensitive actions of the next five
/// minutes: rotates the session id and returns the new cookie. Shared by the
/// JSON route and the `/account/step-up` page. A wrong answer is
/// `Unauthorized` (counted and audited).
pub async fn verify_step_up(
    state: &AppState,
    who: &CurrentUser,
    code: Option<String>,
    password_: Option<String>,
) -> Result<axum::http::HeaderValue, WebError> {
    let session_ = who.session()?.clone();
    let ok = if who.mfa_enrolled {
        let code = code
            .ok_or_else(|| WebError::bad_request("code_required", "send the current TOTP code"))?;
        check_totp(state, who.user, &code, "auth.step_up.failure").await?
    } else {
        let pw = password_
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
                state,
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
    let cookie = rotate_verified(state, &session_.token).await?;
    audit_for(state, who.user, "auth.step_up", serde_json::json!({})).await?;
    Ok(cookie)
}

/// `POST /api/v1/auth/step-up`: re-verifies the person for the sensitive
/// actions of the next five minutes; rotates the session id.
pub async fn step_up(
    State(state): State<AppState>,
    who: CurrentUser,
    ApiJson(body): ApiJson<StepUpBody>,
) -> Result<Response, WebError> {
    let cookie = verify_step_up(&state, &who, body.code, body.password).await?;
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
    revoke_own_session(&state, who.user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends `user`'s session with handle `id` and records it, in one
/// transaction (404 for someone else's or a missing handle, nothing
/// written). Shared by the JSON route and the `/account` page.
pub async fn revoke_own_session(
    state: &AppState,
    user: UserId,
    id: uuid::Uuid,
) -> Result<(), WebError> {
    let mut tx = AccountTx::begin(&state.pool, user).await?;
    tx.revoke_session(id).await?;
    tx.audit(
        "auth.session.revoke",
        serde_json::json!({ "session": id.to_string() }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
