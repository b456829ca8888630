//! The registration point: which handler runs which job kind.
//!
//! # Adding a job kind
//!
//! 1. Define its payload: a serde struct implementing
//!    [`sentra_domain::jobs::JobPayload`] (in `sentra_domain::jobs` when the
//!    web layer or another crate enqueues it, otherwise beside the handler).
//! 2. Implement [`Handler<P>`] for a handler type holding what it needs
//!    (clients, settings). `run` gets the job's own [`TenantTx`]; the runner
//!    marks the job done in that same transaction and commits, so the job's
//!    effects and its completion commit together or not at all.
//!    `on_failure` (optional) records a failure somewhere people see it, in a
//!    transaction of its own, after the runner has rolled back `run`'s.
//! 3. Register it: `registry.register::<MyPayload, _>(MyHandler { .. })`.
//!
//! A job that waits on a remote service for long (a Graph delta round of
//! hundreds of messages) implements [`PooledHandler`] instead and registers
//! with [`Registry::register_pooled`]: it gets the pool, not a transaction,
//! and commits its effects in short transactions of its own, so no
//! connection sits idle in a transaction while Graph answers. The runner
//! opens the job's transaction only afterwards, to mark it done. Such a
//! handler must be idempotent step by step, since a crash can come between
//! its commits (the Graph kinds in [`crate::graph`] are).
//!
//! A job whose kind has no handler fails with a visible error and is parked
//! after its attempts, rather than being silently dropped.

use crate::JobError;
use sentra_domain::jobs::JobPayload;
use sentra_store::queue::ClaimedJob;
use sentra_store::{AppPool, TenantTx};
use std::collections::HashMap;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;

/// A boxed, sendable future borrowed for `'a`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Runs the jobs of payload type `P`.
pub trait Handler<P: JobPayload>: Send + Sync + 'static {
    /// Does the job's work in `tx` (the runner commits it with the job's
    /// completion). Must be idempotent: a job can run more than once.
    fn run<'a>(
        &'a self,
        tx: &'a mut TenantTx,
        job: &'a ClaimedJob,
        payload: P,
    ) -> BoxFuture<'a, Result<(), JobError>>;

    /// Records a failed run (the runner already rolled `run` back and
    /// rescheduled or parked the job; `parked` says which).
    fn on_failure<'a>(
        &'a self,
        _pool: &'a AppPool,
        _job: &'a ClaimedJob,
        _payload: P,
        _error: &'a JobError,
        _parked: bool,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async { Ok(()) })
    }
}

/// Runs the jobs of payload type `P` with the pool instead of the job's
/// transaction (see the module docs): for jobs that talk to remote
/// services for longer than a transaction should stay open.
pub trait PooledHandler<P: JobPayload>: Send + Sync + 'static {
    /// Does the job's work in transactions of its own. Must be idempotent
    /// at every commit: the job can stop between any two and run again.
    fn run<'a>(
        &'a self,
        pool: &'a AppPool,
        job: &'a ClaimedJob,
        payload: P,
    ) -> BoxFuture<'a, Result<(), JobError>>;
}

/// A handler with its payload type erased, as the runner sees it.
trait Erased: Send + Sync {
    /// Work done before the job's transaction opens (pooled handlers).
    fn before<'a>(
        &'a self,
        _pool: &'a AppPool,
        _job: &'a ClaimedJob,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async { Ok(()) })
    }
    fn run<'a>(
        &'a self,
        tx: &'a mut TenantTx,
        job: &'a ClaimedJob,
    ) -> BoxFuture<'a, Result<(), JobError>>;
    fn on_failure<'a>(
        &'a self,
        pool: &'a AppPool,
        job: &'a ClaimedJob,
        error: &'a JobError,
        parked: bool,
    ) -> BoxFuture<'a, Result<(), JobError>>;
}

struct Typed<P, H> {
    handler: H,
    _payload: PhantomData<fn() -> P>,
}

