//! The audit chain (security bar G2.1–G2.4, harness B3): append-only for the
//! app and the owner, transactional, gapless under concurrency, and every
//! superuser tamper found at its first bad seq by the chain or the signed
//! checkpoint.

use sentra_domain::{OrgId, UserId};
use sentra_store::audit::{
    self, AuditEvent, BreakKind, ChainBreak, GENESIS_HASH, NewEvent, VerifyReport, chain_hash,
    checkpoint, public_key_for_seed, verify, verify_against_checkpoint,
};
use sentra_store::testing::TestDb;
use sentra_store::{OwnerPool, StoreError, TenantTx};
use serde_json::json;
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use uuid::Uuid;

const SEED: [u8; 32] = [42; 32];

/// A small seeded generator (xorshift64*): reproducible tamper choices
/// without a dependency.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }
}

/// A new organisation (written as superuser: organisations are global rows).
pub(crate) async fn new_org(db: &TestDb, name: &str) -> OrgId {
    let id: Uuid = sqlx::query_scalar("insert into organisation (name) values ($1) returning id")
        .bind(name)
        .fetch_one(db.superuser())
        .await
        .unwrap();
    OrgId::from_uuid(id)
}

pub(crate) async fn new_user(db: &TestDb) -> UserId {
    let id: Uuid = sqlx::query_scalar(
        "insert into app_user (email, password_hash) values ($1, 'x') returning id",
    )
    .bind(format!("{}@example.test", Uuid::new_v4().simple()))
    .fetch_one(db.superuser())
    .await
    .unwrap();
    UserId::from_uuid(id)
}

pub(crate) async fn owner(db: &TestDb) -> OwnerPool {
    OwnerPool::connect(db.owner_url(), 2).await.unwrap()
}

/// Appends `n` varied events to `org`, one transaction each.
async fn append_n(db: &TestDb, org: OrgId, user: Option<UserId>, n: usize) {
    for i in 0..n {
        let mut tx = TenantTx::begin(db.app_pool(), org, user.filter(|_| i % 3 == 0))
            .await
            .unwrap();
        let mut event = NewEvent::new("user", format!("test.action_{}", i % 5)).details(
            json!({ "i": i, "note": "é \"quoted\"", "nested": { "b": [1, 2], "a": true } }),
        );
        if i % 2 == 0 {
            event = event.target("supplier", Uuid::new_v4().to_string());
        }
        audit::append(&mut tx, event).await.unwrap();
        tx.commit().await.unwrap();
    }
}

async fn chain_of(db: &TestDb, org: OrgId) -> Vec<AuditEvent> {
    sqlx::query_as("select * from audit_event where org_id = $1 order by seq")
        .bind(org.as_uuid())
        .fetch_all(db.superuser())
        .await
        .unwrap()
}

async fn problem_of(owner: &OwnerPool, org: OrgId) -> Option<ChainBreak> {
    let reports = verify(owner, Some(org)).await.unwrap();
    assert_eq!(reports.len(), 1);
    reports[0].problem
}

#[tokio::test]
async fn appended_events_form_a_chain_from_the_zero_hash_that_verifies() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let (org, user) = (new_org(&db, "A").await, new_user(&db).await);
    append_n(&db, org, Some(user), 12).await;
    let owner = owner(&db).await;

    let reports = verify(&owner, None).await.unwrap();

    assert_eq!(reports.len(), 1);
    let report = &reports[0];
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.checked, 12);
    let chain = chain_of(&db, org).await;
    assert_eq!(
        chain.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=12).collect::<Vec<_>>()
    );
    assert_eq!(chain[0].prev_hash, GENESIS_HASH);
    assert_eq!(chain[0].actor_user_id, Some(user.as_uuid()));
    for pair in chain.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
    assert_eq!(report.head.unwrap().1.to_vec(), chain[11].hash);
    // the app reads its own chain back page by page
    let mut tx = TenantTx::begin(db.app_pool(), org, None).await.unwrap();
    let page = audit::list(&mut tx, 10, 50).await.unwrap();
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), [11, 12]);
}

