//! The switch: a relay between routers. It authenticates each router, tells everyone who is
//! connected and what they demand, and relays what routers address to each other.
//!
//! The switch keeps nothing that matters across a restart: each origin router keeps its events
//! until the destination router acknowledges them, end to end, so a switch that dies loses no
//! event and a relayed frame it could not pass on is simply sent again.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use super::frame::{FrameError, FrameReader, FrameWriter, DEFAULT_MAX_FRAME};
use super::handshake::{hello_digest, nonce, Secret, Transcript};
use super::message::{valid_router_id, Down, Handshake, Mark, PeerHeader, PeerInfo, Up, VERSION};
use super::outbound::Outbound;
use super::status;
use super::SwitchError;
use crate::wire;

/// The largest frame before a router has completed the handshake: a hello with thousands of
/// demands and stream positions fits.
const HANDSHAKE_MAX_FRAME: usize = 1024 * 1024;
/// How long a router has to complete the handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a relayed frame waits for room in a slow router's buffer before it is dropped
/// (its origin sends it again).
const RELAY_PATIENCE: Duration = Duration::from_secs(1);

/// The switch, as a library: `edri-switch` is this with a command line.
///
/// ```no_run
/// # async fn run() -> Result<(), edri::switch::SwitchError> {
/// use edri::switch::Switch;
///
/// let switch = Switch::new("127.0.0.1:8899").status("127.0.0.1:8898").start().await?;
/// println!("routers join at {}", switch.addr());
/// switch.wait().await;
/// # Ok(()) }
/// ```
#[must_use = "a Switch does nothing until `start().await`"]
pub struct Switch {
    listen: String,
    status: Option<String>,
    secrets: Vec<Secret>,
    max_frame: usize,
    idle_timeout: Duration,
    tls: Option<(PathBuf, PathBuf)>,
}

impl Switch {
    /// A switch that will listen on `listen` (as in `"127.0.0.1:8899"`; port 0 picks a free
    /// one). Without a [secret](Self::secret) it must be a loopback address.
    pub fn new(listen: impl Into<String>) -> Self {
        Self {
            listen: listen.into(),
            status: None,
            secrets: Vec::new(),
            max_frame: DEFAULT_MAX_FRAME,
            idle_timeout: super::DEFAULT_IDLE_TIMEOUT,
            tls: None,
        }
    }

    /// Serves TLS with the certificate chain in `cert` and the private key in `key` (both
    /// PEM). Routers then join with [`Edri::switch_tls`](crate::Edri::switch_tls). TLS does
    /// not replace the [secret](Self::secret): that is what proves who a router is.
    pub fn tls(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.tls = Some((cert.into(), key.into()));
        self
    }

    /// Requires routers to prove they know `secret`, and authenticates every frame with keys
    /// derived from it. Call it again to accept several secrets (while rotating them).
    pub fn secret(mut self, secret: Secret) -> Self {
        self.secrets.push(secret);
        self
    }

    /// Serves `GET /status` on `addr`: the connected routers and the switch's vitals, as JSON.
    pub fn status(mut self, addr: impl Into<String>) -> Self {
        self.status = Some(addr.into());
        self
    }

    /// The largest frame body accepted (16 MiB by default); a router announcing a larger one
    /// is disconnected.
    pub fn max_frame(mut self, bytes: usize) -> Self {
        self.max_frame = bytes;
        self
    }

    /// How long a router may stay silent (heartbeats included) before it counts as gone
    /// (10 s by default).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Binds the listener (and the status port) and starts serving.
    pub async fn start(self) -> Result<RunningSwitch, SwitchError> {
        if self.secrets.is_empty() {
            super::require_loopback(&self.listen).await?;
        }
        let tls = match &self.tls {
            Some((cert, key)) => Some(super::tls::acceptor(cert, key)?),
            None => None,
        };
        let listener =
            TcpListener::bind(&self.listen)
                .await
                .map_err(|source| SwitchError::Bind {
                    addr: self.listen.clone(),
                    source,
                })?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = watch::channel(false);
        let shared = Arc::new(Shared {
            secrets: self.secrets,
            max_frame: self.max_frame,
            idle_timeout: self.idle_timeout,
            routers: Mutex::new(HashMap::new()),
            vitals: Vitals::default(),
            started: Instant::now(),
            next_connection: AtomicU64::new(1),
            tls,
        });
        let status_addr = match &self.status {
            Some(status_addr) => {
                Some(status::serve(status_addr, shared.clone(), stopped.clone()).await?)
            }
            None => None,
        };
        let authenticated = !shared.secrets.is_empty();
        let tls = shared.tls.is_some();
        tracing::info!(%addr, authenticated, tls, "edri switch listening");
        if !authenticated {
            tracing::warn!("no secret: routers are not authenticated (loopback only)");
        }
        let task = tokio::spawn(accept_loop(listener, shared.clone(), stopped));
        Ok(RunningSwitch {
            addr,
            status_addr,
            stop,
            task,
            shared,
        })
    }
}

