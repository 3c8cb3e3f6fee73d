//! [`Handle`]: the running system, as code outside the managers talks to it.

use std::any::TypeId;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::answer::{all_answers, first_answer, Pending};
use crate::health::HealthReport;
use crate::mailbox::Mailbox;
use crate::manager::{Direction, Manager};
use crate::router::{Entry, Route, Router};
use crate::stats::ManagerStats;
use crate::subscription::Subscription;
use crate::topology::{Topology, TopologyBuilder};
use crate::{Error, Failure, Notification, Request, Result};

use super::running::{Running, System};

/// A running edri system. Cheap to clone; every clone talks to the same system.
///
/// ```
/// use edri::prelude::*;
/// use edri::events::test::{Test, TestResponse};
///
/// #[derive(Default)]
/// pub struct Random;
///
/// #[manager]
/// impl Random {
///     #[solve(req)]
///     async fn test(&mut self, _event: Test) -> TestResponse {
///         TestResponse { random: 1234 }
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> edri::Result<()> {
/// let edri = Edri::new().manager(Random).start().await?;
/// assert_eq!(edri.ask(Test {}).await?.random, 1234);
/// edri.shutdown().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Handle {
    pub(super) system: Arc<System>,
}

impl Handle {
    pub(crate) fn router(&self) -> &Arc<Router> {
        &self.system.router
    }

    /// Where the API listens, when it was started (the port chosen, for port 0).
    pub fn api_addr(&self) -> Option<std::net::SocketAddr> {
        self.system.lock_api().as_ref().map(|server| server.addr)
    }

    fn open(&self) -> Result<&Entry> {
        if self.system.closed.load(Ordering::Acquire) {
            return Err(Error::ShuttingDown);
        }
        Ok(&self.system.entry)
    }

    /// Sends a notification to every subscriber; waits while a subscriber's queue is full.
    pub async fn notify<E: Notification>(&self, event: E) -> Result<()> {
        self.open()?.notify(event).await;
        Ok(())
    }

    /// Sends a request and returns once every solver has it queued; await the returned
    /// [`Pending`] for the first answer.
    pub async fn send<E: Request>(&self, event: E) -> Result<Pending<E>> {
        let entry = self.open()?;
        let answers = entry.request(event).await;
        let router = entry.router();
        Ok(Pending::new(
            answers,
            router.deadlines.clone(),
            router.config.request_timeout,
        ))
    }

    /// Sends a request and waits for the first answer, up to the default request timeout.
    pub async fn ask<E: Request>(&self, event: E) -> Result<E::Response, Failure> {
        let timeout = self.system.router.config.request_timeout;
        self.ask_timeout(event, timeout).await
    }

    /// Sends a request and waits for the first answer, up to `timeout`.
    pub async fn ask_timeout<E: Request>(
        &self,
        event: E,
        timeout: Duration,
    ) -> Result<E::Response, Failure> {
        let entry = self
            .open()
            .map_err(|_| Failure::unavailable("edri is shutting down"))?;
        let answers = entry.request(event).await;
        first_answer(E::NAME, answers, &entry.router().deadlines, timeout).await
    }

    /// Sends a request to every solver and collects each answer within `timeout`.
    pub async fn gather<E: Request>(
        &self,
        event: E,
        timeout: Duration,
    ) -> Result<Vec<Result<E::Response, Failure>>> {
        let entry = self.open()?;
        let answers = entry.request(event).await;
        Ok(all_answers(E::NAME, answers, &entry.router().deadlines, timeout).await)
    }

    /// Receives every notification of type `E` from now on, as a `Stream`.
    pub fn subscribe<E: Notification>(&self) -> Subscription<E> {
        let router = &self.system.router;
        let id = router.new_subscriber();
        let (sender, receiver) = mpsc::channel(router.config.queue_capacity);
        let route = Route {
            mailbox: Mailbox::Fifo(sender),
            solver: 0,
            priority: 0,
            subscriber: id,
            name: Arc::from(format!("subscription to {}", E::NAME)),
            remote: false,
        };
        let replay = router.subscribe(vec![(TypeId::of::<E>(), route)]);
        Subscription::new(receiver, replay, router.clone(), id)
    }

    /// Adds a manager to the running system.
    ///
    /// A second instance of a manager type takes a numbered name (`Counter-2`, `Counter-3`...)
    /// and subscribes like the first.
    pub async fn add_manager<M: Manager>(&self, manager: M) -> Result<()> {
        self.open()?;
        self.system.launch(manager, None)
    }

    /// Adds a manager to the running system under a name of your choice; a name already taken
    /// is [`Error::DuplicateManager`](crate::Error::DuplicateManager).
    pub async fn add_named_manager<M: Manager>(
        &self,
        name: impl Into<String>,
        manager: M,
    ) -> Result<()> {
        self.open()?;
        self.system.launch(manager, Some(name.into()))
    }

