//! Suppliers: the organisation's directory of people it pays. Their bank
//! accounts are in [`super::bank_account`].

use crate::{StoreError, TenantTx};
use sentra_domain::{SupplierId, UserId};
use sqlx::AssertSqlSafe;
use time::OffsetDateTime;

/// Whether a supplier is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SupplierStatus {
    /// In the directory the engine matches against.
    Active,
    /// Kept for history, not matched.
    Archived,
}

impl SupplierStatus {
    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Archived => "archived",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "active" => Ok(Self::Active),
            "archived" => Ok(Self::Archived),
            _ => Err(StoreError::Decode {
                what: "supplier.status",
            }),
        }
    }
}

/// The editable fields of a supplier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupplierFields {
    /// Display name.
    pub name: String,
    /// Sending domains (stored lowercased, trimmed, deduplicated).
    pub domains: Vec<String>,
    /// ISO 3166-1 alpha-2 country code, uppercase.
    pub country: Option<String>,
    /// Whether it is matched against.
    pub status: SupplierStatus,
}

/// A stored supplier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Supplier {
    /// The id.
    pub id: SupplierId,
    /// The editable fields.
    pub fields: SupplierFields,
    /// The verified call-back number, if one is on file. It changes only
    /// through an approved [`super::supplier_change`].
    pub verified_phone: Option<String>,
    /// Where that number came from (for example "supplier's letterhead,
    /// checked against Companies House"), never an email.
    pub phone_source: Option<String>,
    /// Who approved the number.
    pub phone_verified_by: Option<UserId>,
    /// When it was approved.
    pub phone_verified_at: Option<OffsetDateTime>,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it last changed.
    pub updated_at: OffsetDateTime,
}

type Row = (
    uuid::Uuid,
    String,
    Vec<String>,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    Option<uuid::Uuid>,
    Option<OffsetDateTime>,
    OffsetDateTime,
    OffsetDateTime,
);

/// The columns [`Row`] reads, in order.
const COLUMNS: &str = "id, name, domains, country, status, verified_phone, phone_source, \
                       phone_verified_by, phone_verified_at, created_at, updated_at";

fn from_row(row: Row) -> Result<Supplier, StoreError> {
    let (
        id,
        name,
        domains,
        country,
        status,
        verified_phone,
        phone_source,
        phone_verified_by,
        phone_verified_at,
        created_at,
        updated_at,
    ) = row;
    Ok(Supplier {
        id: SupplierId::from_uuid(id),
        fields: SupplierFields {
            name,
            domains,
            country,
            status: SupplierStatus::parse(&status)?,
        },
        verified_phone,
        phone_source,
        phone_verified_by: phone_verified_by.map(UserId::from_uuid),
        phone_verified_at,
        created_at,
        updated_at,
    })
}

