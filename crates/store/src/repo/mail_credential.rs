//! A mailbox's credential (OAuth tokens or an IMAP password), stored only
//! encrypted ([`keys::MAIL_CREDENTIAL`], bound to the organisation and row)
//! and deleted when the mailbox is disconnected.
//!
//! One credential per mailbox: storing again replaces the secret in the same
//! row. Storing and deleting are security-relevant, so each writes exactly one
//! audit event in the caller's transaction (never the secret itself).

use crate::audit::{self, NewEvent};
use crate::crypto::{self, ExposeSecret, Keyring, SecretString};
use crate::ids::{MailCredentialId, MailboxId};
use crate::keys;
use crate::{StoreError, TenantTx};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;
use zeroize::Zeroize as _;

/// A decrypted credential. `Debug` never shows the secret.
#[derive(Debug)]
pub struct MailCredential {
    /// The row's id.
    pub id: MailCredentialId,
    /// The mailbox it opens.
    pub mailbox_id: MailboxId,
    /// The customer's Entra tenant (M365) or server name (IMAP); not secret.
    pub provider_tenant_id: Option<String>,
    /// The tokens or password.
    pub secret: SecretString,
    /// When the secret stops working, if known.
    pub expires_at: Option<OffsetDateTime>,
}

/// id, provider tenant, ciphertext, expiry.
type Row = (Uuid, Option<String>, Vec<u8>, Option<OffsetDateTime>);

fn actor(tx: &TenantTx) -> &'static str {
    if tx.user().is_some() {
        "user"
    } else {
        "system"
    }
}

/// Stores `secret` for `mailbox`, replacing any credential it had. A mailbox
/// of another organisation is [`StoreError::NotFound`].
pub async fn store(
    tx: &mut TenantTx,
    keys: &Keyring,
    mailbox: MailboxId,
    provider_tenant_id: Option<&str>,
    secret: &SecretString,
    expires_at: Option<OffsetDateTime>,
) -> Result<MailCredentialId, StoreError> {
    let (id, replaced) = write(tx, keys, mailbox, provider_tenant_id, secret, expires_at).await?;
    let event = NewEvent::new(actor(tx), "mailbox.credential.store")
        .target("mailbox", mailbox.to_string())
        .details(json!({ "credential_id": id.to_string(), "replaced": replaced }));
    audit::append(tx, event).await?;
    Ok(id)
}

/// [`store`] without its audit event, for callers that record the change
/// in an event of their own (one per state change). Returns the id and
/// whether a credential was replaced.
pub(crate) async fn write(
    tx: &mut TenantTx,
    keys: &Keyring,
    mailbox: MailboxId,
    provider_tenant_id: Option<&str>,
    secret: &SecretString,
    expires_at: Option<OffsetDateTime>,
) -> Result<(MailCredentialId, bool), StoreError> {
    let org = tx.org();
    // The ciphertext is bound to the row id, so the id must be known before
    // encrypting: reuse the existing row's (locked), or pick a new one.
    let existing: Option<Uuid> =
        sqlx::query_scalar("select id from mail_credential where mailbox_id = $1 for update")
            .bind(mailbox.as_uuid())
            .fetch_optional(tx.conn())
            .await?;
    let id = existing.unwrap_or_else(Uuid::new_v4);
    let ciphertext = crypto::encrypt(
        keys,
        &keys::MAIL_CREDENTIAL.context(org, id),
        secret.expose_secret().as_bytes(),
    )
    .map_err(|source| StoreError::Crypto {
        what: keys::MAIL_CREDENTIAL.qualified,
        source,
    })?;
    if existing.is_some() {
        sqlx::query(
            "update mail_credential
                set secret_enc = $2, provider_tenant_id = $3, expires_at = $4
              where id = $1",
        )
        .bind(id)
        .bind(&ciphertext)
        .bind(provider_tenant_id)
        .bind(expires_at)
        .execute(tx.conn())
        .await?;
    } else {
        // A concurrent first store for the same mailbox makes this a
        // Conflict (unique (org_id, mailbox_id)); the caller retries.
        sqlx::query(
            "insert into mail_credential
               (org_id, id, mailbox_id, provider_tenant_id, secret_enc, expires_at)
             values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(org.as_uuid())
        .bind(id)
        .bind(mailbox.as_uuid())
        .bind(provider_tenant_id)
        .bind(&ciphertext)
        .bind(expires_at)
        .execute(tx.conn())
        .await
        .map_err(|e| super::reference(e.into(), "mailbox"))?;
    }
    Ok((MailCredentialId::from_uuid(id), existing.is_some()))
}

/// The mailbox's credential, decrypted, or `None` when it has none. Fails
/// with [`StoreError::Crypto`] when the ciphertext was moved or tampered with.
pub async fn get(
    tx: &mut TenantTx,
    keys: &Keyring,
    mailbox: MailboxId,
) -> Result<Option<MailCredential>, StoreError> {
    let org = tx.org();
    let row: Option<Row> = sqlx::query_as(
        "select id, provider_tenant_id, secret_enc, expires_at
         from mail_credential where mailbox_id = $1",
    )
    .bind(mailbox.as_uuid())
    .fetch_optional(tx.conn())
    .await?;
    let Some((id, provider_tenant_id, ciphertext, expires_at)) = row else {
        return Ok(None);
    };
    let mut plain = crypto::decrypt(keys, &keys::MAIL_CREDENTIAL.context(org, id), &ciphertext)
        .map_err(|source| StoreError::Crypto {
            what: keys::MAIL_CREDENTIAL.qualified,
            source,
        })?;
    // Moved out of the wiping buffer into the wiping secret: no stray copy.
    let text = String::from_utf8(std::mem::take(&mut *plain)).map_err(|e| {
        e.into_bytes().zeroize();
        StoreError::Decode {
            what: keys::MAIL_CREDENTIAL.qualified,
        }
    })?;
    Ok(Some(MailCredential {
        id: MailCredentialId::from_uuid(id),
        mailbox_id: mailbox,
        provider_tenant_id,
        secret: SecretString::from(text),
        expires_at,
    }))
}

/// Deletes the mailbox's credential (on disconnect). Returns whether there
/// was one; only an actual deletion is audited.
pub async fn delete(tx: &mut TenantTx, mailbox: MailboxId) -> Result<bool, StoreError> {
    let Some(id) = remove(tx, mailbox).await? else {
        return Ok(false);
    };
    let event = NewEvent::new(actor(tx), "mailbox.credential.delete")
        .target("mailbox", mailbox.to_string())
        .details(json!({ "credential_id": id.to_string() }));
    audit::append(tx, event).await?;
    Ok(true)
}

/// [`delete`] without its audit event, for callers whose own event records
/// the deletion (one event per state change). Returns the deleted row's id.
pub(crate) async fn remove(
    tx: &mut TenantTx,
    mailbox: MailboxId,
) -> Result<Option<Uuid>, StoreError> {
    Ok(
        sqlx::query_scalar("delete from mail_credential where mailbox_id = $1 returning id")
            .bind(mailbox.as_uuid())
            .fetch_optional(tx.conn())
            .await?,
    )
}
