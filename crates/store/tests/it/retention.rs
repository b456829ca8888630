//! The retention purge with an injected clock (security bar G6.1): two
//! organisations with different settings, messages of many ages, purged at
//! several "now"s. Nothing older than policy survives, extracted facts do,
//! open cases hold their message, reruns are no-ops, and each purge that
//! removed something is one audit event with counts on a chain that verifies.

use crate::audit::{new_org, owner};
use sentra_domain::OrgId;
use sentra_store::audit::{VerifyReport, verify};
use sentra_store::retention::{OrgPurge, PurgeReport, purge};
use sentra_store::testing::TestDb;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const AGES_DAYS: [i64; 9] = [1, 5, 10, 20, 40, 100, 200, 400, 800];

struct Seeded {
    /// (org, age in days, message id)
    messages: Vec<(OrgId, i64, Uuid)>,
}

async fn seed_org(db: &TestDb, org: OrgId, t0: OffsetDateTime, seeded: &mut Seeded) {
    let mailbox: Uuid = sqlx::query_scalar(
        "insert into mailbox (org_id, provider, address) values ($1, 'm365', 'accounts@example.test') returning id",
    )
    .bind(org.as_uuid())
    .fetch_one(db.superuser())
    .await
    .unwrap();
    for age in AGES_DAYS {
        let id: Uuid = sqlx::query_scalar(
            "insert into message (org_id, mailbox_id, provider_message_id, received_at, raw_mime)
             values ($1, $2, $3, $4, 'raw mime ciphertext') returning id",
        )
        .bind(org.as_uuid())
        .bind(mailbox)
        .bind(format!("msg-{age}"))
        .bind(t0 - Duration::days(age))
        .fetch_one(db.superuser())
        .await
        .unwrap();
        sqlx::query(
            "insert into assessment (org_id, message_id, engine_version, category, risk_level,
               risk_score, extracted)
             values ($1, $2, '1', 'invoice', 'medium', 40, '{\"account\": \"****4958\"}')",
        )
        .bind(org.as_uuid())
        .bind(id)
        .execute(db.superuser())
        .await
        .unwrap();
        seeded.messages.push((org, age, id));
    }
}

async fn add_case(db: &TestDb, org: OrgId, message: Uuid, open: bool) -> Uuid {
    sqlx::query_scalar(
        "insert into fraud_case (org_id, message_id, status, risk_level, closed_at)
         values ($1, $2, $3, 'high', case when $4 then null else now() end) returning id",
    )
    .bind(org.as_uuid())
    .bind(message)
    .bind(if open { "open" } else { "cleared" })
    .bind(open)
    .fetch_one(db.superuser())
    .await
    .unwrap()
}

fn message(seeded: &Seeded, org: OrgId, age: i64) -> Uuid {
    seeded
        .messages
        .iter()
        .find(|m| m.0 == org && m.1 == age)
        .unwrap()
        .2
}

fn of(report: &PurgeReport, org: OrgId) -> OrgPurge {
    report.orgs.iter().find(|(o, _)| *o == org).unwrap().1
}

/// The G6.1 oracle: no raw MIME older than the org's `raw_email_days`, no
/// message older than `messages_months` without an open case, and every
/// remaining message still has its assessment.
async fn assert_policy_holds(db: &TestDb, now: OffsetDateTime) {
    let (raw_too_old, messages_too_old, without_assessment): (i64, i64, i64) = sqlx::query_as(
        "with s as (
           select o.id as org_id, coalesce(x.raw_email_days, 30) as days,
                  coalesce(x.messages_months, 24) as months
           from organisation o left join org_settings x on x.org_id = o.id
         )
         select
           (select count(*) from message m join s using (org_id)
             where m.raw_mime is not null and m.received_at < $1 - make_interval(days => s.days)),
           (select count(*) from message m join s using (org_id)
             where m.received_at < $1 - make_interval(months => s.months)
               and not exists (select 1 from fraud_case c where c.message_id = m.id
                                 and c.status in ('open', 'verifying'))),
           (select count(*) from message m
             where not exists (select 1 from assessment a where a.message_id = m.id))",
    )
    .bind(now)
    .fetch_one(db.superuser())
    .await
    .unwrap();
    assert_eq!(
        (raw_too_old, messages_too_old, without_assessment),
        (0, 0, 0),
        "policy broken at {now}"
    );
}

async fn purge_events(db: &TestDb, org: OrgId) -> Vec<serde_json::Value> {
    sqlx::query_scalar(
        "select details from audit_event where org_id = $1 and action = 'retention.purge' order by seq",
    )
    .bind(org.as_uuid())
    .fetch_all(db.superuser())
    .await
    .unwrap()
}

