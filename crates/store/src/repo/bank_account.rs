//! Suppliers' bank accounts: the one place full account numbers are stored,
//! and only encrypted.
//!
//! Each row keeps three forms of the account. The **ciphertext** of the full
//! account ([`keys::BANK_ACCOUNT`], bound to the organisation and row) is
//! decrypted only by [`reveal`], for the owner's own screens. The **blind
//! index** (a per-organisation HMAC of the canonical account, under the
//! keyring's separate `bi` key) answers "is this account verified for this
//! supplier?" and "is it used by another supplier?" by equality, without
//! decrypting anything ([`find_by_account`]). The **masked** form
//! (`20-29-59 ****8472`) is the only clear text.
//!
//! Adding, approving and retiring an account are security-relevant: each
//! writes exactly one audit event in the caller's transaction, so the change
//! and its record commit or roll back together. Events carry the masked form,
//! never the account.

use crate::audit::{self, NewEvent};
use crate::crypto::{self, Keyring};
use crate::ids::BankAccountId;
use crate::keys;
use crate::{StoreError, TenantTx};
use sentra_domain::bank::{
    AbaRouting, AccountNumber, BankAccount, Bic, Bsb, Iban, Scheme, SortCode, UkAccountNumber,
};
use sentra_domain::{SupplierId, UserId};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;
use zeroize::Zeroizing;

/// Where an account stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    /// Verified (by a call-back) and used for payments.
    Active,
    /// Proposed, not yet verified: payments must not go to it.
    PendingApproval,
    /// No longer used; kept for history and for matching old invoices.
    Retired,
}

impl AccountStatus {
    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::PendingApproval => "pending_approval",
            Self::Retired => "retired",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "active" => Ok(Self::Active),
            "pending_approval" => Ok(Self::PendingApproval),
            "retired" => Ok(Self::Retired),
            _ => Err(StoreError::Decode {
                what: "supplier_bank_account.status",
            }),
        }
    }
}

/// A stored account without its number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankAccountSummary {
    /// The id.
    pub id: BankAccountId,
    /// Whose account it is.
    pub supplier_id: SupplierId,
    /// The scheme.
    pub scheme: Scheme,
    /// The masked form, for example `20-29-59 ****8472`.
    pub masked: String,
    /// Where it stands.
    pub status: AccountStatus,
    /// Who verified it, once verified.
    pub verified_by: Option<UserId>,
    /// When it was verified.
    pub verified_at: Option<OffsetDateTime>,
}

type Row = (
    Uuid,
    Uuid,
    String,
    String,
    String,
    Option<Uuid>,
    Option<OffsetDateTime>,
);

fn from_row(row: Row) -> Result<BankAccountSummary, StoreError> {
    let (id, supplier, scheme, masked, status, verified_by, verified_at) = row;
    Ok(BankAccountSummary {
        id: BankAccountId::from_uuid(id),
        supplier_id: SupplierId::from_uuid(supplier),
        scheme: parse_scheme(&scheme)?,
        masked,
        status: AccountStatus::parse(&status)?,
        verified_by: verified_by.map(UserId::from_uuid),
        verified_at,
    })
}

fn parse_scheme(s: &str) -> Result<Scheme, StoreError> {
    match s {
        "uk" => Ok(Scheme::Uk),
        "iban" => Ok(Scheme::Iban),
        "au" => Ok(Scheme::Au),
        "us" => Ok(Scheme::Us),
        _ => Err(StoreError::Decode {
            what: "supplier_bank_account.scheme",
        }),
    }
}

/// Who acted, as the audit log shows it.
fn actor(tx: &TenantTx) -> &'static str {
    if tx.user().is_some() {
        "user"
    } else {
        "system"
    }
}

