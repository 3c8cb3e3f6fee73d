//! The API broker: events declared with `rest = "METHOD /path"` become REST endpoints, events
//! declared with `ws` become WebSocket commands, and the built-in pages describe the system.
//!
//! Start it with [`Edri::start_api`](crate::Edri::start_api) (an address) or
//! [`Edri::start_api_default`](crate::Edri::start_api_default) (`EDRI_HOST`:`EDRI_PORT`,
//! 127.0.0.1:8080 by default). See `docs/api.md`.

mod deadline;
mod origin;
mod pages;
mod params;
mod reply;
mod rest;
mod server;
mod ws;

use std::any::Any;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use self::origin::OriginPolicy;
use crate::answer::first_answer_erased;
use crate::config::ApiLimits;
use crate::event::Registry;
use crate::router::Entry;
use crate::{Error, EventInfo, EventKind, Handle, Result};

pub(crate) use reply::ApiError;

/// axum, as the API uses it: for [`Edri::customize_api`](crate::Edri::customize_api) without a
/// dependency (and a version to match) of your own.
pub use axum;

/// Changes the API's axum router before it serves: add tower layers (authentication,
/// compression, tracing) or routes of your own.
pub type Customize = Box<dyn FnOnce(axum::Router) -> axum::Router + Send>;

/// What the builder was told about the API.
pub(crate) struct ApiOptions {
    /// Where to listen; `None` reads `EDRI_HOST` and `EDRI_PORT`.
    pub(crate) addr: Option<String>,
    pub(crate) customize: Vec<Customize>,
}

/// What every API handler shares.
pub(crate) struct ApiState {
    pub(crate) handle: Handle,
    pub(crate) limits: ApiLimits,
    /// Which browser origins may use the API.
    pub(crate) origins: OriginPolicy,
    /// Turns true when the API stops: open WebSockets close.
    pub(crate) stopping: watch::Receiver<bool>,
    /// The API's way into the router.
    pub(crate) entry: Entry,
}

impl ApiState {
    /// Sends an event into the system: a request's first answer, or `()` once a notification
    /// is queued for every subscriber.
    pub(crate) async fn dispatch(
        &self,
        info: &'static EventInfo,
        event: Arc<dyn Any + Send + Sync>,
    ) -> std::result::Result<Box<dyn Any + Send>, ApiError> {
        let type_id = (info.type_id)();
        match info.kind {
            EventKind::Request => {
                let answers = self.entry.request_erased(type_id, info.name, event).await;
                first_answer_erased(
                    info.name,
                    answers,
                    &self.entry.router().deadlines,
                    self.limits.response_timeout,
                )
                .await
                .map_err(ApiError::from)
            }
            EventKind::Notification => {
                self.entry.notify_erased(type_id, info.name, event).await;
                Ok(Box::new(()))
            }
        }
    }
}

/// The running API server.
pub(crate) struct ApiServer {
    pub(crate) addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl ApiServer {
    /// Stops taking connections, closes open WebSockets, and waits (briefly) for the requests
    /// in progress.
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(true);
        let mut task = self.task;
        if tokio::time::timeout(Duration::from_secs(5), &mut task)
            .await
            .is_err()
        {
            tracing::warn!("the API did not finish its requests in time: aborted");
            task.abort();
        }
    }
}

/// Binds the listener and starts serving.
pub(crate) async fn serve(handle: Handle, options: ApiOptions) -> Result<ApiServer> {
    let router = handle.router().clone();
    let config = &router.config;
    let addr = options
        .addr
        .unwrap_or_else(|| format!("{}:{}", config.api_host, config.api_port));
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|source| Error::ApiListen {
            addr: addr.clone(),
            source,
        })?;
    let local = listener.local_addr()?;
    let (stop, stopping) = watch::channel(false);
    let origins = OriginPolicy::new(config.cors_origins.clone());
    let state = Arc::new(ApiState {
        handle,
        limits: config.api.clone(),
        origins: origins.clone(),
        stopping: stopping.clone(),
        entry: Entry::new(&router, "api"),
    });
    let events: Vec<&'static EventInfo> = Registry::get()?.events().collect();
    let mut app = rest::routes(&state, &events)?
        .merge(ws::routes(&state, &events)?)
        .merge(pages::routes(&state, &events)?)
        .fallback(|uri: axum::http::Uri| async move {
            ApiError::new(
                StatusCode::NOT_FOUND,
                format!("nothing is served at `{}`", uri.path()),
            )
            .into_response()
        });
    for customize in options.customize {
        // A route on a path edri serves is a startup error, not a panic.
        app = without_route_panic("customize_api", || customize(app))?;
    }
    // Outside the user's layers, so that a forged request never reaches them.
    if config.csrf_check() {
        app = app.layer(axum::middleware::from_fn(move |request, next| {
            origin::csrf_check(origins.clone(), request, next)
        }));
    }
    // Outermost, so the user's layers (authentication) never see a preflight; and only when
    // asked for, because the CORS layer answers every OPTIONS request itself.
    if let Some(allowed) = &config.cors_origins {
        app = app.layer(origin::cors(allowed));
    }
    let task = tokio::spawn(server::serve(listener, app, config.api.clone(), stopping));
    tracing::info!(addr = %local, "API listening");
    Ok(ApiServer {
        addr: local,
        stop,
        task,
    })
}

/// Runs `build`, turning axum's panic on clashing routes (a path added twice, or two paths its
/// router cannot tell apart) into a startup error: the mistake is in declarations, not a bug.
pub(crate) fn without_route_panic(
    what: &str,
    build: impl FnOnce() -> axum::Router,
) -> Result<axum::Router> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(build)).map_err(|panic| {
        Error::ApiRoute(format!(
            "{what}: {}",
            crate::failure::panic_message(panic.as_ref())
        ))
    })
}