/// A switch that is serving.
pub struct RunningSwitch {
    addr: SocketAddr,
    status_addr: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    shared: Arc<Shared>,
}

impl RunningSwitch {
    /// Where routers connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where `GET /status` is served, if it is.
    pub fn status_addr(&self) -> Option<SocketAddr> {
        self.status_addr
    }

    /// The ids of the routers connected now.
    pub fn routers(&self) -> Vec<String> {
        let mut routers: Vec<_> = self.shared.lock_routers().keys().cloned().collect();
        routers.sort();
        routers
    }

    /// Serves until the task ends (it does not, short of a panic).
    pub async fn wait(self) {
        let _ = self.task.await;
    }

    /// Stops listening and closes every connection.
    pub async fn shutdown(self) {
        self.stop.send_replace(true);
        for router in self.shared.lock_routers().values() {
            router.out.close();
        }
        let _ = self.task.await;
    }
}

/// The switch's counters, for `/status`.
#[derive(Default)]
pub(crate) struct Vitals {
    pub(crate) connections: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) closed_bad_input: AtomicU64,
    pub(crate) frames_relayed: AtomicU64,
    pub(crate) bytes_relayed: AtomicU64,
    /// Frames for a router that was not connected, or whose buffer stayed full.
    pub(crate) frames_dropped: AtomicU64,
}

/// One connected router.
pub(crate) struct Connected {
    serial: u64,
    pub(crate) router: String,
    pub(crate) out: Arc<Outbound>,
    info: Mutex<PeerInfo>,
    pub(crate) addr: SocketAddr,
    pub(crate) since: Instant,
    pub(crate) frames_in: AtomicU64,
    pub(crate) frames_out: AtomicU64,
    /// How far this router has taken each origin's stream: from its hello, then from the
    /// acknowledgements it sends through the switch.
    taken: Mutex<HashMap<String, Mark>>,
}

pub(crate) struct Shared {
    secrets: Vec<Secret>,
    max_frame: usize,
    idle_timeout: Duration,
    pub(crate) routers: Mutex<HashMap<String, Arc<Connected>>>,
    pub(crate) vitals: Vitals,
    pub(crate) started: Instant,
    next_connection: AtomicU64,
    tls: Option<TlsAcceptor>,
}

impl Connected {
    /// What the switch announces about this router.
    pub(crate) fn info(&self) -> PeerInfo {
        // Nothing panics while the lock is held, so a poisoned lock still holds valid data.
        self.info
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .clone()
    }

    /// Each origin, and the last number this router acknowledged in its stream.
    pub(crate) fn taken(&self) -> Vec<(String, Mark)> {
        let taken = self
            .taken
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let mut taken: Vec<_> = taken
            .iter()
            .map(|(origin, mark)| (origin.clone(), *mark))
            .collect();
        taken.sort_by(|a, b| a.0.cmp(&b.0));
        taken
    }

    /// Notes an acknowledgement this router sends to `origin`. Only an `Ack` header is decoded
    /// (its variant is the payload's first byte); items pass through untouched.
    fn note_ack(&self, origin: &str, payload: &[u8]) {
        if payload.first() != Some(&PeerHeader::ACK_VARIANT) {
            return;
        }
        if let Ok((PeerHeader::Ack { mark }, _)) = wire::decode_prefix::<PeerHeader>(payload) {
            self.taken
                .lock()
                .unwrap_or_else(|poison| poison.into_inner())
                .insert(origin.to_owned(), mark);
        }
    }

    fn set_demands(&self, demands: Vec<String>) {
        self.info
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .demands = demands;
    }
}

