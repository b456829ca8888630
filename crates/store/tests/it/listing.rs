//! The lean messages list and the dashboard's weekly count, both reading
//! the newest verdict the assessment trigger keeps on each message
//! (migration 0100): a re-analysis moves a message's level, unassessed
//! messages and other organisations' are never listed, and the lean list
//! agrees with the full one row for row under every filter.

use crate::support;
use sentra_domain::{Category, OrgId, RiskLevel, UserId};
use sentra_store::AppPool;
use sentra_store::crypto::Keyring;
use sentra_store::ids::{MailboxId, MessageId};
use sentra_store::repo::assessment::{self, AssessedFilter, NewAssessment};
use sentra_store::repo::message::{self, NewMessage};
use sentra_store::repo::{case, dashboard, listing};
use sentra_store::testing::TestDb;
use time::{Duration, OffsetDateTime};

fn keys() -> &'static Keyring {
    static KEYS: std::sync::OnceLock<Keyring> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| Keyring::generate_insecure_dev().unwrap())
}

/// Stores a message received `days_ago` days ago, in its own transaction.
async fn message_at(
    pool: &AppPool,
    (org, user): (OrgId, UserId),
    mailbox: MailboxId,
    name: &str,
    days_ago: i64,
) -> MessageId {
    let mut tx = support::tx(pool, org, user).await;
    let id = message::insert(
        &mut tx,
        keys(),
        &NewMessage {
            mailbox_id: mailbox,
            provider_message_id: name.to_owned(),
            internet_message_id: None,
            received_at: OffsetDateTime::now_utc() - Duration::days(days_ago),
            from_address: Some(format!("{name}@supplier.example")),
            from_domain: Some("supplier.example".to_owned()),
            subject: Some(format!("About {name}")),
            raw_mime: None,
        },
    )
    .await
    .unwrap()
    .id();
    tx.commit().await.unwrap();
    id
}

