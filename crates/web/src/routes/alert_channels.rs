//! `/api/v1/alert-channels`: the organisation's alert channels (email,
//! Slack, Teams), for owners and admins only. Each change writes one audit
//! event; the webhook URL is stored only encrypted, and no response or
//! audit line ever shows more than its host. `POST …/{id}/test` enqueues a
//! test message for the worker to deliver (the web layer never calls out).

use crate::routes::{parse_uuid, rfc3339};
use crate::session::TenantSession;
use crate::{ApiJson, WebError};
use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use sentra_domain::jobs::SendTestAlert;
use sentra_domain::{EmailAddress, RiskLevel, Role};
use sentra_store::audit::{self, NewEvent};
use sentra_store::ids::AlertChannelId;
use sentra_store::queue;
use sentra_store::repo::alert::{self, Channel, ChannelKind, NewChannel};
use serde::Deserialize;
use serde_json::{Value, json};

fn require_admin(session: &TenantSession) -> Result<(), WebError> {
    if matches!(session.role, Role::Owner | Role::Admin) {
        Ok(())
    } else {
        Err(WebError::forbidden())
    }
}

fn channel_json(c: &Channel) -> Value {
    json!({
        "id": c.id.to_string(),
        "kind": c.kind.as_str(),
        "name": c.name,
        "target_hint": c.target_hint,
        "enabled": c.enabled,
        "min_risk": c.min_risk.as_str(),
        "digest": c.digest,
        "email_roles": c.email_roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "created_at": rfc3339(c.created_at),
    })
}

/// `POST /api/v1/alert-channels`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelIn {
    /// `email`, `slack` or `teams`.
    pub kind: String,
    /// A display name.
    pub name: String,
    /// Slack or Teams: the webhook URL (https).
    pub url: Option<String>,
    /// Email: extra addresses besides the members with `email_roles`.
    #[serde(default)]
    pub addresses: Vec<String>,
    /// Email: the roles whose members receive it (default owner, admin,
    /// approver).
    pub email_roles: Option<Vec<String>>,
    /// The lowest case risk it is told about (default `medium`).
    pub min_risk: Option<String>,
    /// One daily digest instead of one message per case.
    #[serde(default)]
    pub digest: bool,
}

fn invalid(message: impl Into<String>) -> WebError {
    WebError::bad_request("invalid_body", message)
}

/// The webhook URL checked for shape (the worker's SSRF guard checks where
/// it resolves at send time) and the hint shown instead of it.
fn webhook(url: Option<&str>) -> Result<(String, String), WebError> {
    let url = url.map(str::trim).filter(|u| !u.is_empty());
    let url = url.ok_or_else(|| invalid("url is required for slack and teams channels"))?;
    if url.len() > 2000 {
        return Err(invalid("url is too long"));
    }
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| invalid("url must start with https://"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return Err(invalid("url must name a host and no credentials"));
    }
    Ok((url.to_owned(), format!("{authority}/…")))
}

fn parse_in(body: ChannelIn) -> Result<NewChannel, WebError> {
    let kind = ChannelKind::parse(&body.kind).ok_or_else(|| invalid("unknown kind"))?;
    let name = body.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(invalid("name must be 1 to 100 characters"));
    }
    let min_risk = match body.min_risk.as_deref() {
        None => RiskLevel::Medium,
        Some(s) => RiskLevel::parse(s)
            .filter(|l| *l > RiskLevel::None)
            .ok_or_else(|| invalid("min_risk must be low, medium, high or critical"))?,
    };
    let email_roles = match body.email_roles {
        None => vec![Role::Owner, Role::Admin, Role::Approver],
        Some(roles) => roles
            .iter()
            .map(|r| Role::parse(r).ok_or_else(|| invalid("unknown role")))
            .collect::<Result<_, _>>()?,
    };
    let (target, hint) = match kind {
        ChannelKind::Email => {
            if body.url.is_some() {
                return Err(invalid("email channels take addresses, not a url"));
            }
            if email_roles.is_empty() {
                // Never only the extra addresses (or only the person who
                // set it up): the organisation's people must hear.
                return Err(invalid("email channels need at least one role"));
            }
            let addresses: Vec<String> = body
                .addresses
                .iter()
                .map(|a| {
                    EmailAddress::parse(a.trim())
                        .map(|e| e.to_string())
                        .map_err(|_| invalid("an address is not valid"))
                })
                .collect::<Result<_, _>>()?;
            if addresses.len() > 20 {
                return Err(invalid("at most 20 extra addresses"));
            }
            let hint = format!(
                "roles: {}",
                email_roles
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            (addresses.join(","), hint)
        }
        ChannelKind::Slack | ChannelKind::Teams => webhook(body.url.as_deref())?,
    };
    Ok(NewChannel {
        kind,
        name,
        target,
        target_hint: Some(hint),
        min_risk,
        digest: body.digest,
        email_roles,
    })
}

