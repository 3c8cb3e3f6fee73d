//! [`Edri`], the builder that launches a system, and [`Handle`], the running system.

use std::any::TypeId;
use std::collections::HashMap;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::context::{Context, ContextParts, HealthSources};
use crate::event::Registry;
use crate::events::router::HealthCheck;
use crate::health::{HealthBook, HealthReport, Limits, Target};
use crate::mailbox::{mailbox, Mailbox};
use crate::manager::{self, Counters, Direction, Manager, ManagerStats, Wiring, BUILT_IN_HEALTH};
use crate::request::{all_answers, first_answer};
use crate::router::{Answers, Route, Router};
use crate::subscription::Subscription;
use crate::topology::{SentCounts, Topology, TopologyBuilder};
use crate::worker::Workers;
use crate::{Error, Failure, Notification, Request, Result};

/// Starts one manager of a system as the system starts; built-in managers open their files here.
pub(crate) type Launch = Box<dyn FnOnce(&System) -> Result<()> + Send>;

/// Builds and launches an edri system: its managers and settings.
///
/// ```no_run
/// use edri::prelude::*;
///
/// #[derive(Default)]
/// pub struct Dummy;
///
/// #[manager]
/// impl Dummy {}
///
/// fn main() -> edri::Result<()> {
///     // Blocks until SIGINT or SIGTERM, then stops cleanly.
///     Edri::new().manager(Dummy).run()
/// }
/// ```
#[must_use = "an Edri does nothing until `run()` or `start().await`"]
pub struct Edri {
    managers: Vec<Launch>,
    request_timeout: Option<Duration>,
    queue_capacity: Option<usize>,
    cache_timeout: Option<Duration>,
    cache_size: Option<usize>,
    shutdown_timeout: Option<Duration>,
    health_period: Option<Duration>,
    health_failure_limit: Option<usize>,
    api: Option<crate::api::ApiOptions>,
    api_max_body: Option<usize>,
    api_response_timeout: Option<Duration>,
    cors_origins: Option<String>,
}

impl Default for Edri {
    fn default() -> Self {
        Self::new()
    }
}

impl Edri {
    /// A system with no managers and the default settings (see the `EDRI_*` variables).
    pub fn new() -> Self {
        Self {
            managers: Vec::new(),
            request_timeout: None,
            queue_capacity: None,
            cache_timeout: None,
            cache_size: None,
            shutdown_timeout: None,
            health_period: None,
            health_failure_limit: None,
            api: None,
            api_max_body: None,
            api_response_timeout: None,
            cors_origins: None,
        }
    }

    /// Adds a manager; it subscribes to its events when the system starts.
    pub fn manager<M: Manager>(mut self, manager: M) -> Self {
        self.managers.push(Box::new(move |system: &System| {
            system.launch(manager, None)
        }));
        self
    }

    /// Adds a manager under its own name instead of the one `#[manager]` gives it, so one
    /// manager type can run as several instances (each one subscribes and gets every event).
    pub fn named_manager<M: Manager>(mut self, name: impl Into<String>, manager: M) -> Self {
        let name = name.into();
        self.managers.push(Box::new(move |system: &System| {
            system.launch(manager, Some(name))
        }));
        self
    }

    /// Starts the key-value [store](crate::store), keeping values in memory.
    pub fn start_store(mut self) -> Self {
        self.managers.push(crate::store::launch(None));
        self
    }

    /// Starts the key-value [store](crate::store), keeping values in the database file at
    /// `path` (created if missing), so they survive a restart. A file that cannot be opened
    /// makes [`start`](Self::start) fail with an error naming the path.
    pub fn start_store_at(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.managers.push(crate::store::launch(Some(path.into())));
        self
    }

    /// Starts the [scheduler](crate::scheduler) with these jobs. An invalid job (a bad cron
    /// expression, a zero period) makes [`start`](Self::start) fail with an error naming it.
    pub fn start_scheduler(
        mut self,
        jobs: impl IntoIterator<Item = crate::scheduler::Job>,
    ) -> Self {
        self.managers
            .push(crate::scheduler::launch(jobs.into_iter().collect()));
        self
    }

