//! Fault injection for crash tests: a plan names one step of the pipeline at
//! which the next run fails, exactly as if the process had died there (the
//! open transaction is dropped, so it rolls back). Tests fail each step in
//! turn, re-run, and compare the final state with a clean run. In
//! production the plan is empty and checking it costs one uncontended lock.

use std::sync::{Arc, Mutex};

/// A point in the pipeline where a crash can be simulated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// The message row is inserted; its transaction is still open.
    MessageInserted,
    /// The message (and its analyse job) committed.
    Stored,
    /// The verdict row is inserted; its transaction is still open.
    AssessmentRecorded,
    /// The case is opened; the transaction is still open.
    CaseOpened,
    /// The alerts are recorded and their jobs enqueued; still open.
    AlertsEnqueued,
    /// Everything committed.
    Analysed,
}

impl Step {
    /// Every step, in pipeline order.
    pub const ALL: [Step; 6] = [
        Self::MessageInserted,
        Self::Stored,
        Self::AssessmentRecorded,
        Self::CaseOpened,
        Self::AlertsEnqueued,
        Self::Analysed,
    ];
}

/// Which step fails next (at most one, once).
#[derive(Debug, Clone, Default)]
pub struct FaultPlan(Arc<Mutex<Option<Step>>>);

impl FaultPlan {
    /// A plan that never fails.
    pub fn none() -> Self {
        Self::default()
    }

    /// Makes the next run that reaches `step` fail there.
    pub fn fail_once_at(&self, step: Step) {
        if let Ok(mut s) = self.0.lock() {
            *s = Some(step);
        }
    }

    /// Fails (once) if the plan says so at `step`.
    pub(crate) fn check(&self, step: Step) -> Result<(), crate::IngestError> {
        let mut s = self
            .0
            .lock()
            .map_err(|_| crate::IngestError::Injected(step))?;
        if *s == Some(step) {
            *s = None;
            return Err(crate::IngestError::Injected(step));
        }
        Ok(())
    }
}
