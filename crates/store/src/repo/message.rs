//! Stored emails. The raw MIME is kept only encrypted
//! ([`keys::MESSAGE_RAW_MIME`], bound to the organisation and the message's
//! row id) and only until the retention purge removes it; everything else
//! about a message is metadata in clear.

use crate::crypto::{self, Keyring};
use crate::ids::{MailboxId, MessageId};
use crate::keys;
use crate::{StoreError, TenantTx};
use time::OffsetDateTime;
use uuid::Uuid;
use zeroize::Zeroizing;

/// A message as sync found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    /// The mailbox it came from.
    pub mailbox_id: MailboxId,
    /// The provider's id for it (unique within the mailbox).
    pub provider_message_id: String,
    /// The `Message-ID` header.
    pub internet_message_id: Option<String>,
    /// When the mailbox received it.
    pub received_at: OffsetDateTime,
    /// The `From` address.
    pub from_address: Option<String>,
    /// The `From` address's domain, lowercase.
    pub from_domain: Option<String>,
    /// The subject line.
    pub subject: Option<String>,
    /// The raw MIME, in clear: [`insert`] encrypts it. `None` when it is not
    /// kept (mail that is not about payments keeps none).
    pub raw_mime: Option<Vec<u8>>,
}

/// What [`insert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// The message is new.
    New(MessageId),
    /// The mailbox already had it (sync saw it again); nothing changed.
    Existing(MessageId),
}

impl Inserted {
    /// The message's id either way.
    pub fn id(self) -> MessageId {
        match self {
            Self::New(id) | Self::Existing(id) => id,
        }
    }
}

/// A stored message without its raw MIME.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageSummary {
    /// The id.
    pub id: MessageId,
    /// The mailbox it came from.
    pub mailbox_id: MailboxId,
    /// The provider's id.
    pub provider_message_id: String,
    /// The `Message-ID` header.
    pub internet_message_id: Option<String>,
    /// When the mailbox received it.
    pub received_at: OffsetDateTime,
    /// The `From` address.
    pub from_address: Option<String>,
    /// The subject line.
    pub subject: Option<String>,
    /// Whether the raw MIME is still stored.
    pub has_raw: bool,
    /// When the raw MIME was purged, if it was.
    pub raw_purged_at: Option<OffsetDateTime>,
}

type Row = (
    uuid::Uuid,
    uuid::Uuid,
    String,
    Option<String>,
    OffsetDateTime,
    Option<String>,
    Option<String>,
    bool,
    Option<OffsetDateTime>,
);

fn from_row(row: Row) -> MessageSummary {
    let (id, mailbox, provider_id, internet_id, received_at, from, subject, has_raw, purged) = row;
    MessageSummary {
        id: MessageId::from_uuid(id),
        mailbox_id: MailboxId::from_uuid(mailbox),
        provider_message_id: provider_id,
        internet_message_id: internet_id,
        received_at,
        from_address: from,
        subject,
        has_raw,
        raw_purged_at: purged,
    }
}

/// Stores a message once per mailbox, encrypting its raw MIME: seeing the
/// same provider id again is [`Inserted::Existing`], not an error, so sync can
/// be retried freely (the stored message is left as it was). A mailbox of
/// another organisation is [`StoreError::NotFound`].
pub async fn insert(
    tx: &mut TenantTx,
    keys: &Keyring,
    m: &NewMessage,
) -> Result<Inserted, StoreError> {
    let org = tx.org();
    // The ciphertext is bound to the row id, so the id is chosen here.
    let id = Uuid::new_v4();
    let raw = match &m.raw_mime {
        Some(raw) => Some(
            crypto::encrypt(keys, &keys::MESSAGE_RAW_MIME.context(org, id), raw).map_err(
                |source| StoreError::Crypto {
                    what: keys::MESSAGE_RAW_MIME.qualified,
                    source,
                },
            )?,
        ),
        None => None,
    };
    let new: Option<uuid::Uuid> = sqlx::query_scalar(
        "insert into message (org_id, id, mailbox_id, provider_message_id, internet_message_id,
                              received_at, from_address, from_domain, subject, raw_mime)
         values ($1, $2, $3, $4, $5, $6, $7, lower($8), $9, $10)
         on conflict (org_id, mailbox_id, provider_message_id) do nothing
         returning id",
    )
    .bind(org.as_uuid())
    .bind(id)
    .bind(m.mailbox_id.as_uuid())
    .bind(&m.provider_message_id)
    .bind(m.internet_message_id.as_deref())
    .bind(m.received_at)
    .bind(m.from_address.as_deref())
    .bind(m.from_domain.as_deref())
    .bind(m.subject.as_deref())
    .bind(raw.as_deref())
    .fetch_optional(tx.conn())
    .await
    .map_err(|e| super::reference(e.into(), "mailbox"))?;
    if let Some(id) = new {
        return Ok(Inserted::New(MessageId::from_uuid(id)));
    }
    let existing: Option<uuid::Uuid> = sqlx::query_scalar(
        "select id from message where mailbox_id = $1 and provider_message_id = $2",
    )
    .bind(m.mailbox_id.as_uuid())
    .bind(&m.provider_message_id)
    .fetch_optional(tx.conn())
    .await?;
    Ok(Inserted::Existing(MessageId::from_uuid(super::found(
        existing, "message",
    )?)))
}

