//! Invitations (`invitation`, a tenant table): an address, the role it will
//! get and the SHA-256 of the link's token. The link names its organisation,
//! so accepting runs in that organisation's [`TenantTx`].

use crate::{StoreError, TenantTx};
use sentra_domain::{Role, UserId};
use time::OffsetDateTime;
use uuid::Uuid;

/// An invitation (never its token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// The id.
    pub id: Uuid,
    /// Who is invited.
    pub email: String,
    /// The role they will get.
    pub role: Role,
    /// Who invited them.
    pub invited_by: Option<UserId>,
    /// When the link stops working.
    pub expires_at: OffsetDateTime,
    /// When it was used, if it was.
    pub accepted_at: Option<OffsetDateTime>,
    /// When it was made.
    pub created_at: OffsetDateTime,
}

type Row = (
    Uuid,
    String,
    String,
    Option<Uuid>,
    OffsetDateTime,
    Option<OffsetDateTime>,
    OffsetDateTime,
);

const COLUMNS: &str = "id, email, role, invited_by, expires_at, accepted_at, created_at";

fn from_row(row: Row) -> Result<Invitation, StoreError> {
    let (id, email, role, invited_by, expires_at, accepted_at, created_at) = row;
    Ok(Invitation {
        id,
        email,
        role: Role::parse(&role).ok_or(StoreError::Decode {
            what: "invitation.role",
        })?,
        invited_by: invited_by.map(UserId::from_uuid),
        expires_at,
        accepted_at,
        created_at,
    })
}

/// Stores an invitation valid for `ttl_secs`.
pub async fn create(
    tx: &mut TenantTx,
    email: &str,
    role: Role,
    token_hash: &str,
    invited_by: Option<UserId>,
    ttl_secs: i64,
) -> Result<Invitation, StoreError> {
    let row: Row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "insert into invitation (org_id, email, role, token_hash, invited_by, expires_at)
         values ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))
         returning {COLUMNS}"
    )))
    .bind(tx.org().as_uuid())
    .bind(email)
    .bind(role.as_str())
    .bind(token_hash)
    .bind(invited_by.map(|u| u.as_uuid()))
    .bind(ttl_secs as f64)
    .fetch_one(tx.conn())
    .await?;
    from_row(row)
}

/// Every invitation of the organisation, newest first.
pub async fn list(tx: &mut TenantTx) -> Result<Vec<Invitation>, StoreError> {
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from invitation order by created_at desc, id"
    )))
    .fetch_all(tx.conn())
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// Withdraws an invitation (used or not).
pub async fn delete(tx: &mut TenantTx, id: Uuid) -> Result<Invitation, StoreError> {
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "delete from invitation where id = $1 returning {COLUMNS}"
    )))
    .bind(id)
    .fetch_optional(tx.conn())
    .await?;
    from_row(super::found(row, "invitation")?)
}

/// The unused, unexpired invitation with `token_hash`, locked until the
/// transaction ends (so two acceptances of one link serialise).
pub async fn find_open(
    tx: &mut TenantTx,
    token_hash: &str,
) -> Result<Option<Invitation>, StoreError> {
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from invitation
         where token_hash = $1 and accepted_at is null and expires_at > now()
         for update"
    )))
    .bind(token_hash)
    .fetch_optional(tx.conn())
    .await?;
    row.map(from_row).transpose()
}

/// Marks an invitation used by `user`.
pub async fn mark_accepted(tx: &mut TenantTx, id: Uuid, user: UserId) -> Result<(), StoreError> {
    let done = sqlx::query(
        "update invitation set accepted_at = now(), accepted_by = $2
         where id = $1 and accepted_at is null",
    )
    .bind(id)
    .bind(user.as_uuid())
    .execute(tx.conn())
    .await?;
    super::affected(done.rows_affected(), "invitation")
}
