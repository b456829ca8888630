//! The people of an organisation (`membership` joined to `app_user`), for
//! the users page: list, change a role, remove. The rules (who may grant
//! what, the last owner) are the web layer's; [`lock_all`] gives it a stable
//! view to apply them to.

use crate::{StoreError, TenantTx};
use sentra_domain::{Role, UserId};
use time::OffsetDateTime;

/// A member as the users page shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The person.
    pub user_id: UserId,
    /// Their sign-in address.
    pub email: String,
    /// The name they gave, if any.
    pub name: Option<String>,
    /// Their role here.
    pub role: Role,
    /// Whether they have an authenticator enrolled.
    pub mfa_enrolled: bool,
    /// When they joined.
    pub joined_at: OffsetDateTime,
}

type Row = (
    uuid::Uuid,
    String,
    Option<String>,
    String,
    bool,
    OffsetDateTime,
);

fn from_row((user, email, name, role, mfa, joined_at): Row) -> Result<Member, StoreError> {
    Ok(Member {
        user_id: UserId::from_uuid(user),
        email,
        name,
        role: Role::parse(&role).ok_or(StoreError::Decode {
            what: "membership.role",
        })?,
        mfa_enrolled: mfa,
        joined_at,
    })
}

/// Every member, oldest first.
pub async fn list(tx: &mut TenantTx) -> Result<Vec<Member>, StoreError> {
    let rows: Vec<Row> = sqlx::query_as(
        "select m.user_id, u.email, u.display_name, m.role, u.totp_secret_enc is not null, m.created_at
         from membership m join app_user u on u.id = m.user_id
         order by m.created_at, m.user_id",
    )
    .fetch_all(tx.conn())
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// Every member's role, locked until the transaction ends, so two
/// concurrent changes cannot both remove "the other" last owner.
pub async fn lock_all(tx: &mut TenantTx) -> Result<Vec<(UserId, Role)>, StoreError> {
    let rows: Vec<(uuid::Uuid, String)> =
        sqlx::query_as("select user_id, role from membership order by user_id for update")
            .fetch_all(tx.conn())
            .await?;
    rows.into_iter()
        .map(|(user, role)| {
            let role = Role::parse(&role).ok_or(StoreError::Decode {
                what: "membership.role",
            })?;
            Ok((UserId::from_uuid(user), role))
        })
        .collect()
}

/// Sets `user`'s role.
pub async fn set_role(tx: &mut TenantTx, user: UserId, role: Role) -> Result<(), StoreError> {
    let done = sqlx::query("update membership set role = $2 where user_id = $1")
        .bind(user.as_uuid())
        .bind(role.as_str())
        .execute(tx.conn())
        .await?;
    super::affected(done.rows_affected(), "member")
}

/// Removes `user` from the organisation, with their API tokens here.
pub async fn remove(tx: &mut TenantTx, user: UserId) -> Result<(), StoreError> {
    sqlx::query("delete from api_token where user_id = $1")
        .bind(user.as_uuid())
        .execute(tx.conn())
        .await?;
    let done = sqlx::query("delete from membership where user_id = $1")
        .bind(user.as_uuid())
        .execute(tx.conn())
        .await?;
    super::affected(done.rows_affected(), "member")
}

/// Whether `email` (any letter case) is already a member.
pub async fn has_email(tx: &mut TenantTx, email: &str) -> Result<bool, StoreError> {
    Ok(sqlx::query_scalar(
        "select exists (select 1 from membership m join app_user u on u.id = m.user_id
                        where lower(u.email) = lower($1))",
    )
    .bind(email)
    .fetch_one(tx.conn())
    .await?)
}