    /// Serves the [API](crate::api) on `addr` (as in `"127.0.0.1:8080"`; port 0 picks a free
    /// one, see [`Handle::api_addr`]): REST routes, WebSocket commands at `/`, and the pages
    /// under `/edri/`. An address that cannot be bound makes [`start`](Self::start) fail with
    /// an error naming it.
    pub fn start_api(mut self, addr: impl Into<String>) -> Self {
        self.api_options().addr = Some(addr.into());
        self
    }

    /// Serves the [API](crate::api) on `EDRI_HOST`:`EDRI_PORT` (127.0.0.1:8080 by default).
    pub fn start_api_default(mut self) -> Self {
        self.api_options();
        self
    }

    /// Changes the API's axum router before it serves, to add tower layers (authentication,
    /// compression, tracing) or routes of your own. Starts the API if no `start_api` call did.
    ///
    /// ```no_run
    /// # use edri::prelude::*;
    /// let edri = Edri::new()
    ///     .start_api("127.0.0.1:8080")
    ///     .customize_api(|router| router.route("/hello", axum::routing::get(|| async { "hi" })));
    /// ```
    pub fn customize_api(
        mut self,
        customize: impl FnOnce(axum::Router) -> axum::Router + Send + 'static,
    ) -> Self {
        self.api_options().customize.push(Box::new(customize));
        self
    }

    /// The largest request body or WebSocket message the API takes, in bytes
    /// (`EDRI_MAX_BODY_SIZE`, 4 MiB).
    pub fn api_max_body(mut self, bytes: usize) -> Self {
        self.api_max_body = Some(bytes.max(1));
        self
    }

    /// How long the API waits for an answer before it replies 504 (`EDRI_API_RESPONSE_TIMEOUT`,
    /// 30 s).
    pub fn api_response_timeout(mut self, timeout: Duration) -> Self {
        self.api_response_timeout = Some(timeout);
        self
    }

    /// The origins CORS allows: `"*"`, or a comma-separated list such as
    /// `"https://app.example, http://localhost:3000"` (`EDRI_CORS_ORIGINS`; none by default).
    pub fn cors_origins(mut self, origins: impl Into<String>) -> Self {
        self.cors_origins = Some(origins.into());
        self
    }

    fn api_options(&mut self) -> &mut crate::api::ApiOptions {
        self.api.get_or_insert_with(|| crate::api::ApiOptions {
            addr: None,
            customize: Vec::new(),
        })
    }

