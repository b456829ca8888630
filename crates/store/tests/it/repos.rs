//! Repository behaviour, including what another organisation's ids look like
//! (exactly like ids that do not exist).

use crate::support;
use sentra_domain::{Category, RiskLevel, Role, SupplierId};
use sentra_store::crypto::Keyring;
use sentra_store::ids::{CaseId, MessageId};
use sentra_store::repo::assessment::{self, NewAssessment};
use sentra_store::repo::case::{self, CaseStatus};
use sentra_store::repo::message::{self, Inserted, NewMessage};
use sentra_store::repo::organisation;
use sentra_store::repo::supplier::{self, SupplierFields, SupplierStatus};
use sentra_store::testing::TestDb;
use sentra_store::{StoreError, memberships};
use time::macros::datetime;

fn apex() -> SupplierFields {
    SupplierFields {
        name: "Apex Scaffolding Ltd".to_owned(),
        domains: vec!["ApexScaffolding.co.uk".to_owned()],
        country: Some("GB".to_owned()),
        status: SupplierStatus::Active,
    }
}

/// One keyring for the whole test binary, as a process would have.
fn keys() -> &'static Keyring {
    static KEYS: std::sync::OnceLock<Keyring> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| Keyring::generate_insecure_dev().unwrap())
}

fn new_message(mailbox: sentra_store::ids::MailboxId, provider_id: &str) -> NewMessage {
    NewMessage {
        mailbox_id: mailbox,
        provider_message_id: provider_id.to_owned(),
        internet_message_id: Some(format!("<{provider_id}@mail.example>")),
        received_at: datetime!(2026-03-02 09:15 UTC),
        from_address: Some("accounts@apexscaffolding.co.uk".to_owned()),
        from_domain: Some("ApexScaffolding.co.uk".to_owned()),
        subject: Some("Invoice 4471".to_owned()),
        raw_mime: Some(b"From: a@b\r\n\r\nhello".to_vec()),
    }
}

#[tokio::test]
async fn creating_an_organisation_makes_its_creator_owner_with_default_settings() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let pool = db.app_pool();
    let (org, owner) = support::org(pool, "  Apex Builders  ").await;

    assert_eq!(
        memberships(pool, owner).await.unwrap(),
        vec![(org, Role::Owner)]
    );
    let mut tx = support::tx(pool, org, owner).await;
    let o = organisation::get(&mut tx).await.unwrap();
    assert_eq!((o.id, o.name.as_str()), (org, "Apex Builders"));
    assert_eq!(
        organisation::members(&mut tx).await.unwrap(),
        vec![(owner, Role::Owner)]
    );
    let raw_days: i32 =
        sqlx::query_scalar("select raw_email_days from org_settings where org_id = $1")
            .bind(org.as_uuid())
            .fetch_one(db.superuser())
            .await
            .unwrap();
    assert_eq!(raw_days, 30);
}

#[tokio::test]
async fn memberships_list_every_organisation_of_a_user_and_nothing_of_others() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let pool = db.app_pool();
    let (a, owner_a) = support::org(pool, "A").await;
    let (b, owner_b) = support::org(pool, "B").await;
    let clerk = support::user(pool).await;
    for (org, owner) in [(a, owner_a), (b, owner_b)] {
        let mut tx = support::tx(pool, org, owner).await;
        organisation::add_member(&mut tx, clerk, Role::Clerk)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    let mut got = memberships(pool, clerk).await.unwrap();
    got.sort();
    let mut want = vec![(a, Role::Clerk), (b, Role::Clerk)];
    want.sort();
    assert_eq!(got, want);
    assert_eq!(
        memberships(pool, owner_a).await.unwrap(),
        vec![(a, Role::Owner)]
    );
    let stranger = support::user(pool).await;
    assert!(memberships(pool, stranger).await.unwrap().is_empty());
}

