//! The system: [`Edri`], the builder that launches one, and [`Handle`], the running system.

mod handle;
mod running;
mod settings;
mod signal;

pub use handle::Handle;
use running::check_health_periodically;
pub(crate) use running::System;
pub use signal::StopSignal;

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

use crate::config::Config;
use crate::event::Registry;
use crate::health::HealthBook;
use crate::manager::Manager;
use crate::router::{Entry, Router};
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
    api: Option<crate::api::ApiOptions>,
    /// Builder calls that change settings, applied over the environment's in order.
    settings: Vec<Setting>,
}

/// One builder call that changes a setting; `Err` explains a value it refuses.
type Setting = Box<dyn FnOnce(&mut Config) -> Result<()> + Send>;

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
            api: None,
            settings: Vec::new(),
        }
    }

    /// Adds a manager; it subscribes to its events when the system starts. Several instances of
    /// one type each subscribe, under numbered names: `Counter`, `Counter-2`, `Counter-3`...
    pub fn manager<M: Manager>(mut self, manager: M) -> Self {
        self.managers.push(Box::new(move |system: &System| {
            system.launch(manager, None)
        }));
        self
    }

    /// Adds a manager under a name of your choice instead of the one `#[manager]` gives it
    /// (shown in health and topology). Two managers given one name make `start` fail with
    /// [`Error::DuplicateManager`].
    pub fn named_manager<M: Manager>(mut self, name: impl Into<String>, manager: M) -> Self {
        let name = name.into();
        self.managers.push(Box::new(move |system: &System| {
            system.launch(manager, Some(name))
        }));
        self
    }

    /// Starts the key-value [store](crate::store), keeping values in memory.
    pub fn start_store(mut self) -> Self {
        self.managers.push(Box::new(|system: &System| {
            system.launch(crate::store::manager(None)?, None)
        }));
        self
    }

    /// Starts the key-value [store](crate::store), keeping values in the database file at
    /// `path` (created if missing), so they survive a restart. A file that cannot be opened
    /// makes [`start`](Self::start) fail with an error naming the path.
    pub fn start_store_at(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        let path = path.into();
        self.managers.push(Box::new(move |system: &System| {
            system.launch(crate::store::manager(Some(path))?, None)
        }));
        self
    }

    /// Starts the [scheduler](crate::scheduler) with these jobs. An invalid job (a bad cron
    /// expression, a zero period) makes [`start`](Self::start) fail with an error naming it.
    pub fn start_scheduler(
        mut self,
        jobs: impl IntoIterator<Item = crate::scheduler::Job>,
    ) -> Self {
        let jobs: Vec<_> = jobs.into_iter().collect();
        self.managers.push(Box::new(move |system: &System| {
            system.launch(crate::scheduler::manager(jobs)?, None)
        }));
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

    /// Joins the switch at `addr` (as in `"127.0.0.1:8899"`): `shared` events that other
    /// routers subscribe to cross to them, and theirs come here. Overrides `EDRI_SWITCH_HOST`
    /// and `EDRI_SWITCH_PORT`. See the [`switch`](crate::switch) module.
    pub fn connect_switch(self, addr: impl Into<String>) -> Self {
        let addr = addr.into();
        self.setting(move |config| {
            config.switch.addr = Some(addr);
            Ok(())
        })
    }

    /// The secret shared with the switch (`EDRI_SWITCH_TOKEN`), at least 32 bytes; a shorter
    /// one makes [`start`](Self::start) fail. Without one, the switch must be on loopback.
    pub fn switch_token(self, token: impl Into<Vec<u8>>) -> Self {
        let token = token.into();
        self.setting(move |config| {
            config.switch.secret =
                Some(crate::switch::Secret::new(token).map_err(crate::switch::SwitchError::from)?);
            Ok(())
        })
    }

    /// This router's id on the switch (`EDRI_ROUTER_ID`); by default a random one, logged.
    /// Other routers know it by this id, so a router that restarts should keep it.
    pub fn router_id(self, id: impl Into<String>) -> Self {
        let id = id.into();
        self.setting(move |config| {
            if !crate::switch::valid_router_id(&id) {
                return Err(crate::switch::SwitchError::RouterId(id).into());
            }
            config.switch.router_id = Some(id);
            Ok(())
        })
    }

    /// Keeps the events this router owes other routers in the redb file at `path` until they
    /// acknowledge them (`EDRI_SWITCH_SPOOL`), so that a router killed and restarted within
    /// the session timeout still delivers each of them exactly once. The spool also keeps the
    /// router's id.
    pub fn switch_spool(self, path: impl Into<std::path::PathBuf>) -> Self {
        let path = path.into();
        self.setting(move |config| {
            config.switch.spool = Some(path);
            Ok(())
        })
    }

    /// Joins the switch over TLS, trusting the certificates in the PEM file `ca`
    /// (`EDRI_SWITCH_TLS_CA`); the switch's certificate must name the host of its address.
    /// TLS encrypts the connection; the [secret](Self::switch_token) still authenticates.
    pub fn switch_tls(self, ca: impl Into<std::path::PathBuf>) -> Self {
        let ca = ca.into();
        self.setting(move |config| {
            config.switch.tls_ca = Some(ca);
            Ok(())
        })
    }

    /// How long another router may be gone before what it is owed is reported lost, and how
    /// long a sender waits for room in a full window (`EDRI_SWITCH_SESSION_TIMEOUT`, 60 s).
    pub fn switch_session_timeout(self, timeout: std::time::Duration) -> Self {
        self.setting(move |config| {
            config.switch.session_timeout = timeout;
            Ok(())
        })
    }

    fn setting(mut self, setting: impl FnOnce(&mut Config) -> Result<()> + Send + 'static) -> Self {
        self.settings.push(Box::new(setting));
        self
    }

    fn api_options(&mut self) -> &mut crate::api::ApiOptions {
        self.api.get_or_insert_with(|| crate::api::ApiOptions {
            addr: None,
            customize: Vec::new(),
        })
    }

    /// The settings: defaults, then the environment, then the builder calls in order.
    fn config(&mut self) -> Result<Config> {
        let mut config = Config::from_env()?;
        for setting in self.settings.drain(..) {
            setting(&mut config)?;
        }
        Ok(config)
    }

    /// Starts the system on the current tokio runtime and returns its handle once every manager
    /// has subscribed, so nothing sent afterwards is lost.
    pub async fn start(mut self) -> Result<Handle> {
        let registry = Registry::get()?;
        let config = self.config()?;
        let router = Arc::new(Router::new(config, registry));
        let system = Arc::new(System {
            entry: Entry::new(&router, "handle"),
            router,
            managers: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
            health: HealthBook::default(),
            health_task: Mutex::new(None),
            started: watch::channel(false).0,
            api: Mutex::new(None),
            switch: Mutex::new(None),
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
        match crate::switch::join(&handle.system.router, registry).await {
            Ok(joined) => *handle.system.lock_switch() = joined,
            Err(error) => {
                let _ = handle.shutdown().await;
                return Err(error.into());
            }
        }
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
