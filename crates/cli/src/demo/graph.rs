//! The demo's Microsoft 365: the fake Microsoft Graph server (the one the
//! test suite uses, `sentra-testkit`) in-process on a loopback port, holding
//! Hartley Build's tenant with `accounts@hartleybuild.co.uk` inside the
//! application's RBAC scope, and the rows that connect the demo organisation
//! to it (a consented Graph connection, the mailbox with its webhook secrets
//! and a verified scope), as an admin's connect flow would leave them.
//!
//! The fake keeps its mailbox in memory, so every start puts the corpus in
//! again (the same seed gives the same message ids, and ingest stores a
//! message once however often it is fetched) and the mailbox's delta link
//! and subscription, which belonged to the previous start's fake, are
//! forgotten.

use super::mail::{CORPUS, MAILBOX};
use anyhow::Context as _;
use sentra_domain::OrgId;
use sentra_domain::graph_jobs::{self, MailboxJob};
use sentra_store::crypto::{Keyring, SecretString};
use sentra_store::ids::MailboxId;
use sentra_store::queue::{self, NewJob};
use sentra_store::repo::{graph_connection, m365_mailbox};
use sentra_store::{AppPool, TenantTx};
use sentra_testkit::{FakeGraph, NewMessage};
use std::net::SocketAddr;

/// Hartley Build's (fake) Entra tenant.
pub(crate) const TENANT_ID: &str = "3c5a6f0e-2b7d-4e8a-9c1f-0d4b7e2a9f61";
/// Sentra's application id at the fake.
pub(crate) const CLIENT_ID: &str = "9a7e3c21-5d4b-4f6a-8e0c-1b2d3f4a5c6e";
/// The fake's client secret: public, it guards nothing but the fake.
pub(crate) const CLIENT_SECRET: &str = "sentra-demo-fake-graph-secret";
/// A fixed RNG seed, so every start gives the corpus the same message ids.
const SEED: u64 = 0x5E47_DE30;

/// The running fake, with the demo tenant in it.
pub(crate) struct DemoGraph {
    /// The fake server.
    pub fake: FakeGraph,
}

impl DemoGraph {
    /// Starts the fake on a free loopback port with the demo tenant, the
    /// application consented, and the demo mailbox in its scope.
    pub(crate) async fn start() -> anyhow::Result<Self> {
        let fake = FakeGraph::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), SEED)
            .await
            .context("starting the demo's Microsoft Graph (the fake server)")?;
        fake.add_app(CLIENT_ID, CLIENT_SECRET);
        fake.add_tenant(TENANT_ID);
        fake.add_mailbox(TENANT_ID, MAILBOX, true)
            .context("adding the demo mailbox to the fake")?;
        // A second mailbox outside the scope, as in a real tenant: the scope
        // check and the sync must never read it.
        fake.add_mailbox(TENANT_ID, "sarah.hartley@hartleybuild.co.uk", false)
            .context("adding the director's mailbox to the fake")?;
        Ok(Self { fake })
    }

    /// Puts the whole corpus into the mailbox without notifying anyone:
    /// mail that was there before Sentra was connected. Each is received at
    /// its own `Date:`, so the sync ingests them in the order they arrived.
    pub(crate) fn put_corpus(&self) -> anyhow::Result<()> {
        for (name, raw) in CORPUS {
            self.fake
                .add_message(MAILBOX, message(raw))
                .with_context(|| format!("putting {name} into the fake mailbox"))?;
        }
        Ok(())
    }

    /// Delivers one new message: Graph notifies the subscription.
    pub(crate) fn deliver(&self, raw: &[u8]) -> anyhow::Result<()> {
        self.fake
            .deliver(MAILBOX, message(raw))
            .context("delivering to the fake mailbox")?;
        Ok(())
    }
}

/// A corpus message, received at its `Date:` (or now, when it has none).
fn message(raw: &[u8]) -> NewMessage {
    let m = NewMessage::new(raw.to_vec());
    match sentra_ingest::headers::read(raw).date {
        Some(at) => m.received_at(at),
        None => m,
    }
}

/// The first message's date bounds the sync: nothing older is fetched.
fn sync_since() -> time::OffsetDateTime {
    CORPUS
        .iter()
        .filter_map(|(_, raw)| sentra_ingest::headers::read(raw).date)
        .min()
        .map_or(time::OffsetDateTime::UNIX_EPOCH, |d| {
            d - time::Duration::days(1)
        })
}

/// Connects the demo organisation to the fake tenant (once, when seeding):
/// the consented connection, then the mailbox with fresh webhook secrets,
/// marked scope-verified (the fake's scope holds it).
pub(crate) async fn connect(
    pool: &AppPool,
    keys: &Keyring,
    org: OrgId,
) -> anyhow::Result<MailboxId> {
    let mut tx = TenantTx::begin(pool, org, None).await?;
    let state = super::state::random_hex(16)?;
    graph_connection::begin_consent(&mut tx, &state).await?;
    anyhow::ensure!(
        graph_connection::complete_consent(&mut tx, &state, TENANT_ID).await?,
        "recording the demo tenant's consent"
    );
    let mailbox = m365_mailbox::add(&mut tx, MAILBOX, sync_since())
        .await
        .context("connecting the demo mailbox")?;
    m365_mailbox::store_secrets(
        &mut tx,
        keys,
        mailbox,
        &m365_mailbox::WebhookSecrets {
            tenant_id: TENANT_ID.to_owned(),
            client_state: SecretString::from(super::state::random_hex(24)?),
            path_token: SecretString::from(super::state::random_hex(24)?),
        },
    )
    .await?;
    m365_mailbox::mark_scope_verified(&mut tx, mailbox).await?;
    tx.commit().await?;
    Ok(mailbox)
}

/// Forgets the delta link and subscription of an earlier start: they
/// belonged to that start's fake.
pub(crate) async fn forget_previous_fake(
    pool: &AppPool,
    org: OrgId,
    mailbox: MailboxId,
) -> anyhow::Result<()> {
    let mut tx = TenantTx::begin(pool, org, None).await?;
    m365_mailbox::clear_delta_link(&mut tx, mailbox).await?;
    m365_mailbox::set_subscription(&mut tx, mailbox, None, None).await?;
    tx.commit().await?;
    Ok(())
}

/// Asks the worker to subscribe to the mailbox's inbox, which ends in a
/// delta sync: what connecting a mailbox does in the web app.
pub(crate) async fn subscribe(
    pool: &AppPool,
    org: OrgId,
    mailbox: MailboxId,
) -> anyhow::Result<()> {
    let job = MailboxJob {
        mailbox_id: mailbox.as_uuid(),
        full: false,
    };
    let mut tx = TenantTx::begin(pool, org, None).await?;
    queue::enqueue(
        &mut tx,
        &NewJob::new(graph_jobs::SUBSCRIBE, serde_json::to_value(job)?)
            .dedupe_key(job.dedupe_key(graph_jobs::SUBSCRIBE)),
    )
    .await
    .context("queueing the demo mailbox's subscription")?;
    tx.commit().await?;
    Ok(())
}