/// Stores a verdict in its own transaction (so each has its own
/// `created_at`: the newest is the last one stored).
async fn assess(
    pool: &AppPool,
    (org, user): (OrgId, UserId),
    message: MessageId,
    version: &str,
    (category, level): (Category, RiskLevel),
    supplier: Option<&str>,
) {
    let mut tx = support::tx(pool, org, user).await;
    let id = assessment::insert(
        &mut tx,
        &NewAssessment {
            message_id: message,
            engine_version: version.to_owned(),
            category,
            risk_level: level,
            risk_score: 10,
            signals: serde_json::json!([]),
            extracted: match supplier {
                Some(name) => serde_json::json!({"supplier": {"name": name, "match": "domain"}}),
                None => serde_json::json!({}),
            },
        },
    )
    .await
    .unwrap();
    if level >= RiskLevel::Medium {
        case::open_for_message(&mut tx, message, Some(id), level)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn the_lean_list_follows_the_newest_verdict_and_agrees_with_the_full_list() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let pool = db.app_pool();
    let a = support::org(pool, "A").await;
    let b = support::org(pool, "B").await;
    let box_a = support::mailbox(pool, a.0, a.1).await;
    let box_b = support::mailbox(pool, b.0, b.1).await;

    let old = message_at(pool, a, box_a, "old", 20).await;
    let recent = message_at(pool, a, box_a, "recent", 1).await;
    let unassessed = message_at(pool, a, box_a, "unassessed", 0).await;
    let theirs = message_at(pool, b, box_b, "theirs", 1).await;
    // `old` was critical, then a newer engine cleared it.
    let bank = Category::BankDetailsChange;
    assess(pool, a, old, "1", (bank, RiskLevel::Critical), Some("Apex")).await;
    assess(
        pool,
        a,
        old,
        "2",
        (Category::Invoice, RiskLevel::None),
        None,
    )
    .await;
    assess(pool, a, recent, "1", (bank, RiskLevel::High), Some("Apex")).await;
    assess(
        pool,
        b,
        theirs,
        "1",
        (bank, RiskLevel::Critical),
        Some("Apex"),
    )
    .await;

    let mut tx = support::tx(pool, a.0, a.1).await;
    let all = listing::page(&mut tx, &AssessedFilter::default(), 0, 100)
        .await
        .unwrap();
    let ids: Vec<MessageId> = all.iter().map(|m| m.id).collect();
    assert_eq!(ids, vec![recent, old], "no unassessed, no other tenant's");
    assert!(!ids.contains(&unassessed) && !ids.contains(&theirs));
    assert_eq!(all[0].risk_level, RiskLevel::High);
    assert_eq!(all[0].supplier_name(), Some("Apex"));
    assert!(all[0].case_id.is_some());
    assert_eq!(all[1].risk_level, RiskLevel::None, "the newer verdict");
    assert_eq!(all[1].category, Category::Invoice);
    assert_eq!(all[1].supplier, None);
    assert!(
        all[1].case_id.is_some(),
        "the case of the earlier verdict stays"
    );

    let filters = [
        AssessedFilter::default(),
        AssessedFilter {
            min_level: Some(RiskLevel::Medium),
            ..AssessedFilter::default()
        },
        AssessedFilter {
            level: Some(RiskLevel::None),
            ..AssessedFilter::default()
        },
        AssessedFilter {
            category: Some(bank),
            ..AssessedFilter::default()
        },
        AssessedFilter {
            supplier: Some("APEX".to_owned()),
            ..AssessedFilter::default()
        },
        AssessedFilter {
            message: Some(theirs),
            ..AssessedFilter::default()
        },
        AssessedFilter {
            received_from: Some(OffsetDateTime::now_utc() - Duration::days(7)),
            received_to: Some(OffsetDateTime::now_utc()),
            ..AssessedFilter::default()
        },
    ];
    let expected: [&[MessageId]; 7] = [
        &[recent, old],
        &[recent],
        &[old],
        &[recent],
        &[recent],
        &[],
        &[recent],
    ];
    for (filter, want) in filters.iter().zip(expected) {
        let lean = listing::page(&mut tx, filter, 0, 100).await.unwrap();
        let full = assessment::list_assessed_page(&mut tx, filter, 0, 100)
            .await
            .unwrap();
        let lean_ids: Vec<MessageId> = lean.iter().map(|m| m.id).collect();
        assert_eq!(lean_ids, want, "{filter:?}");
        assert_eq!(lean.len(), full.len(), "{filter:?}");
        for (l, f) in lean.iter().zip(&full) {
            let v = &f.assessment.verdict;
            assert_eq!(
                (l.id, l.risk_level, l.category, l.case_id),
                (v.message_id, v.risk_level, v.category, f.case_id),
                "{filter:?}"
            );
            assert_eq!(l.supplier.as_ref(), v.extracted.get("supplier"));
        }
    }
    // Pages: offset and limit.
    let second = listing::page(&mut tx, &AssessedFilter::default(), 1, 1)
        .await
        .unwrap();
    assert_eq!(second.iter().map(|m| m.id).collect::<Vec<_>>(), vec![old]);

    // The weekly count reads the same level: only `recent` is flagged now.
    let weeks = dashboard::flagged_per_week(&mut tx, RiskLevel::Medium, 12)
        .await
        .unwrap();
    assert_eq!(weeks.len(), 12);
    assert_eq!(weeks.iter().map(|w| w.1).sum::<i64>(), 1);
    tx.commit().await.unwrap();

    // Another organisation sees only its own, flagged.
    let mut tx = support::tx(pool, b.0, b.1).await;
    let weeks = dashboard::flagged_per_week(&mut tx, RiskLevel::Medium, 12)
        .await
        .unwrap();
    assert_eq!(weeks.iter().map(|w| w.1).sum::<i64>(), 1);
    let theirs_listed = listing::page(&mut tx, &AssessedFilter::default(), 0, 100)
        .await
        .unwrap();
    assert_eq!(
        theirs_listed.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![theirs]
    );
}
