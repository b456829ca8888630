//! Server-side sessions and the extractors that authenticate requests.
//!
//! The cookie carries a random 128-bit id; the `session` table holds only its
//! SHA-256, so the table cannot be replayed as cookies. The id is replaced at
//! login and again when MFA succeeds (no fixation). Sessions expire after
//! [`IDLE_SECS`] without use or [`ABSOLUTE_SECS`] after login, whichever is
//! first, enforced in SQL by `sentra_store::repo::session::authenticate`
//! on every request. Using a session pushes its idle deadline forward at
//! most once per [`TOUCH_AFTER_SECS`] (a write per request would cost a WAL
//! flush each), so the idle timeout is at least `IDLE_SECS -
//! TOUCH_AFTER_SECS` and never longer than `IDLE_SECS`.
//!
//! [`TenantSession`] resolves the organisation from the user's memberships,
//! never from anything in the request, and opens the [`TenantTx`] the
//! handler works in. For a cookie session the same statement that checks
//! the session reads the user's authenticator state and oldest membership,
//! so a signed-in request costs one round trip before its transaction.

use crate::{AppState, WebError};
use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, COOKIE, HeaderValue};
use axum::http::request::Parts;
use sentra_domain::{OrgId, Role, UserId};
use sentra_store::repo::session::{Home, Lifetimes};
use sentra_store::repo::{api_token, session, settings, user};
use sentra_store::{TenantTx, memberships};
use sha2::{Digest, Sha256};
use std::time::Instant;

/// Idle timeout (ASVS V3.3.2 L2).
pub const IDLE_SECS: i64 = 30 * 60;
/// Absolute timeout (ASVS V3.3.2 L2).
pub const ABSOLUTE_SECS: i64 = 12 * 60 * 60;
/// A request moves the session's idle deadline (a write) only when it is
/// older than this; see the module docs.
pub const TOUCH_AFTER_SECS: i64 = 60;
/// The three above, as the store takes them.
pub const LIFETIMES: Lifetimes = Lifetimes {
    idle_secs: IDLE_SECS,
    absolute_secs: ABSOLUTE_SECS,
    touch_after_secs: TOUCH_AFTER_SECS,
};
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

/// How long a verification counts for step-up (see [`CurrentUser::require_step_up`]).
pub const STEP_UP_SECS: i64 = 5 * 60;

/// Unix seconds now.
pub(crate) fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// What the session row's `data` holds at sign-in: whether every factor
/// the account has was passed (no `mfa_at` yet).
pub fn session_data(mfa_verified: bool) -> serde_json::Value {
    serde_json::json!({ "mfa_verified": mfa_verified })
}

/// The session data after a successful TOTP, recovery-code or step-up
/// check at unix second `at`: `mfa_at` is what step-up checks read.
pub fn session_data_mfa(at: i64) -> serde_json::Value {
    serde_json::json!({ "mfa_verified": true, "mfa_at": at })
}

/// A request's live session, MFA or not (for the MFA step and logout).
#[derive(Debug, Clone)]
pub struct AnySession {
    /// The token presented.
    pub token: SessionToken,
    /// Whose session.
    pub user: UserId,
    /// Whether MFA has been passed in this session.
    pub mfa_verified: bool,
    /// The last verification time (unix seconds), for step-up.
    pub mfa_at: Option<i64>,
    /// The stable handle of this session (the session list's id).
    pub public_id: uuid::Uuid,
    /// Whether the account has an authenticator enrolled (read with the
    /// session: enrolment can happen after login).
    pub mfa_enrolled: bool,
    /// The user's oldest membership, read with the session.
    pub home: Option<Home>,
    /// When the session ends unless used again (from the database's
    /// answer); the read cache never serves it past this.
    pub expires_at: Instant,
}

