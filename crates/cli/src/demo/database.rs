//! The demo database on the private server: the schema owner role and the
//! `sentra` database, created as the server's superuser, then migrated as
//! the owner with the `sentra_app` role's password set, as an operator
//! would with `sentra migrate` (docs/OPERATIONS.md).

use anyhow::Context as _;

/// The schema owner role of the demo database.
pub(crate) const OWNER_ROLE: &str = "sentra_owner";
/// The demo database.
pub(crate) const DATABASE: &str = "sentra";

/// Creates the owner role and the database when missing (as the private
/// server's superuser), applies the migrations as the owner and sets the
/// app role's password.
pub(crate) async fn prepare(
    superuser_url: Option<&str>,
    owner_url: &str,
    owner_password: &str,
    app_password: &str,
) -> anyhow::Result<()> {
    if let Some(su) = superuser_url {
        sentra_store::migrate::create_owner_and_database(su, OWNER_ROLE, owner_password, DATABASE)
            .await
            .context("creating the demo database")?;
    }
    sentra_store::migrate(owner_url)
        .await
        .context("applying migrations to the demo database")?;
    sentra_store::migrate::set_app_password(owner_url, app_password)
        .await
        .context("setting the sentra_app password")?;
    Ok(())
}
