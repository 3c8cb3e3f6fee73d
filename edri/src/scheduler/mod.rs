//! The scheduler (stub, being written).

use crate::system::Launch;

/// A scheduled event.
pub struct Job {}

/// Why a job is invalid.
#[derive(Debug, thiserror::Error)]
#[error("invalid job")]
pub struct JobError {}

pub(crate) fn launch(jobs: Vec<Job>) -> Launch {
    Box::new(move |_system| {
        let _ = jobs;
        Ok(())
    })
}