/// Adds an account to `supplier`, with `status`. An `Active` account needs
/// `verified_by` (who confirmed it by call-back); the verification time is
/// the transaction's. The same live account twice for one supplier is a
/// [`StoreError::Conflict`]; another organisation's supplier is
/// [`StoreError::NotFound`].
pub async fn add(
    tx: &mut TenantTx,
    keys: &Keyring,
    supplier: SupplierId,
    account: &BankAccount,
    status: AccountStatus,
    verified_by: Option<UserId>,
) -> Result<BankAccountId, StoreError> {
    let (id, masked) = insert(tx, keys, supplier, account, status, verified_by).await?;
    let event = NewEvent::new(actor(tx), "supplier.bank_account.add")
        .target("supplier_bank_account", id.to_string())
        .details(json!({
            "supplier_id": supplier.to_string(),
            "scheme": account.scheme().as_str(),
            "masked": masked,
            "status": status.as_str(),
        }));
    audit::append(tx, event).await?;
    Ok(id)
}

/// [`add`] without the audit event, for callers that record the whole
/// action (a proposed change, an import) as one event of their own.
/// Returns the id and the masked form.
pub(crate) async fn insert(
    tx: &mut TenantTx,
    keys: &Keyring,
    supplier: SupplierId,
    account: &BankAccount,
    status: AccountStatus,
    verified_by: Option<UserId>,
) -> Result<(BankAccountId, String), StoreError> {
    let org = tx.org();
    let id = Uuid::new_v4();
    let plaintext = plaintext(account);
    let ciphertext = crypto::encrypt(
        keys,
        &keys::BANK_ACCOUNT.context(org, id),
        plaintext.as_bytes(),
    )
    .map_err(|source| StoreError::Crypto {
        what: keys::BANK_ACCOUNT.qualified,
        source,
    })?;
    let index = crypto::bank_account_index(keys, org, account);
    let masked = crypto::masked_display(account);
    sqlx::query(
        "insert into supplier_bank_account
           (org_id, id, supplier_id, scheme, masked, ciphertext, blind_index, bi_key_id,
            status, verified_by, verified_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
                 case when $10::uuid is null then null else now() end)",
    )
    .bind(org.as_uuid())
    .bind(id)
    .bind(supplier.as_uuid())
    .bind(account.scheme().as_str())
    .bind(&masked)
    .bind(&ciphertext)
    .bind(index.as_bytes().as_slice())
    .bind(index.key_id().as_str())
    .bind(status.as_str())
    .bind(verified_by.map(|u| u.as_uuid()))
    .execute(tx.conn())
    .await
    .map_err(|e| super::reference(e.into(), "supplier"))?;
    Ok((BankAccountId::from_uuid(id), masked))
}

/// Activates a pending account without an audit event (the caller records
/// the approval). Returns its masked form.
pub(crate) async fn activate(
    tx: &mut TenantTx,
    id: BankAccountId,
    verified_by: UserId,
) -> Result<String, StoreError> {
    let row: Option<String> = sqlx::query_scalar(
        "update supplier_bank_account
            set status = 'active', verified_by = $2, verified_at = now()
          where id = $1 and status = 'pending_approval'
          returning masked",
    )
    .bind(id.as_uuid())
    .bind(verified_by.as_uuid())
    .fetch_optional(tx.conn())
    .await?;
    match row {
        Some(masked) => Ok(masked),
        None => Err(refused(tx, id, AccountStatus::Active).await),
    }
}

/// Retires every active account of `supplier` except `keep`, without audit
/// events (the caller records the approval that replaced them). Returns the
/// retired accounts' masked forms.
pub(crate) async fn retire_active_except(
    tx: &mut TenantTx,
    supplier: SupplierId,
    keep: BankAccountId,
) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "update supplier_bank_account set status = 'retired'
          where supplier_id = $1 and id <> $2 and status = 'active'
          returning masked",
    )
    .bind(supplier.as_uuid())
    .bind(keep.as_uuid())
    .fetch_all(tx.conn())
    .await?)
}

