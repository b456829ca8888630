//! Why a job failed: a message safe to store in `job.last_error` (no
//! secrets, no message content) and, optionally, when to try again.

use std::time::Duration;

/// A failed job run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct JobError {
    /// What went wrong, safe to store and show.
    pub message: String,
    /// Retry no sooner than this (a `Retry-After`); `None`: the runner's
    /// backoff with jitter.
    pub retry_after: Option<Duration>,
    /// Not a failure: the job found it must wait (a Graph `Retry-After`
    /// an earlier run persisted) and runs again after `retry_after`
    /// without spending an attempt.
    pub defer: bool,
}

impl JobError {
    /// A failure with `message`, retried with backoff.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retry_after: None,
            defer: false,
        }
    }

    /// Run again after `wait`, without counting this run as an attempt:
    /// the job did nothing because it must not start before then.
    pub fn defer(wait: Duration) -> Self {
        Self {
            message: format!("deferred for {} ms", wait.as_millis()),
            retry_after: Some(wait),
            defer: true,
        }
    }

    /// Retry no sooner than `after`.
    #[must_use]
    pub fn retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }
}

impl From<sentra_store::StoreError> for JobError {
    fn from(e: sentra_store::StoreError) -> Self {
        Self::new(format!("store: {e}"))
    }
}

impl From<sentra_ingest::IngestError> for JobError {
    fn from(e: sentra_ingest::IngestError) -> Self {
        Self::new(format!("ingest: {e}"))
    }
}
