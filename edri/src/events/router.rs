//! Events every manager answers, so the system (and the API) can watch its own health.

use edri_macros::event;
use serde::{Deserialize, Serialize};

/// Asks a manager how it is. Every manager answers it without any code of its own; a manager
/// that declares its own `#[solve(req)]` for `HealthCheck` answers instead (start from
/// [`Context::health`](crate::Context::health) and adjust the status or the reason).
///
/// [`Handle::health`](crate::Handle::health) sends it to every manager and reports who is slow
/// or silent.
#[event(request, name = "edri-router-health-check", response = Health)]
pub struct HealthCheck {}

/// A manager's answer to [`HealthCheck`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(crate = "serde")]
#[non_exhaustive]
pub struct Health {
    /// The manager's name.
    pub name: String,
    /// The manager's own view: [`HealthStatus::Warning`] after a panic since the last check.
    pub status: HealthStatus,
    /// Why the status is not OK, for people.
    pub reason: Option<String>,
    /// Deliveries waiting in the manager's queue.
    pub queue_depth: usize,
    /// How many deliveries the queue holds at most.
    pub queue_capacity: usize,
    /// Thread and process workers running now.
    pub workers_running: usize,
    /// Worker starts waiting for a `max_workers` slot.
    pub workers_pending: usize,
    /// Events and answers handled since the last check.
    pub processed: u64,
    /// Of those, how many failed.
    pub failed: u64,
    /// Solvers that panicked since the last check.
    pub panics: u64,
}

impl Health {
    /// Sets the status and the reason, keeping the numbers.
    pub fn with_status(mut self, status: HealthStatus, reason: impl Into<String>) -> Self {
        self.status = status;
        self.reason = Some(reason.into());
        self
    }
}

/// How a component is doing, from best to worst.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(crate = "serde", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HealthStatus {
    /// Working normally.
    Ok,
    /// Working, but something needs a look: a panic, a queue that stays nearly full, no
    /// answer to the last health checks.
    Warning,
    /// Not answering health checks for a long time.
    Error,
}

impl std::fmt::Display for HealthStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HealthStatus::Ok => "OK",
            HealthStatus::Warning => "WARNING",
            HealthStatus::Error => "ERROR",
        })
    }
}
