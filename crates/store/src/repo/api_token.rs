//! Personal API tokens (`api_token`, a tenant table): a person's credential
//! bound to one organisation. Only the SHA-256 of the token text is stored;
//! the text itself is shown once, by the web layer, when it is made.
//!
//! The token text names its organisation, so [`authenticate`] runs in that
//! organisation's [`TenantTx`] like any tenant read: a token of another
//! organisation is simply not visible.

use crate::{StoreError, TenantTx};
use sentra_domain::UserId;
use time::OffsetDateTime;
use uuid::Uuid;

/// A token as its owner's list shows it (never the token text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// The id revocation takes.
    pub id: Uuid,
    /// Whose token.
    pub user_id: UserId,
    /// The owner's label.
    pub name: String,
    /// When it stops working, if ever.
    pub expires_at: Option<OffsetDateTime>,
    /// When it was last accepted.
    pub last_used_at: Option<OffsetDateTime>,
    /// When it was made.
    pub created_at: OffsetDateTime,
}

type Row = (
    Uuid,
    Uuid,
    String,
    Option<OffsetDateTime>,
    Option<OffsetDateTime>,
    OffsetDateTime,
);

const COLUMNS: &str = "id, user_id, name, expires_at, last_used_at, created_at";

fn from_row((id, user, name, expires_at, last_used_at, created_at): Row) -> ApiToken {
    ApiToken {
        id,
        user_id: UserId::from_uuid(user),
        name,
        expires_at,
        last_used_at,
        created_at,
    }
}

/// Stores a token of `user` (who must be a member) under `token_hash`,
/// expiring after `ttl_days` days when given.
pub async fn create(
    tx: &mut TenantTx,
    user: UserId,
    name: &str,
    token_hash: &str,
    ttl_days: Option<i32>,
) -> Result<ApiToken, StoreError> {
    let row: Row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "insert into api_token (org_id, user_id, name, token_hash, expires_at)
         values ($1, $2, $3, $4, case when $5::int is null then null
                                     else now() + make_interval(days => $5) end)
         returning {COLUMNS}"
    )))
    .bind(tx.org().as_uuid())
    .bind(user.as_uuid())
    .bind(name.trim())
    .bind(token_hash)
    .bind(ttl_days)
    .fetch_one(tx.conn())
    .await
    .map_err(|e| super::reference(e.into(), "user"))?;
    Ok(from_row(row))
}

/// `user`'s tokens in this organisation, newest first.
pub async fn list_for_user(tx: &mut TenantTx, user: UserId) -> Result<Vec<ApiToken>, StoreError> {
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from api_token where user_id = $1 order by created_at desc, id"
    )))
    .bind(user.as_uuid())
    .fetch_all(tx.conn())
    .await?;
    Ok(rows.into_iter().map(from_row).collect())
}

/// Deletes `user`'s token `id`; someone else's is [`StoreError::NotFound`].
pub async fn revoke(tx: &mut TenantTx, user: UserId, id: Uuid) -> Result<(), StoreError> {
    let done = sqlx::query("delete from api_token where id = $1 and user_id = $2")
        .bind(id)
        .bind(user.as_uuid())
        .execute(tx.conn())
        .await?;
    super::affected(done.rows_affected(), "api token")
}

/// The owner of the live token with `token_hash`, marking it used; `None`
/// for an unknown, expired or revoked token.
pub async fn authenticate(
    tx: &mut TenantTx,
    token_hash: &str,
) -> Result<Option<(Uuid, UserId)>, StoreError> {
    let row: Option<(Uuid, Uuid)> = sqlx::query_as(
        "update api_token set last_used_at = now()
         where token_hash = $1 and (expires_at is null or expires_at > now())
         returning id, user_id",
    )
    .bind(token_hash)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(|(id, user)| (id, UserId::from_uuid(user))))
}
