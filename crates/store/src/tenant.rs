//! `TenantTx`: one transaction bound to one organisation, the only way to
//! read or write tenant data.
//!
//! `begin` opens a transaction and sets `app.org_id` / `app.user_id` with
//! `set_config(…, true)` (the `set local` that takes an expression), so the
//! setting dies with the transaction and can never follow a pooled connection
//! to the next request. Both are sent with the `BEGIN`, in one round trip. The connection is handed out only inside this crate, so code
//! elsewhere cannot run SQL on the app pool without an organisation.

use crate::{AppPool, StoreError};
use sentra_domain::{OrgId, Role, UserId};
use sqlx::{PgConnection, Postgres, Transaction};

/// A transaction scoped to one organisation (and optionally one acting user).
/// Dropping it without [`TenantTx::commit`] rolls back.
#[derive(Debug)]
pub struct TenantTx {
    tx: Transaction<'static, Postgres>,
    org: OrgId,
    user: Option<UserId>,
}

impl TenantTx {
    /// Opens a transaction on `pool` acting for `org` (and `user`, when a person
    /// rather than a background job acts).
    pub async fn begin(
        pool: &AppPool,
        org: OrgId,
        user: Option<UserId>,
    ) -> Result<Self, StoreError> {
        // BEGIN and the settings go in one simple-query message: one round
        // trip instead of two on every request. The values are spliced in
        // rather than bound (a simple query takes no parameters), which is
        // safe only because both are `Uuid`s formatted here: hex digits
        // and hyphens, nothing from the request.
        let org_text = org.as_uuid().hyphenated().to_string();
        let user_text = user
            .map(|u| u.as_uuid().hyphenated().to_string())
            .unwrap_or_default();
        let begin = format!(
            "begin; select set_config('app.org_id', '{org_text}', true), \
             set_config('app.user_id', '{user_text}', true)"
        );
        let tx = pool.pool().begin_with(sqlx::AssertSqlSafe(begin)).await?;
        Ok(Self { tx, org, user })
    }

    /// The organisation this transaction acts for.
    pub fn org(&self) -> OrgId {
        self.org
    }

    /// The person acting, if any.
    pub fn user(&self) -> Option<UserId> {
        self.user
    }

    /// Commits.
    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }

    /// Rolls back explicitly (dropping does the same, lazily).
    pub async fn rollback(self) -> Result<(), StoreError> {
        self.tx.rollback().await?;
        Ok(())
    }

    /// The connection, for repositories in this crate only.
    pub(crate) fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }
}

/// The organisations `user` belongs to, with their role in each, oldest first.
///
/// Runs before any organisation is known (sign-in, the organisation switcher),
/// so it goes through the `app_memberships` security-definer function rather
/// than a tenant transaction.
pub async fn memberships(pool: &AppPool, user: UserId) -> Result<Vec<(OrgId, Role)>, StoreError> {
    let rows: Vec<(uuid::Uuid, String)> =
        sqlx::query_as("select org_id, role from app_memberships($1)")
            .bind(user.as_uuid())
            .fetch_all(pool.pool())
            .await?;
    rows.into_iter()
        .map(|(org, role)| {
            let role = Role::parse(&role).ok_or(StoreError::Decode {
                what: "membership.role",
            })?;
            Ok((OrgId::from_uuid(org), role))
        })
        .collect()
}
