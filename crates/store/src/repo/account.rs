//! Self-service changes to a person's own account (`app_user`, `session`,
//! `password_reset`: global tables) made in the same transaction as the
//! audit event that records them, so a change and its event commit or roll
//! back together.
//!
//! An account's events go to its oldest organisation (the one the web
//! layer signs it into). [`AccountTx`] is that organisation's transaction;
//! an account that belongs to no organisation (every membership removed)
//! still gets a transaction, but has nowhere to record an event, so
//! [`AccountTx::audit`] answers `false` there.

use crate::audit::{self, NewEvent};
use crate::{AppPool, StoreError, TenantTx, memberships};
use sentra_domain::{OrgId, UserId};
use sqlx::{PgConnection, Postgres, Transaction};

enum Inner {
    Org(TenantTx),
    NoOrg(Transaction<'static, Postgres>),
}

/// One transaction for changes to `user`'s own account and their audit event.
pub struct AccountTx {
    inner: Inner,
    user: UserId,
}

impl std::fmt::Debug for AccountTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountTx")
            .field("user", &self.user)
            .field("org", &self.org())
            .finish_non_exhaustive()
    }
}

impl AccountTx {
    /// Opens the transaction in `user`'s oldest organisation (or a plain
    /// one when they belong to none).
    pub async fn begin(pool: &AppPool, user: UserId) -> Result<Self, StoreError> {
        let inner = match memberships(pool, user).await?.into_iter().next() {
            Some((org, _)) => Inner::Org(TenantTx::begin(pool, org, Some(user)).await?),
            None => Inner::NoOrg(pool.pool().begin().await?),
        };
        Ok(Self { inner, user })
    }

    /// Opens the transaction for the account a live, unused reset token
    /// (`token_hash`) belongs to; `None` for an unknown, used or expired one.
    /// Nothing is consumed yet: see [`AccountTx::consume_reset`].
    pub async fn begin_for_reset(
        pool: &AppPool,
        token_hash: &str,
    ) -> Result<Option<Self>, StoreError> {
        let user: Option<uuid::Uuid> = sqlx::query_scalar(
            "select user_id from password_reset
             where token_hash = $1 and used_at is null and expires_at > now()",
        )
        .bind(token_hash)
        .fetch_optional(pool.pool())
        .await?;
        match user {
            Some(u) => Ok(Some(Self::begin(pool, UserId::from_uuid(u)).await?)),
            None => Ok(None),
        }
    }

    /// Whose account this is.
    pub fn user(&self) -> UserId {
        self.user
    }

    /// The organisation events go to, if any.
    pub fn org(&self) -> Option<OrgId> {
        match &self.inner {
            Inner::Org(tx) => Some(tx.org()),
            Inner::NoOrg(_) => None,
        }
    }

    fn conn(&mut self) -> &mut PgConnection {
        match &mut self.inner {
            Inner::Org(tx) => tx.conn(),
            Inner::NoOrg(tx) => tx,
        }
    }

    /// Records `event` (actor the account's owner, target the user) in this
    /// transaction; `false` when the account has no organisation to record
    /// it in.
    pub async fn audit(
        &mut self,
        action: &str,
        details: serde_json::Value,
    ) -> Result<bool, StoreError> {
        let event = NewEvent::new("user", action)
            .target("user", self.user.to_string())
            .details(details);
        match &mut self.inner {
            Inner::Org(tx) => {
                audit::append(tx, event).await?;
                Ok(true)
            }
            Inner::NoOrg(_) => Ok(false),
        }
    }

    /// Commits the changes and their event.
    pub async fn commit(self) -> Result<(), StoreError> {
        match self.inner {
            Inner::Org(tx) => tx.commit().await,
            Inner::NoOrg(tx) => Ok(tx.commit().await?),
        }
    }

    /// The account's current password hash.
    pub async fn password_hash(&mut self) -> Result<String, StoreError> {
        let user = self.user;
        let row: Option<String> =
            sqlx::query_scalar("select password_hash from app_user where id = $1 for update")
                .bind(user.as_uuid())
                .fetch_optional(self.conn())
                .await?;
        super::found(row, "user")
    }

    /// Sets (or, with `None`, clears) the name shown beside the address.
    pub async fn set_display_name(&mut self, name: Option<&str>) -> Result<(), StoreError> {
        let user = self.user;
        set_name_on(self.conn(), user, name).await
    }

    /// Replaces the password hash and clears the lockout.
    pub async fn set_password(&mut self, hash: &str) -> Result<(), StoreError> {
        let user = self.user;
        let done = sqlx::query(
            "update app_user set password_hash = $2, failed_password_count = 0, locked_until = null
             where id = $1",
        )
        .bind(user.as_uuid())
        .bind(hash)
        .execute(self.conn())
        .await?;
        super::affected(done.rows_affected(), "user")
    }

    /// Stores the secret shown during enrolment (encrypted as
    /// [`crate::keys::USER_TOTP_PENDING`]), replacing any earlier one.
    pub async fn set_totp_pending(&mut self, pending_enc: &[u8]) -> Result<(), StoreError> {
        let user = self.user;
        let done = sqlx::query("update app_user set totp_pending_enc = $2 where id = $1")
            .bind(user.as_uuid())
            .bind(pending_enc)
            .execute(self.conn())
            .await?;
        super::affected(done.rows_affected(), "user")
    }