    /// How long `ask` waits for an answer by default (`EDRI_REQUEST_TIMEOUT`, 30 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// The queue capacity of managers that set none (`EDRI_QUEUE_CAPACITY`, 1024).
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = Some(capacity.max(1));
        self
    }

    /// How long a notification nobody subscribes to is kept for a late subscriber
    /// (`EDRI_CACHE_TIMEOUT`, 30 s).
    pub fn cache_timeout(mut self, window: Duration) -> Self {
        self.cache_timeout = Some(window);
        self
    }

    /// How many such notifications are kept at most (`EDRI_CACHE_SIZE`, 10 000); the oldest
    /// is dropped, with a warning, to make room.
    pub fn cache_size(mut self, size: usize) -> Self {
        self.cache_size = Some(size);
        self
    }

    /// How long shutdown waits for managers to finish their queues (`EDRI_SHUTDOWN_TIMEOUT`, 10 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = Some(timeout);
        self
    }

    /// How often every manager is sent a health check (`EDRI_HEALTH_CHECK_TIMEOUT`, 10 s).
    /// A zero period is taken as one millisecond.
    pub fn health_period(mut self, period: Duration) -> Self {
        self.health_period = Some(period.max(Duration::from_millis(1)));
        self
    }

    /// After how many periods without an answer a manager turns ERROR; it turns WARNING after
    /// half as many (`EDRI_HEALTH_CHECK_FAILURE_LIMIT`, 3: WARNING after 2 periods, ERROR after 4).
    pub fn health_failure_limit(mut self, limit: usize) -> Self {
        self.health_failure_limit = Some(limit.max(1));
        self
    }

    fn config(&self) -> Result<Config> {
        let mut config = Config::from_env()?;
        config.request_timeout = self.request_timeout.unwrap_or(config.request_timeout);
        config.queue_capacity = self.queue_capacity.unwrap_or(config.queue_capacity);
        config.unrouted_window = self.cache_timeout.unwrap_or(config.unrouted_window);
        config.unrouted_capacity = self.cache_size.unwrap_or(config.unrouted_capacity);
        config.shutdown_timeout = self.shutdown_timeout.unwrap_or(config.shutdown_timeout);
        config.health_period = self.health_period.unwrap_or(config.health_period);
        config.health_failure_limit = self
            .health_failure_limit
            .unwrap_or(config.health_failure_limit);
        config.api_max_body = self.api_max_body.unwrap_or(config.api_max_body);
        config.api_response_timeout = self
            .api_response_timeout
            .unwrap_or(config.api_response_timeout);
        if let Some(origins) = &self.cors_origins {
            config.cors_origins = Some(origins.clone());
        }
        Ok(config)
    }

    /// Starts the system on the current tokio runtime and returns its handle once every manager
    /// has subscribed, so nothing sent afterwards is lost.
    pub async fn start(self) -> Result<Handle> {
        Registry::get()?;
        let system = Arc::new(System {
            router: Arc::new(Router::new(self.config()?)),
            managers: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
            health: HealthBook::default(),
            health_task: Mutex::new(None),
            started: watch::channel(false).0,
            api: Mutex::new(None),
        });
        for launch in self.managers {
            if let Err(error) = launch(&system) {
                let handle = Handle { system };
                let _ = handle.shutdown().await;
                return Err(error);
            }
        }
        system.started.send_replace(true);
        let task = tokio::spawn(check_health_periodically(Arc::downgrade(&system)));
        *system
            .health_task
            .lock()
            .unwrap_or_else(|poison| poison.into_inner()) = Some(task);
        let handle = Handle { system };
        if let Some(options) = self.api {
            match crate::api::serve(handle.clone(), options).await {
                Ok(server) => *handle.system.lock_api() = Some(server),
                Err(error) => {
                    let _ = handle.shutdown().await;
                    return Err(error);
                }
            }
        }
        Ok(handle)
    }

    /// Starts the system on a new multi-threaded tokio runtime and blocks until SIGINT or
    /// SIGTERM, then shuts down cleanly and returns `Ok(())`.
    pub fn run(self) -> Result<()> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::NestedRuntime);
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            // Listen before starting: a signal that arrives while managers start (or right
            // after `after_start` announced readiness) must stop the app, not kill it.
            let stop = StopSignal::listen()?;
            let handle = self.start().await?;
            tracing::info!("edri is running; stop it with Ctrl-C or SIGTERM");
            stop.recv().await;
            tracing::info!("stopping");
            handle.shutdown().await
        })
    }
}

/// SIGINT and SIGTERM listeners, installed before the system starts.
struct StopSignal {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignal {
    fn listen() -> Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    async fn recv(mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Sends every manager a health check each period and logs status changes, until the system
/// is gone or shut down.
async fn check_health_periodically(system: std::sync::Weak<System>) {
    let Some(period) = system
        .upgrade()
        .map(|system| system.router.config.health_period)
    else {
        return;
    };
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(system) = system.upgrade() else {
            return;
        };
        let targets = system.health_targets();
        system.health.report(&targets, system.health_limits());
        // The answers are recorded as they come, by tasks `check` spawns.
        system.health.check(&targets, true);
    }
}

/// One running manager, as the system sees it.
struct Running {
    name: Arc<str>,
    counters: Arc<Counters>,
    workers: Arc<Workers>,
    mailbox: Mailbox,
    capacity: usize,
    /// Its `HealthCheck` solver and that solver's priority.
    health_solver: (u16, i32),
    solvers: &'static [crate::manager::SolverInfo],
    sent: Arc<SentCounts>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

pub(crate) struct System {
    router: Arc<Router>,
    managers: Mutex<Vec<Running>>,
    closed: AtomicBool,
    health: HealthBook,
    health_task: Mutex<Option<JoinHandle<()>>>,
    /// Turns true once every manager given to the builder has subscribed: their loops (and
    /// `after_start` hooks) wait for it, so a hook can reach managers listed after its own.
    started: watch::Sender<bool>,
    api: Mutex<Option<crate::api::ApiServer>>,
}

impl System {
    fn lock_api(&self) -> MutexGuard<'_, Option<crate::api::ApiServer>> {
        // Nothing panics while the lock is held, so a poisoned lock still holds valid data.
        self.api.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    fn health_targets(&self) -> Vec<Target> {
        self.lock_managers()
            .iter()
            .map(|running| Target {
                name: running.name.clone(),
                mailbox: running.mailbox.clone(),
                solver: running.health_solver.0,
                priority: running.health_solver.1,
                capacity: running.capacity,
            })
            .collect()
    }

