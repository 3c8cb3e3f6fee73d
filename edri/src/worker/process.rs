//! Process workers, parent side: starting children (this executable again), pooling them per
//! manager, and the conversation with a child while it runs a job.

use std::collections::HashSet;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream as StdUnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::child;
use super::protocol::{self, ToChild, ToParent};
use crate::answer::first_answer_erased;
use crate::event::Registry;
use crate::router::Entry;
use crate::{EventKind, Failure};

/// Idle children kept per manager beyond those running.
const MAX_IDLE: usize = 8;

/// A running child process and its socket.
pub(crate) struct ChildProcess {
    pub(crate) pid: u32,
    child: Child,
    frames: mpsc::Receiver<io::Result<ToParent>>,
    writer: OwnedWriteHalf,
}

/// How a job in a child ended.
pub(crate) enum JobEnd {
    /// The child answered; `panicked` tells a panic from a returned failure.
    Done {
        answer: Result<Vec<u8>, Failure>,
        panicked: bool,
    },
    /// The child is gone or unusable: it exited, was killed, or sent garbage.
    Lost(String),
    /// The job overran its timeout and its grace period.
    TimedOut,
}

/// What the manager side sends to a running long-lived worker.
pub(crate) enum ToWorker {
    Deliver { name: String, body: Vec<u8> },
    Cancel,
}

/// The children of one manager.
pub(crate) struct ProcessPool {
    manager: Arc<str>,
    idle: Mutex<Vec<ChildProcess>>,
    alive: Arc<Mutex<HashSet<u32>>>,
    closed: AtomicBool,
}

impl ProcessPool {
    pub(crate) fn new(manager: Arc<str>) -> Self {
        Self {
            manager,
            idle: Mutex::new(Vec::new()),
            alive: Arc::new(Mutex::new(HashSet::new())),
            closed: AtomicBool::new(false),
        }
    }

    fn lock_idle(&self) -> std::sync::MutexGuard<'_, Vec<ChildProcess>> {
        self.idle
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    fn lock_alive(&self) -> std::sync::MutexGuard<'_, HashSet<u32>> {
        self.alive
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    pub(crate) fn pids(&self) -> Vec<u32> {
        let mut pids: Vec<u32> = self.lock_alive().iter().copied().collect();
        pids.sort_unstable();
        pids
    }

    /// An idle child, or a new one.
    pub(crate) async fn take(&self) -> io::Result<ChildProcess> {
        if self.closed.load(Ordering::Acquire) {
            return Err(io::Error::other("the manager is shutting down"));
        }
        if let Some(child) = self.lock_idle().pop() {
            return Ok(child);
        }
        let (child, socket) = spawn().await?;
        let pid = child.id();
        self.lock_alive().insert(pid);
        tracing::debug!(manager = &*self.manager, pid, "started a worker process");
        socket.set_nonblocking(true)?;
        let (reader, writer) = tokio::net::UnixStream::from_std(socket)?.into_split();
        let (frames_in, frames) = mpsc::channel(16);
        tokio::spawn(read_frames(reader, frames_in));
        Ok(ChildProcess {
            pid,
            child,
            frames,
            writer,
        })
    }

    /// Keeps a child that finished its job for the next one.
    pub(crate) async fn give_back(&self, child: ChildProcess) {
        let surplus = {
            let mut idle = self.lock_idle();
            if !self.closed.load(Ordering::Acquire) && idle.len() < MAX_IDLE {
                idle.push(child);
                return;
            }
            child
        };
        self.discard(surplus).await;
    }

    /// Kills and reaps a child; returns how it ended.
    pub(crate) async fn discard(&self, mut child: ChildProcess) -> String {
        let pid = child.pid;
        let _ = child.child.kill();
        let status = tokio::task::spawn_blocking(move || child.child.wait()).await;
        self.lock_alive().remove(&pid);
        match status {
            Ok(Ok(status)) => describe(status),
            Ok(Err(error)) => format!("cannot be reaped: {error}"),
            Err(error) => format!("cannot be reaped: {error}"),
        }
    }

    /// Refuses new children and kills every child alive; their jobs see them die.
    pub(crate) fn kill_all(&self) {
        self.closed.store(true, Ordering::Release);
        for pid in self.lock_alive().iter() {
            // SAFETY: kill(2) with a pid this pool started and has not reaped yet, so the pid
            // cannot have been reused by another process.
            unsafe {
                libc::kill(*pid as libc::pid_t, libc::SIGKILL);
            }
        }
    }

