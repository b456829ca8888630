//! Mailboxes the organisation connected. Only creation and lookup so far;
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
}

impl Provider {
    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::M365 => "m365",
            Self::Imap => "imap",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "m365" => Ok(Self::M365),
            "imap" => Ok(Self::Imap),
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