/// Retires one pending account without an audit event (a rejected
/// proposal). An account in another state is left alone.
pub(crate) async fn retire_pending(tx: &mut TenantTx, id: BankAccountId) -> Result<(), StoreError> {
    sqlx::query(
        "update supplier_bank_account set status = 'retired'
          where id = $1 and status = 'pending_approval'",
    )
    .bind(id.as_uuid())
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Marks a pending account verified by `verified_by` (now) and active.
/// Any other current status is [`StoreError::InvalidTransition`].
pub async fn approve(
    tx: &mut TenantTx,
    id: BankAccountId,
    verified_by: UserId,
) -> Result<(), StoreError> {
    let row: Option<(Uuid, String)> = sqlx::query_as(
        "update supplier_bank_account
            set status = 'active', verified_by = $2, verified_at = now()
          where id = $1 and status = 'pending_approval'
          returning supplier_id, masked",
    )
    .bind(id.as_uuid())
    .bind(verified_by.as_uuid())
    .fetch_optional(tx.conn())
    .await?;
    let Some((supplier, masked)) = row else {
        return Err(refused(tx, id, AccountStatus::Active).await);
    };
    let event = NewEvent::new(actor(tx), "supplier.bank_account.approve")
        .target("supplier_bank_account", id.to_string())
        .details(json!({
            "supplier_id": supplier.to_string(),
            "masked": masked,
            "verified_by": verified_by.to_string(),
        }));
    audit::append(tx, event).await?;
    Ok(())
}

/// Retires an active or pending account. Retiring a retired one is
/// [`StoreError::InvalidTransition`].
pub async fn retire(tx: &mut TenantTx, id: BankAccountId) -> Result<(), StoreError> {
    let row: Option<(Uuid, String, String)> = sqlx::query_as(
        "with old as (
           select id, status from supplier_bank_account
            where id = $1 and status <> 'retired' for update
         )
         update supplier_bank_account a set status = 'retired'
           from old where a.id = old.id
         returning a.supplier_id, a.masked, old.status",
    )
    .bind(id.as_uuid())
    .fetch_optional(tx.conn())
    .await?;
    let Some((supplier, masked, from)) = row else {
        return Err(refused(tx, id, AccountStatus::Retired).await);
    };
    let event = NewEvent::new(actor(tx), "supplier.bank_account.retire")
        .target("supplier_bank_account", id.to_string())
        .details(json!({
            "supplier_id": supplier.to_string(),
            "masked": masked,
            "from": from,
        }));
    audit::append(tx, event).await?;
    Ok(())
}

/// Why an update touched no row: the account is not visible, or its status
/// does not allow going `to`.
async fn refused(tx: &mut TenantTx, id: BankAccountId, to: AccountStatus) -> StoreError {
    let status: Result<Option<String>, _> =
        sqlx::query_scalar("select status from supplier_bank_account where id = $1")
            .bind(id.as_uuid())
            .fetch_optional(tx.conn())
            .await;
    match status {
        Ok(Some(from)) => StoreError::InvalidTransition {
            what: "supplier_bank_account",
            from,
            to: to.as_str().to_owned(),
        },
        Ok(None) => StoreError::NotFound {
            what: "supplier_bank_account",
        },
        Err(e) => e.into(),
    }
}

/// Loads one account's summary.
pub async fn get(tx: &mut TenantTx, id: BankAccountId) -> Result<BankAccountSummary, StoreError> {
    let row: Option<Row> = sqlx::query_as(
        "select id, supplier_id, scheme, masked, status, verified_by, verified_at
         from supplier_bank_account where id = $1",
    )
    .bind(id.as_uuid())
    .fetch_optional(tx.conn())
    .await?;
    from_row(super::found(row, "supplier_bank_account")?)
}