#[tokio::test]
async fn the_membership_lookup_leaves_no_setting_behind_in_the_callers_transaction() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let pool = db.app_pool();
    let (_, owner) = support::org(pool, "A").await;
    let mut conn = pool.acquire_untenanted().await.unwrap();
    let rows: i64 = sqlx::query_scalar("select count(*) from app_memberships($1)")
        .bind(owner.as_uuid())
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(rows, 1);
    let setting: Option<String> =
        sqlx::query_scalar("select current_setting('app.lookup_user_id', true)")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert!(setting.unwrap_or_default().is_empty());
}

#[tokio::test]
async fn a_member_cannot_be_added_twice_and_unknown_users_are_not_found() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let pool = db.app_pool();
    let (org, owner) = support::org(pool, "A").await;
    let mut tx = support::tx(pool, org, owner).await;
    let err = organisation::add_member(&mut tx, owner, Role::Viewer)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    tx.rollback().await.unwrap();
    let mut tx = support::tx(pool, org, owner).await;
    let err = organisation::add_member(&mut tx, sentra_domain::UserId::new(), Role::Viewer)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound { what: "user" }),
        "{err:?}"
    );
}

#[tokio::test]
async fn suppliers_can_be_created_read_listed_updated_and_deleted() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let pool = db.app_pool();
    let (org, owner) = support::org(pool, "A").await;
    let mut tx = support::tx(pool, org, owner).await;

    let id = supplier::create(&mut tx, &apex()).await.unwrap();
    let got = supplier::get(&mut tx, id).await.unwrap();
    assert_eq!(got.fields.domains, vec!["apexscaffolding.co.uk".to_owned()]);
    assert_eq!(got.fields.name, "Apex Scaffolding Ltd");

    let mut other = apex();
    other.name = "Brick & Co".to_owned();
    let second = supplier::create(&mut tx, &other).await.unwrap();
    let names: Vec<_> = supplier::list(&mut tx)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(names, vec![id, second]);

    let mut changed = apex();
    changed.status = SupplierStatus::Archived;
    changed.country = None;
    supplier::update(&mut tx, id, &changed).await.unwrap();
    let got = supplier::get(&mut tx, id).await.unwrap();
    assert_eq!(
        (got.fields.status, got.fields.country),
        (SupplierStatus::Archived, None)
    );

    supplier::delete(&mut tx, id).await.unwrap();
    assert!(matches!(
        supplier::get(&mut tx, id).await.unwrap_err(),
        StoreError::NotFound { what: "supplier" }
    ));
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn invalid_supplier_fields_are_rejected_by_the_schema() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let pool = db.app_pool();
    let (org, owner) = support::org(pool, "A").await;
    let mut tx = support::tx(pool, org, owner).await;
    let mut bad = apex();
    bad.country = Some("gbr".to_owned());
    let err = supplier::create(&mut tx, &bad).await.unwrap_err();
    assert!(matches!(err, StoreError::Rejected { .. }), "{err:?}");
}

#[tokio::test]
async fn another_organisations_supplier_answers_exactly_like_a_missing_one() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let pool = db.app_pool();
    let (a, owner_a) = support::org(pool, "A").await;
    let (b, owner_b) = support::org(pool, "B").await;
    let mut tx = support::tx(pool, b, owner_b).await;
    let theirs = supplier::create(&mut tx, &apex()).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = support::tx(pool, a, owner_a).await;
    for id in [theirs, SupplierId::new()] {
        let get = supplier::get(&mut tx, id).await.unwrap_err().to_string();
        let update = supplier::update(&mut tx, id, &apex())
            .await
            .unwrap_err()
            .to_string();
        let delete = supplier::delete(&mut tx, id).await.unwrap_err().to_string();
        assert_eq!(
            (get.as_str(), update.as_str(), delete.as_str()),
            (
                "supplier not found",
                "supplier not found",
                "supplier not found"
            )
        );
    }
    assert!(supplier::list(&mut tx).await.unwrap().is_empty());
    tx.rollback().await.unwrap();

    let mut tx = support::tx(pool, b, owner_b).await;
    assert_eq!(
        supplier::get(&mut tx, theirs).await.unwrap().fields.name,
        apex().name
    );
}

