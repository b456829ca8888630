//! `AccountTx`: a person's own account changes and their audit event
//! commit together, a rollback leaves neither, the event lands in the
//! person's oldest organisation, and an account with no organisation still
//! changes (with nowhere to record it).

use crate::support;
use sentra_store::repo::account::{self, AccountTx};
use sentra_store::testing::TestDb;

/// A token hash as stored: 64 hex digits.
const HASH: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

async fn events(db: &TestDb) -> i64 {
    sqlx::query_scalar("select count(*) from audit_event")
        .fetch_one(db.superuser())
        .await
        .unwrap()
}

async fn hash_of(db: &TestDb, user: sentra_domain::UserId) -> String {
    sqlx::query_scalar("select password_hash from app_user where id = $1")
        .bind(user.as_uuid())
        .fetch_one(db.superuser())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_change_and_its_event_commit_together_and_roll_back_together() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let pool = db.app_pool();
    let (org, owner) = support::org(pool, "Account Co").await;
    let before_hash = hash_of(&db, owner).await;
    let before = events(&db).await;

    // Rolled back (dropped): neither the password nor the event.
    let mut tx = AccountTx::begin(pool, owner).await.unwrap();
    assert_eq!(tx.org(), Some(org));
    tx.set_password("$argon2id$v=19$m=19456,t=2,p=1$bmV3$bmV3")
        .await
        .unwrap();
    assert!(
        tx.audit("auth.password.change", serde_json::json!({}))
            .await
            .unwrap()
    );
    drop(tx);
    assert_eq!(hash_of(&db, owner).await, before_hash);
    assert_eq!(events(&db).await, before);

    // Committed: both.
    let mut tx = AccountTx::begin(pool, owner).await.unwrap();
    tx.set_password("$argon2id$v=19$m=19456,t=2,p=1$bmV3$bmV3")
        .await
        .unwrap();
    tx.set_display_name(Some("Ola Owner")).await.unwrap();
    tx.audit("auth.password.change", serde_json::json!({}))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_ne!(hash_of(&db, owner).await, before_hash);
    assert_eq!(events(&db).await, before + 1);
    let (event_org, actor): (uuid::Uuid, Option<uuid::Uuid>) = sqlx::query_as(
        "select org_id, actor_user_id from audit_event order by at desc, seq desc limit 1",
    )
    .fetch_one(db.superuser())
    .await
    .unwrap();
    assert_eq!(event_org, org.as_uuid());
    assert_eq!(actor, Some(owner.as_uuid()));
    assert_eq!(
        account::display_name(pool, owner).await.unwrap().as_deref(),
        Some("Ola Owner")
    );
}

#[tokio::test]
async fn a_reset_token_is_used_once_and_only_by_its_own_account() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let pool = db.app_pool();
    let (_, owner) = support::org(pool, "Reset Co").await;
    let loner = support::user(pool).await;
    let mut tx = AccountTx::begin(pool, owner).await.unwrap();
    tx.create_reset(HASH, 600).await.unwrap();
    tx.commit().await.unwrap();
    // Another account's transaction cannot use it.
    let mut other = AccountTx::begin(pool, loner).await.unwrap();
    assert_eq!(other.org(), None);
    assert!(!other.consume_reset(HASH).await.unwrap());
    assert!(
        !other.audit("x", serde_json::json!({})).await.unwrap(),
        "nowhere to record"
    );
    other.commit().await.unwrap();
    let mut tx = AccountTx::begin_for_reset(pool, HASH)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(tx.user(), owner);
    assert!(tx.consume_reset(HASH).await.unwrap());
    tx.commit().await.unwrap();
    assert!(
        AccountTx::begin_for_reset(pool, HASH)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        AccountTx::begin_for_reset(pool, &"b".repeat(64))
            .await
            .unwrap()
            .is_none()
    );
}