fn decode<P: JobPayload>(job: &ClaimedJob) -> Result<P, JobError> {
    serde_json::from_value(job.payload.clone())
        .map_err(|e| JobError::new(format!("bad {} payload: {e}", P::KIND)))
}

impl<P: JobPayload, H: Handler<P>> Erased for Typed<P, H> {
    fn run<'a>(
        &'a self,
        tx: &'a mut TenantTx,
        job: &'a ClaimedJob,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        match decode::<P>(job) {
            Ok(p) => self.handler.run(tx, job, p),
            Err(e) => Box::pin(async move { Err(e) }),
        }
    }

    fn on_failure<'a>(
        &'a self,
        pool: &'a AppPool,
        job: &'a ClaimedJob,
        error: &'a JobError,
        parked: bool,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        match decode::<P>(job) {
            Ok(p) => self.handler.on_failure(pool, job, p, error, parked),
            Err(_) => Box::pin(async { Ok(()) }),
        }
    }
}

struct Pooled<P, H> {
    handler: H,
    _payload: PhantomData<fn() -> P>,
}

impl<P: JobPayload, H: PooledHandler<P>> Erased for Pooled<P, H> {
    fn before<'a>(
        &'a self,
        pool: &'a AppPool,
        job: &'a ClaimedJob,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        match decode::<P>(job) {
            Ok(p) => self.handler.run(pool, job, p),
            Err(e) => Box::pin(async move { Err(e) }),
        }
    }

    fn run<'a>(
        &'a self,
        _tx: &'a mut TenantTx,
        _job: &'a ClaimedJob,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async { Ok(()) })
    }

    fn on_failure<'a>(
        &'a self,
        _pool: &'a AppPool,
        _job: &'a ClaimedJob,
        _error: &'a JobError,
        _parked: bool,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async { Ok(()) })
    }
}

/// Job kinds and their handlers.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: HashMap<&'static str, Arc<dyn Erased>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut kinds: Vec<_> = self.handlers.keys().collect();
        kinds.sort();
        f.debug_struct("Registry").field("kinds", &kinds).finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs jobs of kind `P::KIND` with `handler` (replacing any earlier one).
    pub fn register<P: JobPayload, H: Handler<P>>(&mut self, handler: H) -> &mut Self {
        self.handlers.insert(
            P::KIND,
            Arc::new(Typed {
                handler,
                _payload: PhantomData,
            }),
        );
        self
    }

    /// Runs jobs of kind `P::KIND` with a [`PooledHandler`] (replacing any
    /// earlier one).
    pub fn register_pooled<P: JobPayload, H: PooledHandler<P>>(&mut self, handler: H) -> &mut Self {
        self.handlers.insert(
            P::KIND,
            Arc::new(Pooled {
                handler,
                _payload: PhantomData,
            }),
        );
        self
    }

    /// The registered kinds, sorted.
    pub fn kinds(&self) -> Vec<&'static str> {
        let mut k: Vec<_> = self.handlers.keys().copied().collect();
        k.sort_unstable();
        k
    }

    /// A pooled handler's work, before the job's transaction opens; nothing
    /// for other handlers and for unknown kinds (`run` reports those).
    pub(crate) async fn before(&self, pool: &AppPool, job: &ClaimedJob) -> Result<(), JobError> {
        match self.handlers.get(job.kind.as_str()) {
            Some(h) => h.before(pool, job).await,
            None => Ok(()),
        }
    }

    pub(crate) async fn run(&self, tx: &mut TenantTx, job: &ClaimedJob) -> Result<(), JobError> {
        match self.handlers.get(job.kind.as_str()) {
            Some(h) => h.run(tx, job).await,
            None => Err(JobError::new(format!(
                "no handler for job kind {:?}",
                job.kind
            ))),
        }
    }

    pub(crate) async fn on_failure(
        &self,
        pool: &AppPool,
        job: &ClaimedJob,
        error: &JobError,
        parked: bool,
    ) -> Result<(), JobError> {
        match self.handlers.get(job.kind.as_str()) {
            Some(h) => h.on_failure(pool, job, error, parked).await,
            None => Ok(()),
        }
    }
}
