//! Per-organisation settings (`org_settings`, one row per organisation).

use crate::{StoreError, TenantTx};

/// The settings people can change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgSettings {
    /// Everyone must use an authenticator (owners and admins always must).
    pub require_mfa: bool,
    /// Days raw email is kept.
    pub raw_email_days: i32,
    /// Months message metadata, assessments and cases are kept.
    pub messages_months: i32,
    /// The lowest risk that opens a case and alerts.
    pub alert_min_risk: String,
}

/// The organisation's settings.
pub async fn get(tx: &mut TenantTx) -> Result<OrgSettings, StoreError> {
    let row: Option<(bool, i32, i32, String)> = sqlx::query_as(
        "select require_mfa, raw_email_days, messages_months, alert_min_risk from org_settings",
    )
    .fetch_optional(tx.conn())
    .await?;
    let (require_mfa, raw_email_days, messages_months, alert_min_risk) =
        super::found(row, "settings")?;
    Ok(OrgSettings {
        require_mfa,
        raw_email_days,
        messages_months,
        alert_min_risk,
    })
}

/// Replaces the organisation's settings (the table's checks bound them).
pub async fn update(tx: &mut TenantTx, s: &OrgSettings) -> Result<(), StoreError> {
    let done = sqlx::query(
        "update org_settings set require_mfa = $1, raw_email_days = $2, messages_months = $3,
                alert_min_risk = $4",
    )
    .bind(s.require_mfa)
    .bind(s.raw_email_days)
    .bind(s.messages_months)
    .bind(&s.alert_min_risk)
    .execute(tx.conn())
    .await?;
    super::affected(done.rows_affected(), "settings")
}
