//! `scripts/load/seed.sql`, the load test's data, run small: the counts it
//! promises, verdicts and cases that agree, and rows that land in the right
//! tenant (organisation 1's owner sees its own messages and no one else's).

use sentra_domain::{OrgId, UserId};
use sentra_store::TenantTx;
use sentra_store::repo::message;
use sentra_store::testing::TestDb;

/// The seed with psql's variables filled in and its meta-commands dropped.
fn seed_sql(orgs: u32, per_org: u32) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/load/seed.sql");
    let text = std::fs::read_to_string(path).expect("seed.sql");
    text.lines()
        .filter(|l| !l.starts_with('\\'))
        .collect::<Vec<_>>()
        .join("\n")
        .replace(":orgs", &orgs.to_string())
        .replace(":per_org", &per_org.to_string())
}

async fn uuid_of(db: &TestDb, what: &str) -> uuid::Uuid {
    sqlx::query_scalar("select md5($1)::uuid")
        .bind(what)
        .fetch_one(db.superuser())
        .await
        .expect("md5")
}

#[tokio::test]
async fn the_load_seed_fills_each_organisation_with_its_own_assessed_messages() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    sqlx::raw_sql(sqlx::AssertSqlSafe(seed_sql(3, 50)))
        .execute(db.superuser())
        .await
        .expect("seed");
    let su = db.superuser();
    let count = |sql: &'static str| async move {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(su)
            .await
            .expect("count")
    };
    assert_eq!(count("select count(*) from organisation").await, 3);
    assert_eq!(count("select count(*) from message").await, 150);
    assert_eq!(count("select count(*) from assessment").await, 150);
    assert_eq!(
        count("select count(*) from session where expires_at > now()").await,
        3
    );
    // A case exactly for the medium-or-worse verdicts, at the verdict's level.
    assert_eq!(
        count("select count(*) from assessment where risk_level in ('medium','high','critical')")
            .await,
        count("select count(*) from fraud_case").await
    );
    assert_eq!(
        count(
            "select count(*) from fraud_case c join assessment a on a.id = c.assessment_id
               where a.risk_level <> c.risk_level or a.org_id <> c.org_id"
        )
        .await,
        0
    );

    // Each message carries its verdict as the assessment trigger keeps it.
    assert_eq!(
        count(
            "select count(*) from message m join assessment a on a.message_id = m.id
               where m.current_assessment_id is distinct from a.id
                  or m.current_risk_level is distinct from a.risk_level"
        )
        .await,
        0
    );

    let org = OrgId::from_uuid(uuid_of(&db, "load-org-1").await);
    let user = UserId::from_uuid(uuid_of(&db, "load-user-1").await);
    let mut tx = TenantTx::begin(db.app_pool(), org, Some(user))
        .await
        .expect("tx");
    let seen = message::list_recent(&mut tx, 1000).await.expect("list");
    assert_eq!(seen.len(), 50);
    let subjects_of_others = seen
        .iter()
        .filter(|m| {
            !m.subject
                .as_deref()
                .unwrap_or("")
                .starts_with("Invoice INV-1-")
        })
        .count();
    assert_eq!(subjects_of_others, 0);
    tx.commit().await.expect("commit");
}
