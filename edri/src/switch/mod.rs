//! The switch: routers on several machines, joined over TCP, with nothing lost or doubled.
//!
//! `edri-switch --listen 127.0.0.1:8899` (or [`Switch`] as a library) relays between routers.
//! A router joins with [`Edri::connect_switch`](crate::Edri::connect_switch); the `shared`
//! events that another router subscribes to cross to it, and answers to requests come back.
//!
//! Each router numbers what it sends to each other router and keeps it until that router
//! acknowledges it, end to end: a switch restart or a cut connection loses nothing, and the
//! receiver takes each item once, in order. See `docs/switch.md` for deployment and the
//! guarantee, and `docs/switch-protocol.md` for the frames.

mod connector;
mod frame;
mod handshake;
mod message;
mod outbound;
mod outbox;
mod report;
mod server;
mod spool;
mod status;
mod tls;
mod transport;

pub(crate) use connector::Connector;
pub use frame::{FrameError, DEFAULT_MAX_FRAME};
pub use handshake::{Secret, SecretError, MIN_SECRET_LEN};
pub(crate) use message::valid_router_id;
pub use report::{Gap, PeerReport, SwitchReport};
pub use server::{RunningSwitch, Switch};
pub use spool::SpoolError;
pub use tls::TlsError;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::event::Registry;
use crate::router::Router;
use transport::Transport;

/// How long a router may be gone before what it is owed is reported lost (`EDRI_SWITCH_SESSION_TIMEOUT`).
pub const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a connection may stay silent, heartbeats included (`EDRI_SWITCH_IDLE_TIMEOUT`).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// How many items one router may owe another before senders wait (`EDRI_SWITCH_WINDOW`).
pub const DEFAULT_WINDOW: usize = 65_536;
/// Where a router looks for the switch when only `EDRI_SWITCH_PORT` or `EDRI_SWITCH_HOST` is set.
const DEFAULT_HOST: &str = "127.0.0.1";
const DEFAULT_PORT: u16 = 8899;

/// Why the switch, or a router's connection to it, could not start.
#[derive(Debug, thiserror::Error)]
pub enum SwitchError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// No secret, and the address is not loopback only.
    #[error("without a secret the switch only serves loopback addresses, and {0} is not one: set EDRI_SWITCH_TOKEN (or --token-file)")]
    NotLoopback(String),
    /// The router id is not usable.
    #[error("router id {0:?}: a router id is 1 to 64 letters, digits, `-`, `_`, `.` or `:`")]
    RouterId(String),
    /// A secret was refused.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// TLS could not be set up.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The spool could not be opened.
    #[error(transparent)]
    Spool(#[from] SpoolError),
    /// Another I/O failure.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Refuses an address that is not loopback only (unresolvable, wildcard and remote hosts
/// included), for a switch or a router without a secret.
async fn require_loopback(addr: &str) -> Result<(), SwitchError> {
    let resolved: Vec<_> = tokio::net::lookup_host(addr)
        .await
        .map(|addrs| addrs.collect())
        .unwrap_or_default();
    if resolved.is_empty() || !resolved.iter().all(|addr| addr.ip().is_loopback()) {
        return Err(SwitchError::NotLoopback(addr.to_owned()));
    }
    Ok(())
}

/// How a router joins a switch: the environment's `EDRI_SWITCH_*` and `EDRI_ROUTER_ID`,
/// then the builder's calls.
#[derive(Clone, Debug)]
pub(crate) struct SwitchSettings {
    pub(crate) addr: Option<String>,
    pub(crate) router_id: Option<String>,
    pub(crate) secret: Option<Secret>,
    pub(crate) session_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) window: usize,
    pub(crate) spool: Option<PathBuf>,
    pub(crate) max_frame: usize,
    /// The certificates trusted for a TLS switch (PEM); `None`: plain TCP.
    pub(crate) tls_ca: Option<PathBuf>,
}

impl Default for SwitchSettings {
    fn default() -> Self {
        Self {
            addr: None,
            router_id: None,
            secret: None,
            session_timeout: DEFAULT_SESSION_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            window: DEFAULT_WINDOW,
            spool: None,
            max_frame: DEFAULT_MAX_FRAME,
            tls_ca: None,
        }
    }
}

