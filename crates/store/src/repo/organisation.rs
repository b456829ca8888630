//! Organisations (tenants) and their memberships.
//!
//! Creating an organisation needs no privileged path: the new id is generated
//! here, a [`TenantTx`] is opened *for that id*, and the organisation row
//! (global), the owner's membership and the default settings (tenant rows,
//! admitted by the policies because their `org_id` is the transaction's) are
//! written in one transaction. A security-definer function or the owner pool
//! would add privileged surface for no gain: `sentra_app` may already act for
//! any organisation it names, RLS guards against forgetting to name one.

use crate::{AppPool, StoreError, TenantTx};
use sentra_domain::{OrgId, Role, UserId};
use time::OffsetDateTime;

/// An organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    /// The id.
    pub id: OrgId,
    /// Its display name.
    pub name: String,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

/// Creates an organisation owned by `owner`, with default settings.
pub async fn create(pool: &AppPool, name: &str, owner: UserId) -> Result<OrgId, StoreError> {
    let org = OrgId::new();
    let mut tx = TenantTx::begin(pool, org, Some(owner)).await?;
    sqlx::query("insert into organisation (id, name) values ($1, $2)")
        .bind(org.as_uuid())
        .bind(name.trim())
        .execute(tx.conn())
        .await?;
    add_member(&mut tx, owner, Role::Owner).await?;
    sqlx::query("insert into org_settings (org_id) values ($1)")
        .bind(org.as_uuid())
        .execute(tx.conn())
        .await?;
    tx.commit().await?;
    Ok(org)
}

/// The transaction's own organisation.
pub async fn get(tx: &mut TenantTx) -> Result<Organisation, StoreError> {
    let row: Option<(uuid::Uuid, String, OffsetDateTime)> =
        sqlx::query_as("select id, name, created_at from organisation where id = $1")
            .bind(tx.org().as_uuid())
            .fetch_optional(tx.conn())
            .await?;
    let (id, name, created_at) = super::found(row, "organisation")?;
    Ok(Organisation {
        id: OrgId::from_uuid(id),
        name,
        created_at,
    })
}

/// Adds `user` to the transaction's organisation with `role`. A user who is
/// already a member is a [`StoreError::Conflict`]; an unknown user is
/// [`StoreError::NotFound`].
pub async fn add_member(tx: &mut TenantTx, user: UserId, role: Role) -> Result<(), StoreError> {
    sqlx::query("insert into membership (org_id, user_id, role) values ($1, $2, $3)")
        .bind(tx.org().as_uuid())
        .bind(user.as_uuid())
        .bind(role.as_str())
        .execute(tx.conn())
        .await
        .map_err(|e| super::reference(e.into(), "user"))?;
    Ok(())
}

/// The members of the transaction's organisation, oldest first.
pub async fn members(tx: &mut TenantTx) -> Result<Vec<(UserId, Role)>, StoreError> {
    let rows: Vec<(uuid::Uuid, String)> =
        sqlx::query_as("select user_id, role from membership order by created_at, user_id")
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

/// The distinct email domains of the organisation's members, lowercase: the
/// web layer's best knowledge of the organisation's own domains until
/// settings hold them explicitly.
pub async fn member_email_domains(tx: &mut TenantTx) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "select distinct lower(split_part(u.email, '@', 2)) as domain
         from membership m join app_user u on u.id = m.user_id
         where m.org_id = $1
         order by domain",
    )
    .bind(tx.org().as_uuid())
    .fetch_all(tx.conn())
    .await?)
}

/// A new organisation and its owner, as sign-up (or `sentra admin
/// create-org`) asks for them.
#[derive(Debug)]
pub struct SignUp<'a> {
    /// The organisation's name.
    pub org_name: &'a str,
    /// The owner's id, chosen by the caller (a TOTP secret is encrypted
    /// bound to it before the row exists).
    pub owner: UserId,
    /// The owner's sign-in address.
    pub email: &'a sentra_domain::EmailAddress,
    /// The owner's argon2id hash.
    pub password_hash: &'a str,
    /// The owner's encrypted TOTP secret, when enrolled up front.
    pub totp_secret_enc: Option<&'a [u8]>,
    /// Who did it, for the audit event (`"user"`, `"system:admin"`).
    pub actor: &'a str,
}

/// Creates the owner, the organisation, the membership and default settings
/// in one transaction with one audit event (`org.create`). An address
/// already registered is a [`StoreError::Conflict`] and writes nothing.
pub async fn sign_up(pool: &AppPool, s: &SignUp<'_>) -> Result<OrgId, StoreError> {
    let org = OrgId::new();
    let mut tx = TenantTx::begin(pool, org, Some(s.owner)).await?;
    sqlx::query(
        "insert into app_user (id, email, password_hash, totp_secret_enc) values ($1, $2, $3, $4)",
    )
    .bind(s.owner.as_uuid())
    .bind(s.email.as_str())
    .bind(s.password_hash)
    .bind(s.totp_secret_enc)
    .execute(tx.conn())
    .await?;
    sqlx::query("insert into organisation (id, name) values ($1, $2)")
        .bind(org.as_uuid())
        .bind(s.org_name.trim())
        .execute(tx.conn())
        .await?;
    add_member(&mut tx, s.owner, Role::Owner).await?;
    sqlx::query("insert into org_settings (org_id) values ($1)")
        .bind(org.as_uuid())
        .execute(tx.conn())
        .await?;
    crate::audit::append(
        &mut tx,
        crate::audit::NewEvent::new(s.actor, "org.create")
            .target("organisation", org.to_string())
            .details(serde_json::json!({ "owner": s.owner.to_string() })),
    )
    .await?;
    tx.commit().await?;
    Ok(org)
}

/// Creates a user inside the transaction's organisation and makes them a
/// member (an invitation accepted by a new person): one transaction with the
/// caller's audit event.
pub async fn create_member(
    tx: &mut TenantTx,
    user: UserId,
    email: &sentra_domain::EmailAddress,
    password_hash: &str,
    role: Role,
) -> Result<(), StoreError> {
    sqlx::query("insert into app_user (id, email, password_hash) values ($1, $2, $3)")
        .bind(user.as_uuid())
        .bind(email.as_str())
        .bind(password_hash)
        .execute(tx.conn())
        .await?;
    add_member(tx, user, role).await
}