    /// Reaps the idle children after `kill_all`.
    pub(crate) async fn reap_idle(&self) {
        let idle: Vec<ChildProcess> = std::mem::take(&mut *self.lock_idle());
        for child in idle {
            self.discard(child).await;
        }
    }
}

fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}{}", signal_name(signal)),
        _ => status.to_string(),
    }
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGKILL => " (SIGKILL)",
        libc::SIGABRT => " (SIGABRT)",
        libc::SIGSEGV => " (SIGSEGV)",
        libc::SIGTERM => " (SIGTERM)",
        _ => "",
    }
}

/// Forwards the child's frames; the last item is the error or end that stopped the reading.
async fn read_frames(mut reader: OwnedReadHalf, frames: mpsc::Sender<io::Result<ToParent>>) {
    loop {
        let mut length = [0u8; 4];
        let frame = match reader.read_exact(&mut length).await {
            Ok(_) => read_body(&mut reader, u32::from_le_bytes(length) as usize).await,
            Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => return,
            Err(error) => Err(error),
        };
        let failed = frame.is_err();
        if frames.send(frame).await.is_err() || failed {
            return;
        }
    }
}

async fn read_body(reader: &mut OwnedReadHalf, length: usize) -> io::Result<ToParent> {
    protocol::check_length(length)?;
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).await?;
    protocol::decode(&body)
}

type SpawnReply = oneshot::Sender<io::Result<(Child, StdUnixStream)>>;

/// Starts a child on a thread that lives as long as the process: the child's death signal
/// (`PR_SET_PDEATHSIG`) fires when the thread that started it ends, so that thread must not.
async fn spawn() -> io::Result<(Child, StdUnixStream)> {
    static SPAWNER: OnceLock<std::sync::mpsc::Sender<SpawnReply>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (requests, incoming) = std::sync::mpsc::channel::<SpawnReply>();
        let started = std::thread::Builder::new()
            .name("edri-spawner".into())
            .spawn(move || {
                for reply in incoming {
                    let _ = reply.send(spawn_child());
                }
            });
        if let Err(error) = started {
            tracing::error!(%error, "cannot start the thread that starts worker processes");
        }
        requests
    });
    let (reply, spawned) = oneshot::channel();
    spawner
        .send(reply)
        .map_err(|_| io::Error::other("the worker spawner thread is gone"))?;
    spawned
        .await
        .map_err(|_| io::Error::other("the worker spawner thread is gone"))?
}

fn spawn_child() -> io::Result<(Child, StdUnixStream)> {
    child::keep_constructor();
    let (parent_end, child_end) = StdUnixStream::pair()?;
    let fd = child_end.as_raw_fd();
    let parent = std::process::id();
    let mut command = Command::new(std::env::current_exe()?);
    command
        .env(child::FD_VARIABLE, child::WORKER_FD.to_string())
        .stdin(Stdio::null());
    // SAFETY: the closure runs in the child between fork and exec and only makes
    // async-signal-safe calls (dup2, fcntl, prctl, getppid, _exit).
    unsafe {
        command.pre_exec(move || {
            if fd == child::WORKER_FD {
                let flags = libc::fcntl(fd, libc::F_GETFD);
                if flags < 0 || libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) < 0 {
                    return Err(io::Error::last_os_error());
                }
            } else if libc::dup2(fd, child::WORKER_FD) < 0 {
                return Err(io::Error::last_os_error());
            }
            #[cfg(target_os = "linux")]
            {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) < 0 {
                    return Err(io::Error::last_os_error());
                }
                // The parent may have died before the death signal was armed.
                if libc::getppid() as u32 != parent {
                    libc::_exit(1);
                }
            }
            Ok(())
        });
    }
    let _ = parent;
    let spawned = command.spawn()?;
    drop(child_end);
    Ok((spawned, parent_end))
}

