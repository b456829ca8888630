//! Password reset tokens (`password_reset`, a global table): the SHA-256 of
//! a single-use, short-lived token mailed to the person.

use crate::{AppPool, StoreError};
use sentra_domain::UserId;

/// Stores a reset token for `user`, valid for `ttl_secs`. Earlier unused
/// tokens of the user are withdrawn: only the newest mail works.
pub async fn create(
    pool: &AppPool,
    user: UserId,
    token_hash: &str,
    ttl_secs: i64,
) -> Result<(), StoreError> {
    let mut tx = pool.pool().begin().await?;
    sqlx::query("delete from password_reset where user_id = $1 and used_at is null")
        .bind(user.as_uuid())
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "insert into password_reset (user_id, token_hash, expires_at)
         values ($1, $2, now() + make_interval(secs => $3))",
    )
    .bind(user.as_uuid())
    .bind(token_hash)
    .bind(ttl_secs as f64)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Uses up the live token with `token_hash`; its user, or `None` for an
/// unknown, expired or already used token. Atomic: one winner per token.
pub async fn consume(pool: &AppPool, token_hash: &str) -> Result<Option<UserId>, StoreError> {
    let user: Option<uuid::Uuid> = sqlx::query_scalar(
        "update password_reset set used_at = now()
         where token_hash = $1 and used_at is null and expires_at > now()
         returning user_id",
    )
    .bind(token_hash)
    .fetch_optional(pool.pool())
    .await?;
    Ok(user.map(UserId::from_uuid))
}
