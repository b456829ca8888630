//! Where a supplier's call-back number came from: the number, its stated
//! source, who recorded it as verified and when. Shown next to every
//! verification form, because the point of a call-back is that the number
//! did not come from the email.

use crate::{StoreError, TenantTx};
use sentra_domain::SupplierId;
use time::OffsetDateTime;

/// A supplier's call-back number and its provenance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneProvenance {
    /// The number on file.
    pub phone: Option<String>,
    /// Where it came from (for example "Signed contract, 2024").
    pub source: Option<String>,
    /// Who recorded it as verified (their sign-in address).
    pub verified_by: Option<String>,
    /// When.
    pub verified_at: Option<OffsetDateTime>,
}

/// The provenance of `supplier`'s number; another organisation's supplier
/// is [`StoreError::NotFound`].
pub async fn phone(tx: &mut TenantTx, supplier: SupplierId) -> Result<PhoneProvenance, StoreError> {
    type Row = (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<OffsetDateTime>,
    );
    let row: Option<Row> = sqlx::query_as(
        "select s.verified_phone, s.phone_source, u.email, s.phone_verified_at
         from supplier s left join app_user u on u.id = s.phone_verified_by
         where s.id = $1",
    )
    .bind(supplier.as_uuid())
    .fetch_optional(tx.conn())
    .await?;
    let (phone, source, verified_by, verified_at) = super::found(row, "supplier")?;
    Ok(PhoneProvenance {
        phone,
        source,
        verified_by,
        verified_at,
    })
}
