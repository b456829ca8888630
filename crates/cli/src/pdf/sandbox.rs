//! The limits a PDF worker puts on itself with `setrlimit`: address space,
//! no core dumps, no files written, few descriptors, no child processes, and a
//! CPU-time budget re-armed before every document so that one document that
//! spins is killed by `SIGXCPU` without the worker's earlier work counting
//! against it.
//!
//! Only soft limits move after start-up: an unprivileged process can lower a
//! hard limit but never raise it again, and the CPU limit must rise with
//! every document.

use std::io;
use std::time::Duration;

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
use rustix::time::{ClockId, clock_gettime};

/// Limits set once when the worker starts.
#[derive(Debug, Clone, Copy)]
pub struct StaticLimits {
    /// Address space (virtual memory) in bytes.
    pub address_space: u64,
    /// Open file descriptors.
    pub open_files: u64,
}

impl Default for StaticLimits {
    fn default() -> Self {
        Self {
            address_space: 1 << 30,
            open_files: 16,
        }
    }
}

/// Applies the start-up limits to the current process.
pub fn apply_static_limits(limits: StaticLimits) -> io::Result<()> {
    lower(Resource::As, limits.address_space)?;
    lower(Resource::Core, 0)?;
    lower(Resource::Fsize, 0)?;
    lower(Resource::Nofile, limits.open_files)?;
    lower(Resource::Nproc, 0)?;
    Ok(())
}

/// Sets both limits of `resource` to `value`, never raising the hard limit.
fn lower(resource: Resource, value: u64) -> io::Result<()> {
    let current = getrlimit(resource);
    let value = current.maximum.map_or(value, |max| max.min(value));
    setrlimit(
        resource,
        Rlimit {
            current: Some(value),
            maximum: Some(value),
        },
    )?;
    Ok(())
}

/// CPU time this process has used so far.
pub fn cpu_used() -> Duration {
    let t = clock_gettime(ClockId::ProcessCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

/// Arms the CPU limit so the process receives `SIGXCPU` (and dies) once it
/// has used `budget` more CPU time than it has now. The limit has a
/// granularity of one second, so the budget is rounded up.
pub fn arm_cpu_budget(budget: Duration) -> io::Result<()> {
    let used = cpu_used();
    let used_secs = used.as_secs() + u64::from(used.subsec_nanos() > 0);
    let budget_secs = budget.as_secs().max(1) + u64::from(budget.subsec_nanos() > 0);
    let soft = used_secs.saturating_add(budget_secs);
    let hard = getrlimit(Resource::Cpu).maximum;
    let soft = hard.map_or(soft, |h| h.min(soft));
    setrlimit(
        Resource::Cpu,
        Rlimit {
            current: Some(soft),
            maximum: hard,
        },
    )?;
    Ok(())
}