#[tokio::test]
async fn a_rolled_back_transaction_leaves_no_event() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let org = new_org(&db, "A").await;
    let mut tx = TenantTx::begin(db.app_pool(), org, None).await.unwrap();
    audit::append(&mut tx, NewEvent::new("user", "case.status"))
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    let mut tx = TenantTx::begin(db.app_pool(), org, None).await.unwrap();
    audit::append(&mut tx, NewEvent::new("user", "case.status"))
        .await
        .unwrap();
    drop(tx); // dropped without commit: rolled back

    assert!(chain_of(&db, org).await.is_empty());
    let mut tx = TenantTx::begin(db.app_pool(), org, None).await.unwrap();
    let first = audit::append(&mut tx, NewEvent::new("user", "case.status"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(first.seq, 1, "no seq is burnt by a rollback");
}

#[tokio::test]
async fn details_that_are_not_an_object_are_rejected() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let org = new_org(&db, "A").await;
    let mut tx = TenantTx::begin(db.app_pool(), org, None).await.unwrap();
    let err = audit::append(&mut tx, NewEvent::new("user", "x").details(json!([1])))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Rejected { .. }), "{err:?}");
}

#[tokio::test]
async fn one_org_never_sees_or_writes_another_orgs_events() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let (a, b) = (new_org(&db, "A").await, new_org(&db, "B").await);
    append_n(&db, a, None, 3).await;
    let mut tx = TenantTx::begin(db.app_pool(), b, None).await.unwrap();
    assert!(audit::list(&mut tx, 0, 100).await.unwrap().is_empty());
    let first = audit::append(&mut tx, NewEvent::new("user", "x"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!((first.seq, first.org_id), (1, b.as_uuid()));
}

async fn scoped(url: &str, org: OrgId) -> PgConnection {
    let mut conn = PgConnection::connect(url).await.unwrap();
    sqlx::query("select set_config('app.org_id', $1, false)")
        .bind(org.to_string())
        .execute(&mut conn)
        .await
        .unwrap();
    conn
}

const CHANGES: [&str; 3] = [
    "update audit_event set action = 'rewritten'",
    "delete from audit_event",
    "truncate audit_event",
];

#[tokio::test]
async fn the_app_role_is_denied_update_delete_truncate_and_alter() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let org = new_org(&db, "A").await;
    append_n(&db, org, None, 2).await;
    let mut conn = scoped(db.app_url(), org).await;
    let mut statements = CHANGES.to_vec();
    statements.push("alter table audit_event disable trigger all");
    for sql in statements {
        let err = sqlx::query(sql).execute(&mut conn).await.unwrap_err();
        let code = err
            .as_database_error()
            .unwrap()
            .code()
            .unwrap()
            .into_owned();
        assert_eq!(code, "42501", "{sql}: {err}");
    }
    assert_eq!(chain_of(&db, org).await.len(), 2);
}

#[tokio::test]
async fn the_owner_is_stopped_by_the_triggers_from_update_delete_and_truncate() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let org = new_org(&db, "A").await;
    append_n(&db, org, None, 2).await;
    let mut conn = scoped(db.owner_url(), org).await;
    for sql in CHANGES {
        let err = sqlx::query(sql).execute(&mut conn).await.unwrap_err();
        let db_err = err.as_database_error().unwrap();
        assert_eq!(db_err.code().unwrap(), "P0001", "{sql}: {err}");
        assert!(db_err.message().contains("append-only"), "{sql}: {err}");
    }
    // and the superuser too, as long as triggers are on
    for sql in CHANGES {
        let err = sqlx::query(sql).execute(db.superuser()).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(chain_of(&db, org).await.len(), 2);
}