/// Drives one job in a child: answers its asks, routes what it sends, forwards events addressed
/// to it, and enforces the timeout (cancel, then give up after the grace period).
pub(crate) async fn converse(
    child: &mut ChildProcess,
    start: ToChild,
    entry: &Entry,
    timeout: Option<Duration>,
    on_timeout: impl FnOnce(),
    mut to_worker: Option<mpsc::Receiver<ToWorker>>,
) -> JobEnd {
    if let Err(error) = write(&mut child.writer, &start).await {
        return JobEnd::Lost(format!("could not be given its job: {error}"));
    }
    let mut asks = FuturesUnordered::new();
    let far = Instant::now() + Duration::from_secs(86_400 * 365);
    let mut deadline = timeout.map_or(far, |timeout| Instant::now() + timeout);
    let mut on_timeout = Some(on_timeout);
    loop {
        tokio::select! {
            frame = child.frames.recv() => match frame {
                Some(Ok(ToParent::Done { answer, panicked })) => return JobEnd::Done { answer, panicked },
                Some(Ok(ToParent::Ask { call, name, body, timeout_ms })) => {
                    let entry = entry.clone();
                    asks.push(async move {
                        (call, ask_encoded(&entry, &name, &body, Duration::from_millis(timeout_ms)).await)
                    });
                }
                Some(Ok(ToParent::Send { name, body })) => send_encoded(entry, &name, &body).await,
                Some(Err(error)) => return JobEnd::Lost(format!("sent an unreadable frame ({error})")),
                None => return JobEnd::Lost("ended".to_owned()),
            },
            Some((call, answer)) = asks.next(), if !asks.is_empty() => {
                if let Err(error) = write(&mut child.writer, &ToChild::Answer { call, answer }).await {
                    return JobEnd::Lost(format!("could not be answered: {error}"));
                }
            }
            message = recv_to_worker(&mut to_worker) => {
                let frame = match message {
                    Some(ToWorker::Deliver { name, body }) => ToChild::Deliver { name, body },
                    Some(ToWorker::Cancel) => ToChild::Cancel,
                    None => {
                        // The handle is gone: nothing more will arrive.
                        to_worker = None;
                        ToChild::Closed
                    }
                };
                if let Err(error) = write(&mut child.writer, &frame).await {
                    return JobEnd::Lost(format!("could not be sent an event: {error}"));
                }
            }
            _ = tokio::time::sleep_until(deadline), if deadline < far => {
                match on_timeout.take() {
                    Some(on_timeout) => {
                        on_timeout();
                        let _ = write(&mut child.writer, &ToChild::Cancel).await;
                        deadline = Instant::now() + entry.router().config.worker_grace;
                    }
                    None => return JobEnd::TimedOut,
                }
            }
        }
    }
}

async fn recv_to_worker(to_worker: &mut Option<mpsc::Receiver<ToWorker>>) -> Option<ToWorker> {
    match to_worker {
        Some(receiver) => receiver.recv().await,
        None => std::future::pending().await,
    }
}

async fn write(writer: &mut OwnedWriteHalf, frame: &ToChild) -> io::Result<()> {
    let bytes = protocol::encode(frame)
        .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
    writer.write_all(&bytes).await
}

/// A request sent by a worker process: decoded by name, asked, and its answer encoded.
async fn ask_encoded(
    entry: &Entry,
    name: &str,
    body: &[u8],
    timeout: Duration,
) -> Result<Vec<u8>, Failure> {
    let info = Registry::get()
        .ok()
        .and_then(|registry| registry.by_name(name))
        .ok_or_else(|| {
            Failure::bad_request(format!(
                "a worker asked `{name}`, which is not a registered event"
            ))
        })?;
    let event = (info.decode)(body).map_err(|error| {
        Failure::internal(format!(
            "cannot decode `{name}` ({}) from a worker: {error}",
            info.type_name
        ))
    })?;
    let answers = entry
        .request_erased((info.type_id)(), info.name, event)
        .await;
    let answer =
        first_answer_erased(info.name, answers, &entry.router().deadlines, timeout).await?;
    (info.encode_answer)(answer)
}

/// An event sent by a worker process, decoded by name and routed.
async fn send_encoded(entry: &Entry, name: &str, body: &[u8]) {
    let Some(info) = Registry::get()
        .ok()
        .and_then(|registry| registry.by_name(name))
    else {
        tracing::error!(
            event = name,
            "a worker sent an event that is not registered; dropped"
        );
        return;
    };
    match (info.decode)(body) {
        Ok(event) => match info.kind {
            EventKind::Notification => {
                entry
                    .notify_erased((info.type_id)(), info.name, event)
                    .await
            }
            EventKind::Request => drop(
                entry
                    .request_erased((info.type_id)(), info.name, event)
                    .await,
            ),
        },
        Err(error) => {
            tracing::error!(event = name, %error, "a worker sent an event that does not decode; dropped")
        }
    }
}
