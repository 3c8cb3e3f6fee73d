//! Process workers, child side: a constructor that runs before `main` in every program linked
//! with edri, and, in a child started by [`process`](super::process), serves jobs and exits
//! without ever reaching `main`, so it works from any `main`, `#[tokio::main]`, example or
//! test binary.

use std::any::type_name;
use std::os::fd::FromRawFd;
use std::os::unix::net::UnixStream;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::pool::{ProcessSolver, WorkEntry, PROCESS_SOLVERS, WORKS};
use super::protocol::{self, ToChild, ToParent};
use super::{Link as WorkerLink, Message, Worker};
use crate::failure::panic_message;
use crate::{Event, Failure, Request};

/// The variable that tells a process it is a worker, and on which descriptor its socket is.
pub(crate) const FD_VARIABLE: &str = "EDRI_WORKER_FD";
/// The descriptor the socket is moved to in the child.
pub(crate) const WORKER_FD: i32 = 3;

// Runs before `main` (and before a test harness) in every program that starts worker processes.
#[used]
#[link_section = ".init_array"]
static SERVE_IF_WORKER: extern "C" fn() = serve_if_worker;

/// Referenced by the code that starts children, so the linker keeps the constructor in every
/// program that can start them.
pub(crate) fn keep_constructor() {
    std::hint::black_box(&SERVE_IF_WORKER);
}

extern "C" fn serve_if_worker() {
    let Some(fd) = std::env::var_os(FD_VARIABLE) else {
        return;
    };
    // SAFETY: this runs before `main`, while the program has a single thread. Removing the
    // variable keeps processes this worker starts from believing they are workers too.
    unsafe { std::env::remove_var(FD_VARIABLE) };
    let fd: i32 = fd
        .to_str()
        .and_then(|fd| fd.parse().ok())
        .unwrap_or(WORKER_FD);
    // SAFETY: the parent put our end of a socket pair on this descriptor and nothing else in
    // this process uses it.
    let socket = unsafe { UnixStream::from_raw_fd(fd) };
    serve(socket);
    std::process::exit(0);
}

/// What the reader thread hands to the job loop.
struct Job {
    kind: JobKind,
    /// The worker's name, given by the parent.
    worker: String,
    request_timeout: Duration,
    /// Events addressed to this job; `None` for a solver, which nobody holds a handle to.
    deliveries: Option<std_mpsc::Receiver<Message>>,
}

enum JobKind {
    Run { solver: String, event: Vec<u8> },
    Start { work: String, value: Vec<u8> },
}

/// The answer to the worker's ask number `.0`.
type CallAnswer = (u64, Result<Vec<u8>, Failure>);

struct Shared {
    writer: Mutex<UnixStream>,
    cancelled: Arc<AtomicBool>,
    answers: Mutex<std_mpsc::Receiver<CallAnswer>>,
}

impl Shared {
    fn write(&self, frame: &ToParent) -> Result<(), Failure> {
        let mut writer = self
            .writer
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        protocol::write_blocking(&mut *writer, frame)
            .map_err(|error| Failure::unavailable(format!("the parent process is gone: {error}")))
    }
}

fn serve(socket: UnixStream) {
    let Ok(reader) = socket.try_clone() else {
        return;
    };
    let (jobs_in, jobs) = std_mpsc::channel();
    let (answers_in, answers) = std_mpsc::channel();
    let shared = Arc::new(Shared {
        writer: Mutex::new(socket),
        cancelled: Arc::new(AtomicBool::new(false)),
        answers: Mutex::new(answers),
    });
    let cancelled = shared.cancelled.clone();
    let started = std::thread::Builder::new()
        .name("edri-worker-reader".into())
        .spawn(move || read(reader, &jobs_in, &answers_in, &cancelled));
    if started.is_err() {
        return;
    }
    for job in jobs {
        shared.cancelled.store(false, Ordering::Release);
        let mut worker = Worker {
            name: job.worker,
            cancelled: shared.cancelled.clone(),
            link: WorkerLink::Process(Link {
                shared: shared.clone(),
                next_call: 0,
                request_timeout: job.request_timeout,
                deliveries: job.deliveries,
            }),
        };
        let (answer, panicked) = match run(job.kind, &mut worker) {
            Ok(answer) => (answer, false),
            Err(panic) => (Err(Failure::internal(panic)), true),
        };
        if shared.write(&ToParent::Done { answer, panicked }).is_err() {
            return;
        }
    }
}

