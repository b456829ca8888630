//! Connection reuse (security bar G1.4): with a two-connection pool, eight
//! organisations hammer it concurrently and none ever sees another's rows;
//! a released connection carries no tenant.

use crate::support;
use sentra_domain::{OrgId, UserId};
use sentra_store::repo::supplier::{self, SupplierFields, SupplierStatus};
use sentra_store::testing::TestDb;
use sentra_store::{AppPool, TenantTx};

const ORGS: usize = 8;
const OPS_PER_ORG: usize = 200;

fn canary(org: OrgId, n: usize) -> SupplierFields {
    SupplierFields {
        name: format!("CANARY-{org}-{n}"),
        domains: Vec::new(),
        country: None,
        status: SupplierStatus::Active,
    }
}

/// One organisation's share of the load: insert a canary, list, check that
/// every row is its own; commit, roll back, or drop the transaction in turn.
async fn worker(pool: AppPool, org: OrgId, user: UserId) -> (usize, Vec<String>) {
    let own = format!("CANARY-{org}-");
    let mut committed = 0;
    let mut foreign = Vec::new();
    for n in 0..OPS_PER_ORG {
        let mut tx = TenantTx::begin(&pool, org, Some(user)).await.unwrap();
        supplier::create(&mut tx, &canary(org, n)).await.unwrap();
        for s in supplier::list(&mut tx).await.unwrap() {
            if !s.fields.name.starts_with(&own) {
                foreign.push(s.fields.name);
            }
        }
        match n % 3 {
            0 => {
                tx.commit().await.unwrap();
                committed += 1;
            }
            1 => tx.rollback().await.unwrap(),
            _ => drop(tx),
        }
        tokio::task::yield_now().await;
    }
    (committed, foreign)
}

async fn assert_released_connections_are_clean(pool: &AppPool) {
    // Take both connections at once so both are probed.
    let mut first = pool.acquire_untenanted().await.unwrap();
    let mut second = pool.acquire_untenanted().await.unwrap();
    for conn in [&mut first, &mut second] {
        let org: Option<String> = sqlx::query_scalar("select current_setting('app.org_id', true)")
            .fetch_one(&mut **conn)
            .await
            .unwrap();
        assert_eq!(org.as_deref().unwrap_or(""), "");
        let visible: i64 = sqlx::query_scalar("select count(*) from supplier")
            .fetch_one(&mut **conn)
            .await
            .unwrap();
        assert_eq!(visible, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_organisations_sharing_two_connections_never_see_each_others_rows() {
    let Some(db) = TestDb::create_with_app_connections(2).await else {
        return;
    };
    let pool = db.app_pool().clone();
    let mut orgs = Vec::new();
    for i in 0..ORGS {
        orgs.push(support::org(&pool, &format!("Org {i}")).await);
    }

    let tasks: Vec<_> = orgs
        .iter()
        .map(|&(org, user)| tokio::spawn(worker(pool.clone(), org, user)))
        .collect();
    for (task, &(org, user)) in tasks.into_iter().zip(&orgs) {
        let (committed, foreign) = task.await.unwrap();
        assert!(foreign.is_empty(), "{org} saw foreign rows: {foreign:?}");
        let mut tx = TenantTx::begin(&pool, org, Some(user)).await.unwrap();
        assert_eq!(supplier::list(&mut tx).await.unwrap().len(), committed);
    }

    assert_released_connections_are_clean(&pool).await;
    assert_eq!(pool.leaked_on_release(), 0);
}

#[tokio::test]
async fn a_session_level_setting_is_caught_and_wiped_when_the_connection_is_released() {
    let Some(db) = TestDb::create_with_app_connections(1).await else {
        return;
    };
    let pool = db.app_pool();
    let (org, user) = support::org(pool, "A").await;
    let mut tx = support::tx(pool, org, user).await;
    supplier::create(&mut tx, &canary(org, 0)).await.unwrap();
    tx.commit().await.unwrap();

    // The mistake the hook defends against: a session-level tenant.
    let mut conn = pool.acquire_untenanted().await.unwrap();
    sqlx::query("select set_config('app.org_id', $1, false)")
        .bind(org.to_string())
        .execute(&mut *conn)
        .await
        .unwrap();
    let visible: i64 = sqlx::query_scalar("select count(*) from supplier")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(
        visible, 1,
        "the planted setting works while the connection is held"
    );
    drop(conn);

    let mut conn = pool.acquire_untenanted().await.unwrap();
    let visible: i64 = sqlx::query_scalar("select count(*) from supplier")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(visible, 0, "reset all on release wiped it");
    assert_eq!(pool.leaked_on_release(), 1);
}

#[tokio::test]
async fn after_commit_or_rollback_the_same_connection_has_no_tenant() {
    let Some(db) = TestDb::create_with_app_connections(1).await else {
        return;
    };
    let pool = db.app_pool();
    let (org, user) = support::org(pool, "A").await;
    for commit in [true, false] {
        let mut tx = support::tx(pool, org, user).await;
        supplier::create(&mut tx, &canary(org, 1)).await.unwrap();
        if commit {
            tx.commit().await.unwrap();
        } else {
            tx.rollback().await.unwrap();
        }
        let mut conn = pool.acquire_untenanted().await.unwrap();
        let org_setting: Option<String> =
            sqlx::query_scalar("select current_setting('app.org_id', true)")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
        assert_eq!(org_setting.as_deref().unwrap_or(""), "");
        let visible: i64 = sqlx::query_scalar("select count(*) from supplier")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(visible, 0);
    }
    assert_eq!(pool.leaked_on_release(), 0);
}
