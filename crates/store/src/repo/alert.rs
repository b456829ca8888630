//! Alert channels (email, Slack, Teams) and the alerts sent to them.
//!
//! A channel's target (the webhook URL, or for email any extra addresses) is
//! a secret: it is stored only encrypted ([`keys::ALERT_CHANNEL_TARGET`],
//! bound to the organisation and the channel's row id), and what people see
//! is a hint (`hooks.slack.com/…`). An alert is one case told to one
//! channel, recorded once (`unique (case, channel, kind)`): opening it again
//! returns the existing row, so a re-run never sends twice.

use crate::crypto::{self, Keyring};
use crate::ids::{AlertChannelId, AlertId, CaseId};
use crate::keys;
use crate::{StoreError, TenantTx};
use sentra_domain::{RiskLevel, Role};
use time::{Date, OffsetDateTime};
use uuid::Uuid;
use zeroize::Zeroizing;

/// Where a channel delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelKind {
    /// Email over SMTP to the members with the channel's roles.
    Email,
    /// A Slack incoming webhook.
    Slack,
    /// A Microsoft Teams Workflows webhook (Adaptive Card).
    Teams,
}

impl ChannelKind {
    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Slack => "slack",
            Self::Teams => "teams",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Email, Self::Slack, Self::Teams]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// A channel to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChannel {
    /// Where it delivers.
    pub kind: ChannelKind,
    /// Its display name.
    pub name: String,
    /// The webhook URL (Slack, Teams) or extra addresses, comma-separated,
    /// possibly empty (email). Encrypted by [`create`].
    pub target: String,
    /// What people see instead of the target.
    pub target_hint: Option<String>,
    /// The lowest case risk the channel is told about.
    pub min_risk: RiskLevel,
    /// One daily digest instead of one alert per case.
    pub digest: bool,
    /// Email: the roles whose members receive it.
    pub email_roles: Vec<Role>,
}

/// A stored channel, without its target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    /// The id.
    pub id: AlertChannelId,
    /// Where it delivers.
    pub kind: ChannelKind,
    /// Its display name.
    pub name: String,
    /// What people see instead of the target.
    pub target_hint: Option<String>,
    /// Whether it is used.
    pub enabled: bool,
    /// The lowest case risk it is told about.
    pub min_risk: RiskLevel,
    /// Daily digest instead of per-case alerts.
    pub digest: bool,
    /// Email: the roles whose members receive it.
    pub email_roles: Vec<Role>,
    /// The last day whose digest was sent.
    pub digest_sent_through: Option<Date>,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

type ChannelRow = (
    Uuid,
    String,
    String,
    Option<String>,
    bool,
    String,
    bool,
    Vec<String>,
    Option<Date>,
    OffsetDateTime,
);

const CHANNEL_COLUMNS: &str = "id, kind, name, target_hint, enabled, min_risk, digest, email_roles,
                               digest_sent_through, created_at";

fn channel_from_row(row: ChannelRow) -> Result<Channel, StoreError> {
    let (id, kind, name, hint, enabled, min_risk, digest, roles, sent_through, created_at) = row;
    let decode = |what| StoreError::Decode { what };
    Ok(Channel {
        id: AlertChannelId::from_uuid(id),
        kind: ChannelKind::parse(&kind).ok_or(decode("alert_channel.kind"))?,
        name,
        target_hint: hint,
        enabled,
        min_risk: RiskLevel::parse(&min_risk).ok_or(decode("alert_channel.min_risk"))?,
        digest,
        email_roles: roles
            .iter()
            .map(|r| Role::parse(r).ok_or(decode("alert_channel.email_roles")))
            .collect::<Result<_, _>>()?,
        digest_sent_through: sent_through,
        created_at,
    })
}