/// Reads the parent's frames: jobs go to the job loop, answers to the asking worker, events to
/// the current job's own channel (so nothing meant for one job reaches the next).
fn read(
    mut reader: UnixStream,
    jobs: &std_mpsc::Sender<Job>,
    answers: &std_mpsc::Sender<CallAnswer>,
    cancelled: &AtomicBool,
) {
    let mut current: Option<std_mpsc::Sender<Message>> = None;
    loop {
        let frame = match protocol::read_blocking::<ToChild>(&mut reader) {
            Ok(Some(frame)) => frame,
            // The parent is gone, or speaks garbage: a worker has nothing left to do.
            Ok(None) | Err(_) => std::process::exit(0),
        };
        let job = match frame {
            ToChild::Run {
                solver,
                event,
                worker,
                request_timeout_ms,
            } => {
                current = None;
                Job {
                    kind: JobKind::Run { solver, event },
                    worker,
                    request_timeout: Duration::from_millis(request_timeout_ms),
                    deliveries: None,
                }
            }
            ToChild::Start {
                work,
                value,
                worker,
                request_timeout_ms,
            } => {
                let (deliveries_in, deliveries) = std_mpsc::channel();
                current = Some(deliveries_in);
                Job {
                    kind: JobKind::Start { work, value },
                    worker,
                    request_timeout: Duration::from_millis(request_timeout_ms),
                    deliveries: Some(deliveries),
                }
            }
            ToChild::Answer { call, answer } => {
                let _ = answers.send((call, answer));
                continue;
            }
            ToChild::Deliver { name, body } => {
                if let Some(current) = &current {
                    let _ = current.send(Message::encoded(name, body));
                }
                continue;
            }
            ToChild::Closed => {
                current = None;
                continue;
            }
            ToChild::Cancel => {
                cancelled.store(true, Ordering::Release);
                current = None;
                continue;
            }
        };
        let _ = jobs.send(job);
    }
}

/// Runs one job; `Err` carries a panic's description.
fn run(job: JobKind, worker: &mut Worker) -> Result<Result<Vec<u8>, Failure>, String> {
    match job {
        JobKind::Run { solver, event } => {
            let Some(entry) = PROCESS_SOLVERS.iter().find(|entry| entry.key == solver) else {
                return Ok(Err(Failure::internal(format!(
                    "no process solver `{solver}` in this executable"
                ))));
            };
            let ProcessSolver { run, .. } = entry;
            std::panic::catch_unwind(AssertUnwindSafe(|| run(&event, worker))).map_err(|panic| {
                format!(
                    "the solver `{solver}` panicked: {}",
                    panic_message(panic.as_ref())
                )
            })
        }
        JobKind::Start { work, value } => {
            let Some(entry) = WORKS.iter().find(|entry| entry.key == work) else {
                return Ok(Err(Failure::internal(format!(
                    "no work `{work}` in this executable"
                ))));
            };
            let WorkEntry { run, .. } = entry;
            std::panic::catch_unwind(AssertUnwindSafe(|| run(&value, worker))).map_err(|panic| {
                format!(
                    "the work `{work}` panicked: {}",
                    panic_message(panic.as_ref())
                )
            })
        }
    }
}

/// A process worker's way to the parent.
pub(crate) struct Link {
    shared: Arc<Shared>,
    next_call: u64,
    request_timeout: Duration,
    deliveries: Option<std_mpsc::Receiver<Message>>,
}

impl Link {
    pub(crate) fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    pub(crate) fn send<E: Event>(&mut self, event: E) -> Result<(), Failure> {
        let body = encode(&event)?;
        self.shared.write(&ToParent::Send {
            name: E::NAME.to_owned(),
            body,
        })
    }

    pub(crate) fn ask<E: Request>(
        &mut self,
        event: E,
        timeout: Duration,
    ) -> Result<E::Response, Failure> {
        let body = encode(&event)?;
        self.next_call += 1;
        let call = self.next_call;
        let timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self.shared.write(&ToParent::Ask {
            call,
            name: E::NAME.to_owned(),
            body,
            timeout_ms,
        })?;
        let answers = self
            .shared
            .answers
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        loop {
            // The parent enforces the timeout and answers `Timeout`; the margin only guards
            // against a parent that stopped answering.
            let (answered, answer) = answers
                .recv_timeout(timeout.saturating_add(Duration::from_secs(5)))
                .map_err(|_| {
                    Failure::timeout(format!(
                        "no answer to `{}` from the parent process",
                        E::NAME
                    ))
                })?;
            if answered != call {
                continue;
            }
            return crate::wire::decode::<E::Response>(&answer?).map_err(|error| {
                Failure::internal(format!(
                    "cannot decode the response `{}`: {error}",
                    type_name::<E::Response>()
                ))
            });
        }
    }

    pub(crate) fn recv(&mut self, timeout: Option<Duration>) -> Option<Message> {
        let deliveries = self.deliveries.as_ref()?;
        match timeout {
            Some(timeout) => deliveries.recv_timeout(timeout).ok(),
            None => deliveries.recv().ok(),
        }
    }
}

fn encode<E: Event>(event: &E) -> Result<Vec<u8>, Failure> {
    crate::wire::encode(event).map_err(|error| {
        Failure::internal(format!(
            "cannot encode `{}` ({}) in the worker process: {error}",
            E::NAME,
            type_name::<E>()
        ))
    })
}
