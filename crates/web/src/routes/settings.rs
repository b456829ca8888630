//! `/api/v1/settings`: the organisation's settings (admin and above).
//! Changing the MFA policy needs step-up. A change writes one audit event
//! naming the fields and their old and new values; a request that changes
//! nothing writes none.

use crate::WebError;
use crate::error::ApiJson;
use crate::session::TenantSession;
use axum::Json;
use sentra_domain::Role;
use sentra_store::audit::{self, NewEvent};
use sentra_store::repo::settings::{self, OrgSettings};
use serde::Deserialize;

fn view(s: &OrgSettings) -> serde_json::Value {
    serde_json::json!({
        "require_mfa": s.require_mfa,
        "raw_email_days": s.raw_email_days,
        "messages_months": s.messages_months,
        "alert_min_risk": s.alert_min_risk,
    })
}

/// `GET /api/v1/settings`.
pub async fn get(mut s: TenantSession) -> Result<Json<serde_json::Value>, WebError> {
    s.require_role(Role::Admin)?;
    let row = settings::get(&mut s.tx).await?;
    s.tx.commit().await?;
    Ok(Json(view(&row)))
}

/// The body of `PATCH /settings`: any subset.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchBody {
    /// Require an authenticator of everyone.
    pub require_mfa: Option<bool>,
    /// Days raw email is kept (1–3650).
    pub raw_email_days: Option<i32>,
    /// Months messages and cases are kept (1–240).
    pub messages_months: Option<i32>,
    /// `low`, `medium`, `high` or `critical`.
    pub alert_min_risk: Option<String>,
}

/// `PATCH /api/v1/settings`.
pub async fn patch(
    mut s: TenantSession,
    ApiJson(body): ApiJson<PatchBody>,
) -> Result<Json<serde_json::Value>, WebError> {
    s.require_role(Role::Admin)?;
    if body
        .raw_email_days
        .is_some_and(|d| !(1..=3650).contains(&d))
    {
        return Err(WebError::bad_request(
            "invalid_value",
            "raw_email_days must be 1 to 3650",
        ));
    }
    if body
        .messages_months
        .is_some_and(|m| !(1..=240).contains(&m))
    {
        return Err(WebError::bad_request(
            "invalid_value",
            "messages_months must be 1 to 240",
        ));
    }
    if body
        .alert_min_risk
        .as_deref()
        .is_some_and(|r| !["low", "medium", "high", "critical"].contains(&r))
    {
        return Err(WebError::bad_request(
            "invalid_value",
            "alert_min_risk must be low, medium, high or critical",
        ));
    }
    let old = settings::get(&mut s.tx).await?;
    let new = OrgSettings {
        require_mfa: body.require_mfa.unwrap_or(old.require_mfa),
        raw_email_days: body.raw_email_days.unwrap_or(old.raw_email_days),
        messages_months: body.messages_months.unwrap_or(old.messages_months),
        alert_min_risk: body
            .alert_min_risk
            .unwrap_or_else(|| old.alert_min_risk.clone()),
    };
    if new.require_mfa != old.require_mfa {
        s.require_step_up()?;
    }
    if new != old {
        let (o, n) = (view(&old), view(&new));
        let changed: serde_json::Map<String, serde_json::Value> = n
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, v)| o.get(k.as_str()) != Some(v))
            .map(|(k, v)| {
                (
                    k.clone(),
                    serde_json::json!({ "from": o[k.as_str()], "to": v }),
                )
            })
            .collect();
        settings::update(&mut s.tx, &new).await?;
        audit::append(
            &mut s.tx,
            NewEvent::new("user", "settings.update").details(serde_json::Value::Object(changed)),
        )
        .await?;
    }
    s.tx.commit().await?;
    Ok(Json(view(&new)))
}
