//! The users page (`/users`, admin and above): the members and their
//! roles, the invitations not yet accepted, and forms to invite, change a
//! role, remove a member and withdraw an invitation. Every form posts to
//! the same function as the JSON API ([`crate::routes::users`],
//! [`crate::routes::invitations`]), so the rules (step-up, only an owner
//! grants or removes owner, the last owner stays) and the audit event are
//! shared. A refused change shows the page again with the reason and
//! nothing written.

use super::problem::Problem;
use super::{Chrome, PageError, PageForm, PageSession, render_status, see_other, when};
use crate::routes::invitations::{invite, withdraw};
use crate::routes::users::{change_role, parse_role, remove_member};
use crate::session::require_step_up;
use crate::{AppState, WebError};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use sentra_domain::{Role, UserId};
use sentra_store::TenantTx;
use sentra_store::repo::{invitation, member};
use serde::Deserialize;

/// Routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(show))
        .route("/users/invite", post(invite_submit))
        .route("/users/{id}/role", post(role_submit))
        .route("/users/{id}/remove", post(remove_submit))
        .route("/users/invitations/{id}/revoke", post(revoke_submit))
}

const ADMINS: &[Role] = &[Role::Owner, Role::Admin];

/// One member as the page shows them.
pub struct MemberRow {
    /// Their id (form actions).
    pub id: String,
    /// Address.
    pub email: String,
    /// Name, or empty.
    pub name: String,
    /// Role.
    pub role: &'static str,
    /// Whether they have an authenticator.
    pub mfa: bool,
    /// When they joined.
    pub joined: String,
    /// Whether this is the person looking.
    pub is_self: bool,
    /// Whether the person looking may change or remove them.
    pub editable: bool,
}

/// One open (or expired, not accepted) invitation.
pub struct InvitationRow {
    /// Its id.
    pub id: String,
    /// Who was invited.
    pub email: String,
    /// The role offered.
    pub role: &'static str,
    /// `pending` or `expired`.
    pub status: &'static str,
    /// When it stops working.
    pub expires: String,
    /// Whether the person looking may withdraw it.
    pub revocable: bool,
}

/// The users page.
#[derive(Template)]
#[template(path = "users/list.html")]
pub struct UsersPage {
    /// Layout.
    pub chrome: Chrome,
    /// The members.
    pub members: Vec<MemberRow>,
    /// The invitations not accepted.
    pub invitations: Vec<InvitationRow>,
    /// The roles the person looking may give.
    pub grantable: Vec<&'static str>,
    /// Whether a step-up is fresh (role changes and removal need one).
    pub stepped_up: bool,
    /// What just happened.
    pub notice: Option<&'static str>,
    /// The invitation link to pass on (no mail configured), shown once.
    pub invite_link: Option<String>,
    /// The copy-button script's path.
    pub copy_js: &'static str,
    /// Problems with what was sent.
    pub problems: Vec<Problem>,
    /// The invite form's address, kept after a problem.
    pub invite_email: String,
    /// The invite form's role, kept after a problem.
    pub invite_role: String,
}

/// `?done=` after a change.
#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    /// What was done.
    pub done: Option<String>,
}

/// The invite form.
#[derive(Debug, Deserialize)]
pub struct InviteForm {
    /// The address.
    pub email: String,
    /// The role.
    pub role: String,
}

/// The role form.
#[derive(Debug, Deserialize)]
pub struct RoleForm {
    /// The new role.
    pub role: String,
}

/// What the page shows around the lists.
struct Extras {
    notice: Option<&'static str>,
    invite_link: Option<String>,
    problems: Vec<Problem>,
    invite_email: String,
    invite_role: String,
}

impl Extras {
    fn notice(notice: Option<&'static str>) -> Self {
        Self {
            notice,
            invite_link: None,
            problems: Vec::new(),
            invite_email: String::new(),
            invite_role: "viewer".to_owned(),
        }
    }
}

fn grantable(actor: Role) -> Vec<&'static str> {
    Role::ALL
        .iter()
        .filter(|r| actor == Role::Owner || **r != Role::Owner)
        .map(|r| r.as_str())
        .collect()
}

async fn build(
    tx: &mut TenantTx,
    me: UserId,
    actor: Role,
    mfa_at: Option<i64>,
    chrome: Chrome,
    extras: Extras,
) -> Result<UsersPage, PageError> {
    let now = time::OffsetDateTime::now_utc();
    let members = member::list(tx)
        .await?
        .into_iter()
        .map(|m| MemberRow {
            id: m.user_id.to_string(),
            email: m.email,
            name: m.name.unwrap_or_default(),
            role: m.role.as_str(),
            mfa: m.mfa_enrolled,
            joined: when(m.joined_at),
            is_self: m.user_id == me,
            editable: actor == Role::Owner || m.role != Role::Owner,
        })
        .collect();
    let invitations = invitation::list(tx)
        .await?
        .into_iter()
        .filter(|i| i.accepted_at.is_none())
        .map(|i| InvitationRow {
            id: i.id.to_string(),
            email: i.email,
            role: i.role.as_str(),
            status: if i.expires_at <= now {
                "expired"
            } else {
                "pending"
            },
            expires: when(i.expires_at),
            revocable: actor == Role::Owner || i.role != Role::Owner,
        })
        .collect();
    Ok(UsersPage {
        chrome,
        members,
        invitations,
        grantable: grantable(actor),
        stepped_up: require_step_up(mfa_at).is_ok(),
        notice: extras.notice,
        invite_link: extras.invite_link,
        copy_js: crate::assets::copy_js_href(),
        problems: extras.problems,
        invite_email: extras.invite_email,
        invite_role: extras.invite_role,
    })
}