impl Shared {
    pub(crate) fn lock_routers(&self) -> MutexGuard<'_, HashMap<String, Arc<Connected>>> {
        // Nothing panics while the lock is held, so a poisoned lock still holds valid data.
        self.routers
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Sends `message` to every connected router but `except`.
    fn broadcast(&self, except: &str, message: &Down) {
        let Ok(bytes) = wire::encode(message) else {
            return;
        };
        for (id, router) in self.lock_routers().iter() {
            if id != except {
                router.out.send(&[&bytes]);
            }
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped.wait_for(|stop| *stop) => return,
        };
        match accepted {
            Ok((stream, peer)) => {
                shared.vitals.connections.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(serve_connection(shared.clone(), stream, peer));
            }
            Err(error) => {
                // Out of file descriptors, mostly: wait a little rather than spin.
                tracing::warn!(%error, "switch: cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn serve_connection(shared: Arc<Shared>, stream: TcpStream, peer: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let Some(acceptor) = shared.tls.clone() else {
        let (read, write) = stream.into_split();
        return serve_router(shared, read, write, peer).await;
    };
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => {
            let (read, write) = tokio::io::split(stream);
            serve_router(shared, read, write, peer).await
        }
        Ok(Err(error)) => {
            shared.vitals.refused.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(%peer, "switch: refused a connection: TLS handshake failed: {error}");
        }
        Err(_) => {
            shared.vitals.refused.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(%peer, "switch: refused a connection: no TLS handshake within 10 s");
        }
    }
}

/// Serves one router's connection, from the handshake to its end.
async fn serve_router<R, W>(shared: Arc<Shared>, read: R, write: W, peer: SocketAddr)
where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send + 'static,
{
    // Until a router has proven who it is, it gets no more than a hello needs.
    let mut reader = FrameReader::new(read, HANDSHAKE_MAX_FRAME.min(shared.max_frame));
    let mut writer = FrameWriter::new(write);
    let handshake = tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        handshake(&shared, &mut reader, &mut writer),
    )
    .await
    .unwrap_or_else(|_| {
        Err(Closed::Refused(
            "the handshake took longer than 10 s".into(),
        ))
    });
    let (info, keys) = match handshake {
        Ok(joined) => joined,
        Err(closed) => {
            shared.vitals.refused.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(%peer, "switch: refused a router: {closed}");
            if let Closed::Refused(reason) = closed {
                if let Ok(bytes) = wire::encode(&Handshake::Refused { reason }) {
                    let _ = writer.send(&[&bytes]).await;
                    let _ = writer.flush().await;
                }
            }
            return;
        }
    };
    reader.decoder.set_limit(shared.max_frame);
    let out = Arc::new(Outbound::new());
    if let Some((up, down)) = keys {
        reader.decoder.authenticate(up);
        out.authenticate(down);
    }
    let router = info.router.clone();
    let connected = Arc::new(Connected {
        serial: shared.next_connection.fetch_add(1, Ordering::Relaxed),
        router: router.clone(),
        out: out.clone(),
        taken: Mutex::new(
            info.received
                .iter()
                .map(|position| (position.origin.clone(), position.mark))
                .collect(),
        ),
        info: Mutex::new(info),
        addr: peer,
        since: Instant::now(),
        frames_in: AtomicU64::new(0),
        frames_out: AtomicU64::new(0),
    });
    join(&shared, &connected);
    let write_task = tokio::spawn({
        let out = out.clone();
        async move { out.write_to(writer.into_inner()).await }
    });
    let heartbeat_task = tokio::spawn(out.clone().heartbeats(Down::Heartbeat));
    let ended = relay_from(&shared, &connected, &mut reader).await;
    match &ended {
        Ok(()) => tracing::info!(%peer, router, "switch: router disconnected"),
        Err(FrameError::Io(error)) => {
            tracing::info!(%peer, router, %error, "switch: router connection lost")
        }
        Err(error) => {
            shared
                .vitals
                .closed_bad_input
                .fetch_add(1, Ordering::Relaxed);
            tracing::warn!(%peer, router, "switch: closed a router's connection: {error}")
        }
    }
    out.close();
    heartbeat_task.abort();
    let _ = write_task.await;
    leave(&shared, &connected);
}

/// Why a connection ended during the handshake.
#[derive(Debug, thiserror::Error)]
enum Closed {
    /// A reason the router is told.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Frame(#[from] FrameError),
}

type Joined = (
    PeerInfo,
    Option<(super::frame::FrameKey, super::frame::FrameKey)>,
);

async fn handshake<R, W>(
    shared: &Shared,
    reader: &mut FrameReader<R>,
    writer: &mut FrameWriter<W>,
) -> Result<Joined, Closed>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let switch_nonce = nonce().map_err(FrameError::Io)?;
    let challenge = Handshake::Challenge {
        version: VERSION,
        nonce: switch_nonce,
        authenticated: !shared.secrets.is_empty(),
    };
    send_handshake(writer, &challenge).await?;
    let body = reader
        .read()
        .await?
        .ok_or_else(|| Closed::Refused("the router closed during the handshake".into()))?;
    let hello: Handshake = wire::decode(body)
        .map_err(|error| Closed::Refused(format!("not a hello message: {error}")))?;
    let Handshake::Hello {
        version,
        router,
        epoch,
        nonce: router_nonce,
        proof,
        demands,
        received,
    } = hello
    else {
        return Err(Closed::Refused("expected a hello message".into()));
    };
    if version != VERSION {
        return Err(Closed::Refused(format!(
            "protocol version {version} is not supported; this switch speaks {VERSION}"
        )));
    }
    if !valid_router_id(&router) {
        return Err(Closed::Refused(
            "a router id is 1 to 64 letters, digits, `-`, `_`, `.` or `:`".into(),
        ));
    }
    let transcript = Transcript {
        switch_nonce: &switch_nonce,
        router_nonce: &router_nonce,
        router: &router,
        epoch,
        details: hello_digest(&demands, &received),
    };
    let keys = if shared.secrets.is_empty() {
        send_handshake(writer, &Handshake::Welcome { proof: [0; 32] }).await?;
        None
    } else {
        let Some(secret) = transcript.check_router_proof(&shared.secrets, &proof) else {
            return Err(Closed::Refused(format!(
                "router `{router}` did not prove it knows the switch's secret (wrong or missing EDRI_SWITCH_TOKEN)"
            )));
        };
        let welcome = Handshake::Welcome {
            proof: transcript.switch_proof(secret),
        };
        send_handshake(writer, &welcome).await?;
        Some(transcript.session_keys(secret))
    };
    Ok((
        PeerInfo {
            router,
            epoch,
            demands,
            received,
        },
        keys,
    ))
}

