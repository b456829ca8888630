//! Server-side sessions and the extractors that authenticate requests.
//!
//! The cookie carries a random 128-bit id; the `session` table holds only its
//! SHA-256, so the table cannot be replayed as cookies. The id is replaced at
//! login and again when MFA succeeds (no fixation). Sessions expire after
//! [`IDLE_SECS`] without use or [`ABSOLUTE_SECS`] after login, whichever is
//! first, enforced in SQL by `sentra_store::repo::session::touch`.
//!
//! [`TenantSession`] resolves the organisation from the user's memberships,
//! never from anything in the request, and opens the [`TenantTx`] the
//! handler works in.

use crate::{AppState, WebError};
use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::{COOKIE, HeaderValue};
use axum::http::request::Parts;
use sentra_domain::{OrgId, Role, UserId};
use sentra_store::repo::{session, user};
use sentra_store::{TenantTx, memberships};
use sha2::{Digest, Sha256};

/// Idle timeout (ASVS V3.3.2 L2).
pub const IDLE_SECS: i64 = 30 * 60;
/// Absolute timeout (ASVS V3.3.2 L2).
pub const ABSOLUTE_SECS: i64 = 12 * 60 * 60;
/// The cookie's name over plain http on loopback (development and tests).
pub const COOKIE_PLAIN: &str = "sentra_session";
/// The cookie's name over https: the `__Host-` prefix pins it to this host
/// and path `/` and requires `Secure`.
pub const COOKIE_SECURE: &str = "__Host-sentra_session";

/// A session id as the client holds it (hex of 16 random bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl SessionToken {
    /// A fresh random token.
    pub fn generate() -> Result<Self, WebError> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|_| WebError::internal("no randomness"))?;
        Ok(Self(hex(&bytes)))
    }

    /// What the database stores: the hex SHA-256 of the token.
    pub fn storage_hash(&self) -> String {
        hex(&Sha256::digest(self.0.as_bytes()))
    }

    /// The `Set-Cookie` value carrying this token.
    pub fn set_cookie(&self, secure: bool) -> HeaderValue {
        cookie_header(secure, &self.0, ABSOLUTE_SECS)
    }
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn cookie_header(secure: bool, value: &str, max_age: i64) -> HeaderValue {
    let name = if secure { COOKIE_SECURE } else { COOKIE_PLAIN };
    let secure_attr = if secure { "; Secure" } else { "" };
    let text =
        format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure_attr}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie(secure: bool) -> HeaderValue {
    cookie_header(secure, "", 0)
}

/// The session token the request carries, if any (well-formed only).
pub fn token_from(headers: &HeaderMap, secure: bool) -> Option<SessionToken> {
    let name = if secure { COOKIE_SECURE } else { COOKIE_PLAIN };
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, v)| *k == name && v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(|(_, v)| SessionToken(v.to_owned()))
}

/// What the session row's `data` holds.
pub fn session_data(mfa_verified: bool) -> serde_json::Value {
    serde_json::json!({ "mfa_verified": mfa_verified })
}

/// The session data after a successful TOTP (or recovery-code) check at
/// unix second `at`: `mfa_at` is what step-up checks read.
pub fn session_data_mfa(at: i64) -> serde_json::Value {
    serde_json::json!({ "mfa_verified": true, "mfa_at": at })
}

/// How recent a second-factor check must be for a sensitive action.
pub const STEP_UP_SECS: i64 = 5 * 60;

/// A request's live session, MFA or not (for the MFA step and logout).
#[derive(Debug, Clone)]
pub struct AnySession {
    /// The token presented.
    pub token: SessionToken,
    /// Whose session.
    pub user: UserId,
    /// Whether MFA has been passed in this session.
    pub mfa_verified: bool,
    /// Unix seconds of the last second-factor check in this session.
    pub mfa_at: Option<i64>,
}

impl FromRequestParts<AppState> for AnySession {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let token =
            token_from(&parts.headers, state.secure_cookies).ok_or(WebError::Unauthorized)?;
        let found = session::touch(&state.pool, &token.storage_hash(), IDLE_SECS, ABSOLUTE_SECS)
            .await?
            .ok_or(WebError::Unauthorized)?;
        let mfa_verified = found
            .data
            .get("mfa_verified")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        let mfa_at = found.data.get("mfa_at").and_then(serde_json::Value::as_i64);
        Ok(Self {
            token,
            user: found.user_id,
            mfa_verified,
            mfa_at,
        })
    }
}