/// A supplier's accounts, oldest first, retired ones included.
pub async fn list_for_supplier(
    tx: &mut TenantTx,
    supplier: SupplierId,
) -> Result<Vec<BankAccountSummary>, StoreError> {
    let rows: Vec<Row> = sqlx::query_as(
        "select id, supplier_id, scheme, masked, status, verified_by, verified_at
         from supplier_bank_account where supplier_id = $1 order by created_at, id",
    )
    .bind(supplier.as_uuid())
    .fetch_all(tx.conn())
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// Every supplier of the organisation that has `account` on file, with that
/// account's status: "is this account verified for this supplier?", "is it
/// used by another supplier?". Matches by blind index only, so nothing is
/// decrypted; a GB IBAN matches the sort code and account inside it. The
/// 128-bit index makes a false match negligible (about 2^-128 per pair).
pub async fn find_by_account(
    tx: &mut TenantTx,
    keys: &Keyring,
    account: &BankAccount,
) -> Result<Vec<(SupplierId, AccountStatus)>, StoreError> {
    let org = tx.org();
    let index = crypto::bank_account_index(keys, org, account);
    let rows: Vec<(Uuid, String)> = sqlx::query_as(
        "select supplier_id, status from supplier_bank_account
          where org_id = $1 and blind_index = $2 and bi_key_id = $3
          order by created_at, id",
    )
    .bind(org.as_uuid())
    .bind(index.as_bytes().as_slice())
    .bind(index.key_id().as_str())
    .fetch_all(tx.conn())
    .await?;
    rows.into_iter()
        .map(|(supplier, status)| {
            Ok((
                SupplierId::from_uuid(supplier),
                AccountStatus::parse(&status)?,
            ))
        })
        .collect()
}

/// Every active (verified) account of the organisation, decrypted, with its
/// supplier: what the engine's supplier directory needs to tell a known
/// account from a new one. Oldest first.
pub async fn reveal_active(
    tx: &mut TenantTx,
    keys: &Keyring,
) -> Result<Vec<(SupplierId, BankAccount)>, StoreError> {
    let rows: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "select id, supplier_id from supplier_bank_account
          where status = 'active' order by created_at, id",
    )
    .fetch_all(tx.conn())
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, supplier) in rows {
        let account = reveal(tx, keys, BankAccountId::from_uuid(id)).await?;
        out.push((SupplierId::from_uuid(supplier), account));
    }
    Ok(out)
}

/// Decrypts one account, for the organisation's own screens. Fails with
/// [`StoreError::Crypto`] when the ciphertext was moved from another row,
/// column or organisation, or tampered with.
pub async fn reveal(
    tx: &mut TenantTx,
    keys: &Keyring,
    id: BankAccountId,
) -> Result<BankAccount, StoreError> {
    let org = tx.org();
    let row: Option<Vec<u8>> =
        sqlx::query_scalar("select ciphertext from supplier_bank_account where id = $1")
            .bind(id.as_uuid())
            .fetch_optional(tx.conn())
            .await?;
    let ciphertext = super::found(row, "supplier_bank_account")?;
    let plain = crypto::decrypt(
        keys,
        &keys::BANK_ACCOUNT.context(org, id.as_uuid()),
        &ciphertext,
    )
    .map_err(|source| StoreError::Crypto {
        what: keys::BANK_ACCOUNT.qualified,
        source,
    })?;
    let text = std::str::from_utf8(&plain).map_err(|_| StoreError::Decode {
        what: keys::BANK_ACCOUNT.qualified,
    })?;
    parse_plaintext(text).ok_or(StoreError::Decode {
        what: keys::BANK_ACCOUNT.qualified,
    })
}

/// The encrypted text of an account: every part, in the form it was given
/// (an IBAN stays an IBAN, with its BIC), unlike the blind index's canonical
/// key, which folds a GB IBAN into its sort code and account.
fn plaintext(account: &BankAccount) -> Zeroizing<String> {
    Zeroizing::new(match account {
        BankAccount::Uk { sort_code, account } => {
            format!("uk:{}:{}", sort_code.as_str(), account.as_str())
        }
        BankAccount::Iban { iban, bic: None } => format!("iban:{}", iban.as_str()),
        BankAccount::Iban {
            iban,
            bic: Some(bic),
        } => {
            format!("iban:{}:{}", iban.as_str(), bic.as_str())
        }
        BankAccount::Au { bsb, account } => format!("au:{}:{}", bsb.as_str(), account.as_str()),
        BankAccount::Us { routing, account } => {
            format!("us:{}:{}", routing.as_str(), account.as_str())
        }
    })
}