impl AnySession {
    /// The session the request's cookie names, if it is live.
    pub async fn from_headers(
        headers: &HeaderMap,
        state: &AppState,
    ) -> Result<Option<Self>, WebError> {
        let Some(token) = token_from(headers, state.secure_cookies) else {
            return Ok(None);
        };
        let Some(found) =
            session::authenticate(&state.pool, &token.storage_hash(), LIFETIMES).await?
        else {
            return Ok(None);
        };
        let session::Authenticated {
            session: found,
            mfa_enrolled,
            home,
            expires_in,
        } = found;
        let mfa_verified = found
            .data
            .get("mfa_verified")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        let mfa_at = found.data.get("mfa_at").and_then(serde_json::Value::as_i64);
        Ok(Some(Self {
            token,
            user: found.user_id,
            mfa_verified,
            mfa_at,
            public_id: found.public_id,
            mfa_enrolled,
            home,
            expires_at: Instant::now() + expires_in,
        }))
    }
}

impl FromRequestParts<AppState> for AnySession {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        // Already read for this request by `read_cache::layer` (only this
        // process's middleware can put it there).
        if let Some(any) = parts.extensions.get::<Self>() {
            return Ok(any.clone());
        }
        Self::from_headers(&parts.headers, state)
            .await?
            .ok_or(WebError::Unauthorized)
    }
}

/// How the request authenticated.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A browser session cookie.
    Session(AnySession),
    /// A personal API token, bound to one organisation.
    Token {
        /// The token's id.
        id: uuid::Uuid,
        /// The organisation the token belongs to.
        org: OrgId,
    },
}

/// A fully authenticated person: a live session that has passed MFA when the
/// user has TOTP enrolled, or a live personal API token
/// (`Authorization: Bearer`).
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// The user.
    pub user: UserId,
    /// Whether the account has an authenticator enrolled.
    pub mfa_enrolled: bool,
    /// The last verification time of the session (unix seconds); never set
    /// for API tokens, so sensitive actions always need a session.
    pub mfa_at: Option<i64>,
    /// How the request authenticated.
    pub credential: Credential,
}

impl CurrentUser {
    /// Refuses (403 `step_up_required`) unless this session verified a
    /// second factor (or, without one enrolled, the password) within the
    /// last [`STEP_UP_SECS`]. Sensitive actions call this first: role
    /// changes, bank-detail approval, exports, mailbox disconnect, the MFA
    /// policy. API tokens never pass: those actions need a person present.
    pub fn require_step_up(&self) -> Result<(), WebError> {
        require_step_up(self.mfa_at)
    }

    /// The session behind the request, or 403 `session_required` for API
    /// tokens (which may not mint tokens or manage sessions).
    pub fn session(&self) -> Result<&AnySession, WebError> {
        match &self.credential {
            Credential::Session(s) => Ok(s),
            Credential::Token { .. } => Err(WebError::Client {
                status: axum::http::StatusCode::FORBIDDEN,
                code: "session_required",
                message: "this needs a signed-in session, not an API token".to_owned(),
            }),
        }
    }

    async fn from_bearer(state: &AppState, value: &str) -> Result<Self, WebError> {
        let parsed = crate::secret::OrgToken::parse(crate::secret::API_TOKEN_PREFIX, value)
            .ok_or(WebError::Unauthorized)?;
        let mut tx = TenantTx::begin(&state.pool, parsed.org, None).await?;
        let found = api_token::authenticate(&mut tx, &parsed.storage_hash()).await?;
        tx.commit().await?;
        let (id, user_id) = found.ok_or(WebError::Unauthorized)?;
        let (secret, _, _) = user::totp_state(&state.pool, user_id).await?;
        Ok(Self {
            user: user_id,
            mfa_enrolled: secret.is_some(),
            mfa_at: None,
            credential: Credential::Token {
                id,
                org: parsed.org,
            },
        })
    }
}

