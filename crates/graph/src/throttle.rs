//! Throttling (contract §10): `Retry-After` parsing (capped at
//! [`MAX_RETRY_AFTER`]), exponential backoff with jitter, and the
//! per-mailbox gate that keeps at most N requests in flight and holds every
//! request until the mailbox's last `Retry-After` has passed. A
//! [`ThrottleObserver`] hears of every hold before the client waits, so a
//! caller can persist it for the process that comes after this one.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// How often and how patiently the client retries.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// The first backoff delay when the server gives no `Retry-After`.
    pub base_backoff: Duration,
    /// The largest backoff delay.
    pub max_backoff: Duration,
    /// A `Retry-After` longer than this is not waited out inline: the call
    /// fails with `Throttled` and the caller reschedules its job.
    pub max_inline_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_inline_wait: Duration::from_mins(1),
        }
    }
}

impl RetryPolicy {
    /// Exponential backoff with jitter for retry number `retry` (0-based):
    /// a random delay in `[d/2, d]` where `d = base · 2^retry`, capped. The
    /// jitter keeps many mailboxes that failed together from retrying
    /// together.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .base_backoff
            .saturating_mul(1u32.checked_shl(retry.min(20)).unwrap_or(u32::MAX));
        let d = exp.min(self.max_backoff);
        let half = d / 2;
        let jitter_nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        let r = if jitter_nanos == 0 {
            0
        } else {
            random_u64() % (jitter_nanos + 1)
        };
        half + Duration::from_nanos(r)
    }
}

fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    // The jitter needs no cryptographic quality; if the OS source fails the
    // delay is simply d/2.
    if getrandom::fill(&mut b).is_err() {
        return 0;
    }
    u64::from_le_bytes(b)
}

/// The longest `Retry-After` honoured. A larger one (a buggy or hostile
/// header: `Retry-After: 99999999`) is cut to this, so it can neither park a
/// mailbox for good nor overflow the clock. The same hour as the job
/// queue's longest backoff (`sentra_store::queue::MAX_BACKOFF`).
pub const MAX_RETRY_AFTER: Duration = Duration::from_hours(1);

/// What a throttling answer held back: Graph's penalty key. A request for a
/// mailbox is penalised on that mailbox; any other request (subscriptions)
/// on the application in the customer's tenant.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ThrottleScope {
    /// One mailbox of a tenant (address or id as the caller named it).
    Mailbox {
        /// The customer's tenant id.
        tenant: String,
        /// The mailbox.
        mailbox: String,
    },
    /// The whole tenant.
    Tenant {
        /// The customer's tenant id.
        tenant: String,
    },
}

/// Told about every hold the client puts on a gate, *before* it waits the
/// hold out or gives up, so that a caller can persist it: a process killed
/// while waiting leaves the deadline behind for the next one.
pub trait ThrottleObserver: Send + Sync + fmt::Debug {
    /// `scope` is held for `hold` from now (the gate's whole remaining hold,
    /// never less than before). Errors are the observer's to log: the
    /// in-memory hold stands either way.
    fn held<'a>(
        &'a self,
        scope: &'a ThrottleScope,
        hold: Duration,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;
}

/// Parses `Retry-After` as (possibly decimal) seconds: `120`, `1`, `0.249`.
/// Negative, non-finite and HTTP-date values give `None` (then the client
/// backs off exponentially; Graph sends seconds).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let secs: f64 = value.trim().parse().ok()?;
    Duration::try_from_secs_f64(secs).ok()
}

/// The gate in front of one mailbox (or tenant): a semaphore for concurrency
/// and a "not before" instant set from `Retry-After` and backoff.
#[derive(Debug)]
pub(crate) struct Gate {
    permits: Arc<Semaphore>,
    not_before: Mutex<Option<Instant>>,
}

impl Gate {
    pub(crate) fn new(concurrency: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            not_before: Mutex::new(None),
        }
    }

    /// Waits for the mailbox's back-off to pass and a slot to free. The
    /// not-before is checked again after the permit is granted, because
    /// another request may have been throttled while this one queued.
    pub(crate) async fn enter(&self) -> OwnedSemaphorePermit {
        loop {
            self.wait_not_before().await;
            let permit = Arc::clone(&self.permits)
                .acquire_owned()
                .await
                .unwrap_or_else(|_| unreachable!("the semaphore is never closed"));
            match self.not_before() {
                Some(t) if t > Instant::now() => drop(permit),
                _ => return permit,
            }
        }
    }

    async fn wait_not_before(&self) {
        while let Some(t) = self.not_before() {
            if t <= Instant::now() {
                break;
            }
            tokio::time::sleep_until(t).await;
        }
    }

    /// How long the gate still holds requests back.
    pub(crate) fn remaining(&self) -> Duration {
        self.not_before().map_or(Duration::ZERO, |t| {
            t.saturating_duration_since(Instant::now())
        })
    }

    fn not_before(&self) -> Option<Instant> {
        *self
            .not_before
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Holds every later request until `now + wait` (never shortens an
    /// existing hold; `wait` is capped at [`MAX_RETRY_AFTER`]).
    pub(crate) fn hold_for(&self, wait: Duration) {
        let until = Instant::now() + wait.min(MAX_RETRY_AFTER);
        let mut nb = self
            .not_before
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if nb.is_none_or(|t| t < until) {
            *nb = Some(until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_accepts_integers_and_decimals() {
        assert_eq!(parse_retry_after("120"), Some(Duration::from_mins(2)));
        assert_eq!(parse_retry_after(" 1 "), Some(Duration::from_secs(1)));
        assert_eq!(parse_retry_after("0.249"), Some(Duration::from_millis(249)));
        assert_eq!(parse_retry_after("0"), Some(Duration::ZERO));
    }

    #[tokio::test]
    async fn a_huge_hold_is_capped_rather_than_overflowing_the_clock() {
        let gate = Gate::new(1);
        gate.hold_for(Duration::MAX);
        let held = gate.remaining();
        assert!(
            held <= MAX_RETRY_AFTER
                && held > MAX_RETRY_AFTER.saturating_sub(Duration::from_mins(1))
        );
    }

    #[test]
    fn retry_after_rejects_nonsense() {
        for v in [
            "",
            "-1",
            "NaN",
            "inf",
            "Wed, 21 Oct 2015 07:28:00 GMT",
            "1e400",
        ] {
            assert_eq!(parse_retry_after(v), None, "{v}");
        }
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let p = RetryPolicy {
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            ..RetryPolicy::default()
        };
        for retry in 0..40 {
            let d = p.backoff(retry);
            let full = Duration::from_millis(100)
                .saturating_mul(1u32.checked_shl(retry.min(20)).unwrap_or(u32::MAX))
                .min(Duration::from_secs(2));
            assert!(
                d >= full / 2 && d <= full,
                "retry {retry}: {d:?} vs {full:?}"
            );
        }
        // Jitter: 50 draws of the same step are not all equal.
        let draws: std::collections::HashSet<_> = (0..50).map(|_| p.backoff(3)).collect();
        assert!(draws.len() > 1);
    }

    #[tokio::test]
    async fn gate_limits_concurrency_and_holds_requests() {
        let gate = Gate::new(2);
        let a = gate.enter().await;
        let _b = gate.enter().await;
        let third = tokio::time::timeout(Duration::from_millis(50), gate.enter()).await;
        assert!(third.is_err(), "a third permit was granted");
        drop(a);
        gate.hold_for(Duration::from_millis(80));
        let start = Instant::now();
        let _c = gate.enter().await;
        assert!(start.elapsed() >= Duration::from_millis(75));
    }
}
