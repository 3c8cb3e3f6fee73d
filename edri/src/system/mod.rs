//! The system: [`Edri`], the builder that launches one, and [`Handle`], the running system.

mod handle;
mod running;

pub use handle::{Handle, Pending};
use running::check_health_periodically;
pub(crate) use running::System;

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use crate::config::Config;
use crate::event::Registry;
use crate::health::HealthBook;
use crate::manager::Manager;
use crate::router::Router;
use crate::{Error, Result};

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