    /// Finishes enrolment (see [`super::user::confirm_totp`]); `false` when
    /// no enrolment was pending.
    pub async fn confirm_totp(
        &mut self,
        secret_enc: &[u8],
        step: i64,
        recovery_hashes: &[String],
    ) -> Result<bool, StoreError> {
        let user = self.user;
        let done = sqlx::query(
            "update app_user set totp_secret_enc = $2, totp_pending_enc = null,
                    last_totp_step = $3, failed_totp_count = 0, recovery_code_hashes = $4
             where id = $1 and totp_pending_enc is not null",
        )
        .bind(user.as_uuid())
        .bind(secret_enc)
        .bind(step)
        .bind(recovery_hashes)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Replaces every recovery code (the old ones stop working) of an
    /// account with an authenticator; `false` when it has none.
    pub async fn replace_recovery_codes(&mut self, hashes: &[String]) -> Result<bool, StoreError> {
        let user = self.user;
        let done = sqlx::query(
            "update app_user set recovery_code_hashes = $2
             where id = $1 and totp_secret_enc is not null",
        )
        .bind(user.as_uuid())
        .bind(hashes)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives one of the account's sessions a new id and data (see
    /// [`super::session::rotate`]); `false` when the old id is gone.
    pub async fn rotate_session(
        &mut self,
        old_hash: &str,
        new_hash: &str,
        data: &serde_json::Value,
    ) -> Result<bool, StoreError> {
        let user = self.user;
        let done =
            sqlx::query("update session set id = $2, data = $3 where id = $1 and user_id = $4")
                .bind(old_hash)
                .bind(new_hash)
                .bind(sqlx::types::Json(data))
                .bind(user.as_uuid())
                .execute(self.conn())
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Ends the account's session with handle `public_id`; another
    /// person's handle is [`StoreError::NotFound`] like a missing one.
    pub async fn revoke_session(&mut self, public_id: uuid::Uuid) -> Result<(), StoreError> {
        let user = self.user;
        let done = sqlx::query("delete from session where user_id = $1 and public_id = $2")
            .bind(user.as_uuid())
            .bind(public_id)
            .execute(self.conn())
            .await?;
        super::affected(done.rows_affected(), "session")
    }

    /// Ends every session of the account but the one stored as `keep_hash`
    /// (none kept when `None`); returns how many went.
    pub async fn revoke_sessions_except(
        &mut self,
        keep_hash: Option<&str>,
    ) -> Result<u64, StoreError> {
        let user = self.user;
        let done = sqlx::query(
            "delete from session where user_id = $1 and ($2::text is null or id <> $2)",
        )
        .bind(user.as_uuid())
        .bind(keep_hash)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected())
    }

    /// Stores a reset token for the account (see [`super::password_reset::create`]).
    pub async fn create_reset(
        &mut self,
        token_hash: &str,
        ttl_secs: i64,
    ) -> Result<(), StoreError> {
        let user = self.user;
        create_reset_on(self.conn(), user, token_hash, ttl_secs).await
    }

    /// Uses up the live reset token `token_hash` if it is this account's;
    /// `false` otherwise. Atomic: one winner per token.
    pub async fn consume_reset(&mut self, token_hash: &str) -> Result<bool, StoreError> {
        let user = self.user;
        let done = sqlx::query(
            "update password_reset set used_at = now()
             where token_hash = $1 and user_id = $2 and used_at is null and expires_at > now()",
        )
        .bind(token_hash)
        .bind(user.as_uuid())
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// A reset token for `user` issued by an administrator, in the
/// administrator's transaction `tx` (which records the event).
pub async fn create_reset_in(
    tx: &mut TenantTx,
    user: UserId,
    token_hash: &str,
    ttl_secs: i64,
) -> Result<(), StoreError> {
    create_reset_on(tx.conn(), user, token_hash, ttl_secs).await
}

/// Earlier unused tokens of the user are withdrawn: only the newest works.
async fn create_reset_on(
    conn: &mut PgConnection,
    user: UserId,
    token_hash: &str,
    ttl_secs: i64,
) -> Result<(), StoreError> {
    sqlx::query("delete from password_reset where user_id = $1 and used_at is null")
        .bind(user.as_uuid())
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "insert into password_reset (user_id, token_hash, expires_at)
         values ($1, $2, now() + make_interval(secs => $3))",
    )
    .bind(user.as_uuid())
    .bind(token_hash)
    .bind(ttl_secs as f64)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The name `user` gave, if any.
pub async fn display_name(pool: &AppPool, user: UserId) -> Result<Option<String>, StoreError> {
    let row: Option<Option<String>> =
        sqlx::query_scalar("select display_name from app_user where id = $1")
            .bind(user.as_uuid())
            .fetch_optional(pool.pool())
            .await?;
    super::found(row, "user")
}

/// Sets the name of an account created in `tx` (accepting an invitation).
pub async fn set_display_name_in(
    tx: &mut TenantTx,
    user: UserId,
    name: Option<&str>,
) -> Result<(), StoreError> {
    set_name_on(tx.conn(), user, name).await
}

async fn set_name_on(
    conn: &mut PgConnection,
    user: UserId,
    name: Option<&str>,
) -> Result<(), StoreError> {
    let done = sqlx::query("update app_user set display_name = $2 where id = $1")
        .bind(user.as_uuid())
        .bind(name)
        .execute(conn)
        .await?;
    super::affected(done.rows_affected(), "user")
}
