//! The scheduler's events: add, replace, cancel and list jobs while the system runs.

use std::time::Duration;

use edri_macros::event;
use serde::{Deserialize, Serialize};

use super::Job;

/// Adds a job. Answers with its name: the one it was given, or a generated one (`job-1`,
/// `job-2`, ...) for an unnamed job.
///
/// Fails with `Failure(BadRequest)` for an invalid job (the message is the
/// [`JobError`](super::JobError)'s) and `Failure(Conflict)` when a job of that name exists.
#[event(request, name = "edri-scheduler-set")]
pub struct Set {
    /// The job to add.
    pub job: Job,
    /// The job's name, to [`Update`] or [`Cancel`] it later.
    #[response]
    pub name: String,
}

/// Replaces the job of the same name; its schedule starts again from now (`after` counts from
/// the update).
///
/// Fails with `Failure(BadRequest)` for an unnamed or invalid job and `Failure(NotFound)` when
/// no job has that name (a one-shot job that ran is gone).
#[event(request, name = "edri-scheduler-update")]
pub struct Update {
    /// The new job; [`Job::named`] says which job it replaces.
    pub job: Job,
}

/// Cancels a job. Fails with `Failure(NotFound)` when no job has that name.
#[event(request, name = "edri-scheduler-cancel")]
pub struct Cancel {
    /// The job's name.
    pub name: String,
}

/// Lists the pending jobs, the next to run first.
#[event(request, name = "edri-scheduler-list")]
pub struct List {
    /// Every pending job.
    #[response]
    pub jobs: Vec<JobInfo>,
}

/// A pending job, as [`List`] reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(crate = "serde")]
#[non_exhaustive]
pub struct JobInfo {
    /// The job's name, given or generated.
    pub name: String,
    /// The wire name of the event it sends.
    pub event: String,
    /// How long until it runs next (zero when it is due).
    pub next_run_in: Duration,
    /// Whether it runs more than once.
    pub repeats: bool,
}
