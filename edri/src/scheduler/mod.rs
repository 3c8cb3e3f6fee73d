//! The scheduler: a built-in manager that sends events at set times.
//!
//! Start it with [`Edri::start_scheduler`](crate::Edri::start_scheduler) and the jobs known
//! up front; add, replace, cancel and list jobs while the system runs with the [`Set`],
//! [`Update`], [`Cancel`] and [`List`] requests (from a manager's `after_start`, say).
//!
//! ```
//! use std::time::Duration;
//! use edri::prelude::*;
//! use edri::scheduler::{self, Job};
//!
//! #[event(notification)]
//! pub struct Tick {}
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> edri::Result<()> {
//! let edri = Edri::new()
//!     .start_scheduler([Job::new(Tick {}).every(Duration::from_secs(1)).named("tick")])
//!     .start()
//!     .await?;
//! let mut ticks = edri.subscribe::<Tick>();
//! ticks.recv().await;
//! edri.ask(scheduler::Cancel { name: "tick".into() }).await?;
//! # edri.shutdown().await }
//! ```
//!
//! Jobs live in memory. The scheduler keeps them in a table ordered by due time and sleeps
//! until the first one is due, so adding, running and cancelling a job cost O(log n) and an
//! idle scheduler does not wake up, however many jobs wait. See `docs/scheduler.md` for the
//! guide.

mod error;
mod events;
mod job;
mod schedule;
mod timeline;
mod timer;

use std::sync::{Arc, Mutex, MutexGuard};

use edri_macros::manager;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub use error::JobError;
pub use events::{Cancel, JobInfo, List, ListResponse, Set, SetResponse, Update};
pub use job::{Job, MissedRuns, When};

use crate::{Context, Failure};
use schedule::Clock;
use timeline::Table;

/// What the manager and its timer task share.
pub(crate) struct Shared {
    table: Mutex<Table>,
    /// Wakes the timer when a job falls due before the time it sleeps until.
    wake: Notify,
    clock: Clock,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Table> {
        // Nothing panics while the lock is held, so a poisoned lock still holds valid data.
        self.table
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// A table holding the jobs given to `start_scheduler`, each checked.
    fn new(jobs: Vec<Job>) -> Result<Self, JobError> {
        let clock = Clock::start();
        let now = Instant::now();
        let mut checked = Vec::with_capacity(jobs.len());
        for (index, job) in jobs.into_iter().enumerate() {
            let due = admit(&job, &job.label(Some(index + 1)), &clock, now)?;
            checked.push((job, due));
        }
        let mut table = Table::default();
        // Named jobs first, so a generated name never takes a name given later in the list.
        let mut unnamed = Vec::new();
        for (job, due) in checked {
            let Some(name) = job.name.as_deref() else {
                unnamed.push((job, due));
                continue;
            };
            if table.contains(name) {
                return Err(JobError::DuplicateName {
                    name: name.to_owned(),
                });
            }
            table.insert(name.into(), job, due);
        }
        for (job, due) in unnamed {
            let name = table.generate_name();
            table.insert(name, job, due);
        }
        Ok(Self {
            table: Mutex::new(table),
            wake: Notify::new(),
            clock,
        })
    }

    /// Checks a job given at run time and computes its first run.
    fn admit(&self, job: &Job) -> Result<Instant, Failure> {
        admit(job, &job.label(None), &self.clock, Instant::now())
            .map_err(|error| Failure::bad_request(error.to_string()))
    }

    /// Adds a job under `name`, replacing any of that name, and wakes the timer if the job
    /// is now the first due.
    fn insert(&self, table: &mut Table, name: Arc<str>, job: Job, due: Instant) {
        if table.insert(name, job, due) {
            self.wake.notify_one();
        }
    }
}

/// Checks a job and computes its first run.
fn admit(job: &Job, label: &str, clock: &Clock, now: Instant) -> Result<Instant, JobError> {
    job.validate(label)?;
    schedule::first_run(job, clock, now).ok_or_else(|| JobError::Cron {
        job: label.to_owned(),
        expression: job
            .cron
            .as_ref()
            .map(|rule| rule.text.clone())
            .unwrap_or_default(),
        reason: job::NEVER.to_owned(),
    })
}

/// The scheduler manager with its initial jobs; an invalid job is an error, which fails the start.
pub(crate) fn manager(jobs: Vec<Job>) -> crate::Result<Scheduler> {
    Ok(Scheduler {
        shared: Arc::new(Shared::new(jobs)?),
        timer: None,
    })
}

/// The manager: answers the scheduler's events; its timer task sends the jobs' events.
pub(crate) struct Scheduler {
    shared: Arc<Shared>,
    timer: Option<JoinHandle<()>>,
}

impl Scheduler {
    fn stop_timer(&mut self) {
        if let Some(timer) = self.timer.take() {
            timer.abort();
        }
    }
}

impl Drop for Scheduler {
    /// A manager task aborted at the shutdown deadline skips `before_stop`: stop the timer
    /// here too.
    fn drop(&mut self) {
        self.stop_timer();
    }
}

#[manager(name = "edri-scheduler")]
impl Scheduler {
    async fn after_start(&mut self, ctx: &Context) {
        let timer = timer::run(self.shared.clone(), ctx.entry().clone());
        self.timer = Some(tokio::spawn(timer));
    }

    async fn before_stop(&mut self) {
        self.stop_timer();
    }

    #[solve(req)]
    async fn set(&mut self, event: Set) -> Result<SetResponse, Failure> {
        let job = event.job;
        let due = self.shared.admit(&job)?;
        let mut table = self.shared.lock();
        let name: Arc<str> = match job.name.as_deref() {
            Some(name) if table.contains(name) => {
                return Err(Failure::conflict(format!(
                    "a job named `{name}` exists already; `Update` replaces it"
                )));
            }
            Some(name) => name.into(),
            None => table.generate_name(),
        };
        self.shared.insert(&mut table, name.clone(), job, due);
        Ok(SetResponse {
            name: name.to_string(),
        })
    }

    #[solve(req)]
    async fn update(&mut self, event: Update) -> Result<(), Failure> {
        let job = event.job;
        let Some(name) = job.name.clone() else {
            return Err(Failure::bad_request(format!(
                "{}: `Update` replaces the job of the same name, so the job needs one (`Job::named`)",
                job.label(None)
            )));
        };
        let due = self.shared.admit(&job)?;
        let mut table = self.shared.lock();
        if !table.contains(&name) {
            return Err(Failure::not_found(format!(
                "no job named `{name}` to update"
            )));
        }
        self.shared.insert(&mut table, name.into(), job, due);
        Ok(())
    }

    #[solve(req)]
    async fn cancel(&mut self, event: Cancel) -> Result<(), Failure> {
        match self.shared.lock().remove(&event.name) {
            Some(_) => Ok(()),
            None => Err(Failure::not_found(format!(
                "no job named `{}` to cancel",
                event.name
            ))),
        }
    }

    #[solve(req)]
    async fn list(&mut self, _event: List) -> ListResponse {
        ListResponse {
            jobs: self.shared.lock().list(Instant::now()),
        }
    }
}