/// Creates a channel, encrypting its target. A risk of `none` is
/// [`StoreError::Rejected`] (a case is never opened below `low`).
pub async fn create(
    tx: &mut TenantTx,
    keys: &Keyring,
    c: &NewChannel,
) -> Result<AlertChannelId, StoreError> {
    let org = tx.org();
    let id = Uuid::new_v4();
    let target = crypto::encrypt(
        keys,
        &keys::ALERT_CHANNEL_TARGET.context(org, id),
        c.target.as_bytes(),
    )
    .map_err(|source| StoreError::Crypto {
        what: keys::ALERT_CHANNEL_TARGET.qualified,
        source,
    })?;
    let roles: Vec<&str> = c.email_roles.iter().map(|r| r.as_str()).collect();
    sqlx::query(
        "insert into alert_channel (org_id, id, kind, name, target_enc, target_hint, min_risk,
                                    digest, email_roles)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(org.as_uuid())
    .bind(id)
    .bind(c.kind.as_str())
    .bind(c.name.trim())
    .bind(target)
    .bind(c.target_hint.as_deref())
    .bind(c.min_risk.as_str())
    .bind(c.digest)
    .bind(&roles)
    .execute(tx.conn())
    .await?;
    Ok(AlertChannelId::from_uuid(id))
}

/// The organisation's channels, oldest first.
pub async fn list(tx: &mut TenantTx) -> Result<Vec<Channel>, StoreError> {
    let sql = format!("select {CHANNEL_COLUMNS} from alert_channel order by created_at, id");
    let rows: Vec<ChannelRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(tx.conn())
        .await?;
    rows.into_iter().map(channel_from_row).collect()
}

/// One channel.
pub async fn get(tx: &mut TenantTx, id: AlertChannelId) -> Result<Channel, StoreError> {
    let sql = format!("select {CHANNEL_COLUMNS} from alert_channel where id = $1");
    let row: Option<ChannelRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id.as_uuid())
        .fetch_optional(tx.conn())
        .await?;
    channel_from_row(super::found(row, "alert channel")?)
}

/// A channel's target, decrypted.
pub async fn target(
    tx: &mut TenantTx,
    keys: &Keyring,
    id: AlertChannelId,
) -> Result<Zeroizing<String>, StoreError> {
    let org = tx.org();
    let row: Option<(Vec<u8>,)> =
        sqlx::query_as("select target_enc from alert_channel where id = $1")
            .bind(id.as_uuid())
            .fetch_optional(tx.conn())
            .await?;
    let ciphertext = super::found(row, "alert channel")?.0;
    let crypt = |source| StoreError::Crypto {
        what: keys::ALERT_CHANNEL_TARGET.qualified,
        source,
    };
    let plain = crypto::decrypt(
        keys,
        &keys::ALERT_CHANNEL_TARGET.context(org, id.as_uuid()),
        &ciphertext,
    )
    .map_err(crypt)?;
    let text = std::str::from_utf8(&plain).map_err(|_| StoreError::Decode {
        what: keys::ALERT_CHANNEL_TARGET.qualified,
    })?;
    Ok(Zeroizing::new(text.to_owned()))
}

/// Deletes a channel (and, by cascade, its alert records).
pub async fn delete(tx: &mut TenantTx, id: AlertChannelId) -> Result<(), StoreError> {
    let done = sqlx::query("delete from alert_channel where id = $1")
        .bind(id.as_uuid())
        .execute(tx.conn())
        .await?;
    super::affected(done.rows_affected(), "alert channel")
}

/// Records that the digest of `day` was sent. Returns `false` when that day
/// (or a later one) was already recorded: the caller must not send again.
pub async fn mark_digest_sent(
    tx: &mut TenantTx,
    id: AlertChannelId,
    day: Date,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "update alert_channel set digest_sent_through = $2
         where id = $1 and (digest_sent_through is null or digest_sent_through < $2)",
    )
    .bind(id.as_uuid())
    .bind(day)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The organisation's lowest risk that opens a case (`org_settings`),
/// `medium` when it has no settings row.
pub async fn org_min_risk(tx: &mut TenantTx) -> Result<RiskLevel, StoreError> {
    let level: Option<String> = sqlx::query_scalar("select alert_min_risk from org_settings")
        .fetch_optional(tx.conn())
        .await?;
    match level {
        None => Ok(RiskLevel::Medium),
        Some(l) => RiskLevel::parse(&l).ok_or(StoreError::Decode {
            what: "org_settings.alert_min_risk",
        }),
    }
}