#[tokio::test]
async fn eight_concurrent_writers_make_one_gapless_unforked_chain() {
    let Some(db) = TestDb::create_with_app_connections(8).await else {
        return;
    };
    let org = new_org(&db, "A").await;
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let pool = db.app_pool().clone();
            tokio::spawn(async move {
                for i in 0..250 {
                    let mut tx = TenantTx::begin(&pool, org, None).await.unwrap();
                    let event = NewEvent::new("system:test", "test.concurrent")
                        .details(json!({ "writer": w, "i": i }));
                    audit::append(&mut tx, event).await.unwrap();
                    tx.commit().await.unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }

    let chain = chain_of(&db, org).await;
    assert_eq!(chain.len(), 2000);
    assert_eq!(chain.last().unwrap().seq, 2000);
    let distinct_prev: std::collections::HashSet<_> = chain.iter().map(|e| &e.prev_hash).collect();
    assert_eq!(
        distinct_prev.len(),
        2000,
        "a repeated prev_hash would be a fork"
    );
    let owner = owner(&db).await;
    assert_eq!(problem_of(&owner, org).await, None);
}

#[tokio::test]
async fn a_checkpoint_verifies_a_clean_database_and_rejects_a_wrong_key_or_edit() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let (a, b) = (new_org(&db, "A").await, new_org(&db, "B").await);
    new_org(&db, "empty").await;
    append_n(&db, a, None, 5).await;
    append_n(&db, b, None, 3).await;
    let owner = owner(&db).await;

    let note = checkpoint(&owner, &SEED).await.unwrap();

    assert!(note.starts_with("sentra.audit.v1\n8\n"), "{note}");
    let reports = verify_against_checkpoint(&owner, &note, &public_key_for_seed(&SEED))
        .await
        .unwrap();
    assert_eq!(reports.len(), 3);
    assert!(reports.iter().all(VerifyReport::is_ok), "{reports:?}");
    let wrong_key = public_key_for_seed(&[1; 32]);
    assert!(matches!(
        verify_against_checkpoint(&owner, &note, &wrong_key).await,
        Err(StoreError::Checkpoint { .. })
    ));
    let edited = note.replacen(" 5 ", " 4 ", 1);
    assert!(
        verify_against_checkpoint(&owner, &edited, &public_key_for_seed(&SEED))
            .await
            .is_err()
    );
    // events appended after a checkpoint are fine
    append_n(&db, a, None, 2).await;
    let reports = verify_against_checkpoint(&owner, &note, &public_key_for_seed(&SEED))
        .await
        .unwrap();
    assert!(reports.iter().all(VerifyReport::is_ok), "{reports:?}");
}

#[tokio::test]
async fn no_checkpoint_is_signed_over_a_broken_chain() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let org = new_org(&db, "A").await;
    append_n(&db, org, None, 4).await;
    tamper(&db, &["update audit_event set action = 'x' where seq = 2"]).await;
    let err = checkpoint(&owner(&db).await, &SEED).await.unwrap_err();
    assert!(
        matches!(err, StoreError::AuditChainBroken { seq: 2, .. }),
        "{err:?}"
    );
}

async fn run(conn: &mut PgConnection, sql: String) {
    sqlx::query(AssertSqlSafe(sql)).execute(conn).await.unwrap();
}

