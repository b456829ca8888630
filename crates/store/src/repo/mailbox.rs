//! Mailboxes the organisation connected, and the one pseudo-mailbox that
//! API submissions are filed under. Only creation and lookup so far;
//! sync state arrives with the mail-source crates, and credentials are in
//! [`super::mail_credential`].

use crate::ids::MailboxId;
use crate::{StoreError, TenantTx};

/// Where a mailbox's mail comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// Microsoft 365 through Graph.
    M365,
    /// Any IMAP server.
    Imap,
    /// Not a real mailbox: emails submitted through the API
    /// ([`submission_mailbox`]).
    Submission,
}

impl Provider {
    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::M365 => "m365",
            Self::Imap => "imap",
            Self::Submission => "submission",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "m365" => Ok(Self::M365),
            "imap" => Ok(Self::Imap),
            "submission" => Ok(Self::Submission),
            _ => Err(StoreError::Decode {
                what: "mailbox.provider",
            }),
        }
    }
}

/// A stored mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// The id.
    pub id: MailboxId,
    /// Its provider.
    pub provider: Provider,
    /// The address it receives at (lowercase).
    pub address: String,
    /// `active`, `paused`, `error` or `disconnected`.
    pub status: String,
}

/// Connects a mailbox (status `active`). The same address twice for one
/// provider is a [`StoreError::Conflict`].
pub async fn create(
    tx: &mut TenantTx,
    provider: Provider,
    address: &str,
) -> Result<MailboxId, StoreError> {
    let id: uuid::Uuid = sqlx::query_scalar(
        "insert into mailbox (org_id, provider, address) values ($1, $2, lower($3)) returning id",
    )
    .bind(tx.org().as_uuid())
    .bind(provider.as_str())
    .bind(address.trim())
    .fetch_one(tx.conn())
    .await?;
    Ok(MailboxId::from_uuid(id))
}

/// Loads one mailbox.
pub async fn get(tx: &mut TenantTx, id: MailboxId) -> Result<Mailbox, StoreError> {
    let row: Option<(uuid::Uuid, String, String, String)> =
        sqlx::query_as("select id, provider, address, status from mailbox where id = $1")
            .bind(id.as_uuid())
            .fetch_optional(tx.conn())
            .await?;
    let (id, provider, address, status) = super::found(row, "mailbox")?;
    Ok(Mailbox {
        id: MailboxId::from_uuid(id),
        provider: Provider::parse(&provider)?,
        address,
        status,
    })
}

/// The address of the organisation's one submission pseudo-mailbox.
pub const SUBMISSION_ADDRESS: &str = "api-submissions";

/// The organisation's pseudo-mailbox for emails submitted through the API,
/// created on first use. Concurrent first uses both get the same row.
pub async fn submission_mailbox(tx: &mut TenantTx) -> Result<MailboxId, StoreError> {
    let new: Option<uuid::Uuid> = sqlx::query_scalar(
        "insert into mailbox (org_id, provider, address) values ($1, 'submission', $2)
         on conflict (org_id, provider, address) do nothing
         returning id",
    )
    .bind(tx.org().as_uuid())
    .bind(SUBMISSION_ADDRESS)
    .fetch_optional(tx.conn())
    .await?;
    if let Some(id) = new {
        return Ok(MailboxId::from_uuid(id));
    }
    let existing: Option<uuid::Uuid> =
        sqlx::query_scalar("select id from mailbox where provider = 'submission' and address = $1")
            .bind(SUBMISSION_ADDRESS)
            .fetch_optional(tx.conn())
            .await?;
    Ok(MailboxId::from_uuid(super::found(existing, "mailbox")?))
}
