//! People who sign in (`app_user`, a global table). Only what sign-up and
//! sign-in need so far; the web layer grows it (MFA, lockout counters).

use crate::{AppPool, StoreError};
use sentra_domain::{EmailAddress, UserId};
use time::OffsetDateTime;

/// A stored user, without secrets beyond the password hash the caller checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The id.
    pub id: UserId,
    /// The address they sign in with, as first given.
    pub email: String,
    /// The argon2id PHC string.
    pub password_hash: String,
    /// Whether TOTP is enrolled.
    pub mfa_enrolled: bool,
    /// When the account was created.
    pub created_at: OffsetDateTime,
}

type Row = (uuid::Uuid, String, String, bool, OffsetDateTime);

fn from_row((id, email, password_hash, mfa_enrolled, created_at): Row) -> User {
    User {
        id: UserId::from_uuid(id),
        email,
        password_hash,
        mfa_enrolled,
        created_at,
    }
}

/// Creates a user. An address already registered (in any letter case) is a
/// [`StoreError::Conflict`].
pub async fn create(
    pool: &AppPool,
    email: &EmailAddress,
    password_hash: &str,
) -> Result<UserId, StoreError> {
    let id: uuid::Uuid = sqlx::query_scalar(
        "insert into app_user (email, password_hash) values ($1, $2) returning id",
    )
    .bind(email.as_str())
    .bind(password_hash)
    .fetch_one(pool.pool())
    .await?;
    Ok(UserId::from_uuid(id))
}

/// Finds a user by sign-in address, ignoring letter case.
pub async fn find_by_email(pool: &AppPool, email: &str) -> Result<Option<User>, StoreError> {
    let row: Option<Row> = sqlx::query_as(
        "select id, email, password_hash, totp_secret_enc is not null, created_at
         from app_user where lower(email) = lower($1)",
    )
    .bind(email)
    .fetch_optional(pool.pool())
    .await?;
    Ok(row.map(from_row))
}

/// Loads a user by id.
pub async fn get(pool: &AppPool, id: UserId) -> Result<User, StoreError> {
    let row: Option<Row> = sqlx::query_as(
        "select id, email, password_hash, totp_secret_enc is not null, created_at
         from app_user where id = $1",
    )
    .bind(id.as_uuid())
    .fetch_optional(pool.pool())
    .await?;
    super::found(row.map(from_row), "user")
}