/// The email addresses of the organisation's members holding any of
/// `roles`, sorted and distinct.
pub async fn member_addresses(
    tx: &mut TenantTx,
    roles: &[Role],
) -> Result<Vec<String>, StoreError> {
    let roles: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    Ok(sqlx::query_scalar(
        "select distinct lower(u.email) as email
         from membership m join app_user u on u.id = m.user_id
         where m.org_id = $1 and m.role = any($2)
         order by email",
    )
    .bind(tx.org().as_uuid())
    .bind(&roles)
    .fetch_all(tx.conn())
    .await?)
}

/// Where an alert stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertStatus {
    /// Not sent yet (or being retried).
    Pending,
    /// Delivered.
    Sent,
    /// Given up after the last attempt; `last_error` says why.
    Failed,
}

impl AlertStatus {
    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Sent, Self::Failed]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// A stored alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// The id.
    pub id: AlertId,
    /// The case it is about.
    pub case_id: CaseId,
    /// The channel it goes to.
    pub channel_id: AlertChannelId,
    /// Where it stands.
    pub status: AlertStatus,
    /// Sending attempts so far.
    pub attempts: i32,
    /// When it was delivered.
    pub sent_at: Option<OffsetDateTime>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}

/// What [`open`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opened {
    /// The alert for this case and channel.
    pub id: AlertId,
    /// Whether this call created it.
    pub created: bool,
}

/// Records the `case_opened` alert of `case` to `channel` (pending), or
/// returns the one already recorded.
pub async fn open(
    tx: &mut TenantTx,
    case: CaseId,
    channel: AlertChannelId,
) -> Result<Opened, StoreError> {
    let new: Option<Uuid> = sqlx::query_scalar(
        "insert into alert (org_id, case_id, channel_id, kind) values ($1, $2, $3, 'case_opened')
         on conflict (org_id, case_id, channel_id, kind) do nothing
         returning id",
    )
    .bind(tx.org().as_uuid())
    .bind(case.as_uuid())
    .bind(channel.as_uuid())
    .fetch_optional(tx.conn())
    .await
    .map_err(|e| super::reference(e.into(), "case"))?;
    if let Some(id) = new {
        return Ok(Opened {
            id: AlertId::from_uuid(id),
            created: true,
        });
    }
    let existing: Option<Uuid> = sqlx::query_scalar(
        "select id from alert where case_id = $1 and channel_id = $2 and kind = 'case_opened'",
    )
    .bind(case.as_uuid())
    .bind(channel.as_uuid())
    .fetch_optional(tx.conn())
    .await?;
    Ok(Opened {
        id: AlertId::from_uuid(super::found(existing, "alert")?),
        created: false,
    })
}

type AlertRow = (
    Uuid,
    Uuid,
    Uuid,
    String,
    i32,
    Option<OffsetDateTime>,
    Option<String>,
);

fn alert_from_row(row: AlertRow) -> Result<Alert, StoreError> {
    let (id, case, channel, status, attempts, sent_at, last_error) = row;
    Ok(Alert {
        id: AlertId::from_uuid(id),
        case_id: CaseId::from_uuid(case),
        channel_id: AlertChannelId::from_uuid(channel),
        status: AlertStatus::parse(&status).ok_or(StoreError::Decode {
            what: "alert.status",
        })?,
        attempts,
        sent_at,
        last_error,
    })
}

/// One alert.
pub async fn get_alert(tx: &mut TenantTx, id: AlertId) -> Result<Alert, StoreError> {
    let row: Option<AlertRow> = sqlx::query_as(
        "select id, case_id, channel_id, status, attempts, sent_at, last_error
         from alert where id = $1",
    )
    .bind(id.as_uuid())
    .fetch_optional(tx.conn())
    .await?;
    alert_from_row(super::found(row, "alert")?)
}

/// The organisation's alerts, oldest first (for operators and tests).
pub async fn list_alerts(tx: &mut TenantTx) -> Result<Vec<Alert>, StoreError> {
    let rows: Vec<AlertRow> = sqlx::query_as(
        "select id, case_id, channel_id, status, attempts, sent_at, last_error
         from alert order by created_at, id",
    )
    .fetch_all(tx.conn())
    .await?;
    rows.into_iter().map(alert_from_row).collect()
}

