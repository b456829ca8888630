//! Repositories: one module per aggregate. Tenant repositories take
//! `&mut TenantTx`, so every statement runs inside one organisation's
//! transaction and row-level security filters it; global ones take `&AppPool`.
//!
//! Lookups by id rely on the policies for the organisation filter: an id that
//! belongs to another organisation is simply not visible, so it answers
//! [`crate::StoreError::NotFound`] exactly like an id
//! that does not exist. Inserts write `org_id` from the transaction, and the
//! `with check` policies refuse anything else.

pub mod account;
pub mod alert;
pub mod api_token;
pub mod assessment;
pub mod bank_account;
pub mod case;
pub mod contact;
pub mod dashboard;
pub mod feedback;
pub mod graph_connection;
pub mod invitation;
pub mod invoice;
pub mod listing;
pub mod m365_connect;
pub mod m365_mailbox;
pub mod mail_credential;
pub mod mailbox;
pub mod member;
pub mod message;
pub mod organisation;
pub mod password_reset;
pub mod provenance;
pub mod session;
pub mod settings;
pub mod supplier;
pub mod supplier_change;
pub mod user;
pub mod verification;
pub mod worklist;

use crate::StoreError;

/// Turns "no row" into `NotFound { what }`.
pub(crate) fn found<T>(row: Option<T>, what: &'static str) -> Result<T, StoreError> {
    row.ok_or(StoreError::NotFound { what })
}

/// Turns "no row affected" into `NotFound { what }`.
pub(crate) fn affected(rows: u64, what: &'static str) -> Result<(), StoreError> {
    if rows == 0 {
        Err(StoreError::NotFound { what })
    } else {
        Ok(())
    }
}

/// Foreign-key errors from a reference the caller supplied mean "no such row
/// in this organisation".
pub(crate) fn reference(e: StoreError, what: &'static str) -> StoreError {
    match e {
        StoreError::InvalidReference { .. } => StoreError::NotFound { what },
        other => other,
    }
}