fn normalised_domains(domains: &[String]) -> Vec<String> {
    let mut out: Vec<String> = domains
        .iter()
        .map(|d| d.trim().trim_end_matches('.').to_ascii_lowercase())
        .filter(|d| !d.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Adds a supplier to the transaction's organisation.
pub async fn create(tx: &mut TenantTx, fields: &SupplierFields) -> Result<SupplierId, StoreError> {
    let id: uuid::Uuid = sqlx::query_scalar(
        "insert into supplier (org_id, name, domains, country, status)
         values ($1, $2, $3, $4, $5) returning id",
    )
    .bind(tx.org().as_uuid())
    .bind(fields.name.trim())
    .bind(normalised_domains(&fields.domains))
    .bind(fields.country.as_deref())
    .bind(fields.status.as_str())
    .fetch_one(tx.conn())
    .await?;
    Ok(SupplierId::from_uuid(id))
}

/// Loads one supplier; another organisation's id is [`StoreError::NotFound`].
pub async fn get(tx: &mut TenantTx, id: SupplierId) -> Result<Supplier, StoreError> {
    let row: Option<Row> = sqlx::query_as(AssertSqlSafe(format!(
        "select {COLUMNS} from supplier where id = $1"
    )))
    .bind(id.as_uuid())
    .fetch_optional(tx.conn())
    .await?;
    from_row(super::found(row, "supplier")?)
}

/// Every supplier of the organisation, by name.
pub async fn list(tx: &mut TenantTx) -> Result<Vec<Supplier>, StoreError> {
    let rows: Vec<Row> = sqlx::query_as(AssertSqlSafe(format!(
        "select {COLUMNS} from supplier order by lower(name), id"
    )))
    .fetch_all(tx.conn())
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// Suppliers whose name or one of whose domains contains `query`
/// (case-insensitive), by name, at most `limit`.
pub async fn search(
    tx: &mut TenantTx,
    query: &str,
    limit: u32,
) -> Result<Vec<Supplier>, StoreError> {
    let rows: Vec<Row> = sqlx::query_as(AssertSqlSafe(format!(
        "select {COLUMNS} from supplier
          where strpos(lower(name), lower($1)) > 0
             or exists (select 1 from unnest(domains) d where strpos(d, lower($1)) > 0)
          order by lower(name), id limit $2"
    )))
    .bind(query.trim())
    .bind(i64::from(limit))
    .fetch_all(tx.conn())
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// The supplier called `name` (trimmed, case-insensitive), if any: imports
/// update the existing record rather than adding a twin.
pub async fn find_by_name(tx: &mut TenantTx, name: &str) -> Result<Option<Supplier>, StoreError> {
    let row: Option<Row> = sqlx::query_as(AssertSqlSafe(format!(
        "select {COLUMNS} from supplier where lower(name) = lower($1)
          order by created_at, id limit 1"
    )))
    .bind(name.trim())
    .fetch_optional(tx.conn())
    .await?;
    row.map(from_row).transpose()
}

/// Records an approved call-back number (only [`super::supplier_change`]
/// calls this, after dual control).
pub(crate) async fn set_verified_phone(
    tx: &mut TenantTx,
    id: SupplierId,
    phone: &str,
    source: Option<&str>,
    approved_by: UserId,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "update supplier set verified_phone = $2, phone_source = $3,
                phone_verified_by = $4, phone_verified_at = now()
          where id = $1",
    )
    .bind(id.as_uuid())
    .bind(phone)
    .bind(source)
    .bind(approved_by.as_uuid())
    .execute(tx.conn())
    .await?;
    super::affected(done.rows_affected(), "supplier")
}

/// Replaces a supplier's editable fields.
pub async fn update(
    tx: &mut TenantTx,
    id: SupplierId,
    fields: &SupplierFields,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "update supplier set name = $2, domains = $3, country = $4, status = $5 where id = $1",
    )
    .bind(id.as_uuid())
    .bind(fields.name.trim())
    .bind(normalised_domains(&fields.domains))
    .bind(fields.country.as_deref())
    .bind(fields.status.as_str())
    .execute(tx.conn())
    .await?;
    super::affected(done.rows_affected(), "supplier")
}

/// Deletes a supplier and its bank accounts; invoices keep their data but
/// lose the link.
pub async fn delete(tx: &mut TenantTx, id: SupplierId) -> Result<(), StoreError> {
    let done = sqlx::query("delete from supplier where id = $1")
        .bind(id.as_uuid())
        .execute(tx.conn())
        .await?;
    super::affected(done.rows_affected(), "supplier")
}

/// Provisioning only (`sentra demo`'s seed, operator tooling): records the
/// supplier's verified call-back number, where it came from (`source`:
/// "phoned the number on the signed contract", …) and who verified it, now,
/// without dual control. Writes one `supplier.phone.verify` audit event. Web
/// routes never call this: people change the number through
/// [`super::supplier_change`], which needs a second approver.
pub async fn provision_verified_phone(
    tx: &mut TenantTx,
    id: SupplierId,
    phone: &str,
    source: &str,
    verified_by: sentra_domain::UserId,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "update supplier set verified_phone = $2, phone_source = $3,
                phone_verified_by = $4, phone_verified_at = now()
         where id = $1",
    )
    .bind(id.as_uuid())
    .bind(phone.trim())
    .bind(source.trim())
    .bind(verified_by.as_uuid())
    .execute(tx.conn())
    .await?;
    super::affected(done.rows_affected(), "supplier")?;
    let event = crate::audit::NewEvent::new("user", "supplier.phone.verify")
        .target("supplier", id.to_string())
        .details(serde_json::json!({ "source": source.trim() }));
    crate::audit::append(tx, event).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_lowercased_trimmed_and_deduplicated() {
        let got = normalised_domains(&[
            " Apex.co.uk ".to_owned(),
            "apex.co.uk.".to_owned(),
            String::new(),
            "b.com".to_owned(),
        ]);
        assert_eq!(got, vec!["apex.co.uk".to_owned(), "b.com".to_owned()]);
    }

    #[test]
    fn unknown_status_spellings_are_a_decode_error() {
        assert!(matches!(
            SupplierStatus::parse("deleted"),
            Err(StoreError::Decode { .. })
        ));
        assert_eq!(
            SupplierStatus::parse("archived").unwrap(),
            SupplierStatus::Archived
        );
    }
}