#[tokio::test]
async fn a_composite_foreign_key_refuses_a_link_to_another_organisations_supplier() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let pool = db.app_pool();
    let (a, owner_a) = support::org(pool, "A").await;
    let (b, owner_b) = support::org(pool, "B").await;
    let mut tx = support::tx(pool, b, owner_b).await;
    let theirs = supplier::create(&mut tx, &apex()).await.unwrap();
    tx.commit().await.unwrap();

    // The error for B's real supplier and for a random id must be identical:
    // anything else is an existence oracle.
    let mut errors = Vec::new();
    for target in [theirs.as_uuid(), uuid::Uuid::new_v4()] {
        let mut conn = pool.acquire_untenanted().await.unwrap();
        let mut tx = sqlx::Connection::begin(&mut *conn).await.unwrap();
        sqlx::query("select set_config('app.org_id', $1, true)")
            .bind(a.to_string())
            .execute(&mut *tx)
            .await
            .unwrap();
        let err = sqlx::query(
            "insert into invoice (org_id, supplier_id, number) values ($1, $2, 'INV-1')",
        )
        .bind(a.as_uuid())
        .bind(target)
        .execute(&mut *tx)
        .await
        .unwrap_err();
        let err = StoreError::from(err);
        assert!(
            matches!(err, StoreError::InvalidReference { .. }),
            "{err:?}"
        );
        errors.push(err.to_string());
    }
    let _ = owner_a;
    assert_eq!(errors[0], errors[1]);
}

#[tokio::test]
async fn messages_are_stored_once_per_mailbox_and_their_raw_mime_decrypts() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let pool = db.app_pool();
    let (org, owner) = support::org(pool, "A").await;
    let mailbox = support::mailbox(pool, org, owner).await;
    let mut tx = support::tx(pool, org, owner).await;

    let first = message::insert(&mut tx, keys(), &new_message(mailbox, "AAMk-1"))
        .await
        .unwrap();
    let Inserted::New(id) = first else {
        panic!("{first:?}")
    };
    let again = message::insert(&mut tx, keys(), &new_message(mailbox, "AAMk-1"))
        .await
        .unwrap();
    assert_eq!(again, Inserted::Existing(id));
    let mut later = new_message(mailbox, "AAMk-2");
    later.received_at = datetime!(2026-03-03 10:00 UTC);
    later.raw_mime = None;
    let second = message::insert(&mut tx, keys(), &later).await.unwrap().id();

    let got = message::get(&mut tx, id).await.unwrap();
    assert!(got.has_raw);
    assert_eq!(got.subject.as_deref(), Some("Invoice 4471"));
    assert_eq!(
        message::raw_mime(&mut tx, keys(), id)
            .await
            .unwrap()
            .as_deref()
            .map(Vec::as_slice),
        Some(b"From: a@b\r\n\r\nhello".as_slice())
    );
    assert!(
        message::raw_mime(&mut tx, keys(), second)
            .await
            .unwrap()
            .is_none()
    );
    let ids: Vec<_> = message::list_recent(&mut tx, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(ids, vec![second, id]);
    assert_eq!(message::list_recent(&mut tx, 1).await.unwrap().len(), 1);
    assert!(matches!(
        message::get(&mut tx, MessageId::from_uuid(uuid::Uuid::new_v4())).await,
        Err(StoreError::NotFound { what: "message" })
    ));
}

#[tokio::test]
async fn a_message_cannot_be_filed_under_another_organisations_mailbox() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let pool = db.app_pool();
    let (a, owner_a) = support::org(pool, "A").await;
    let (b, owner_b) = support::org(pool, "B").await;
    let theirs = support::mailbox(pool, b, owner_b).await;
    let mut tx = support::tx(pool, a, owner_a).await;
    let err = message::insert(&mut tx, keys(), &new_message(theirs, "x"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound { what: "mailbox" }),
        "{err:?}"
    );
}

