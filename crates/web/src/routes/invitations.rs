//! `/api/v1/invitations`: invitations by link. An admin (or owner, for the
//! owner role) invites an address with a role; the link is mailed when SMTP
//! is configured, otherwise answered for the admin to pass on. The link
//! works once and for [`INVITATION_TTL_SECS`].
//!
//! Accepting (`POST /invitations/accept`) either creates the account (new
//! address: the body sets the password) or, for an address that already
//! has an account, needs that person signed in; it then adds the
//! membership. One transaction, one audit event either way.

use crate::auth::user_agent;
use crate::error::ApiJson;
use crate::routes::users::parse_role;
use crate::secret::{INVITATION_PREFIX, OrgToken};
use crate::session::{AnySession, SessionToken, TenantSession, role_rank, session_data};
use crate::{AppState, WebError, mail, password};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use sentra_domain::{EmailAddress, Role, UserId};
use sentra_store::audit::{self, NewEvent};
use sentra_store::repo::invitation::{self, Invitation};
use sentra_store::repo::{member, organisation, session, user};
use sentra_store::{StoreError, TenantTx};
use serde::Deserialize;

/// How long an invitation link works: seven days.
pub const INVITATION_TTL_SECS: i64 = 7 * 24 * 60 * 60;

fn view(i: &Invitation) -> serde_json::Value {
    let status = if i.accepted_at.is_some() {
        "accepted"
    } else if i.expires_at <= time::OffsetDateTime::now_utc() {
        "expired"
    } else {
        "pending"
    };
    serde_json::json!({
        "id": i.id.to_string(),
        "email": i.email,
        "role": i.role.as_str(),
        "status": status,
        "expires_at": crate::routes::rfc3339(i.expires_at),
        "created_at": crate::routes::rfc3339(i.created_at),
    })
}

/// `GET /api/v1/invitations` (admin and above).
pub async fn list(mut s: TenantSession) -> Result<Json<serde_json::Value>, WebError> {
    s.require_role(Role::Admin)?;
    let rows = invitation::list(&mut s.tx).await?;
    s.tx.commit().await?;
    Ok(Json(rows.iter().map(view).collect()))
}

/// The body of `POST /invitations`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// Who to invite.
    pub email: String,
    /// The role they will get.
    pub role: String,
}

/// An invitation just made; its link is shown once (when not mailed).
#[derive(Debug)]
pub struct Invited {
    /// The stored invitation.
    pub row: Invitation,
    /// The link carrying the token.
    pub link: String,
    /// Whether mail is configured (the link goes by mail, not on screen).
    pub emailed: bool,
    org_name: String,
}

impl Invited {
    /// Mails the link when mail is configured: call after the commit, so
    /// nobody receives a link to an invitation that was rolled back.
    pub fn deliver(&self, state: &AppState) {
        if !self.emailed {
            return;
        }
        let (org_name, role, link) = (&self.org_name, self.row.role, &self.link);
        state.mailer.send_in_background(mail::Outgoing {
            to: self.row.email.clone(),
            subject: format!("You are invited to {org_name} on Sentra"),
            body: format!(
                "You have been invited to join {org_name} on Sentra as {role}.\n\n\
                 Open this link within 7 days to accept:\n{link}\n"
            ),
        });
    }
}

/// Invites `email` (raw input) with `role` (raw input) to `tx`'s
/// organisation, as `actor` (admin and above; only an owner invites an
/// owner), and records it. Bad input is a 400 and nothing is written.
/// Shared by the JSON route and the `/users` page; the caller commits and
/// then calls [`Invited::deliver`].
pub async fn invite(
    state: &AppState,
    tx: &mut TenantTx,
    actor: (UserId, Role),
    email: &str,
    role: &str,
) -> Result<Invited, WebError> {
    if role_rank(actor.1) > role_rank(Role::Admin) {
        return Err(WebError::forbidden());
    }
    if email.len() > 320 {
        return Err(WebError::bad_request(
            "invalid_email",
            "the address is too long",
        ));
    }
    let email = EmailAddress::parse(email.trim())
        .map_err(|_| WebError::bad_request("invalid_email", "that is not an email address"))?;
    let role = parse_role(role)?;
    if role == Role::Owner && actor.1 != Role::Owner {
        return Err(WebError::forbidden());
    }
    if member::has_email(tx, email.as_str()).await? {
        return Err(WebError::Client {
            status: StatusCode::CONFLICT,
            code: "already_member",
            message: "that address is already a member".to_owned(),
        });
    }
    let token = OrgToken::generate(INVITATION_PREFIX, tx.org())?;
    let row = invitation::create(
        tx,
        email.as_str(),
        role,
        &token.storage_hash(),
        Some(actor.0),
        INVITATION_TTL_SECS,
    )
    .await?;
    let emailed = state.mailer.enabled();
    audit::append(
        tx,
        NewEvent::new("user", "invitation.create")
            .target("invitation", row.id.to_string())
            .details(serde_json::json!({ "role": role.as_str(), "emailed": emailed })),
    )
    .await?;
    let org_name = organisation::get(tx).await?.name;
    let link = state.link(&format!("/invitations/accept?token={}", token.reveal()));
    Ok(Invited {
        row,
        link,
        emailed,
        org_name,
    })
}

