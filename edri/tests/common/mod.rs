//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::sync::Arc;

use tokio::sync::Notify;

/// Holds a solver until the test opens it, and tells the test when the solver got there.
#[derive(Clone, Default)]
pub struct Gate {
    entered: Arc<Notify>,
    open: Arc<Notify>,
}

impl Gate {
    /// Called by the solver: announce arrival, then wait to be let through.
    pub async fn pass(&self) {
        self.entered.notify_one();
        self.open.notified().await;
    }

    /// Called by the test: wait until a solver is held at the gate.
    pub async fn entered(&self) {
        self.entered.notified().await;
    }

    /// Called by the test: let one held solver through.
    pub fn open(&self) {
        self.open.notify_one();
    }
}
