//! [`Context`]: what a solver or hook uses to talk to the rest of the system.

use std::any::{Any, TypeId};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::answer::{all_answers, first_answer, forward_answers, PendingAnswer};
use crate::events::router::Health;
use crate::mailbox::Mailbox;
use crate::router::{Entry, Router, SubscriberId};
use crate::stats::Counters;
use crate::worker::{Mode, Work, WorkerHandle, Workers};
use crate::{Failure, Notification, Request};

/// A manager's link to the router, handed to solvers (`ctx: &Context`) and lifecycle hooks.
///
/// ```
/// use edri::prelude::*;
/// use edri::events::test::{Ping, Test};
///
/// #[derive(Default)]
/// pub struct Dummy;
///
/// #[manager]
/// impl Dummy {
///     // The seed's "sending a message from a manager": a Test arrives, a Ping goes out.
///     #[solve(req)]
///     async fn do_something(&mut self, _event: Test, ctx: &Context) -> TestResponse {
///         let _ = ctx.ask(Ping {}).await;
///         TestResponse { random: 4 }
///     }
/// }
/// # use edri::events::test::TestResponse;
/// ```
#[derive(Clone)]
pub struct Context {
    inner: Arc<ContextParts>,
}

/// What a manager's context is made of, assembled when the manager starts.
pub(crate) struct ContextParts {
    /// This manager's way into the router, shared with its workers.
    pub(crate) entry: Entry,
    pub(crate) workers: Arc<Workers>,
    /// This manager in the routing table.
    pub(crate) subscriber: SubscriberId,
    pub(crate) name: Arc<str>,
    pub(crate) answers: mpsc::UnboundedSender<PendingAnswer>,
    /// The manager's `#[solve(res)]` solvers: event type and index.
    pub(crate) answer_solvers: Vec<(TypeId, u16)>,
    /// What [`Context::health`] reports on.
    pub(crate) health: HealthSources,
}

/// The manager's counters and queue, and the counts at the last health report.
pub(crate) struct HealthSources {
    pub(crate) counters: Arc<Counters>,
    pub(crate) mailbox: Mailbox,
    pub(crate) capacity: usize,
    pub(crate) last: Mutex<[u64; 3]>,
}

impl Context {
    pub(crate) fn new(parts: ContextParts) -> Self {
        Self {
            inner: Arc::new(parts),
        }
    }

    /// The manager's entry, for built-in managers that send type-erased events (the scheduler).
    pub(crate) fn entry(&self) -> &Entry {
        &self.inner.entry
    }

    fn router(&self) -> &Arc<Router> {
        self.inner.entry.router()
    }

    pub(crate) fn workers(&self) -> &Arc<Workers> {
        &self.inner.workers
    }

    /// Starts a long-lived worker on a thread or in a worker process; waits first while the
    /// manager's `max_workers` are all running. The handle sends it events and waits for it.
    pub async fn start_worker<W: Work>(
        &self,
        work: W,
        mode: Mode,
    ) -> Result<WorkerHandle, Failure> {
        self.inner.workers.start_work(work, mode).await
    }

    /// This manager's health, as it answers [`HealthCheck`](crate::events::router::HealthCheck):
    /// WARNING after a panic, else OK, with its queue, its workers, and the events processed and
    /// failed since the previous report. A manager with its own `HealthCheck` solver starts from
    /// this and adjusts it:
    ///
    /// ```
    /// use edri::prelude::*;
    /// use edri::events::router::{Health, HealthCheck, HealthStatus};
    ///
    /// pub struct Uploader { disk_full: bool }
    ///
    /// #[manager]
    /// impl Uploader {
    ///     #[solve(req)]
    ///     async fn health_check(&mut self, _check: HealthCheck, ctx: &Context) -> Health {
    ///         let health = ctx.health();
    ///         if self.disk_full {
    ///             return health.with_status(HealthStatus::Warning, "the disk is full");
    ///         }
    ///         health
    ///     }
    /// }
    /// ```
    pub fn health(&self) -> Health {
        let sources = &self.inner.health;
        crate::health::probe(
            &self.inner.name,
            &sources.counters,
            &sources.last,
            (sources.mailbox.depth(), sources.capacity),
            self.inner.workers.load(),
        )
    }

    /// The name of the manager this context belongs to.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Sends a notification to every subscriber; waits while a subscriber's queue is full.
    ///
    /// A notification nobody subscribes to is kept for a while for a late subscriber.
    pub async fn notify<E: Notification>(&self, event: E) {
        self.inner.entry.notify(event).await;
    }

    /// Sends a request; each solver's answer arrives at this manager's `#[solve(res)]` solver
    /// for `E`, a [`Failure`] included (timeout, nobody solves it, the solver failed).
    pub async fn send<E: Request>(&self, event: E) {
        let Some(&(_, solver)) = self
            .inner
            .answer_solvers
            .iter()
            .find(|(id, _)| *id == TypeId::of::<E>())
        else {
            tracing::warn!(
                manager = self.name(),
                event = E::NAME,
                "ctx.send() of a request this manager has no #[solve(res)] for: its answer is discarded; use ctx.ask() or add a #[solve(res)] solver"
            );
            self.inner.entry.request(event).await;
            return;
        };
        let request: Arc<dyn Any + Send + Sync> = Arc::new(event);
        let answers = self
            .inner
            .entry
            .request_erased(TypeId::of::<E>(), E::NAME, request.clone())
            .await;
        let timeout = self.router().config.request_timeout;
        forward_answers(
            E::NAME,
            request,
            answers,
            &self.router().deadlines,
            timeout,
            solver,
            &self.inner.answers,
        );
    }

    /// Sends a request and waits for the first answer, up to the default request timeout.
    pub async fn ask<E: Request>(&self, event: E) -> Result<E::Response, Failure> {
        self.ask_timeout(event, self.router().config.request_timeout)
            .await
    }

    /// Sends a request and waits for the first answer, up to `timeout`.
    pub async fn ask_timeout<E: Request>(
        &self,
        event: E,
        timeout: Duration,
    ) -> Result<E::Response, Failure> {
        // The manager waits inside one of its own solvers: it cannot also solve the request.
        if self.router().only_subscriber(TypeId::of::<E>()) == Some(self.inner.subscriber) {
            return Err(Failure::unavailable(format!(
                "manager `{}` asked `{}`, which only it solves, from inside its own solver: it cannot \
                 answer while it waits; use ctx.send() and #[solve(res)], or solve it elsewhere",
                self.name(),
                E::NAME
            )));
        }
        let answers = self.inner.entry.request(event).await;
        first_answer(E::NAME, answers, &self.router().deadlines, timeout).await
    }

    /// Sends a request to every solver and collects each answer within `timeout`.
    pub async fn gather<E: Request>(
        &self,
        event: E,
        timeout: Duration,
    ) -> Vec<Result<E::Response, Failure>> {
        let answers = self.inner.entry.request(event).await;
        all_answers(E::NAME, answers, &self.router().deadlines, timeout).await
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("manager", &self.name())
            .finish()
    }
}