async fn send_handshake<W: AsyncWrite + Unpin>(
    writer: &mut FrameWriter<W>,
    message: &Handshake,
) -> Result<(), Closed> {
    let bytes = wire::encode(message).map_err(|error| Closed::Refused(error.to_string()))?;
    writer.send(&[&bytes]).await.map_err(FrameError::Io)?;
    writer.flush().await.map_err(FrameError::Io)?;
    Ok(())
}

/// Registers a router that completed the handshake: it learns who is there, and everyone
/// learns about it. A router that joins under an id already connected replaces that connection.
fn join(shared: &Shared, connected: &Arc<Connected>) {
    let id = &connected.router;
    let info = connected.info();
    let mut routers = shared.lock_routers();
    let others: Vec<PeerInfo> = routers
        .iter()
        .filter(|(other, _)| *other != id)
        .map(|(_, router)| router.info())
        .collect();
    if let Some(old) = routers.insert(id.clone(), connected.clone()) {
        tracing::warn!(
            router = id,
            "switch: a new connection replaces the router's old one"
        );
        old.out.close();
    }
    if let Ok(bytes) = wire::encode(&Down::Present(others)) {
        connected.out.send(&[&bytes]);
    }
    drop(routers);
    tracing::info!(
        router = id,
        epoch = info.epoch,
        addr = %connected.addr,
        demands = ?info.demands,
        "switch: router joined"
    );
    shared.broadcast(id, &Down::Arrived(info));
}

/// Unregisters a router whose connection ended, unless a newer connection replaced it.
fn leave(shared: &Shared, connected: &Arc<Connected>) {
    let id = &connected.router;
    let mut routers = shared.lock_routers();
    if routers.get(id).map(|router| router.serial) != Some(connected.serial) {
        return;
    }
    routers.remove(id);
    drop(routers);
    shared.broadcast(id, &Down::Left { router: id.clone() });
}