fn verdict(message: MessageId, version: &str) -> NewAssessment {
    NewAssessment {
        message_id: message,
        engine_version: version.to_owned(),
        category: Category::BankDetailsChange,
        risk_level: RiskLevel::High,
        risk_score: 82,
        signals: serde_json::json!([{"code": "bank_details_change_request"}]),
        extracted: serde_json::json!({"accounts": ["****4958"]}),
    }
}

#[tokio::test]
async fn assessments_are_idempotent_per_engine_version_and_the_latest_is_returned() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let pool = db.app_pool();
    let (org, owner) = support::org(pool, "A").await;
    let mailbox = support::mailbox(pool, org, owner).await;
    let mut tx = support::tx(pool, org, owner).await;
    let msg = message::insert(&mut tx, keys(), &new_message(mailbox, "m"))
        .await
        .unwrap()
        .id();

    assert!(
        assessment::latest_for_message(&mut tx, msg)
            .await
            .unwrap()
            .is_none()
    );
    let first = assessment::insert(&mut tx, &verdict(msg, "0.1.0"))
        .await
        .unwrap();
    assert_eq!(
        assessment::insert(&mut tx, &verdict(msg, "0.1.0"))
            .await
            .unwrap(),
        first
    );
    tx.commit().await.unwrap();
    let mut tx = support::tx(pool, org, owner).await;
    let second = assessment::insert(&mut tx, &verdict(msg, "0.2.0"))
        .await
        .unwrap();
    assert_ne!(first, second);
    let latest = assessment::latest_for_message(&mut tx, msg)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest.id, second);
    assert_eq!(latest.verdict, verdict(msg, "0.2.0"));

    let mut bad = verdict(msg, "0.3.0");
    bad.risk_score = 101;
    let err = assessment::insert(&mut tx, &bad).await.unwrap_err();
    assert!(matches!(err, StoreError::Rejected { .. }), "{err:?}");
}

#[tokio::test]
async fn a_message_has_one_case_and_it_follows_the_lifecycle() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let pool = db.app_pool();
    let (org, owner) = support::org(pool, "A").await;
    let mailbox = support::mailbox(pool, org, owner).await;
    let mut tx = support::tx(pool, org, owner).await;
    let msg = message::insert(&mut tx, keys(), &new_message(mailbox, "m"))
        .await
        .unwrap()
        .id();
    let verdict_id = assessment::insert(&mut tx, &verdict(msg, "0.1.0"))
        .await
        .unwrap();

    let opened = case::open_for_message(&mut tx, msg, Some(verdict_id), RiskLevel::High)
        .await
        .unwrap();
    assert!(opened.created);
    let again = case::open_for_message(&mut tx, msg, None, RiskLevel::Medium)
        .await
        .unwrap();
    assert_eq!((again.id, again.created), (opened.id, false));

    let err = case::set_status(&mut tx, opened.id, CaseStatus::Cleared)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::InvalidTransition { .. }),
        "{err:?}"
    );
    case::set_status(&mut tx, opened.id, CaseStatus::Verifying)
        .await
        .unwrap();
    assert_eq!(
        case::list(&mut tx, Some(CaseStatus::Open))
            .await
            .unwrap()
            .len(),
        0
    );
    case::set_status(&mut tx, opened.id, CaseStatus::Cleared)
        .await
        .unwrap();

    let c = case::get(&mut tx, opened.id).await.unwrap();
    assert_eq!(
        (c.status, c.closed_by, c.risk_level),
        (CaseStatus::Cleared, Some(owner), RiskLevel::High)
    );
    assert!(c.closed_at.is_some());
    assert_eq!(c.assessment_id, Some(verdict_id));
    assert_eq!(case::list(&mut tx, None).await.unwrap(), vec![c]);
    assert!(matches!(
        case::set_status(
            &mut tx,
            CaseId::from_uuid(uuid::Uuid::new_v4()),
            CaseStatus::Open
        )
        .await,
        Err(StoreError::NotFound { what: "case" })
    ));
}