/// [`CurrentUser::require_step_up`] for a bare timestamp.
pub fn require_step_up(mfa_at: Option<i64>) -> Result<(), WebError> {
    match mfa_at {
        Some(at) if unix_now().saturating_sub(at) <= STEP_UP_SECS && at <= unix_now() + 60 => {
            Ok(())
        }
        _ => Err(WebError::Client {
            status: axum::http::StatusCode::FORBIDDEN,
            code: "step_up_required",
            message: "confirm it is you (POST /api/v1/auth/step-up) and try again".to_owned(),
        }),
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        if let Some(auth) = parts.headers.get(AUTHORIZATION) {
            let value = auth.to_str().map_err(|_| WebError::Unauthorized)?;
            let token = value
                .strip_prefix("Bearer ")
                .ok_or(WebError::Unauthorized)?;
            return Self::from_bearer(state, token.trim()).await;
        }
        let any = AnySession::from_request_parts(parts, state).await?;
        // `mfa_enrolled` is the account's state now (read with the session),
        // not the session's: enrolment can happen after login.
        if !any.mfa_verified && any.mfa_enrolled {
            return Err(WebError::Unauthorized);
        }
        Ok(Self {
            user: any.user,
            mfa_enrolled: any.mfa_enrolled,
            mfa_at: any.mfa_at,
            credential: Credential::Session(any),
        })
    }
}

/// An authenticated person acting in their organisation, with the open
/// tenant transaction. The organisation is the API token's, or for a
/// session the user's oldest membership.
///
/// Opening one enforces the MFA policy: owners and admins always, and
/// everyone when the organisation's `require_mfa` is on, must have an
/// authenticator enrolled (403 `mfa_enrolment_required` until they do).
#[derive(Debug)]
pub struct TenantSession {
    /// The user.
    pub user: UserId,
    /// Their organisation.
    pub org: OrgId,
    /// Their role there (read now, so a token follows role changes).
    pub role: Role,
    /// The last verification time, for [`TenantSession::require_step_up`].
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

/// Whether `role` must have an authenticator whatever the organisation says.
pub fn role_requires_mfa(role: Role) -> bool {
    matches!(role, Role::Owner | Role::Admin)
}

impl TenantSession {
    /// Resolves the user's organisation and opens a transaction for it.
    /// Handlers that must not hold a transaction while they do slow work
    /// (reading a large upload, running the engine) extract [`CurrentUser`]
    /// and call this themselves, once per transaction they need.
    pub async fn open(state: &AppState, current: &CurrentUser) -> Result<Self, WebError> {
        let no_org = || WebError::Client {
            status: axum::http::StatusCode::FORBIDDEN,
            code: "no_organisation",
            message: "this account belongs to no organisation".to_owned(),
        };
        let (org, role) = match &current.credential {
            // A token works only while its owner is still a member, with
            // the role they have now.
            Credential::Token { org, .. } => memberships(&state.pool, current.user)
                .await?
                .into_iter()
                .find(|(o, _)| o == org)
                .ok_or(WebError::Unauthorized)?,
            // Read with the session moments ago, in the same statement.
            Credential::Session(s) => s
                .home
                .as_ref()
                .map(|h| (h.org, h.role))
                .ok_or_else(no_org)?,
        };
        let mut tx = TenantTx::begin(&state.pool, org, Some(current.user)).await?;
        if !current.mfa_enrolled
            && (role_requires_mfa(role) || settings::get(&mut tx).await?.require_mfa)
        {
            return Err(WebError::Client {
                status: axum::http::StatusCode::FORBIDDEN,
                code: "mfa_enrolment_required",
                message: "set up an authenticator app first (POST /api/v1/auth/mfa/enrol)"
                    .to_owned(),
            });
        }
        let span = tracing::Span::current();
        span.record("org_id", tracing::field::display(org));
        span.record("user_id", tracing::field::display(current.user));
        Ok(Self {
            user: current.user,
            org,
            role,
            mfa_at: current.mfa_at,
            tx,
        })
    }

    /// See [`CurrentUser::require_step_up`].
    pub fn require_step_up(&self) -> Result<(), WebError> {
        require_step_up(self.mfa_at)
    }

    /// Refuses (403 `forbidden`) unless the role is at least `min`
    /// (owner > admin > approver > clerk > viewer).
    pub fn require_role(&self, min: Role) -> Result<(), WebError> {
        if role_rank(self.role) <= role_rank(min) {
            Ok(())
        } else {
            Err(WebError::forbidden())
        }
    }
}

/// 0 for the most powerful role.
pub fn role_rank(role: Role) -> usize {
    Role::ALL
        .iter()
        .position(|r| *r == role)
        .unwrap_or(usize::MAX)
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