/// Reads a router's frames and acts on them until the connection ends.
async fn relay_from<R: AsyncRead + Unpin>(
    shared: &Shared,
    connected: &Connected,
    reader: &mut FrameReader<R>,
) -> Result<(), FrameError> {
    let id = &connected.router;
    let from = wire::encode(&Down::From { from: id.clone() }).map_err(malformed(0))?;
    loop {
        let number = reader.decoder.number();
        let body = match tokio::time::timeout(shared.idle_timeout, reader.read()).await {
            Ok(body) => body?,
            Err(_) => {
                return Err(FrameError::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "silent for longer than the idle timeout",
                )))
            }
        };
        if connected.out.is_closed() {
            return Ok(());
        }
        let Some(body) = body else {
            return Ok(());
        };
        connected.frames_in.fetch_add(1, Ordering::Relaxed);
        let (up, payload): (Up, &[u8]) = wire::decode_prefix(body).map_err(malformed(number))?;
        match up {
            Up::Heartbeat => {}
            Up::Demands(demands) => {
                tracing::debug!(router = id, ?demands, "switch: demands changed");
                connected.set_demands(demands.clone());
                shared.broadcast(
                    id,
                    &Down::Demands {
                        router: id.clone(),
                        demands,
                    },
                );
            }
            Up::To { to } => {
                connected.note_ack(&to, payload);
                relay(shared, &to, &from, payload).await
            }
        }
    }
}

fn malformed(number: u64) -> impl Fn(wire::WireError) -> FrameError {
    move |error| FrameError::Malformed {
        number,
        reason: error.to_string(),
    }
}

/// Passes a payload on to router `to`. A frame for a router that is not connected, or whose
/// buffer stays full, is dropped: its origin keeps it until `to` acknowledges it, and sends it
/// again when `to` resumes.
async fn relay(shared: &Shared, to: &str, from: &[u8], payload: &[u8]) {
    let target = shared.lock_routers().get(to).cloned();
    let delivered = match target {
        Some(target) => {
            (target.out.buffered() < super::outbound::MAX_BUFFERED
                || target.out.wait_for_room(RELAY_PATIENCE).await)
                && target.out.send(&[from, payload])
                && {
                    target.frames_out.fetch_add(1, Ordering::Relaxed);
                    true
                }
        }
        None => false,
    };
    if delivered {
        shared.vitals.frames_relayed.fetch_add(1, Ordering::Relaxed);
        shared
            .vitals
            .bytes_relayed
            .fetch_add(payload.len() as u64, Ordering::Relaxed);
    } else {
        shared.vitals.frames_dropped.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(
            to,
            "switch: dropped a frame for a router that is not reachable"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::switch::frame::{Decoded, FrameDecoder};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Says hello with `version` and `router`, and returns the switch's answer.
    async fn answer_to_hello(version: u16, router: &str) -> Handshake {
        let switch = Switch::new("127.0.0.1:0").start().await.unwrap();
        let mut stream = TcpStream::connect(switch.addr()).await.unwrap();
        let mut bytes = Vec::new();
        let mut decoder = FrameDecoder::new(DEFAULT_MAX_FRAME);
        let mut next = |bytes: &mut Vec<u8>| -> Option<Handshake> {
            match decoder.decode(bytes).unwrap() {
                Decoded::Frame { body, used } => {
                    let message = wire::decode(&bytes[body]).unwrap();
                    bytes.drain(..used);
                    Some(message)
                }
                Decoded::Incomplete { .. } => None,
            }
        };
        let mut challenge = None;
        while challenge.is_none() {
            assert!(stream.read_buf(&mut bytes).await.unwrap() > 0);
            challenge = next(&mut bytes);
        }
        let hello = wire::encode(&Handshake::Hello {
            version,
            router: router.to_owned(),
            epoch: 1,
            nonce: [0; 32],
            proof: [0; 32],
            demands: Vec::new(),
            received: Vec::new(),
        })
        .unwrap();
        let mut frame = (hello.len() as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(&hello);
        stream.write_all(&frame).await.unwrap();
        loop {
            if let Some(answer) = next(&mut bytes) {
                assert!(switch.routers().is_empty());
                switch.shutdown().await;
                return answer;
            }
            assert!(stream.read_buf(&mut bytes).await.unwrap() > 0);
        }
    }

    #[tokio::test]
    async fn an_unknown_protocol_version_is_refused_with_the_reason() {
        let Handshake::Refused { reason } = answer_to_hello(VERSION + 1, "a").await else {
            panic!("not refused")
        };
        let expected = format!("protocol version {} is not supported", VERSION + 1);
        assert!(reason.contains(&expected), "{reason}");
    }

    #[tokio::test]
    async fn a_bad_router_id_is_refused_with_the_reason() {
        let Handshake::Refused { reason } = answer_to_hello(VERSION, "no spaces, please").await
        else {
            panic!("not refused")
        };
        assert!(reason.contains("a router id is"), "{reason}");
    }
}
