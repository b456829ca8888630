//! Web sessions (`session`, a global table). The web layer hands in the
//! SHA-256 of the cookie value, never the value itself, so a leaked table
//! cannot be replayed as cookies.
//!
//! Expiry is enforced here in SQL against the database clock: a row is live
//! while `expires_at` (the idle deadline, pushed forward by `touch`) is in
//! the future and it is younger than the absolute lifetime the caller passes.
//!
//! [`authenticate`] is what every signed-in request runs: one statement that
//! checks the session, pushes its idle deadline forward only when that moves
//! it by more than a minute or so (so a busy session writes, and commits to
//! disk, at most once a minute rather than on every request), and reads what
//! the request needs next — whether the user has an authenticator and their
//! oldest membership with the organisation's name.

use crate::{AppPool, StoreError};
use sentra_domain::{OrgId, Role, UserId};
use time::OffsetDateTime;

/// A live session.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// Whose session it is.
    pub user_id: UserId,
    /// Web-layer state (MFA done, …), a JSON object.
    pub data: serde_json::Value,
    /// When the session was first created (login); rotation keeps it.
    pub created_at: OffsetDateTime,
    /// The stable handle the session list shows (rotation keeps it).
    pub public_id: uuid::Uuid,
}

/// A session as its owner's session list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// The stable handle revocation takes.
    pub public_id: uuid::Uuid,
    /// When it was created (login).
    pub created_at: OffsetDateTime,
    /// When it was last used.
    pub last_seen_at: OffsetDateTime,
    /// The browser's `User-Agent`, shortened.
    pub user_agent: Option<String>,
}

/// Stores a new session for `user` idle-expiring after `idle_secs`.
pub async fn create(
    pool: &AppPool,
    id_hash: &str,
    user: UserId,
    data: &serde_json::Value,
    idle_secs: i64,
) -> Result<(), StoreError> {
    create_with_agent(pool, id_hash, user, data, idle_secs, None).await
}

/// [`create`], remembering the browser's `User-Agent` (cut to 300
/// characters) for the session list.
pub async fn create_with_agent(
    pool: &AppPool,
    id_hash: &str,
    user: UserId,
    data: &serde_json::Value,
    idle_secs: i64,
    user_agent: Option<&str>,
) -> Result<(), StoreError> {
    let agent = user_agent.map(|a| a.chars().take(300).collect::<String>());
    sqlx::query(
        "insert into session (id, user_id, data, expires_at, user_agent)
         values ($1, $2, $3, now() + make_interval(secs => $4), $5)",
    )
    .bind(id_hash)
    .bind(user.as_uuid())
    .bind(sqlx::types::Json(data))
    .bind(idle_secs as f64)
    .bind(agent)
    .execute(pool.pool())
    .await?;
    Ok(())
}

/// How long sessions last, and how often using one writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    /// Idle timeout: the session ends this long after it was last used.
    pub idle_secs: i64,
    /// Absolute timeout: the session ends this long after login.
    pub absolute_secs: i64,
    /// The idle deadline is pushed forward (an UPDATE, so a WAL flush at
    /// commit) only when that would move it by more than this; in between,
    /// a request only reads. The idle timeout is then between
    /// `idle_secs - touch_after_secs` and `idle_secs`, never longer.
    pub touch_after_secs: i64,
}

/// The organisation a session works in when the request does not say:
/// the user's oldest membership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    /// The organisation.
    pub org: OrgId,
    /// The user's role there.
    pub role: Role,
    /// The organisation's display name.
    pub org_name: String,
}

/// A live session with what the request needs to know about its user.
#[derive(Debug, Clone, PartialEq)]
pub struct Authenticated {
    /// The session.
    pub session: Session,
    /// Whether the user has an authenticator (TOTP) enrolled now.
    pub mfa_enrolled: bool,
    /// The user's oldest membership; `None` for a user in no organisation.
    pub home: Option<Home>,
    /// How long the session stays live without further use, by the
    /// database's clock (the idle deadline as this call left it, never past
    /// the absolute one). A cache of the session must not outlive it.
    pub expires_in: std::time::Duration,
}

type AuthRow = (
    uuid::Uuid,
    sqlx::types::Json<serde_json::Value>,
    OffsetDateTime,
    uuid::Uuid,
    bool,
    Option<uuid::Uuid>,
    Option<String>,
    Option<String>,
    f64,
);

