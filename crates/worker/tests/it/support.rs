//! Fixtures shared by the test modules.

use sentra_domain::bank::{BankAccount, SortCode, UkAccountNumber};
use sentra_domain::{EmailAddress, OrgId, Role, UserId};
use sentra_ingest::Ingestor;
use sentra_store::crypto::Keyring;
use sentra_store::ids::MailboxId;
use sentra_store::repo::bank_account::{self, AccountStatus};
use sentra_store::repo::supplier::{self, SupplierFields, SupplierStatus};
use sentra_store::repo::{mailbox, organisation, user};
use sentra_store::testing::TestDb;
use sentra_store::{AppPool, TenantTx};
use sentra_testkit::emails::{APEX_ACCOUNT_NUMBER, APEX_DOMAIN, APEX_NAME, APEX_SORT_CODE};
use sentra_worker::alerts::AlertSettings;
use sentra_worker::{Registry, Runner, RunnerConfig};
use std::sync::Arc;
use std::time::Duration;

/// A test organisation (hartleybuild.co.uk) with Apex on file and two
/// monitored mailboxes.
pub struct World {
    pub db: TestDb,
    pub keys: Arc<Keyring>,
    pub org: OrgId,
    pub owner: UserId,
    pub accounts: MailboxId,
    pub invoices: MailboxId,
}

pub async fn user(pool: &AppPool, email: &str) -> UserId {
    user::create(
        pool,
        &EmailAddress::parse(email).unwrap(),
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
    )
    .await
    .unwrap()
}

impl World {
    pub async fn new() -> Option<Self> {
        let db = TestDb::create().await?;
        let keys = Arc::new(Keyring::generate_insecure_dev().unwrap());
        let pool = db.app_pool().clone();
        let owner = user(&pool, "owner@hartleybuild.co.uk").await;
        let org = organisation::create(&pool, "Hartley Build", owner)
            .await
            .unwrap();
        let mut tx = TenantTx::begin(&pool, org, Some(owner)).await.unwrap();
        let apex = supplier::create(
            &mut tx,
            &SupplierFields {
                name: APEX_NAME.to_owned(),
                domains: vec![APEX_DOMAIN.to_owned()],
                country: Some("GB".to_owned()),
                status: SupplierStatus::Active,
            },
        )
        .await
        .unwrap();
        let account = BankAccount::Uk {
            sort_code: SortCode::parse(APEX_SORT_CODE).unwrap(),
            account: UkAccountNumber::parse(APEX_ACCOUNT_NUMBER).unwrap(),
        };
        bank_account::add(
            &mut tx,
            &keys,
            apex,
            &account,
            AccountStatus::Active,
            Some(owner),
        )
        .await
        .unwrap();
        let accounts = mailbox::create(
            &mut tx,
            mailbox::Provider::M365,
            "accounts@hartleybuild.co.uk",
        )
        .await
        .unwrap();
        let invoices = mailbox::create(
            &mut tx,
            mailbox::Provider::M365,
            "invoices@hartleybuild.co.uk",
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        Some(Self {
            db,
            keys,
            org,
            owner,
            accounts,
            invoices,
        })
    }

    pub fn pool(&self) -> &AppPool {
        self.db.app_pool()
    }

    pub async fn tx(&self) -> TenantTx {
        TenantTx::begin(self.pool(), self.org, None).await.unwrap()
    }

    /// Adds a member with `role`.
    pub async fn member(&self, email: &str, role: Role) -> UserId {
        let id = user(self.pool(), email).await;
        let mut tx = self.tx().await;
        organisation::add_member(&mut tx, id, role).await.unwrap();
        tx.commit().await.unwrap();
        id
    }

    pub fn ingestor(&self) -> Ingestor {
        Ingestor::new(self.pool().clone(), self.keys.clone())
    }

    /// A runner with the default kinds, alerts per `alerts`.
    pub fn runner(&self, ingestor: Ingestor, alerts: AlertSettings) -> Runner {
        let mut registry = Registry::new();
        sentra_worker::jobs::register_defaults(&mut registry, ingestor, Arc::new(alerts));
        Runner::new(self.pool().clone(), registry, test_config())
    }

    /// Makes every queued job due now (skips the retry backoff).
    pub async fn make_due(&self) {
        sqlx::query("update job set run_at = now() where status = 'queued'")
            .execute(self.db.superuser())
            .await
            .unwrap();
    }

    /// Drains the queue, retrying failures at once, until nothing is due.
    pub async fn drain(&self, runner: &Runner) {
        for _ in 0..20 {
            runner.drain().await;
            self.make_due().await;
            let queued: i64 = sqlx::query_scalar(
                "select count(*) from job where org_id = $1 and status = 'queued'",
            )
            .bind(self.org.as_uuid())
            .fetch_one(self.db.superuser())
            .await
            .unwrap();
            if queued == 0 {
                return;
            }
        }
        panic!("the queue did not drain");
    }

    /// The organisation's rows, without ids or times: what must be equal
    /// after a crash-and-rerun and after a clean run.
    pub async fn snapshot(&self) -> Vec<String> {
        let queries = [
            "select 'message ' || provider_message_id || ' ' || coalesce(internet_message_id, '-')
               from message where org_id = $1",
            "select 'assessment ' || m.provider_message_id || ' ' || a.engine_version || ' ' || a.risk_level
                    || ' ' || a.category || ' ' || (a.history is not null)
               from assessment a join message m on m.id = a.message_id where a.org_id = $1",
            "select 'case ' || m.provider_message_id || ' ' || c.status || ' ' || c.risk_level
               from fraud_case c join message m on m.id = c.message_id where c.org_id = $1",
            "select 'alert ' || m.provider_message_id || ' ' || ch.name || ' ' || al.status
               from alert al join fraud_case c on c.id = al.case_id
               join message m on m.id = c.message_id
               join alert_channel ch on ch.id = al.channel_id where al.org_id = $1",
            "select 'job ' || kind || ' ' || status from job where org_id = $1",
            "select 'audit ' || action || ' ' || coalesce(details ->> 'risk_level', '-')
               from audit_event where org_id = $1",
        ];
        let mut out = Vec::new();
        for q in queries {
            let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(q))
                .bind(self.org.as_uuid())
                .fetch_all(self.db.superuser())
                .await
                .unwrap();
            out.extend(rows);
        }
        out.sort();
        out
    }
}

pub fn test_config() -> RunnerConfig {
    RunnerConfig {
        name: "test-worker".to_owned(),
        concurrency: 4,
        lease: Duration::from_mins(1),
        idle_poll: Duration::from_millis(50),
        shutdown_grace: Duration::from_mins(1),
    }
}

/// Alert settings that reach nothing (no SMTP, no allow-list).
pub fn no_alerts() -> AlertSettings {
    AlertSettings {
        base_url: "https://sentra.test".to_owned(),
        outbound: sentra_worker::alerts::outbound::OutboundPolicy::default(),
        smtp: None,
    }
}