/// `POST /api/v1/invitations` (201).
pub async fn create(
    State(state): State<AppState>,
    mut s: TenantSession,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<(StatusCode, Json<serde_json::Value>), WebError> {
    s.require_role(Role::Admin)?;
    let invited = invite(&state, &mut s.tx, (s.user, s.role), &body.email, &body.role).await?;
    s.tx.commit().await?;
    invited.deliver(&state);
    let mut out = view(&invited.row);
    if !invited.emailed {
        out["link"] = serde_json::Value::String(invited.link);
    }
    out["emailed"] = serde_json::Value::Bool(invited.emailed);
    Ok((StatusCode::CREATED, Json(out)))
}

/// Withdraws invitation `id` of `tx`'s organisation and records it (only
/// an owner withdraws an owner invitation). The caller commits.
pub async fn withdraw(tx: &mut TenantTx, actor: Role, id: uuid::Uuid) -> Result<(), WebError> {
    if role_rank(actor) > role_rank(Role::Admin) {
        return Err(WebError::forbidden());
    }
    let row = invitation::delete(tx, id).await?;
    if row.role == Role::Owner && actor != Role::Owner {
        // The delete above is rolled back with the transaction.
        return Err(WebError::forbidden());
    }
    audit::append(
        tx,
        NewEvent::new("user", "invitation.delete").target("invitation", id.to_string()),
    )
    .await?;
    Ok(())
}

/// `DELETE /api/v1/invitations/{id}`: withdraws an invitation (204).
pub async fn delete(mut s: TenantSession, Path(id): Path<String>) -> Result<StatusCode, WebError> {
    s.require_role(Role::Admin)?;
    let id = crate::routes::parse_uuid(&id)?;
    withdraw(&mut s.tx, s.role, id).await?;
    s.tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The body of `POST /invitations/accept`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptBody {
    /// The token from the link.
    pub token: String,
    /// The new account's password (new addresses only).
    #[serde(default)]
    pub password: Option<String>,
    /// The new account's name (optional; new addresses only).
    #[serde(default)]
    pub name: Option<String>,
}

fn invalid() -> WebError {
    WebError::Client {
        status: StatusCode::GONE,
        code: "invitation_invalid",
        message: "this invitation is invalid, used or expired; ask for a new one".to_owned(),
    }
}

/// What the accept page shows about an open invitation.
#[derive(Debug)]
pub struct Peeked {
    /// The organisation's name.
    pub org_name: String,
    /// The invited address.
    pub email: String,
    /// The role offered.
    pub role: Role,
    /// Whether the address already has an account (then its owner signs in
    /// and accepts; otherwise they choose a password).
    pub existing_account: bool,
}

/// Looks at the open invitation `token` without changing anything (410
/// `invitation_invalid` when it is malformed, unknown, used or expired).
pub async fn peek(state: &AppState, token: &str) -> Result<Peeked, WebError> {
    let token = OrgToken::parse(INVITATION_PREFIX, token).ok_or_else(invalid)?;
    let mut tx = TenantTx::begin(&state.pool, token.org, None).await?;
    let inv = invitation::find_open(&mut tx, &token.storage_hash())
        .await?
        .ok_or_else(invalid)?;
    let org_name = organisation::get(&mut tx).await?.name;
    tx.rollback().await?;
    let existing_account = user::find_by_email(&state.pool, &inv.email)
        .await?
        .is_some();
    Ok(Peeked {
        org_name,
        email: inv.email,
        role: inv.role,
        existing_account,
    })
}

/// A done acceptance.
#[derive(Debug)]
pub struct Accepted {
    /// The organisation joined.
    pub org: sentra_domain::OrgId,
    /// Who joined.
    pub user: UserId,
    /// With which role.
    pub role: Role,
    /// For a new account, its (password-only) session.
    pub new_session: Option<SessionToken>,
}

/// Accepts invitation `token`: a new address sets `password` (and
/// optionally `name`), an existing account must be signed in (`headers`
/// carry its session). One transaction, one audit event. Shared by the
/// JSON route and the accept page.
pub async fn accept_invitation(
    state: &AppState,
    headers: &HeaderMap,
    token: &str,
    password_: Option<String>,
    name: Option<&str>,
) -> Result<Accepted, WebError> {
    let token = OrgToken::parse(INVITATION_PREFIX, token).ok_or_else(invalid)?;
    let name = match name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) if n.chars().count() > 200 || n.chars().any(char::is_control) => {
            return Err(WebError::bad_request(
                "invalid_name",
                "the name must be at most 200 characters",
            ));
        }
        other => other,
    };
    let signed_in = AnySession::from_headers(headers, state)
        .await?
        .filter(|s| s.mfa_verified);
    // Peek (no lock) to learn the address; the real check is under lock below.
    let mut peek = TenantTx::begin(&state.pool, token.org, None).await?;
    let inv = invitation::find_open(&mut peek, &token.storage_hash())
        .await?
        .ok_or_else(invalid)?;
    peek.rollback().await?;
    let existing = user::find_by_email(&state.pool, &inv.email).await?;
    let (user_id, new_hash) = match (&existing, &signed_in) {
        (Some(u), Some(s)) if u.id == s.user => (u.id, None),
        (Some(_), Some(_)) => {
            return Err(WebError::Client {
                status: StatusCode::FORBIDDEN,
                code: "wrong_account",
                message: "this invitation is for another address; sign out first".to_owned(),
            });
        }
        (Some(_), None) => {
            return Err(WebError::Client {
                status: StatusCode::CONFLICT,
                code: "sign_in_required",
                message: "sign in with the invited address, then accept".to_owned(),
            });
        }
        (None, _) => {
            let pw = password_.ok_or_else(|| {
                WebError::bad_request("password_required", "choose a password for the new account")
            })?;
            password::check_policy(&pw)?;
            (UserId::new(), Some(password::hash_blocking(pw).await?))
        }
    };
    let mut tx = TenantTx::begin(&state.pool, token.org, Some(user_id)).await?;
    let inv = invitation::find_open(&mut tx, &token.storage_hash())
        .await?
        .ok_or_else(invalid)?;
    let joined = match &new_hash {
        Some(hash) => {
            let email = EmailAddress::parse(&inv.email)
                .map_err(|_| WebError::internal("stored invitation address does not parse"))?;
            organisation::create_member(&mut tx, user_id, &email, hash, inv.role).await
        }
        None => organisation::add_member(&mut tx, user_id, inv.role).await,
    };
    joined.map_err(|e| match e {
        StoreError::Conflict { .. } => WebError::Client {
            status: StatusCode::CONFLICT,
            code: "already_member",
            message: "that address is already a member".to_owned(),
        },
        other => other.into(),
    })?;
    if new_hash.is_some() && name.is_some() {
        sentra_store::repo::account::set_display_name_in(&mut tx, user_id, name).await?;
    }
    invitation::mark_accepted(&mut tx, inv.id, user_id).await?;
    audit::append(
        &mut tx,
        NewEvent::new("user", "invitation.accept")
            .target("invitation", inv.id.to_string())
            .details(serde_json::json!({
                "role": inv.role.as_str(),
                "new_account": new_hash.is_some(),
            })),
    )
    .await?;
    tx.commit().await?;
    let new_session = if new_hash.is_some() {
        // A new account is signed in at once (password only, as at login).
        let cookie = SessionToken::generate()?;
        session::create_with_agent(
            &state.pool,
            &cookie.storage_hash(),
            user_id,
            &session_data(true),
            crate::session::IDLE_SECS,
            user_agent(headers),
        )
        .await?;
        Some(cookie)
    } else {
        None
    };
    Ok(Accepted {
        org: token.org,
        user: user_id,
        role: inv.role,
        new_session,
    })
}

/// `POST /api/v1/invitations/accept`.
pub async fn accept(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<AcceptBody>,
) -> Result<Response, WebError> {
    let done = accept_invitation(
        &state,
        &headers,
        &body.token,
        body.password,
        body.name.as_deref(),
    )
    .await?;
    let out = serde_json::json!({
        "org_id": done.org.to_string(),
        "user_id": done.user.to_string(),
        "role": done.role.as_str(),
    });
    let Some(cookie) = done.new_session else {
        return Ok(Json(out).into_response());
    };
    let res = (StatusCode::CREATED, Json(out)).into_response();
    Ok(crate::auth::with_cookie(
        res,
        cookie.set_cookie(state.secure_cookies),
    ))
}