#[tokio::test]
async fn purging_over_time_keeps_to_each_orgs_policy_and_audits_the_counts() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let t0 = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let (strict, default) = (new_org(&db, "strict").await, new_org(&db, "default").await);
    sqlx::query(
        "insert into org_settings (org_id, raw_email_days, messages_months, audit_years)
         values ($1, 7, 3, 1)",
    )
    .bind(strict.as_uuid())
    .execute(db.superuser())
    .await
    .unwrap();
    let mut seeded = Seeded {
        messages: Vec::new(),
    };
    seed_org(&db, strict, t0, &mut seeded).await;
    seed_org(&db, default, t0, &mut seeded).await;
    let open_case = add_case(&db, strict, message(&seeded, strict, 200), true).await;
    add_case(&db, strict, message(&seeded, strict, 100), false).await;
    sqlx::query(
        "insert into job (org_id, kind, status, updated_at) values
           ($1, 'old', 'done', $2), ($1, 'recent', 'done', $3), ($1, 'stuck', 'parked', $2)",
    )
    .bind(default.as_uuid())
    .bind(t0 - Duration::days(40))
    .bind(t0 - Duration::days(2))
    .execute(db.superuser())
    .await
    .unwrap();
    let owner = owner(&db).await;

    // Act: at t0
    let first = purge(&owner, t0).await.unwrap();

    // strict: 7 days raw, 3 months messages; the 200-day message has an open case
    let s = of(&first, strict);
    assert_eq!(
        (
            s.messages_deleted,
            s.messages_held_for_open_case,
            s.assessments_deleted,
            s.cases_deleted
        ),
        (3, 1, 3, 1),
        "{s:?}"
    );
    assert_eq!(
        s.raw_purged, 4,
        "10, 20, 40 and the held 200-day message: {s:?}"
    );
    // default: 30 days raw, 24 months messages, finished jobs after 30 days
    let d = of(&first, default);
    assert_eq!(
        (d.raw_purged, d.messages_deleted, d.jobs_deleted),
        (4, 1, 1),
        "{d:?}"
    );
    assert_policy_holds(&db, t0).await;
    let kept_jobs: Vec<String> = sqlx::query_scalar("select kind from job order by kind")
        .fetch_all(db.superuser())
        .await
        .unwrap();
    assert_eq!(kept_jobs, ["recent", "stuck"]);
    let purged_with_facts: i64 = sqlx::query_scalar(
        "select count(*) from message m join assessment a on a.message_id = m.id
         where m.raw_mime is null and m.raw_purged_at = $1 and a.extracted ->> 'account' = '****4958'",
    )
    .bind(t0)
    .fetch_one(db.superuser())
    .await
    .unwrap();
    assert_eq!(purged_with_facts, 8, "raw purged, extracted facts kept");

    let events = purge_events(&db, strict).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["messages_deleted"], 3);
    assert_eq!(events[0]["raw_purged"], 4);
    assert_eq!(events[0]["messages_held_for_open_case"], 1);
    assert_eq!(Some(events.len() as i64), s.audit_seq);

    // Act: the same clock again is a no-op, audit log included
    let again = purge(&owner, t0).await.unwrap();
    assert_eq!(again.total_removed(), 0, "{again:?}");
    assert!(again.orgs.iter().all(|(_, p)| p.audit_seq.is_none()));
    assert_eq!(purge_events(&db, strict).await.len(), 1);

    // Act: three weeks on, younger raw bodies age out
    let later = t0 + Duration::days(21);
    let report = purge(&owner, later).await.unwrap();
    assert_eq!(
        of(&report, strict).raw_purged,
        2,
        "the 1- and 5-day messages"
    );
    assert_eq!(
        of(&report, default).raw_purged,
        2,
        "the 10- and 20-day messages"
    );
    assert_policy_holds(&db, later).await;

    // Act: the case closes; far in the future everything but audit goes
    sqlx::query("update fraud_case set status = 'cleared', closed_at = now() where id = $1")
        .bind(open_case)
        .execute(db.superuser())
        .await
        .unwrap();
    let far = t0 + Duration::days(1200);
    let report = purge(&owner, far).await.unwrap();
    let s = of(&report, strict);
    assert_eq!(
        (s.messages_deleted, s.messages_held_for_open_case),
        (6, 0),
        "{s:?}"
    );
    assert!(
        s.audit_events_past_retention >= 1,
        "audit older than 1 year is reported: {s:?}"
    );
    assert_policy_holds(&db, far).await;
    let remaining: i64 = sqlx::query_scalar("select count(*) from message")
        .fetch_one(db.superuser())
        .await
        .unwrap();
    assert_eq!(remaining, 0);
    assert_eq!(
        purge_events(&db, strict).await.len(),
        3,
        "audit events are never purged"
    );
    let reports = verify(&owner, None).await.unwrap();
    assert!(reports.iter().all(VerifyReport::is_ok), "{reports:?}");
    assert_eq!(purge(&owner, far).await.unwrap().total_removed(), 0);
}

#[tokio::test]
async fn an_org_without_settings_or_data_purges_nothing_and_writes_nothing() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let org = new_org(&db, "empty").await;
    let report = purge(&owner(&db).await, OffsetDateTime::now_utc())
        .await
        .unwrap();
    assert_eq!(report.orgs, [(org, OrgPurge::default())]);
    assert!(purge_events(&db, org).await.is_empty());
}
