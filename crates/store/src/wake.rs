//! Postgres `LISTEN`/`NOTIFY`: waking idle workers when a job is enqueued
//! ([`JOB_CHANNEL`]), and telling web processes which organisation or user
//! a committed change touched ([`CHANGE_CHANNEL`], for their read cache).
//!
//! [`crate::queue::enqueue`] and [`crate::queue::requeue`] call
//! `pg_notify` in the caller's transaction. Postgres delivers a notification
//! only when that transaction commits, so a worker woken by it always finds
//! the job claimable; a rolled-back enqueue wakes nobody. The payload is
//! empty: the channel says "look at the queue", never which organisation or
//! job (no tenant data crosses it). Notifications are folded per transaction,
//! so a page of many enqueues sends one.
//!
//! Notifications are best effort (lost while a listener reconnects), so
//! workers keep polling as a safety net; the wake-up only removes the wait.

use crate::{AppPool, StoreError};
use sentra_domain::{OrgId, UserId};
use sqlx::postgres::PgListener;

/// The channel enqueues notify and workers listen on.
pub const JOB_CHANNEL: &str = "sentra_job";

/// A connection listening on [`JOB_CHANNEL`]. It holds one pool connection
/// for as long as it lives.
#[derive(Debug)]
pub struct JobListener {
    inner: PgListener,
}

impl JobListener {
    /// Takes a connection from `pool` and listens on it (`LISTEN` needs no
    /// privilege, so `sentra_app` can).
    pub async fn connect(pool: &AppPool) -> Result<Self, StoreError> {
        Ok(Self {
            inner: listen(pool, JOB_CHANNEL).await?,
        })
    }

    /// Waits for the next notification. `Ok(false)` means the connection
    /// was lost and has been re-established (notifications in between are
    /// lost: the caller should look at the queue). An error means the
    /// listener is broken; drop it and connect again later.
    pub async fn recv(&mut self) -> Result<bool, StoreError> {
        Ok(self.inner.try_recv().await?.is_some())
    }
}

async fn listen(pool: &AppPool, channel: &str) -> Result<PgListener, StoreError> {
    let mut inner = PgListener::connect_with(pool.pool()).await?;
    inner.listen(channel).await?;
    Ok(inner)
}

/// The channel the triggers of migration `0101_change_notify.sql` notify at
/// the commit of every change to a tenant table (but `job` and
/// `audit_event`), an organisation, an account, a membership or a session.
pub const CHANGE_CHANNEL: &str = "sentra_change";

/// What a committed change touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Change {
    /// A tenant row of this organisation (payload `o:<uuid>`).
    Org(OrgId),
    /// The organisation's own row (`r:<uuid>`): its name, which every
    /// session check reads, so more than its tenant rows.
    OrgRecord(OrgId),
    /// This account, one of its sessions or memberships (`u:<uuid>`).
    User(UserId),
    /// Anything: the connection was re-established and notifications may
    /// have been lost meanwhile, or a payload was not understood.
    Everything,
}

impl Change {
    /// Reads a payload of [`CHANGE_CHANNEL`]; anything unexpected is
    /// [`Change::Everything`], the safe answer for a cache.
    pub fn parse(payload: &str) -> Self {
        let parsed = payload
            .split_once(':')
            .and_then(|(kind, id)| Some((kind, uuid::Uuid::parse_str(id).ok()?)));
        match parsed {
            Some(("o", id)) => Self::Org(OrgId::from_uuid(id)),
            Some(("r", id)) => Self::OrgRecord(OrgId::from_uuid(id)),
            Some(("u", id)) => Self::User(UserId::from_uuid(id)),
            _ => Self::Everything,
        }
    }
}

/// A connection listening on [`CHANGE_CHANNEL`] (one pool connection for
/// as long as it lives).
#[derive(Debug)]
pub struct ChangeListener {
    inner: PgListener,
}

impl ChangeListener {
    /// Takes a connection from `pool` and listens on it.
    pub async fn connect(pool: &AppPool) -> Result<Self, StoreError> {
        Ok(Self {
            inner: listen(pool, CHANGE_CHANNEL).await?,
        })
    }

    /// Waits for the next change. A lost connection is re-established and
    /// reported as [`Change::Everything`]; an error means the listener is
    /// broken: drop it and connect again later.
    pub async fn recv(&mut self) -> Result<Change, StoreError> {
        Ok(match self.inner.try_recv().await? {
            Some(n) => Change::parse(n.payload()),
            None => Change::Everything,
        })
    }
}

/// Sends the wake-up in `conn`'s transaction (delivered at its commit).
pub(crate) async fn notify(conn: &mut sqlx::PgConnection) -> Result<(), StoreError> {
    sqlx::query("select pg_notify($1, '')")
        .bind(JOB_CHANNEL)
        .execute(conn)
        .await?;
    Ok(())
}
