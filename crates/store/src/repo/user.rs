//! People who sign in (`app_user`, a global table). Only what sign-up and
//! sign-in need: lookup, lockout counters and the TOTP secret and replay guard.

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

/// What sign-in needs beyond [`User`]: whether the account is locked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginState {
    /// The user.
    pub user: User,
    /// Whether `locked_until` is in the future (database clock).
    pub locked: bool,
}

/// Finds a user for sign-in, with the lockout state, ignoring letter case.
pub async fn find_for_login(pool: &AppPool, email: &str) -> Result<Option<LoginState>, StoreError> {
    let row: Option<(uuid::Uuid, String, String, bool, OffsetDateTime, bool)> = sqlx::query_as(
        "select id, email, password_hash, totp_secret_enc is not null, created_at,
                coalesce(locked_until > now(), false)
         from app_user where lower(email) = lower($1)",
    )
    .bind(email)
    .fetch_optional(pool.pool())
    .await?;
    Ok(
        row.map(|(id, email, hash, mfa, created_at, locked)| LoginState {
            user: from_row((id, email, hash, mfa, created_at)),
            locked,
        }),
    )
}

/// Which factor failed, for [`record_failure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    /// The password.
    Password,
    /// The TOTP code.
    Totp,
}

/// Counts one failed attempt. Every `threshold`-th consecutive failure of a
/// factor locks the account for `lock_secs`, so at most `threshold` guesses
/// fit in that time. Returns the factor's consecutive failure count.
pub async fn record_failure(
    pool: &AppPool,
    id: UserId,
    factor: Factor,
    threshold: i32,
    lock_secs: i64,
) -> Result<i32, StoreError> {
    let sql = match factor {
        Factor::Password => {
            "update app_user set failed_password_count = failed_password_count + 1,
               locked_until = case when (failed_password_count + 1) % $2 = 0
                 then now() + make_interval(secs => $3) else locked_until end
             where id = $1 returning failed_password_count"
        }
        Factor::Totp => {
            "update app_user set failed_totp_count = failed_totp_count + 1,
               locked_until = case when (failed_totp_count + 1) % $2 = 0
                 then now() + make_interval(secs => $3) else locked_until end
             where id = $1 returning failed_totp_count"
        }
    };
    let count: Option<i32> = sqlx::query_scalar(sql)
        .bind(id.as_uuid())
        .bind(threshold.max(1))
        .bind(lock_secs as f64)
        .fetch_optional(pool.pool())
        .await?;
    super::found(count, "user")
}

/// Clears the password failure counter after a correct password.
pub async fn reset_password_failures(pool: &AppPool, id: UserId) -> Result<(), StoreError> {
    sqlx::query("update app_user set failed_password_count = 0 where id = $1")
        .bind(id.as_uuid())
        .execute(pool.pool())
        .await?;
    Ok(())
}

/// The encrypted TOTP secret (`None` when not enrolled) and the consecutive
/// TOTP failure count, plus whether the account is locked out.
pub async fn totp_state(
    pool: &AppPool,
    id: UserId,
) -> Result<(Option<Vec<u8>>, i32, bool), StoreError> {
    let row: Option<(Option<Vec<u8>>, i32, bool)> = sqlx::query_as(
        "select totp_secret_enc, failed_totp_count, coalesce(locked_until > now(), false)
         from app_user where id = $1",
    )
    .bind(id.as_uuid())
    .fetch_optional(pool.pool())
    .await?;
    super::found(row, "user")
}

/// Records `step` as the last accepted TOTP time step and clears the TOTP
/// failure counter, but only if it is later than the last accepted one:
/// `false` means the code was a replay. Atomic, so two concurrent requests
/// with one code cannot both succeed.
pub async fn accept_totp_step(pool: &AppPool, id: UserId, step: i64) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "update app_user set last_totp_step = $2, failed_totp_count = 0
         where id = $1 and (last_totp_step is null or last_totp_step < $2)",
    )
    .bind(id.as_uuid())
    .bind(step)
    .execute(pool.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Stores an encrypted TOTP secret (enrolment), resetting the replay guard.
pub async fn set_totp_secret(
    pool: &AppPool,
    id: UserId,
    secret_enc: &[u8],
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "update app_user set totp_secret_enc = $2, last_totp_step = null, failed_totp_count = 0
         where id = $1",
    )
    .bind(id.as_uuid())
    .bind(secret_enc)
    .execute(pool.pool())
    .await?;
    super::affected(done.rows_affected(), "user")
}