    fn health_limits(&self) -> Limits {
        Limits {
            period: self.router.config.health_period,
            failure_limit: self.router.config.health_failure_limit,
        }
    }

    fn lock_managers(&self) -> MutexGuard<'_, Vec<Running>> {
        // Nothing panics while the lock is held, so a poisoned lock still holds valid data.
        self.managers
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Checks a manager against the registry, subscribes it and spawns its loop.
    pub(crate) fn launch<M: Manager>(&self, manager: M, name: Option<String>) -> Result<()> {
        let descriptor = M::descriptor();
        let name: Arc<str> = Arc::from(name.as_deref().unwrap_or(descriptor.name));
        let registry = Registry::get()?;
        let mut seen: HashMap<(TypeId, Direction), &'static str> = HashMap::new();
        for solver in descriptor.solvers {
            let type_id = (solver.event)();
            if registry.info(type_id).is_none() {
                return Err(Error::UnregisteredEvent {
                    manager: name.to_string(),
                    event: solver.event_type,
                    location: solver.location,
                });
            }
            if let Some(key) = solver.process {
                if !crate::worker::PROCESS_SOLVERS
                    .iter()
                    .any(|entry| entry.key == key)
                {
                    return Err(Error::ProcessSolverMissing {
                        manager: name.to_string(),
                        solver: key,
                        location: solver.location,
                    });
                }
            }
            if let Some(first) = seen.insert((type_id, solver.direction), solver.location) {
                return Err(Error::DuplicateSolver {
                    manager: name.to_string(),
                    event: solver.event_name,
                    direction: match solver.direction {
                        Direction::Req => "req",
                        Direction::Res => "res",
                    },
                    first,
                    second: solver.location,
                });
            }
        }

        let mut managers = self.lock_managers();
        if managers.iter().any(|running| running.name == name) {
            return Err(Error::DuplicateManager(name.to_string()));
        }
        let capacity = descriptor
            .capacity
            .unwrap_or(self.router.config.queue_capacity);
        let (mailbox, inbox) = mailbox(descriptor.queue, capacity);
        let subscriber = self.router.new_subscriber();
        let (answers_sender, answers) = mpsc::unbounded_channel();
        let mut routes = Vec::new();
        let mut answer_solvers = Vec::new();
        for solver in descriptor.solvers {
            match solver.direction {
                Direction::Req => routes.push((
                    (solver.event)(),
                    Route {
                        mailbox: mailbox.clone(),
                        solver: solver.index,
                        priority: solver.priority,
                        subscriber,
                        name: name.clone(),
                    },
                )),
                Direction::Res => answer_solvers.push(((solver.event)(), solver.index)),
            }
        }
        // Every manager answers HealthCheck: through its own solver, or the runtime's probe,
        // ahead of everything else in a priority queue.
        let health_type = TypeId::of::<HealthCheck>();
        let health_solver = match routes.iter().find(|(type_id, _)| *type_id == health_type) {
            Some((_, route)) => (route.solver, route.priority),
            None => {
                routes.push((
                    health_type,
                    Route {
                        mailbox: mailbox.clone(),
                        solver: BUILT_IN_HEALTH,
                        priority: i32::MIN,
                        subscriber,
                        name: name.clone(),
                    },
                ));
                (BUILT_IN_HEALTH, i32::MIN)
            }
        };
        let request_solvers = descriptor
            .solvers
            .iter()
            .filter(|solver| solver.direction == Direction::Req)
            .count();
        let counters = Arc::new(Counters::new(request_solvers));
        let sent = Arc::new(SentCounts::default());
        let workers = Workers::new(
            name.clone(),
            self.router.clone(),
            counters.clone(),
            descriptor.max_workers,
        );
        let ctx = Context::new(ContextParts {
            router: self.router.clone(),
            workers: workers.clone(),
            subscriber,
            name: name.clone(),
            answers: answers_sender,
            answer_solvers,
            health: HealthSources {
                counters: counters.clone(),
                mailbox: mailbox.clone(),
                capacity,
                last: Mutex::new([0; 3]),
            },
            sent: sent.clone(),
        });
        let replay = self.router.subscribe(routes);
        let (stop, stop_receiver) = watch::channel(false);
        let wiring = Wiring {
            inbox,
            answers,
            replay,
            stop: stop_receiver,
            started: self.started.subscribe(),
            counters: counters.clone(),
            ctx,
        };
        let task = tokio::spawn(manager::run(manager, wiring));
        tracing::debug!(manager = &*name, "started");
        self.health.register(name.clone());
        managers.push(Running {
            name,
            counters,
            workers,
            mailbox,
            capacity,
            health_solver,
            solvers: descriptor.solvers,
            sent,
            stop,
            task,
        });
        Ok(())
    }
}

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
    system: Arc<System>,
}

impl Handle {
    pub(crate) fn router(&self) -> &Arc<Router> {
        &self.system.router
    }