/// Runs `statements` as superuser with triggers off (harness B3 step 1).
async fn tamper(db: &TestDb, statements: &[&'static str]) {
    let mut tx = db.superuser().begin().await.unwrap();
    sqlx::query("set local session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    for sql in statements {
        sqlx::query(*sql).execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
}

#[derive(Debug, Clone, Copy)]
enum Tamper {
    Edit,
    Delete,
    Swap,
    ForgedInsert,
    ForgedReplace,
    RecomputedTail,
    TruncateTail,
}

const TAMPERS: [Tamper; 7] = [
    Tamper::Edit,
    Tamper::Delete,
    Tamper::Swap,
    Tamper::ForgedInsert,
    Tamper::ForgedReplace,
    Tamper::RecomputedTail,
    Tamper::TruncateTail,
];

const EDITS: [&str; 10] = [
    "action = action || 'x'",
    "actor = 'someone else'",
    "target_id = 'tampered'",
    "target_type = coalesce(target_type, '') || 'x'",
    "details = details || '{\"tampered\": 1}'",
    "at = at + interval '1 microsecond'",
    "actor_user_id = case when actor_user_id is null then gen_random_uuid() end",
    "id = gen_random_uuid()",
    "prev_hash = set_byte(prev_hash, 0, 255 - get_byte(prev_hash, 0))",
    "hash = set_byte(hash, 31, 255 - get_byte(hash, 31))",
];

async fn insert_row(tx: &mut PgConnection, e: &AuditEvent) {
    sqlx::query(
        "insert into audit_event (org_id, seq, id, at, actor_user_id, actor, action, target_type,
           target_id, details, prev_hash, hash)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(e.org_id)
    .bind(e.seq)
    .bind(e.id)
    .bind(e.at)
    .bind(e.actor_user_id)
    .bind(&e.actor)
    .bind(&e.action)
    .bind(&e.target_type)
    .bind(&e.target_id)
    .bind(&e.details)
    .bind(&e.prev_hash)
    .bind(&e.hash)
    .execute(tx)
    .await
    .unwrap();
}

fn forge(from: &AuditEvent, prev: &[u8]) -> AuditEvent {
    let mut forged = from.clone();
    forged.id = Uuid::new_v4();
    "supplier.bank_change.approve".clone_into(&mut forged.action);
    forged.details = sqlx::types::Json(json!({ "forged": true }));
    forged.prev_hash = prev.to_vec();
    forged.hash = chain_hash(&prev.try_into().unwrap(), &forged)
        .unwrap()
        .to_vec();
    forged
}

/// Applies one tamper to `org`'s chain (`clean`, length n) and returns what
/// the chain alone should report, and what verifying against a checkpoint
/// of the clean chain should report.
async fn apply(
    db: &TestDb,
    rng: &mut Rng,
    kind: Tamper,
    org: OrgId,
    clean: &[AuditEvent],
) -> (Option<ChainBreak>, ChainBreak) {
    let (n, org_id) = (clean.len() as i64, org.as_uuid());
    let k = rng.range(1, n);
    let at = |seq: i64, kind| ChainBreak { seq, kind };
    let mut tx = db.superuser().begin().await.unwrap();
    sqlx::query("set local session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    let expected = match kind {
        Tamper::Edit => {
            let edit = EDITS[rng.range(0, EDITS.len() as i64 - 1) as usize];
            run(
                &mut tx,
                format!("update audit_event set {edit} where org_id = '{org_id}' and seq = {k}"),
            )
            .await;
            let b = at(k, BreakKind::HashMismatch);
            (Some(b), b)
        }
        Tamper::Delete => {
            run(
                &mut tx,
                format!("delete from audit_event where org_id = '{org_id}' and seq = {k}"),
            )
            .await;
            if k == n {
                (None, at(n, BreakKind::Truncated { checkpoint_seq: n }))
            } else {
                let b = at(k, BreakKind::Gap);
                (Some(b), b)
            }
        }
        Tamper::Swap => {
            let (low, high) = loop {
                let (one, two) = (rng.range(1, n), rng.range(1, n));
                if one != two {
                    break (one.min(two), one.max(two));
                }
            };
            for sql in [
                format!(
                    "update audit_event set seq = 1000000 where org_id = '{org_id}' and seq = {low}"
                ),
                format!(
                    "update audit_event set seq = {low} where org_id = '{org_id}' and seq = {high}"
                ),
                format!(
                    "update audit_event set seq = {high} where org_id = '{org_id}' and seq = 1000000"
                ),
            ] {
                run(&mut tx, sql).await;
            }
            // the row now at `low` links to the row that held seq high - 1,
            // which is now at `high` when it was the one at `low`
            let links_after = if high - 1 == low { high } else { high - 1 };
            let brk = at(low, BreakKind::Reordered { links_after });
            (Some(brk), brk)
        }
        Tamper::ForgedInsert => {
            for sql in [
                format!(
                    "update audit_event set seq = seq + 1000000 where org_id = '{org_id}' and seq >= {k}"
                ),
                format!(
                    "update audit_event set seq = seq - 999999 where org_id = '{org_id}' and seq > 1000000"
                ),
            ] {
                run(&mut tx, sql).await;
            }
            let idx = (k - 1) as usize;
            let mut forged = forge(&clean[idx], &clean[idx].prev_hash);
            forged.seq = k;
            insert_row(&mut tx, &forged).await;
            let b = at(k, BreakKind::Inserted);
            (Some(b), b)
        }
        Tamper::ForgedReplace => {
            let idx = (k - 1) as usize;
            let forged = forge(&clean[idx], &clean[idx].prev_hash);
            run(
                &mut tx,
                format!("delete from audit_event where org_id = '{org_id}' and seq = {k}"),
            )
            .await;
            insert_row(&mut tx, &forged).await;
            if k == n {
                (None, at(n, BreakKind::DiffersFromCheckpoint))
            } else {
                let b = at(k, BreakKind::Replaced);
                (Some(b), b)
            }
        }
        Tamper::RecomputedTail => {
            run(
                &mut tx,
                format!("delete from audit_event where org_id = '{org_id}' and seq >= {k}"),
            )
            .await;
            let idx = (k - 1) as usize;
            let mut prev = clean[idx].prev_hash.clone();
            for (i, original) in clean[idx..].iter().enumerate() {
                let row = if i == 0 {
                    forge(original, &prev)
                } else {
                    let mut r = original.clone();
                    r.prev_hash.clone_from(&prev);
                    r.hash = chain_hash(&prev.clone().try_into().unwrap(), &r)
                        .unwrap()
                        .to_vec();
                    r
                };
                prev.clone_from(&row.hash);
                insert_row(&mut tx, &row).await;
            }
            (None, at(n, BreakKind::DiffersFromCheckpoint))
        }
        Tamper::TruncateTail => {
            run(
                &mut tx,
                format!("delete from audit_event where org_id = '{org_id}' and seq >= {k}"),
            )
            .await;
            (None, at(k, BreakKind::Truncated { checkpoint_seq: n }))
        }
    };
    tx.commit().await.unwrap();
    expected
}

#[tokio::test]
async fn every_superuser_tamper_is_found_at_its_first_bad_seq() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let (victim, bystander) = (
        new_org(&db, "victim").await,
        new_org(&db, "bystander").await,
    );
    let user = new_user(&db).await;
    append_n(&db, victim, Some(user), 30).await;
    append_n(&db, bystander, None, 6).await;
    let clean = chain_of(&db, victim).await;
    tamper(
        &db,
        &["create table audit_snapshot as select * from audit_event"],
    )
    .await;
    let owner = owner(&db).await;
    let note = checkpoint(&owner, &SEED).await.unwrap();
    let public = public_key_for_seed(&SEED);
    assert_eq!(problem_of(&owner, victim).await, None, "no false positive");

    let mut rng = Rng::new(0x005e_477a);
    let mut attempts = 0;
    let mut chain_only = 0;
    for round in 0..210 {
        let kind = TAMPERS[round % TAMPERS.len()];
        let (chain_expect, checkpoint_expect) = apply(&db, &mut rng, kind, victim, &clean).await;

        let found = problem_of(&owner, victim).await;
        let reports = verify_against_checkpoint(&owner, &note, &public)
            .await
            .unwrap();
        let against = reports.iter().find(|r| r.org == victim).unwrap().problem;
        let other = reports.iter().find(|r| r.org == bystander).unwrap();

        assert_eq!(found, chain_expect, "round {round} {kind:?}: chain alone");
        assert_eq!(
            against,
            Some(checkpoint_expect),
            "round {round} {kind:?}: with checkpoint"
        );
        assert!(
            other.is_ok(),
            "round {round}: the other org is untouched: {other:?}"
        );
        attempts += 1;
        chain_only += usize::from(chain_expect.is_some());

        tamper(
            &db,
            &[
                "delete from audit_event",
                "insert into audit_event select * from audit_snapshot",
            ],
        )
        .await;
    }
    assert!(attempts >= 200);
    assert!(
        chain_only >= 100,
        "most tampers are caught without a checkpoint: {chain_only}"
    );
    assert_eq!(
        problem_of(&owner, victim).await,
        None,
        "restored chain is clean again"
    );
}