/// A refused variable: its name, value and why.
type EnvError = (&'static str, String, String);

impl SwitchSettings {
    pub(crate) fn apply_env(
        &mut self,
        lookup: &impl Fn(&str) -> Option<String>,
    ) -> Result<(), EnvError> {
        let host = lookup("EDRI_SWITCH_HOST").filter(|host| !host.trim().is_empty());
        let port = lookup("EDRI_SWITCH_PORT").filter(|port| !port.trim().is_empty());
        if host.is_some() || port.is_some() {
            let port = match port {
                Some(port) => port.trim().parse::<u16>().map_err(|_| {
                    (
                        "EDRI_SWITCH_PORT",
                        port.clone(),
                        "expected a port number from 0 to 65535".to_owned(),
                    )
                })?,
                None => DEFAULT_PORT,
            };
            let host = host.map_or(DEFAULT_HOST.to_owned(), |host| host.trim().to_owned());
            self.addr = Some(format!("{host}:{port}"));
        }
        if let Some(id) = lookup("EDRI_ROUTER_ID").filter(|id| !id.trim().is_empty()) {
            if !message::valid_router_id(id.trim()) {
                return Err((
                    "EDRI_ROUTER_ID",
                    id,
                    "a router id is 1 to 64 letters, digits, `-`, `_`, `.` or `:`".to_owned(),
                ));
            }
            self.router_id = Some(id.trim().to_owned());
        }
        if let Some(path) = lookup("EDRI_SWITCH_TOKEN_FILE").filter(|path| !path.is_empty()) {
            let secrets = Secret::from_file(&path)
                .map_err(|error| ("EDRI_SWITCH_TOKEN_FILE", path, error.to_string()))?;
            self.secret = secrets.into_iter().next();
        } else if let Some(token) = lookup("EDRI_SWITCH_TOKEN").filter(|token| !token.is_empty()) {
            self.secret = Some(Secret::new(token.as_bytes()).map_err(|error| {
                (
                    "EDRI_SWITCH_TOKEN",
                    "(hidden)".to_owned(),
                    error.to_string(),
                )
            })?);
        }
        if let Some(path) = lookup("EDRI_SWITCH_SPOOL").filter(|path| !path.is_empty()) {
            self.spool = Some(PathBuf::from(path));
        }
        if let Some(path) = lookup("EDRI_SWITCH_TLS_CA").filter(|path| !path.is_empty()) {
            self.tls_ca = Some(PathBuf::from(path));
        }
        Ok(())
    }
}

/// A router's running connection to the switch.
pub(crate) struct Joined {
    pub(crate) connector: Arc<Connector>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Joined {
    /// Waits up to `patience` for other routers to acknowledge what they are owed, then
    /// disconnects.
    pub(crate) async fn stop(self, patience: Duration) {
        let deadline = tokio::time::Instant::now() + patience;
        while !self.connector.drained() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for (router, owed) in self.connector.owed() {
            if self.connector.spooled() {
                tracing::warn!(
                    peer = router,
                    owed,
                    "switch: stopping with items not yet acknowledged; the spool keeps them for the next start"
                );
            } else {
                tracing::error!(
                    peer = router,
                    owed,
                    "switch: stopping with items not yet acknowledged: without a spool they are lost"
                );
            }
        }
        self.stop.send_replace(true);
        let _ = self.task.await;
    }
}

/// Starts this router's connector when the settings name a switch.
pub(crate) async fn join(
    router: &Arc<Router>,
    registry: &'static Registry,
) -> Result<Option<Joined>, SwitchError> {
    let settings = router.config.switch.clone();
    let Some(addr) = settings.addr.clone() else {
        return Ok(None);
    };
    if settings.secret.is_none() {
        require_loopback(&addr).await?;
    }
    let spool = settings
        .spool
        .as_deref()
        .map(spool::Spool::open)
        .transpose()?;
    let fresh_id = match &settings.router_id {
        Some(id) => id.clone(),
        None => format!("router-{:016x}", handshake::random_u64()?),
    };
    if !message::valid_router_id(&fresh_id) {
        return Err(SwitchError::RouterId(fresh_id));
    }
    let fresh_epoch = handshake::random_u64()?.max(1);
    let (id, epoch) = match &spool {
        Some(spool) => {
            let (id, epoch) = spool.identity((fresh_id.clone(), fresh_epoch))?;
            if settings.router_id.is_some() && id != fresh_id {
                tracing::warn!(
                    spooled = id,
                    configured = fresh_id,
                    "switch spool: it belongs to another router id; keeping the spool's"
                );
            }
            (id, epoch)
        }
        None => (fresh_id.clone(), fresh_epoch),
    };
    if settings.router_id.is_none() && id == fresh_id {
        tracing::info!(
            router = id,
            "switch: no EDRI_ROUTER_ID: generated a router id"
        );
    }
    let transport = transport::TcpTransport {
        addr: addr.clone(),
        secret: settings.secret.clone(),
        max_frame: settings.max_frame,
        tls: match &settings.tls_ca {
            Some(ca) => Some(tls::connector(ca, &addr)?),
            None => None,
        },
    };
    let describe = transport.describe();
    let connector = Connector::new(router, registry, settings, describe, spool, id, epoch);
    connector.restore();
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(connector.clone().run(Box::new(transport), stopped));
    Ok(Some(Joined {
        connector,
        stop,
        task,
    }))
}