    /// Where the API listens, when it was started (the port chosen, for port 0).
    pub fn api_addr(&self) -> Option<std::net::SocketAddr> {
        self.system.lock_api().as_ref().map(|server| server.addr)
    }

    fn open(&self) -> Result<&Router> {
        if self.system.closed.load(Ordering::Acquire) {
            return Err(Error::ShuttingDown);
        }
        Ok(&self.system.router)
    }

    /// Sends a notification to every subscriber; waits while a subscriber's queue is full.
    pub async fn notify<E: Notification>(&self, event: E) -> Result<()> {
        self.open()?
            .notify(TypeId::of::<E>(), E::NAME, Arc::new(event))
            .await;
        Ok(())
    }

    /// Sends a request and returns once every solver has it queued; await the returned
    /// [`Pending`] for the first answer.
    pub async fn send<E: Request>(&self, event: E) -> Result<Pending<E>> {
        let router = self.open()?;
        let answers = router
            .request(TypeId::of::<E>(), E::NAME, Arc::new(event))
            .await;
        Ok(Pending {
            answers,
            timeout: router.config.request_timeout,
            _event: PhantomData,
        })
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
        let router = self
            .open()
            .map_err(|_| Failure::unavailable("edri is shutting down"))?;
        let answers = router
            .request(TypeId::of::<E>(), E::NAME, Arc::new(event))
            .await;
        first_answer(E::NAME, answers, timeout).await
    }

    /// Sends a request to every solver and collects each answer within `timeout`.
    pub async fn gather<E: Request>(
        &self,
        event: E,
        timeout: Duration,
    ) -> Result<Vec<Result<E::Response, Failure>>> {
        let answers = self
            .open()?
            .request(TypeId::of::<E>(), E::NAME, Arc::new(event))
            .await;
        Ok(all_answers(E::NAME, answers, timeout).await)
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
        };
        let replay = router.subscribe(vec![(TypeId::of::<E>(), route)]);
        Subscription::new(receiver, replay, router.clone(), id)
    }

    /// Adds a manager to the running system.
    pub async fn add_manager<M: Manager>(&self, manager: M) -> Result<()> {
        self.open()?;
        self.system.launch(manager, None)
    }

    /// Adds a manager to the running system under its own name, so one manager type can run
    /// as several instances.
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
    /// [`HealthCheck`], how long each has been silent (WARNING, then ERROR), and slow
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
        system.health.report(&targets, system.health_limits())
    }

    /// Which managers solve and which send each event, with how many each received or sent.
    pub fn topology(&self) -> Topology {
        self.topology_with(&[])
    }

    /// [`topology`](Self::topology), with senders that are not managers (the API broker).
    pub(crate) fn topology_with(&self, extra_senders: &[(&str, &SentCounts)]) -> Topology {
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
            for (event, count) in running.sent.snapshot() {
                topology.sender(event, &running.name, count);
            }
        }
        for (name, sent) in extra_senders {
            for (event, count) in sent.snapshot() {
                topology.sender(event, name, count);
            }
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

/// A request on its way: await it for the first answer.
#[must_use = "await the pending request to get its answer"]
pub struct Pending<E: Request> {
    answers: Answers,
    timeout: Duration,
    _event: PhantomData<fn() -> E>,
}

impl<E: Request> Pending<E> {
    /// Waits up to `timeout` instead of the default request timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl<E: Request> IntoFuture for Pending<E> {
    type Output = Result<E::Response, Failure>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(first_answer(E::NAME, self.answers, self.timeout))
    }
}
