//! `/api/v1/users`: the organisation's members and their roles (admin and
//! above). Changing or removing a member needs step-up. The rules: only an
//! owner grants the owner role or changes or removes an owner, and the last
//! owner can be neither demoted nor removed. The members are locked while
//! the rules are checked, so two concurrent changes cannot each remove
//! "the other" last owner.

use crate::error::ApiJson;
use crate::session::TenantSession;
use crate::{AppState, WebError};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use sentra_domain::{Role, UserId};
use sentra_store::audit::{self, NewEvent};
use sentra_store::repo::member;
use serde::Deserialize;

/// `GET /api/v1/users`.
pub async fn list(mut s: TenantSession) -> Result<Json<serde_json::Value>, WebError> {
    s.require_role(Role::Admin)?;
    let rows = member::list(&mut s.tx).await?;
    s.tx.commit().await?;
    Ok(Json(
        rows.iter()
            .map(|m| {
                serde_json::json!({
                    "id": m.user_id.to_string(),
                    "email": m.email,
                    "role": m.role.as_str(),
                    "mfa_enrolled": m.mfa_enrolled,
                    "joined_at": crate::routes::rfc3339(m.joined_at),
                })
            })
            .collect(),
    ))
}

/// The body of `PATCH /users/{id}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchBody {
    /// The new role.
    pub role: String,
}

pub(crate) fn parse_role(s: &str) -> Result<Role, WebError> {
    Role::parse(s).ok_or_else(|| {
        WebError::bad_request(
            "invalid_role",
            "role must be one of owner, admin, approver, clerk, viewer",
        )
    })
}

fn last_owner() -> WebError {
    WebError::Client {
        status: StatusCode::CONFLICT,
        code: "last_owner",
        message: "an organisation needs at least one owner; make someone else owner first"
            .to_owned(),
    }
}

/// Locks the members and finds `target` among them (404 when not one).
async fn locked_target(s: &mut TenantSession, target: UserId) -> Result<(Role, usize), WebError> {
    let all = member::lock_all(&mut s.tx).await?;
    let owners = all.iter().filter(|(_, r)| *r == Role::Owner).count();
    let role = all
        .into_iter()
        .find(|(u, _)| *u == target)
        .map(|(_, r)| r)
        .ok_or(WebError::NotFound)?;
    Ok((role, owners))
}

/// `PATCH /api/v1/users/{id}` `{role}`: changes a member's role.
pub async fn patch(
    mut s: TenantSession,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PatchBody>,
) -> Result<Json<serde_json::Value>, WebError> {
    s.require_role(Role::Admin)?;
    let target = UserId::from_uuid(crate::routes::parse_uuid(&id)?);
    let new_role = parse_role(&body.role)?;
    s.require_step_up()?;
    let (old_role, owners) = locked_target(&mut s, target).await?;
    if (new_role == Role::Owner || old_role == Role::Owner) && s.role != Role::Owner {
        return Err(WebError::forbidden());
    }
    if old_role == Role::Owner && new_role != Role::Owner && owners <= 1 {
        return Err(last_owner());
    }
    if old_role != new_role {
        member::set_role(&mut s.tx, target, new_role).await?;
        audit::append(
            &mut s.tx,
            NewEvent::new("user", "member.role")
                .target("user", target.to_string())
                .details(serde_json::json!({ "from": old_role.as_str(), "to": new_role.as_str() })),
        )
        .await?;
    }
    s.tx.commit().await?;
    Ok(Json(
        serde_json::json!({ "id": target.to_string(), "role": new_role.as_str() }),
    ))
}

/// `DELETE /api/v1/users/{id}`: removes a member (204). Their API tokens
/// for this organisation go with the membership.
pub async fn remove(mut s: TenantSession, Path(id): Path<String>) -> Result<StatusCode, WebError> {
    s.require_role(Role::Admin)?;
    let target = UserId::from_uuid(crate::routes::parse_uuid(&id)?);
    s.require_step_up()?;
    let (old_role, owners) = locked_target(&mut s, target).await?;
    if old_role == Role::Owner && s.role != Role::Owner {
        return Err(WebError::forbidden());
    }
    if old_role == Role::Owner && owners <= 1 {
        return Err(last_owner());
    }
    member::remove(&mut s.tx, target).await?;
    audit::append(
        &mut s.tx,
        NewEvent::new("user", "member.remove")
            .target("user", target.to_string())
            .details(serde_json::json!({ "role": old_role.as_str() })),
    )
    .await?;
    s.tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/users/{id}/password-reset`: a reset link for a member,
/// for an administrator to pass on when no mail is configured (step-up;
/// only an owner may do it for an owner). The link is answered, never
/// logged; the member's MFA still applies at their next sign-in.
pub async fn reset_link(
    State(state): State<AppState>,
    mut s: TenantSession,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, WebError> {
    s.require_role(Role::Admin)?;
    let target = UserId::from_uuid(crate::routes::parse_uuid(&id)?);
    s.require_step_up()?;
    let (role, _) = locked_target(&mut s, target).await?;
    if role == Role::Owner && s.role != Role::Owner {
        return Err(WebError::forbidden());
    }
    let link = crate::routes::account::issue_reset(&state, target).await?;
    audit::append(
        &mut s.tx,
        NewEvent::new("user", "auth.password_reset.issue").target("user", target.to_string()),
    )
    .await?;
    s.tx.commit().await?;
    Ok(Json(
        serde_json::json!({ "link": link, "expires_in_secs": crate::routes::account::RESET_TTL_SECS }),
    ))
}