/// Records one sending attempt: delivered (`error: None`), or failed with
/// `error` (no secrets: never the URL), `parked` when it was the last try.
pub async fn record_attempt(
    tx: &mut TenantTx,
    id: AlertId,
    error: Option<&str>,
    parked: bool,
) -> Result<(), StoreError> {
    let status = match (error, parked) {
        (None, _) => AlertStatus::Sent,
        (Some(_), true) => AlertStatus::Failed,
        (Some(_), false) => AlertStatus::Pending,
    };
    let error: Option<String> = error.map(|e| e.chars().take(2000).collect());
    let done = sqlx::query(
        "update alert set status = $2, attempts = attempts + 1, last_error = $3,
                          sent_at = case when $2 = 'sent' then now() else sent_at end
         where id = $1",
    )
    .bind(id.as_uuid())
    .bind(status.as_str())
    .bind(error)
    .execute(tx.conn())
    .await?;
    super::affected(done.rows_affected(), "alert")
}

/// What an alert says about a case: enough to act on, nothing secret.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseBrief {
    /// The case.
    pub case_id: CaseId,
    /// Its risk level.
    pub risk_level: RiskLevel,
    /// The verdict's score.
    pub risk_score: u8,
    /// The verdict's category.
    pub category: String,
    /// The message's subject.
    pub subject: Option<String>,
    /// The message's sender.
    pub from_address: Option<String>,
    /// When the case was opened.
    pub opened_at: OffsetDateTime,
    /// The verdict's signals (JSON array).
    pub signals: serde_json::Value,
    /// The verdict's extracted facts (account numbers already masked).
    pub extracted: serde_json::Value,
}

type BriefRow = (
    Uuid,
    String,
    Option<i16>,
    Option<String>,
    Option<String>,
    Option<String>,
    OffsetDateTime,
    Option<serde_json::Value>,
    Option<serde_json::Value>,
);

const BRIEF_SQL: &str = "select c.id, c.risk_level, a.risk_score, a.category, m.subject,
                                m.from_address, c.created_at, a.signals, a.extracted
                         from fraud_case c
                         join message m on m.id = c.message_id
                         left join assessment a on a.id = c.assessment_id";

fn brief_from_row(row: BriefRow) -> Result<CaseBrief, StoreError> {
    let (id, level, score, category, subject, from, opened_at, signals, extracted) = row;
    Ok(CaseBrief {
        case_id: CaseId::from_uuid(id),
        risk_level: RiskLevel::parse(&level).ok_or(StoreError::Decode {
            what: "fraud_case.risk_level",
        })?,
        risk_score: score.and_then(|s| u8::try_from(s).ok()).unwrap_or(0),
        category: category.unwrap_or_default(),
        subject,
        from_address: from,
        opened_at,
        signals: signals.unwrap_or(serde_json::Value::Array(Vec::new())),
        extracted: extracted.unwrap_or(serde_json::Value::Object(serde_json::Map::new())),
    })
}

/// One case's brief.
pub async fn case_brief(tx: &mut TenantTx, case: CaseId) -> Result<CaseBrief, StoreError> {
    let sql = format!("{BRIEF_SQL} where c.id = $1");
    let row: Option<BriefRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(case.as_uuid())
        .fetch_optional(tx.conn())
        .await?;
    brief_from_row(super::found(row, "case")?)
}

/// Briefs of the cases opened on `day` (UTC) at `min_risk` or above,
/// oldest first, at most 200.
pub async fn cases_opened_on(
    tx: &mut TenantTx,
    day: Date,
    min_risk: RiskLevel,
) -> Result<Vec<CaseBrief>, StoreError> {
    let levels: Vec<&str> = [
        RiskLevel::Low,
        RiskLevel::Medium,
        RiskLevel::High,
        RiskLevel::Critical,
    ]
    .into_iter()
    .filter(|l| *l >= min_risk)
    .map(RiskLevel::as_str)
    .collect();
    let sql = format!(
        "{BRIEF_SQL} where (c.created_at at time zone 'utc')::date = $1 and c.risk_level = any($2)
         order by c.created_at, c.id limit 200"
    );
    let rows: Vec<BriefRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(day)
        .bind(&levels)
        .fetch_all(tx.conn())
        .await?;
    rows.into_iter().map(brief_from_row).collect()
}
