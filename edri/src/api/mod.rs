//! The API broker: events declared with `rest = "METHOD /path"` become REST endpoints, events
//! declared with `ws` become WebSocket commands, and the built-in pages describe the system.
//!
//! Start it with [`Edri::start_api`](crate::Edri::start_api) (an address) or
//! [`Edri::start_api_default`](crate::Edri::start_api_default) (`EDRI_HOST`:`EDRI_PORT`,
//! 127.0.0.1:8080 by default). See `docs/api.md`.

mod pages;
mod params;
mod reply;
mod rest;
mod ws;

use std::any::Any;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::event::Registry;
use crate::request::first_answer_erased;
use crate::router::Router;
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
    pub(crate) router: Arc<Router>,
    pub(crate) handle: Handle,
    pub(crate) max_body: usize,
    pub(crate) timeout: Duration,
    /// Turns true when the API stops: open WebSockets close.
    pub(crate) stopping: watch::Receiver<bool>,
    /// What the API sent into the system, for the topology.
    pub(crate) sent: crate::topology::SentCounts,
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
        self.sent.count(info.name);
        match info.kind {
            EventKind::Request => {
                let answers = self.router.request(type_id, info.name, event).await;
                first_answer_erased(info.name, answers, self.timeout)
                    .await
                    .map_err(ApiError::from)
            }
            EventKind::Notification => {
                self.router.notify(type_id, info.name, event).await;
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
    let state = Arc::new(ApiState {
        router: router.clone(),
        handle,
        max_body: config.api_max_body,
        timeout: config.api_response_timeout,
        stopping: stopping.clone(),
        sent: Default::default(),
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
    // Outermost, so the user's layers (authentication) never see a preflight; and only when
    // asked for, because the CORS layer answers every OPTIONS request itself.
    if let Some(origins) = config.cors_origins.as_deref() {
        app = app.layer(cors(origins)?);
    }
    let mut stopped = stopping;
    let task = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        if let Err(error) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(%error, "the API server failed");
        }
    });
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
            crate::manager::panic_message(panic.as_ref())
        ))
    })
}

/// CORS from `EDRI_CORS_ORIGINS`: `*` (any origin, no credentials), or a comma-separated list of
/// origins (credentials allowed). The methods and headers a preflight asks for are allowed, so
/// `Authorization` works (browsers do not apply `Access-Control-Allow-Headers: *` to it).
fn cors(origins: &str) -> Result<tower_http::cors::CorsLayer> {
    use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer};
    let layer = CorsLayer::new()
        .allow_methods(AllowMethods::mirror_request())
        .allow_headers(AllowHeaders::mirror_request());
    if origins.trim() == "*" {
        return Ok(layer.allow_origin(AllowOrigin::any()));
    }
    let list = origins
        .split(',')
        .map(str::trim)
        .filter(|origin| !origin.is_empty())
        .map(|origin| {
            origin
                .parse::<axum::http::HeaderValue>()
                .map_err(|_| Error::InvalidEnv {
                    name: "EDRI_CORS_ORIGINS",
                    value: origins.to_owned(),
                    reason: format!("`{origin}` is not a valid origin"),
                })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(layer
        .allow_origin(AllowOrigin::list(list))
        .allow_credentials(true))
}
