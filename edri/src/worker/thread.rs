//! Thread workers: a pool of OS threads per manager, and the link a thread worker uses to
//! reach the router through the async runtime.

use std::collections::VecDeque;
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use super::{key, Message};
use crate::answer::first_answer;
use crate::router::Entry;
use crate::{Event, EventKind, Failure, Request};

/// A thread worker's way into the system.
pub(crate) struct Link {
    pub(crate) entry: Entry,
    pub(crate) runtime: tokio::runtime::Handle,
    pub(crate) inbox: Option<std_mpsc::Receiver<Message>>,
}

impl Link {
    pub(crate) fn request_timeout(&self) -> Duration {
        self.entry.router().config.request_timeout
    }

    pub(crate) fn send<E: Event>(&self, event: E) {
        let (type_id, name) = key::<E>();
        let entry = &self.entry;
        self.runtime.block_on(async move {
            match E::KIND {
                EventKind::Notification => {
                    entry.notify_erased(type_id, name, Arc::new(event)).await
                }
                EventKind::Request => {
                    drop(entry.request_erased(type_id, name, Arc::new(event)).await)
                }
            }
        });
    }

    pub(crate) fn ask<E: Request>(
        &self,
        event: E,
        timeout: Duration,
    ) -> Result<E::Response, Failure> {
        let (type_id, name) = key::<E>();
        let entry = &self.entry;
        self.runtime.block_on(async move {
            let answers = entry.request_erased(type_id, name, Arc::new(event)).await;
            first_answer(name, answers, &entry.router().deadlines, timeout).await
        })
    }

    pub(crate) fn recv(&self, timeout: Option<Duration>) -> Option<Message> {
        let inbox = self.inbox.as_ref()?;
        match timeout {
            Some(timeout) => inbox.recv_timeout(timeout).ok(),
            None => inbox.recv().ok(),
        }
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// OS threads kept for a manager's thread workers: an idle one takes the next job, a new one is
/// started when none is idle. How many run at once is bounded by `max_workers` upstream.
pub(crate) struct ThreadPool {
    manager: Arc<str>,
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    ready: Condvar,
}

#[derive(Default)]
struct State {
    jobs: VecDeque<Job>,
    /// Idle threads not yet promised a job.
    idle: usize,
    started: usize,
    closed: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Jobs run outside the lock, so a poisoned lock still holds a valid state.
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

impl ThreadPool {
    pub(crate) fn new(manager: Arc<str>) -> Self {
        Self {
            manager,
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                ready: Condvar::new(),
            }),
        }
    }

    /// Runs the job on an idle thread, or on a new one. The job must not panic (submitters run
    /// user code under `catch_unwind`).
    pub(crate) fn run(&self, job: Job) -> std::io::Result<()> {
        let mut state = self.shared.lock();
        if state.closed {
            return Err(std::io::Error::other("the thread pool is closed"));
        }
        state.jobs.push_back(job);
        if state.idle > 0 {
            state.idle -= 1;
            self.shared.ready.notify_one();
            return Ok(());
        }
        state.started += 1;
        let name = format!("{}-worker-{}", self.manager, state.started);
        drop(state);
        let shared = self.shared.clone();
        std::thread::Builder::new()
            .name(name)
            .spawn(move || work(&shared))?;
        Ok(())
    }

    /// Lets idle threads end; busy ones end after their job.
    pub(crate) fn close(&self) {
        self.shared.lock().closed = true;
        self.shared.ready.notify_all();
    }
}

fn work(shared: &Shared) {
    let mut state = shared.lock();
    loop {
        if let Some(job) = state.jobs.pop_front() {
            drop(state);
            job();
            state = shared.lock();
            state.idle += 1;
            continue;
        }
        if state.closed {
            return;
        }
        state = shared
            .ready
            .wait(state)
            .unwrap_or_else(|poison| poison.into_inner());
    }
}
