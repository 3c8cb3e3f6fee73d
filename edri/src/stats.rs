//! The counters of a manager: what it received, processed and failed, read by health reports,
//! [`Handle::stats`](crate::Handle::stats) and the topology.

use std::sync::atomic::{AtomicU64, Ordering};

/// How handling one delivery ended, for the counters.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Failed,
    /// Handed to a worker, which counts it when it ends.
    Offloaded,
}

/// Counters of one manager, reported by [`Handle::stats`](crate::Handle::stats).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ManagerStats {
    /// The manager's name.
    pub name: String,
    /// Events and answers handled.
    pub processed: u64,
    /// Of those, how many ended in a failure (an `Err` answer or a panic).
    pub failed: u64,
    /// Solvers that panicked.
    pub panics: u64,
    /// Deliveries waiting in the queue.
    pub queue_depth: usize,
    /// Thread and process workers running now.
    pub workers_running: usize,
    /// Worker starts waiting for a `max_workers` slot.
    pub workers_pending: usize,
    /// Process ids of the manager's worker processes alive now (running or idle).
    pub worker_processes: Vec<u32>,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) processed: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) panics: AtomicU64,
    /// Deliveries received, per `#[solve(req)]` solver index, for the topology.
    pub(crate) received: Box<[AtomicU64]>,
}

impl Counters {
    /// Counters for a manager with `solvers` request solvers.
    pub(crate) fn new(solvers: usize) -> Self {
        Self {
            received: (0..solvers).map(|_| AtomicU64::new(0)).collect(),
            ..Self::default()
        }
    }

    pub(crate) fn count(&self, outcome: Outcome) {
        if outcome == Outcome::Offloaded {
            return;
        }
        self.processed.fetch_add(1, Ordering::Relaxed);
        if outcome == Outcome::Failed {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
}