/// [`insert`], and also once per organisation for the same `Message-ID` and
/// content digest (`content_sha256`, the caller's SHA-256 of what the sender
/// wrote: the copy of one email delivered to two monitored mailboxes is one
/// message). Either duplicate is [`Inserted::Existing`] with the stored
/// message's id. Concurrent inserts of the same message are safe: the unique
/// indexes decide, and the loser reads the winner's row.
pub async fn insert_deduplicated(
    tx: &mut TenantTx,
    keys: &Keyring,
    m: &NewMessage,
    content_sha256: &[u8; 32],
) -> Result<Inserted, StoreError> {
    let org = tx.org();
    let id = Uuid::new_v4();
    let raw = match &m.raw_mime {
        Some(raw) => Some(
            crypto::encrypt(keys, &keys::MESSAGE_RAW_MIME.context(org, id), raw).map_err(
                |source| StoreError::Crypto {
                    what: keys::MESSAGE_RAW_MIME.qualified,
                    source,
                },
            )?,
        ),
        None => None,
    };
    // No conflict target: either unique key (mailbox + provider id, or
    // Message-ID + content) makes this a duplicate.
    let new: Option<uuid::Uuid> = sqlx::query_scalar(
        "insert into message (org_id, id, mailbox_id, provider_message_id, internet_message_id,
                              received_at, from_address, from_domain, subject, raw_mime,
                              content_sha256)
         values ($1, $2, $3, $4, $5, $6, $7, lower($8), $9, $10, $11)
         on conflict do nothing
         returning id",
    )
    .bind(org.as_uuid())
    .bind(id)
    .bind(m.mailbox_id.as_uuid())
    .bind(&m.provider_message_id)
    .bind(m.internet_message_id.as_deref())
    .bind(m.received_at)
    .bind(m.from_address.as_deref())
    .bind(m.from_domain.as_deref())
    .bind(m.subject.as_deref())
    .bind(raw.as_deref())
    .bind(content_sha256.as_slice())
    .fetch_optional(tx.conn())
    .await
    .map_err(|e| super::reference(e.into(), "mailbox"))?;
    if let Some(id) = new {
        return Ok(Inserted::New(MessageId::from_uuid(id)));
    }
    let existing: Option<uuid::Uuid> = sqlx::query_scalar(
        "select id from message
         where (mailbox_id = $1 and provider_message_id = $2)
            or ($3::text is not null and internet_message_id = $3 and content_sha256 = $4)
         order by (mailbox_id = $1 and provider_message_id = $2) desc
         limit 1",
    )
    .bind(m.mailbox_id.as_uuid())
    .bind(&m.provider_message_id)
    .bind(m.internet_message_id.as_deref())
    .bind(content_sha256.as_slice())
    .fetch_optional(tx.conn())
    .await?;
    Ok(Inserted::Existing(MessageId::from_uuid(super::found(
        existing, "message",
    )?)))
}

/// Which of `provider_ids` are already stored for `mailbox`: a sync round
/// skips fetching those again (a full resync after an expired delta link
/// sees every message of the period).
pub async fn known_provider_ids(
    tx: &mut TenantTx,
    mailbox: MailboxId,
    provider_ids: &[String],
) -> Result<std::collections::HashSet<String>, StoreError> {
    let rows: Vec<String> = sqlx::query_scalar(
        "select provider_message_id from message
         where org_id = $1 and mailbox_id = $2 and provider_message_id = any($3)",
    )
    .bind(tx.org().as_uuid())
    .bind(mailbox.as_uuid())
    .bind(provider_ids)
    .fetch_all(tx.conn())
    .await?;
    Ok(rows.into_iter().collect())
}

/// Loads one message's metadata.
pub async fn get(tx: &mut TenantTx, id: MessageId) -> Result<MessageSummary, StoreError> {
    let row: Option<Row> = sqlx::query_as(
        "select id, mailbox_id, provider_message_id, internet_message_id, received_at,
                from_address, subject, raw_mime is not null, raw_purged_at
         from message where id = $1",
    )
    .bind(id.as_uuid())
    .fetch_optional(tx.conn())
    .await?;
    Ok(from_row(super::found(row, "message")?))
}

/// The raw MIME, decrypted, or `None` once purged or when never kept. Fails
/// with [`StoreError::Crypto`] when the ciphertext was moved from another
/// row, column or organisation, or tampered with.
pub async fn raw_mime(
    tx: &mut TenantTx,
    keys: &Keyring,
    id: MessageId,
) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
    let org = tx.org();
    let row: Option<(Option<Vec<u8>>,)> =
        sqlx::query_as("select raw_mime from message where id = $1")
            .bind(id.as_uuid())
            .fetch_optional(tx.conn())
            .await?;
    let Some(ciphertext) = super::found(row, "message")?.0 else {
        return Ok(None);
    };
    crypto::decrypt(
        keys,
        &keys::MESSAGE_RAW_MIME.context(org, id.as_uuid()),
        &ciphertext,
    )
    .map(Some)
    .map_err(|source| StoreError::Crypto {
        what: keys::MESSAGE_RAW_MIME.qualified,
        source,
    })
}

/// The most recently received messages, newest first, at most `limit`.
pub async fn list_recent(tx: &mut TenantTx, limit: u32) -> Result<Vec<MessageSummary>, StoreError> {
    let rows: Vec<Row> = sqlx::query_as(
        "select id, mailbox_id, provider_message_id, internet_message_id, received_at,
                from_address, subject, raw_mime is not null, raw_purged_at
         from message order by received_at desc, id limit $1",
    )
    .bind(i64::from(limit))
    .fetch_all(tx.conn())
    .await?;
    Ok(rows.into_iter().map(from_row).collect())
}
