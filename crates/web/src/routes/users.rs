//! `/api/v1/users`: the organisation's members and their roles (admin and
//! above). Changing or removing a member needs step-up. The rules: only an
//! owner grants the owner role or changes or removes an owner, and the last
//! owner can be neither demoted nor removed. The members are locked while
//! the rules are checked, so two concurrent changes cannot each remove
//! "the other" last owner.

use crate::error::ApiJson;
use crate::session::{TenantSession, require_step_up, role_rank};
use crate::{AppState, WebError};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use sentra_domain::{Role, UserId};
use sentra_store::TenantTx;
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
                    "name": m.name,
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
async fn locked_target(tx: &mut TenantTx, target: UserId) -> Result<(Role, usize), WebError> {
    let all = member::lock_all(tx).await?;
    let owners = all.iter().filter(|(_, r)| *r == Role::Owner).count();
    let role = all
        .into_iter()
        .find(|(u, _)| *u == target)
        .map(|(_, r)| r)
        .ok_or(WebError::NotFound)?;
    Ok((role, owners))
}

/// Gives `target` the role `new_role` in `tx`'s organisation, as someone
/// with `actor` role who last stepped up at `mfa_at`, and records it: admin
/// and above, step-up, only an owner grants or takes away the owner role,
/// the last owner stays. No change, no event. Shared by the JSON route and
/// the `/users` page; the caller commits.
pub async fn change_role(
    tx: &mut TenantTx,
    actor: Role,
    mfa_at: Option<i64>,
    target: UserId,
    new_role: Role,
) -> Result<(), WebError> {
    if role_rank(actor) > role_rank(Role::Admin) {
        return Err(WebError::forbidden());
    }
    require_step_up(mfa_at)?;
    let (old_role, owners) = locked_target(tx, target).await?;
    if (new_role == Role::Owner || old_role == Role::Owner) && actor != Role::Owner {
        return Err(WebError::forbidden());
    }
    if old_role == Role::Owner && new_role != Role::Owner && owners <= 1 {
        return Err(last_owner());
    }
    if old_role != new_role {
        member::set_role(tx, target, new_role).await?;
        audit::append(
            tx,
            NewEvent::new("user", "member.role")
                .target("user", target.to_string())
                .details(serde_json::json!({ "from": old_role.as_str(), "to": new_role.as_str() })),
        )
        .await?;
    }
    Ok(())
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
    change_role(&mut s.tx, s.role, s.mfa_at, target, new_role).await?;
    s.tx.commit().await?;
    Ok(Json(
        serde_json::json!({ "id": target.to_string(), "role": new_role.as_str() }),
    ))
}

/// Removes `target` from `tx`'s organisation and records it, under the
/// same rules as [`change_role`]. Their API tokens for this organisation
/// go with the membership. The caller commits.
pub async fn remove_member(
    tx: &mut TenantTx,
    actor: Role,
    mfa_at: Option<i64>,
    target: UserId,
) -> Result<(), WebError> {
    if role_rank(actor) > role_rank(Role::Admin) {
        return Err(WebError::forbidden());
    }
    require_step_up(mfa_at)?;
    let (old_role, owners) = locked_target(tx, target).await?;
    if old_role == Role::Owner && actor != Role::Owner {
        return Err(WebError::forbidden());
    }
    if old_role == Role::Owner && owners <= 1 {
        return Err(last_owner());
    }
    member::remove(tx, target).await?;
    audit::append(
        tx,
        NewEvent::new("user", "member.remove")
            .target("user", target.to_string())
            .details(serde_json::json!({ "role": old_role.as_str() })),
    )
    .await?;
    Ok(())
}

/// `DELETE /api/v1/users/{id}`: removes a member (204).
pub async fn remove(mut s: TenantSession, Path(id): Path<String>) -> Result<StatusCode, WebError> {
    s.require_role(Role::Admin)?;
    let target = UserId::from_uuid(crate::routes::parse_uuid(&id)?);
    remove_member(&mut s.tx, s.role, s.mfa_at, target).await?;
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
    let (role, _) = locked_target(&mut s.tx, target).await?;
    if role == Role::Owner && s.role != Role::Owner {
        return Err(WebError::forbidden());
    }
    let (token_hash, link) = crate::routes::password::new_reset(&state)?;
    sentra_store::repo::account::create_reset_in(
        &mut s.tx,
        target,
        &token_hash,
        crate::routes::password::RESET_TTL_SECS,
    )
    .await?;
    audit::append(
        &mut s.tx,
        NewEvent::new("user", "auth.password_reset.issue").target("user", target.to_string()),
    )
    .await?;
    s.tx.commit().await?;
    Ok(Json(
        serde_json::json!({ "link": link, "expires_in_secs": crate::routes::password::RESET_TTL_SECS }),
    ))
}
