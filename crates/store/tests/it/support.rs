//! Small fixtures shared by the test modules.

use sentra_domain::{EmailAddress, OrgId, UserId};
use sentra_store::ids::MailboxId;
use sentra_store::repo::{mailbox, organisation, user};
use sentra_store::{AppPool, TenantTx};

/// A new user with a unique address.
pub async fn user(pool: &AppPool) -> UserId {
    let email =
        EmailAddress::parse(&format!("u{}@example.test", uuid::Uuid::new_v4().simple())).unwrap();
    user::create(pool, &email, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA")
        .await
        .unwrap()
}

/// A new organisation and its owner.
pub async fn org(pool: &AppPool, name: &str) -> (OrgId, UserId) {
    let owner = user(pool).await;
    let org = organisation::create(pool, name, owner).await.unwrap();
    (org, owner)
}

/// A tenant transaction for `org` acting as `user`.
pub async fn tx(pool: &AppPool, org: OrgId, user: UserId) -> TenantTx {
    TenantTx::begin(pool, org, Some(user)).await.unwrap()
}

/// A committed M365 mailbox in `org`.
pub async fn mailbox(pool: &AppPool, org: OrgId, user: UserId) -> MailboxId {
    let mut t = tx(pool, org, user).await;
    let id = mailbox::create(
        &mut t,
        mailbox::Provider::M365,
        &format!("accounts-{}@example.test", uuid::Uuid::new_v4().simple()),
    )
    .await
    .unwrap();
    t.commit().await.unwrap();
    id
}