/// A fully authenticated person: a live session that has passed MFA when the
/// user has TOTP enrolled.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// The user.
    pub user: UserId,
    /// Unix seconds of the last second-factor check in this session.
    pub mfa_at: Option<i64>,
}

impl CurrentUser {
    /// Refuses with 403 `step_up_required` unless the second factor was
    /// checked within [`STEP_UP_SECS`] (sensitive actions: exports, role
    /// changes, bank-detail approval, mailbox disconnect).
    pub fn require_step_up(&self) -> Result<(), WebError> {
        require_step_up(self.mfa_at)
    }
}

/// The step-up rule on a session's `mfa_at`.
pub fn require_step_up(mfa_at: Option<i64>) -> Result<(), WebError> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    match mfa_at {
        Some(at) if now - at <= STEP_UP_SECS && at <= now + 60 => Ok(()),
        _ => Err(WebError::Client {
            status: axum::http::StatusCode::FORBIDDEN,
            code: "step_up_required",
            message: "confirm your authenticator code again to do this".to_owned(),
        }),
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let any = AnySession::from_request_parts(parts, state).await?;
        if !any.mfa_verified {
            // Enrolment can happen after login; look at the account, not the session.
            let (secret, _, _) = user::totp_state(&state.pool, any.user).await?;
            if secret.is_some() {
                return Err(WebError::Unauthorized);
            }
        }
        Ok(Self {
            user: any.user,
            mfa_at: any.mfa_at,
        })
    }
}

/// An authenticated person acting in their organisation, with the open
/// tenant transaction. The organisation is the user's oldest membership.
#[derive(Debug)]
pub struct TenantSession {
    /// The user.
    pub user: UserId,
    /// Their organisation.
    pub org: OrgId,
    /// Their role there.
    pub role: Role,
    /// Unix seconds of the last second-factor check (for step-up).
    pub mfa_at: Option<i64>,
    /// The transaction bound to `org`; commit it to keep writes.
    pub tx: TenantTx,
}

impl FromRequestParts<AppState> for TenantSession {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let current = CurrentUser::from_request_parts(parts, state).await?;
        Self::open(state, &current).await
    }
}

impl TenantSession {
    /// Resolves the user's organisation and opens a transaction for it.
    /// Handlers that must not hold a transaction while they do slow work
    /// (reading a large upload, running the engine) extract [`CurrentUser`]
    /// and call this themselves, once per transaction they need.
    pub async fn open(state: &AppState, current: &CurrentUser) -> Result<Self, WebError> {
        let (org, role) = memberships(&state.pool, current.user)
            .await?
            .into_iter()
            .next()
            .ok_or(WebError::Client {
                status: axum::http::StatusCode::FORBIDDEN,
                code: "no_organisation",
                message: "this account belongs to no organisation".to_owned(),
            })?;
        let tx = TenantTx::begin(&state.pool, org, Some(current.user)).await?;
        Ok(Self {
            user: current.user,
            org,
            role,
            mfa_at: current.mfa_at,
            tx,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_128_bit_hex_and_stored_only_as_their_hash() {
        let a = SessionToken::generate().unwrap_or(SessionToken(String::new()));
        let b = SessionToken::generate().unwrap_or(SessionToken(String::new()));
        assert_eq!(a.0.len(), 32);
        assert_ne!(a, b);
        assert_eq!(a.storage_hash().len(), 64);
        assert!(!a.storage_hash().contains(&a.0));
    }

    #[test]
    fn cookie_attributes_follow_the_transport() {
        let t = SessionToken("0".repeat(32));
        let plain = t.set_cookie(false);
        let plain = plain.to_str().unwrap_or_default();
        assert!(plain.starts_with("sentra_session="));
        assert!(plain.contains("HttpOnly") && plain.contains("SameSite=Lax"));
        assert!(!plain.contains("Secure"));
        let secure = t.set_cookie(true);
        let secure = secure.to_str().unwrap_or_default();
        assert!(secure.starts_with("__Host-sentra_session=") && secure.contains("; Secure"));
    }
}
