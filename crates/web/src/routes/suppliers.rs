//! `GET /api/v1/suppliers[/{id}]`: the organisation's suppliers, proving the
//! session → membership → `TenantTx` chain. Another organisation's id is a
//! 404 exactly like a missing or malformed one.

use crate::WebError;
use crate::session::TenantSession;
use axum::Json;
use axum::extract::Path;
use sentra_domain::SupplierId;
use sentra_store::repo::supplier::{self, Supplier};
use serde::Serialize;

/// A supplier as the API shows it.
#[derive(Debug, Serialize)]
pub struct SupplierView {
    /// The id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Sending domains.
    pub domains: Vec<String>,
    /// Country code.
    pub country: Option<String>,
    /// `active` or `archived`.
    pub status: String,
}

impl From<Supplier> for SupplierView {
    fn from(s: Supplier) -> Self {
        Self {
            id: s.id.to_string(),
            name: s.fields.name,
            domains: s.fields.domains,
            country: s.fields.country,
            status: s.fields.status.as_str().to_owned(),
        }
    }
}

/// Every supplier of the caller's organisation.
pub async fn list(mut session: TenantSession) -> Result<Json<Vec<SupplierView>>, WebError> {
    let rows = supplier::list(&mut session.tx).await?;
    session.tx.commit().await?;
    Ok(Json(rows.into_iter().map(SupplierView::from).collect()))
}

/// One supplier of the caller's organisation.
pub async fn get(
    mut session: TenantSession,
    Path(id): Path<String>,
) -> Result<Json<SupplierView>, WebError> {
    let id: SupplierId = id.parse().map_err(|_| WebError::NotFound)?;
    let row = supplier::get(&mut session.tx, id).await?;
    session.tx.commit().await?;
    Ok(Json(row.into()))
}
