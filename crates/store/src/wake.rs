//! Waking idle workers when a job is enqueued: Postgres `LISTEN`/`NOTIFY`
//! on one channel.
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
        let mut inner = PgListener::connect_with(pool.pool()).await?;
        inner.listen(JOB_CHANNEL).await?;
        Ok(Self { inner })
    }

    /// Waits for the next notification. `Ok(false)` means the connection
    /// was lost and has been re-established (notifications in between are
    /// lost: the caller should look at the queue). An error means the
    /// listener is broken; drop it and connect again later.
    pub async fn recv(&mut self) -> Result<bool, StoreError> {
        Ok(self.inner.try_recv().await?.is_some())
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