/// Rolls back `page`'s transaction (nothing it wrote stays) and shows the
/// page from a fresh one, with `status`.
async fn again(
    state: &AppState,
    page: PageSession,
    status: StatusCode,
    extras: Extras,
) -> Result<Response, PageError> {
    let chrome = page.chrome("/users");
    let (me, org, actor, mfa_at) = (page.user, page.org, page.role, page.mfa_at);
    page.tx.rollback().await?;
    let mut tx = TenantTx::begin(&state.pool, org, Some(me)).await?;
    let view = build(&mut tx, me, actor, mfa_at, chrome, extras).await?;
    tx.commit().await?;
    render_status(status, &view)
}

/// Shows the page again with the problem `e` describes (on `field`).
async fn refused(
    state: &AppState,
    page: PageSession,
    e: WebError,
    field: &'static str,
    mut extras: Extras,
) -> Result<Response, PageError> {
    let (status, problem) = Problem::from_web(e, field)?;
    extras.problems.push(problem);
    again(state, page, status, extras).await
}

/// `GET /users`.
pub async fn show(
    mut page: PageSession,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    page.require(ADMINS)?;
    let notice = match q.done.as_deref() {
        Some("role") => Some("Role changed."),
        Some("removed") => Some("Member removed."),
        Some("invited") => Some("Invitation sent by email."),
        Some("revoked") => Some("Invitation withdrawn."),
        _ => None,
    };
    let chrome = page.chrome("/users");
    let view = build(
        &mut page.tx,
        page.user,
        page.role,
        page.mfa_at,
        chrome,
        Extras::notice(notice),
    )
    .await?;
    page.tx.commit().await?;
    render_status(StatusCode::OK, &view)
}

/// `POST /users/invite`: invites; without mail the page shows the link
/// to pass on (once), with mail a 303 back to the list.
pub async fn invite_submit(
    State(state): State<AppState>,
    mut page: PageSession,
    PageForm(form): PageForm<InviteForm>,
) -> Result<Response, PageError> {
    page.require(ADMINS)?;
    let actor = (page.user, page.role);
    match invite(&state, &mut page.tx, actor, &form.email, &form.role).await {
        Ok(invited) => {
            let chrome = page.chrome("/users");
            let (me, role, mfa_at) = (page.user, page.role, page.mfa_at);
            let mut tx = page.tx;
            let view = if invited.emailed {
                None
            } else {
                let extras = Extras {
                    invite_link: Some(invited.link.clone()),
                    invite_email: invited.row.email.clone(),
                    ..Extras::notice(None)
                };
                Some(build(&mut tx, me, role, mfa_at, chrome, extras).await?)
            };
            tx.commit().await?;
            invited.deliver(&state);
            match view {
                Some(v) => render_status(StatusCode::OK, &v),
                None => Ok(see_other("/users?done=invited")),
            }
        }
        Err(e) => {
            let field = match &e {
                WebError::Client {
                    code: "invalid_role",
                    ..
                } => "invite-role",
                _ => "invite-email",
            };
            let extras = Extras {
                invite_email: form.email,
                invite_role: form.role,
                ..Extras::notice(None)
            };
            refused(&state, page, e, field, extras).await
        }
    }
}

fn target(id: &str) -> Result<UserId, PageError> {
    Ok(UserId::from_uuid(crate::routes::parse_uuid(id)?))
}

/// `POST /users/{id}/role`.
pub async fn role_submit(
    State(state): State<AppState>,
    mut page: PageSession,
    Path(id): Path<String>,
    PageForm(form): PageForm<RoleForm>,
) -> Result<Response, PageError> {
    page.require(ADMINS)?;
    let target = target(&id)?;
    let done = match parse_role(&form.role) {
        Ok(role) => change_role(&mut page.tx, page.role, page.mfa_at, target, role).await,
        Err(e) => Err(e),
    };
    match done {
        Ok(()) => {
            page.tx.commit().await?;
            Ok(see_other("/users?done=role"))
        }
        Err(WebError::NotFound) => Err(WebError::NotFound.into()),
        Err(e) => refused(&state, page, e, "", Extras::notice(None)).await,
    }
}

/// `POST /users/{id}/remove`.
pub async fn remove_submit(
    State(state): State<AppState>,
    mut page: PageSession,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    page.require(ADMINS)?;
    let target = target(&id)?;
    match remove_member(&mut page.tx, page.role, page.mfa_at, target).await {
        Ok(()) => {
            page.tx.commit().await?;
            Ok(see_other("/users?done=removed"))
        }
        Err(WebError::NotFound) => Err(WebError::NotFound.into()),
        Err(e) => refused(&state, page, e, "", Extras::notice(None)).await,
    }
}

/// `POST /users/invitations/{id}/revoke`.
pub async fn revoke_submit(
    State(state): State<AppState>,
    mut page: PageSession,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    page.require(ADMINS)?;
    let id = crate::routes::parse_uuid(&id)?;
    match withdraw(&mut page.tx, page.role, id).await {
        Ok(()) => {
            page.tx.commit().await?;
            Ok(see_other("/users?done=revoked"))
        }
        Err(WebError::NotFound) => Err(WebError::NotFound.into()),
        Err(e) => refused(&state, page, e, "", Extras::notice(None)).await,
    }
}
