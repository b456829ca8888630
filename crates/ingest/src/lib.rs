//! Sentra's ingest pipeline: raw MIME in; a message stored once, analysed
//! once per engine version, a case opened when the risk reaches the
//! organisation's threshold, and its alerts recorded and enqueued.
//!
//! # Who calls it
//!
//! - Mail sync jobs (the worker) call [`Ingestor::ingest_many`]: a batch of
//!   messages is prepared with no transaction open, then stored (raw MIME
//!   encrypted) and analysed in one transaction, in received order, so a
//!   verdict never depends on which worker got to which message first. A
//!   message the batch cannot analyse is stored with an `analyse_message`
//!   job instead, so a poison message fails its own job, not the
//!   mailbox's sync.
//! - [`Ingestor::store_many`] (or [`Ingestor::store_raw`] for one) only
//!   stores, each message with its `analyse_message` job; the worker's
//!   analyse job calls [`Ingestor::analyse_in`] in the job's transaction.
//! - The web API's submissions call [`Ingestor::ingest_raw`]: analysed at
//!   once, with no transaction held while the engine runs, and everything
//!   written in one transaction.
//!
//! This crate exists so that both paths share one implementation without
//! the web layer importing the worker (design §3: the web enqueues jobs, it
//! never runs mail clients).
//!
//! # Idempotency (security bar G5.1)
//!
//! Every effect is keyed: the message on (mailbox, provider id) and on
//! (`Message-ID`, content digest); the verdict on (message, engine version);
//! the case on the message; each alert on (case, channel); jobs on their
//! dedupe keys. Follow-up effects (case, alerts, audit event) are written
//! only by the run that created the verdict, in the verdict's transaction.
//! So a crash at any point (a transaction that never committed) followed by
//! a re-run gives the same final state as one clean run: the crash tests
//! drive this through [`FaultPlan`].
//!
//! # History
//!
//! Each verdict stores what its message teaches later ones (the engine's
//! [`sentra_engine::HistoryEntry`]). Analysing a message reads the entries
//! of messages *received before it* that share its sender domain, a thread
//! id or its supplier key (the newest 2,000), and rebuilds the engine's
//! `History` from them: one query per message, or for a sync batch one
//! query for all its messages' keys, each message's share picked in memory
//! (the `history` module; its tests check the pick against the query).

mod analyse;
mod batch;
pub mod context;
mod fault;
pub mod headers;
mod history;

pub use analyse::{Analysed, Incoming, Ingested, Stored};
pub use fault::{FaultPlan, Step};

use sentra_domain::bank::ModulusTables;
use sentra_engine::{NoPdfExtractor, TextExtractor};
use sentra_store::crypto::Keyring;
use sentra_store::{AppPool, StoreError};
use std::sync::Arc;

/// Why ingesting failed. Nothing here carries message content or secrets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// The database refused or failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The engine's blocking task died (a bug; the engine never panics on
    /// input by design).
    #[error("the analysis task failed: {0}")]
    Engine(String),
    /// The message is not stored (or not in this organisation).
    #[error("message not found")]
    NotFound,
    /// A test's [`FaultPlan`] failed this step.
    #[error("injected fault at {0:?}")]
    Injected(Step),
}

/// Who made the message arrive: recorded in its audit event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A mailbox sync (`message.received`, actor `system`).
    Sync,
    /// A person's API submission (`message.submitted`, actor `user`).
    Api,
}

impl Source {
    fn actor(self) -> &'static str {
        match self {
            Self::Sync => "system",
            Self::Api => "user",
        }
    }

    fn action(self) -> &'static str {
        match self {
            Self::Sync => "message.received",
            Self::Api => "message.submitted",
        }
    }
}

/// The pipeline and what it needs: the app pool, the keyring, the PDF
/// extractor and the Vocalink tables.
#[derive(Clone)]
pub struct Ingestor {
    pool: AppPool,
    keys: Arc<Keyring>,
    pdf: Arc<dyn TextExtractor>,
    modulus: Option<Arc<ModulusTables>>,
    faults: FaultPlan,
}

impl std::fmt::Debug for Ingestor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingestor").finish_non_exhaustive()
    }
}

impl Ingestor {
    /// A pipeline that reads no PDFs and has no modulus tables.
    pub fn new(pool: AppPool, keys: Arc<Keyring>) -> Self {
        Self {
            pool,
            keys,
            pdf: Arc::new(NoPdfExtractor),
            modulus: None,
            faults: FaultPlan::none(),
        }
    }

    /// Reads PDF attachments through `pdf` (the binary's sandboxed one).
    #[must_use]
    pub fn with_pdf(mut self, pdf: Arc<dyn TextExtractor>) -> Self {
        self.pdf = pdf;
        self
    }

    /// Checks UK accounts against the Vocalink tables.
    #[must_use]
    pub fn with_modulus(mut self, modulus: Option<Arc<ModulusTables>>) -> Self {
        self.modulus = modulus;
        self
    }

    /// Injects faults (tests).
    #[must_use]
    pub fn with_faults(mut self, faults: FaultPlan) -> Self {
        self.faults = faults;
        self
    }

    /// The app pool.
    pub fn pool(&self) -> &AppPool {
        &self.pool
    }

    /// The keyring.
    pub fn keys(&self) -> &Arc<Keyring> {
        &self.keys
    }
}