/// The inverse of [`plaintext`]. Checksums are not re-checked: an account is
/// stored as it was given, and a wrong checksum is evidence, not an error.
fn parse_plaintext(text: &str) -> Option<BankAccount> {
    let mut parts = text.split(':');
    let (scheme, first, second) = (parts.next()?, parts.next()?, parts.next());
    if parts.next().is_some() {
        return None;
    }
    Some(match (scheme, second) {
        ("uk", Some(account)) => BankAccount::Uk {
            sort_code: SortCode::parse(first).ok()?,
            account: UkAccountNumber::parse(account).ok()?,
        },
        ("iban", bic) => BankAccount::Iban {
            iban: Iban::parse_format(first).ok()?,
            bic: match bic {
                Some(b) => Some(Bic::parse(b).ok()?),
                None => None,
            },
        },
        ("au", Some(account)) => BankAccount::Au {
            bsb: Bsb::parse(first).ok()?,
            account: AccountNumber::parse(account).ok()?,
        },
        ("us", Some(account)) => BankAccount::Us {
            routing: AbaRouting::parse_format(first).ok()?,
            account: AccountNumber::parse(account).ok()?,
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accounts() -> Vec<BankAccount> {
        vec![
            BankAccount::Uk {
                sort_code: SortCode::parse("20-29-59").unwrap(),
                account: UkAccountNumber::parse("63748472").unwrap(),
            },
            BankAccount::Iban {
                iban: Iban::parse("GB29 NWBK 6016 1331 9268 19").unwrap(),
                bic: None,
            },
            BankAccount::Iban {
                iban: Iban::parse("DE89 3704 0044 0532 0130 00").unwrap(),
                bic: Some(Bic::parse("COBADEFFXXX").unwrap()),
            },
            BankAccount::Au {
                bsb: Bsb::parse("062-000").unwrap(),
                account: AccountNumber::parse("12345678").unwrap(),
            },
            BankAccount::Us {
                routing: AbaRouting::parse("021000021").unwrap(),
                account: AccountNumber::parse("12345678901234567").unwrap(),
            },
        ]
    }

    #[test]
    fn every_scheme_survives_the_encrypted_text_round_trip() {
        for account in accounts() {
            let text = plaintext(&account);
            assert_eq!(parse_plaintext(&text), Some(account.clone()), "{account}");
        }
    }

    #[test]
    fn a_gb_iban_stays_an_iban_in_the_encrypted_text() {
        let iban = &accounts()[1];
        assert_eq!(&*plaintext(iban), "iban:GB29NWBK60161331926819");
        assert!(iban.canonical_key().starts_with("uk:"));
    }

    #[test]
    fn malformed_encrypted_text_is_refused() {
        for bad in [
            "",
            "uk",
            "uk:202959",
            "uk:202959:63748472:x",
            "zz:1:2",
            "iban:NOTANIBAN",
            "us:abc:123",
        ] {
            assert_eq!(parse_plaintext(bad), None, "{bad}");
        }
    }

    #[test]
    fn status_spellings_round_trip_and_unknown_ones_are_a_decode_error() {
        for s in [
            AccountStatus::Active,
            AccountStatus::PendingApproval,
            AccountStatus::Retired,
        ] {
            assert_eq!(AccountStatus::parse(s.as_str()).unwrap(), s);
        }
        assert!(matches!(
            AccountStatus::parse("deleted"),
            Err(StoreError::Decode { .. })
        ));
        assert!(parse_scheme("swift").is_err());
    }
}