fn channel_id(s: &str) -> Result<AlertChannelId, WebError> {
    Ok(AlertChannelId::from_uuid(parse_uuid(s)?))
}

/// `GET /api/v1/alert-channels`.
pub async fn list(mut session: TenantSession) -> Result<Json<Vec<Value>>, WebError> {
    require_admin(&session)?;
    let channels = alert::list(&mut session.tx).await?;
    session.tx.commit().await?;
    Ok(Json(channels.iter().map(channel_json).collect()))
}

/// `POST /api/v1/alert-channels`: 201 with the channel (never its target).
pub async fn create(
    mut session: TenantSession,
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    ApiJson(body): ApiJson<ChannelIn>,
) -> Result<(StatusCode, Json<Value>), WebError> {
    require_admin(&session)?;
    let new = parse_in(body)?;
    let id = alert::create(&mut session.tx, &state.keys, &new).await?;
    audit::append(
        &mut session.tx,
        NewEvent::new("user", "alert_channel.created")
            .target("alert_channel", id.to_string())
            .details(json!({
                "kind": new.kind.as_str(),
                "name": new.name,
                "target_hint": new.target_hint,
                "min_risk": new.min_risk.as_str(),
                "digest": new.digest,
            })),
    )
    .await?;
    let c = alert::get(&mut session.tx, id).await?;
    session.tx.commit().await?;
    Ok((StatusCode::CREATED, Json(channel_json(&c))))
}

/// `DELETE /api/v1/alert-channels/{id}`: 204.
pub async fn delete(
    mut session: TenantSession,
    Path(id): Path<String>,
) -> Result<StatusCode, WebError> {
    require_admin(&session)?;
    let id = channel_id(&id)?;
    let c = alert::get(&mut session.tx, id).await?;
    alert::delete(&mut session.tx, id).await?;
    audit::append(
        &mut session.tx,
        NewEvent::new("user", "alert_channel.deleted")
            .target("alert_channel", id.to_string())
            .details(json!({ "kind": c.kind.as_str(), "name": c.name })),
    )
    .await?;
    session.tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/alert-channels/{id}/test`: 202; the worker sends a test
/// message (its outcome shows in the job's status).
pub async fn test(
    mut session: TenantSession,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Value>), WebError> {
    require_admin(&session)?;
    let id = channel_id(&id)?;
    alert::get(&mut session.tx, id).await?;
    let job = queue::enqueue_payload(
        &mut session.tx,
        &SendTestAlert {
            channel_id: id.as_uuid(),
        },
        None,
    )
    .await?;
    audit::append(
        &mut session.tx,
        NewEvent::new("user", "alert_channel.tested")
            .target("alert_channel", id.to_string())
            .details(json!({ "job_id": job.id.to_string() })),
    )
    .await?;
    session.tx.commit().await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "job_id": job.id.to_string() })),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(kind: &str, url: Option<&str>) -> ChannelIn {
        ChannelIn {
            kind: kind.to_owned(),
            name: "Ops".to_owned(),
            url: url.map(str::to_owned),
            addresses: Vec::new(),
            email_roles: None,
            min_risk: None,
            digest: false,
        }
    }

    #[test]
    fn webhooks_must_be_https_and_only_their_host_is_shown() {
        let ok = parse_in(body(
            "slack",
            Some("https://hooks.slack.com/services/T0/B0/secretpart"),
        ))
        .unwrap();
        assert_eq!(ok.target_hint.as_deref(), Some("hooks.slack.com/…"));
        for bad in [
            Some("http://hooks.slack.com/x"),
            Some("https://user:pw@hooks.slack.com/x"),
            Some("https:///x"),
            None,
        ] {
            assert!(parse_in(body("teams", bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn email_channels_default_to_owners_admins_and_approvers_and_need_a_role() {
        let ok = parse_in(body("email", None)).unwrap();
        assert_eq!(ok.email_roles, [Role::Owner, Role::Admin, Role::Approver]);
        let mut none = body("email", None);
        none.email_roles = Some(Vec::new());
        assert!(parse_in(none).is_err());
        let mut risk = body("email", None);
        risk.min_risk = Some("none".to_owned());
        assert!(parse_in(risk).is_err());
    }
}