    /// The counters of every manager.
    pub fn stats(&self) -> Vec<ManagerStats> {
        self.system
            .lock_managers()
            .iter()
            .map(|running| {
                let (workers_running, workers_pending) = running.workers.load();
                ManagerStats {
                    name: running.name.to_string(),
                    processed: running.counters.processed.load(Ordering::Relaxed),
                    failed: running.counters.failed.load(Ordering::Relaxed),
                    panics: running.counters.panics.load(Ordering::Relaxed),
                    queue_depth: running.mailbox.depth(),
                    workers_running,
                    workers_pending,
                    worker_processes: running.workers.process_ids(),
                }
            })
            .collect()
    }

    /// Checks every manager now and reports their health: each one's own answer to
    /// [`HealthCheck`](crate::events::router::HealthCheck), how long each has been silent (WARNING, then ERROR), and slow
    /// consumers. Waits for the answers up to one second (or the health period, if shorter), so
    /// a silent manager makes this call take that long.
    pub async fn health(&self) -> HealthReport {
        let system = &self.system;
        let targets = system.health_targets();
        system.health.check(&targets, false);
        let wait = system
            .router
            .config
            .health_period
            .min(Duration::from_secs(1));
        system
            .health
            .answers(&targets, tokio::time::Instant::now() + wait)
            .await;
        let mut report = system.health.report(&targets, system.health_limits());
        report.count_dropped(&system.router);
        report.switch = self.switch_report();
        report
    }

    /// The connection to the switch (peers, counters, gaps), when this router joined one.
    pub fn switch_report(&self) -> Option<crate::switch::SwitchReport> {
        self.system.connector().map(|connector| connector.report())
    }

    /// This router's id on the switch, when it joined one.
    pub fn router_id(&self) -> Option<String> {
        self.system
            .connector()
            .map(|connector| connector.id().to_owned())
    }

    /// Waits until another router behind the switch subscribes to `E`, so that what is sent
    /// afterwards reaches it. Returns at once when this router has not joined a switch.
    pub async fn remote_subscriber<E: crate::Event>(&self) {
        if let Some(connector) = self.system.connector() {
            connector.wait_for_demand(E::NAME).await;
        }
    }

    /// Which managers solve and which send each event, with how many each received or sent.
    pub fn topology(&self) -> Topology {
        let mut topology = TopologyBuilder::new();
        for running in self.system.lock_managers().iter() {
            for solver in running.solvers {
                if solver.direction != Direction::Req {
                    continue;
                }
                let received = running
                    .counters
                    .received
                    .get(usize::from(solver.index))
                    .map_or(0, |count| count.load(Ordering::Relaxed));
                topology.solver(solver.event_name, &running.name, received);
            }
        }
        for (sender, event, count) in self.system.router.sent() {
            topology.sender(event, &sender, count);
        }
        topology.build()
    }

    /// The names of the subscribers of `E` (managers and subscriptions), in subscription order.
    pub fn subscribers<E: crate::Event>(&self) -> Vec<String> {
        self.system
            .router
            .subscribers(TypeId::of::<E>())
            .iter()
            .map(|name| name.to_string())
            .collect()
    }

    /// Stops the system: refuses new events from handles, lets every manager finish its queue
    /// and run `before_stop`, and waits for them (up to the shutdown timeout, after which the
    /// remaining requests fail with `Unavailable`). Calling it again does nothing.
    pub async fn shutdown(&self) -> Result<()> {
        if self.system.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        // The API first: no new requests come in while the managers finish theirs.
        let api = self.system.lock_api().take();
        if let Some(api) = api {
            api.stop().await;
        }
        if let Some(task) = self
            .system
            .health_task
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .take()
        {
            task.abort();
        }
        let managers: Vec<Running> = std::mem::take(&mut *self.system.lock_managers());
        let switch = self.system.lock_switch().take();
        for running in &managers {
            let _ = running.stop.send(true);
        }
        let deadline = tokio::time::Instant::now() + self.system.router.config.shutdown_timeout;
        for running in managers {
            let mut task = running.task;
            match tokio::time::timeout_at(deadline, &mut task).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    tracing::error!(manager = &*running.name, %error, "manager task failed")
                }
                Err(_) => {
                    tracing::warn!(
                        manager = &*running.name,
                        "did not finish its queue in time: aborted"
                    );
                    task.abort();
                }
            }
        }
        if let Some(switch) = switch {
            // What other routers are owed leaves before the connection closes.
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            switch.stop(left.max(Duration::from_millis(500))).await;
        }
        Ok(())
    }
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self
            .system
            .lock_managers()
            .iter()
            .map(|r| r.name.to_string())
            .collect();
        f.debug_struct("Handle").field("managers", &names).finish()
    }
}