/// Stores the secret shown during enrolment (encrypted as
/// [`crate::keys::USER_TOTP_PENDING`]), replacing any earlier pending one.
pub async fn set_totp_pending(
    pool: &AppPool,
    id: UserId,
    pending_enc: &[u8],
) -> Result<(), StoreError> {
    let done = sqlx::query("update app_user set totp_pending_enc = $2 where id = $1")
        .bind(id.as_uuid())
        .bind(pending_enc)
        .execute(pool.pool())
        .await?;
    super::affected(done.rows_affected(), "user")
}

/// The pending enrolment secret, if an enrolment has started.
pub async fn totp_pending(pool: &AppPool, id: UserId) -> Result<Option<Vec<u8>>, StoreError> {
    let row: Option<Option<Vec<u8>>> =
        sqlx::query_scalar("select totp_pending_enc from app_user where id = $1")
            .bind(id.as_uuid())
            .fetch_optional(pool.pool())
            .await?;
    super::found(row, "user")
}

/// Finishes enrolment in one statement: the pending secret becomes the
/// secret (re-encrypted by the caller for its own column, `secret_enc`),
/// `step` is recorded as used (the confirming code cannot be replayed), and
/// the recovery codes are replaced. `false` when no enrolment was pending.
pub async fn confirm_totp(
    pool: &AppPool,
    id: UserId,
    secret_enc: &[u8],
    step: i64,
    recovery_hashes: &[String],
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "update app_user set totp_secret_enc = $2, totp_pending_enc = null,
                last_totp_step = $3, failed_totp_count = 0, recovery_code_hashes = $4
         where id = $1 and totp_pending_enc is not null",
    )
    .bind(id.as_uuid())
    .bind(secret_enc)
    .bind(step)
    .bind(recovery_hashes)
    .execute(pool.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The argon2id hashes of the unused recovery codes.
pub async fn recovery_hashes(pool: &AppPool, id: UserId) -> Result<Vec<String>, StoreError> {
    let row: Option<Vec<String>> =
        sqlx::query_scalar("select recovery_code_hashes from app_user where id = $1")
            .bind(id.as_uuid())
            .fetch_optional(pool.pool())
            .await?;
    super::found(row, "user")
}

/// Uses up the recovery code whose hash is `hash` and clears the TOTP
/// failure counter. Atomic: of two requests with one code only one sees
/// `Some`; the value is how many codes remain.
pub async fn consume_recovery_code(
    pool: &AppPool,
    id: UserId,
    hash: &str,
) -> Result<Option<usize>, StoreError> {
    let left: Option<i32> = sqlx::query_scalar(
        "update app_user set recovery_code_hashes = array_remove(recovery_code_hashes, $2),
                failed_totp_count = 0
         where id = $1 and $2 = any(recovery_code_hashes)
         returning cardinality(recovery_code_hashes)",
    )
    .bind(id.as_uuid())
    .bind(hash)
    .fetch_optional(pool.pool())
    .await?;
    Ok(left.map(|n| usize::try_from(n).unwrap_or(0)))
}

/// Replaces the password hash and clears the lockout: the person proved
/// control of their address with a reset token.
pub async fn set_password(pool: &AppPool, id: UserId, hash: &str) -> Result<(), StoreError> {
    let done = sqlx::query(
        "update app_user set password_hash = $2, failed_password_count = 0, locked_until = null
         where id = $1",
    )
    .bind(id.as_uuid())
    .bind(hash)
    .execute(pool.pool())
    .await?;
    super::affected(done.rows_affected(), "user")
}