/// The live session with storage hash `id_hash`, in one round trip: expiry
/// checked against the database clock, the idle deadline pushed forward
/// when it is more than `touch_after_secs` behind (see [`Lifetimes`]), the
/// user's authenticator state and oldest membership read in the same
/// statement. `None` when the session is missing, idle-expired, too old or
/// belongs to no user.
pub async fn authenticate(
    pool: &AppPool,
    id_hash: &str,
    lifetimes: Lifetimes,
) -> Result<Option<Authenticated>, StoreError> {
    // A data-modifying CTE runs to completion whether or not the outer
    // query reads it, so `touched` needs no reference below.
    let row: Option<AuthRow> = sqlx::query_as(
        "with live as (
           select id, user_id, data, created_at, public_id, expires_at,
                  least(now() + make_interval(secs => $2),
                        created_at + make_interval(secs => $3)) as deadline
           from session
           where id = $1 and expires_at > now()
             and created_at > now() - make_interval(secs => $3)
         ), touched as (
           update session s set expires_at = live.deadline
           from live
           where s.id = live.id
             and live.expires_at < live.deadline - make_interval(secs => $4)
           returning s.id
         )
         select live.user_id, live.data, live.created_at, live.public_id,
                u.totp_secret_enc is not null, m.org_id, m.role, o.name,
                extract(epoch from least(
                  greatest(
                    live.expires_at,
                    case when live.expires_at < live.deadline - make_interval(secs => $4)
                         then live.deadline end),
                  live.created_at + make_interval(secs => $3)) - now())::float8
         from live
         join app_user u on u.id = live.user_id
         left join lateral (select org_id, role from app_memberships(live.user_id) limit 1) m
           on true
         left join organisation o on o.id = m.org_id",
    )
    .bind(id_hash)
    .bind(lifetimes.idle_secs as f64)
    .bind(lifetimes.absolute_secs as f64)
    .bind(lifetimes.touch_after_secs as f64)
    .fetch_optional(pool.pool())
    .await?;
    let Some((user, data, created_at, public_id, mfa_enrolled, org, role, org_name, expires_in)) =
        row
    else {
        return Ok(None);
    };
    let home = match (org, role, org_name) {
        (Some(org), Some(role), Some(org_name)) => Some(Home {
            org: OrgId::from_uuid(org),
            role: Role::parse(&role).ok_or(StoreError::Decode {
                what: "membership.role",
            })?,
            org_name,
        }),
        _ => None,
    };
    Ok(Some(Authenticated {
        session: Session {
            user_id: UserId::from_uuid(user),
            data: data.0,
            created_at,
            public_id,
        },
        mfa_enrolled,
        home,
        // Positive by the `where` above; the guard keeps a clock oddity
        // from panicking.
        expires_in: std::time::Duration::try_from_secs_f64(expires_in.max(0.0)).unwrap_or_default(),
    }))
}

/// Gives a session a new id and new data, keeping its creation time (so the
/// absolute lifetime still counts from login). `false` when the old id is gone.
pub async fn rotate(
    pool: &AppPool,
    old_hash: &str,
    new_hash: &str,
    data: &serde_json::Value,
) -> Result<bool, StoreError> {
    let done = sqlx::query("update session set id = $2, data = $3 where id = $1")
        .bind(old_hash)
        .bind(new_hash)
        .bind(sqlx::types::Json(data))
        .execute(pool.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes a session; deleting a missing one is not an error.
pub async fn delete(pool: &AppPool, id_hash: &str) -> Result<(), StoreError> {
    sqlx::query("delete from session where id = $1")
        .bind(id_hash)
        .execute(pool.pool())
        .await?;
    Ok(())
}

/// Deletes every expired session; returns how many went.
pub async fn purge_expired(pool: &AppPool) -> Result<u64, StoreError> {
    let done = sqlx::query("delete from session where expires_at <= now()")
        .execute(pool.pool())
        .await?;
    Ok(done.rows_affected())
}

/// Replaces a session's data without rotating its id (step-up by bearer of
/// a fresh cookie is done with [`rotate`]; this is for flags only).
pub async fn set_data(
    pool: &AppPool,
    id_hash: &str,
    data: &serde_json::Value,
) -> Result<bool, StoreError> {
    let done = sqlx::query("update session set data = $2 where id = $1")
        .bind(id_hash)
        .bind(sqlx::types::Json(data))
        .execute(pool.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The live sessions of `user`, most recently used first.
pub async fn list_for_user(pool: &AppPool, user: UserId) -> Result<Vec<SessionInfo>, StoreError> {
    let rows: Vec<(uuid::Uuid, OffsetDateTime, OffsetDateTime, Option<String>)> = sqlx::query_as(
        "select public_id, created_at, updated_at, user_agent from session
         where user_id = $1 and expires_at > now()
         order by updated_at desc, public_id",
    )
    .bind(user.as_uuid())
    .fetch_all(pool.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(public_id, created_at, last_seen_at, user_agent)| SessionInfo {
                public_id,
                created_at,
                last_seen_at,
                user_agent,
            },
        )
        .collect())
}

/// Ends `user`'s session with handle `public_id`; another person's handle
/// is [`StoreError::NotFound`] like a missing one.
pub async fn revoke(pool: &AppPool, user: UserId, public_id: uuid::Uuid) -> Result<(), StoreError> {
    let done = sqlx::query("delete from session where user_id = $1 and public_id = $2")
        .bind(user.as_uuid())
        .bind(public_id)
        .execute(pool.pool())
        .await?;
    super::affected(done.rows_affected(), "session")
}

/// Ends every session of `user` (password reset); returns how many went.
pub async fn revoke_all(pool: &AppPool, user: UserId) -> Result<u64, StoreError> {
    let done = sqlx::query("delete from session where user_id = $1")
        .bind(user.as_uuid())
        .execute(pool.pool())
        .await?;
    Ok(done.rows_affected())
}
