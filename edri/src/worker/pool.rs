//! The workers of one manager: `max_workers` slots (waiting starts are served in FIFO order),
//! the thread pool and the process pool, and the entry points the generated code calls.

use std::any::type_name;
use std::collections::{HashMap, VecDeque};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use super::process::{converse, JobEnd, ProcessPool, ToWorker};
use super::protocol::ToChild;
use super::thread::{self, ThreadPool};
use super::{Link, Message, Mode, Work, Worker};
use crate::answer::{send_answer, AnswerSender, ReplySlot};
use crate::answer::{Finish, Returns};
use crate::event::{NotificationKind, RequestKind};
use crate::failure::panic_message;
use crate::router::Entry;
use crate::stats::{Counters, Outcome};
use crate::{Event, Failure, IntoAnswer};

/// A process solver, found by the child process in this table (a static slice, readable
/// before `main` and before any runtime registration has run).
#[doc(hidden)]
pub struct ProcessSolver {
    /// `module::Manager::function`.
    pub key: &'static str,
    /// Decodes the event, runs the solver, encodes its answer.
    pub run: fn(&[u8], &mut Worker) -> Result<Vec<u8>, Failure>,
}

#[doc(hidden)]
#[linkme::distributed_slice]
pub static PROCESS_SOLVERS: [ProcessSolver];

/// What a worker solver returns, encoded for the trip back from a process.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "a solver of this event cannot return `{Self}`",
    label = "wrong return type for this event",
    note = "a request solver returns the event's response or `Result<Response, Failure>`; a notification solver returns `()` or `Result<(), Failure>`"
)]
pub trait WorkReturns<K>: Send + 'static {
    fn encode(self) -> Result<Vec<u8>, Failure>;
}

impl<T: Finish + Send + 'static> WorkReturns<NotificationKind> for T {
    fn encode(self) -> Result<Vec<u8>, Failure> {
        self.into_result().map(|()| Vec::new())
    }
}

impl<R: Serialize + Send + 'static, T: IntoAnswer<R> + Send + 'static> WorkReturns<RequestKind<R>>
    for T
{
    fn encode(self) -> Result<Vec<u8>, Failure> {
        let response = self.into_answer()?;
        crate::wire::encode(&response).map_err(|error| {
            Failure::internal(format!(
                "cannot encode the response `{}` in the worker process: {error}",
                type_name::<R>()
            ))
        })
    }
}

/// Runs a process solver inside the child: decode, solve, encode.
#[doc(hidden)]
pub fn run_process_solver<E: Event, T: WorkReturns<E::Kind>>(
    bytes: &[u8],
    worker: &mut Worker,
    solver: impl FnOnce(E, &mut Worker) -> T,
) -> Result<Vec<u8>, Failure> {
    let event: E = crate::wire::decode(bytes).map_err(|error| {
        Failure::internal(format!(
            "cannot decode `{}` ({}) in the worker process: {error}",
            E::NAME,
            type_name::<E>()
        ))
    })?;
    solver(event, worker).encode()
}

/// The answer channel of a job, shared by the worker and the timeout: whoever answers first.
type SharedReply = Arc<Mutex<Option<AnswerSender>>>;

fn take(reply: &SharedReply) -> Option<AnswerSender> {
    reply
        .lock()
        .unwrap_or_else(|poison| poison.into_inner())
        .take()
}

fn fail(reply: &SharedReply, failure: Failure) {
    if let Some(sender) = take(reply) {
        send_answer::<()>(sender, Err(failure));
    }
}

/// The workers of one manager.
pub(crate) struct Workers {
    manager: Arc<str>,
    /// The manager's way into the router, shared by its workers.
    entry: Entry,
    counters: Arc<Counters>,
    max_workers: Option<usize>,
    admission: Mutex<Admission>,
    threads: ThreadPool,
    processes: ProcessPool,
    cancels: Mutex<HashMap<u64, Arc<AtomicBool>>>,
    next_job: AtomicU64,
    tasks: Mutex<JoinSet<()>>,
}

/// Who holds and who waits for the `max_workers` slots.
#[derive(Default)]
struct Admission {
    running: usize,
    /// Starts waiting for a slot, in the order the manager dispatched them.
    waiting: VecDeque<oneshot::Sender<Slot>>,
    closed: bool,
}

/// A place in line for a slot, taken when the manager dispatches the job.
enum Admitted {
    Now(Slot),
    Later(oneshot::Receiver<Slot>),
    Refused(Failure),
}

impl Admitted {
    async fn slot(self) -> Result<Slot, Failure> {
        match self {
            Admitted::Now(slot) => Ok(slot),
            Admitted::Later(waiting) => waiting
                .await
                .map_err(|_| Failure::unavailable("the manager is shutting down")),
            Admitted::Refused(failure) => Err(failure),
        }
    }
}

/// A held `max_workers` slot; hands itself to the next in line when dropped.
struct Slot {
    workers: Arc<Workers>,
    job: u64,
    cancelled: Arc<AtomicBool>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.workers.lock_cancels().remove(&self.job);
        self.workers.release();
    }
}

impl Workers {
    pub(crate) fn new(
        manager: Arc<str>,
        entry: Entry,
        counters: Arc<Counters>,
        max_workers: Option<usize>,
    ) -> Arc<Self> {
        Arc::new(Self {
            threads: ThreadPool::new(manager.clone()),
            processes: ProcessPool::new(manager.clone()),
            manager,
            entry,
            counters,
            max_workers,
            admission: Mutex::new(Admission::default()),
            cancels: Mutex::new(HashMap::new()),
            next_job: AtomicU64::new(1),
            tasks: Mutex::new(JoinSet::new()),
        })
    }

    fn lock_cancels(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<AtomicBool>>> {
        self.cancels
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    fn lock_admission(&self) -> std::sync::MutexGuard<'_, Admission> {
        self.admission
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Workers running now, and starts waiting for a slot.
    pub(crate) fn load(&self) -> (usize, usize) {
        let admission = self.lock_admission();
        (admission.running, admission.waiting.len())
    }

    /// Process ids of the worker processes alive now.
    pub(crate) fn process_ids(&self) -> Vec<u32> {
        self.processes.pids()
    }

    /// Takes a place in line for a slot now, so starts are served in dispatch order.
    fn admit(self: &Arc<Self>) -> Admitted {
        let mut admission = self.lock_admission();
        if admission.closed {
            return Admitted::Refused(Failure::unavailable(format!(
                "manager `{}` is shutting down",
                self.manager
            )));
        }
        if self.max_workers.is_none_or(|max| admission.running < max) {
            admission.running += 1;
            drop(admission);
            return Admitted::Now(self.slot());
        }
        let (sender, waiting) = oneshot::channel();
        admission.waiting.push_back(sender);
        Admitted::Later(waiting)
    }

    fn slot(self: &Arc<Self>) -> Slot {
        let job = self.next_job.fetch_add(1, Ordering::Relaxed);
        let cancelled = Arc::new(AtomicBool::new(false));
        self.lock_cancels().insert(job, cancelled.clone());
        Slot {
            workers: self.clone(),
            job,
            cancelled,
        }
    }

    /// A slot was freed: the next in line gets it, or the count goes down.
    fn release(self: &Arc<Self>) {
        let next = {
            let mut admission = self.lock_admission();
            match admission.waiting.pop_front() {
                Some(next) => next,
                None => {
                    admission.running -= 1;
                    return;
                }
            }
        };
        // A waiter that gave up drops the slot, which frees it again for the one after.
        let _ = next.send(self.slot());
    }

    fn spawn(&self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        self.tasks
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .spawn(task);
    }

    fn worker_name(&self, job: u64) -> String {
        format!("{}-worker-{job}", self.manager)
    }

    fn thread_link(&self, inbox: Option<std::sync::mpsc::Receiver<Message>>) -> Link {
        Link::Thread(thread::Link {
            entry: self.entry.clone(),
            runtime: tokio::runtime::Handle::current(),
            inbox,
        })
    }

    /// Stops every worker: waiting starts fail, running jobs are cancelled, worker processes are
    /// killed and reaped. Thread workers cannot be killed: they are asked to stop.
    pub(crate) async fn shutdown(&self) {
        let waiting = {
            let mut admission = self.lock_admission();
            admission.closed = true;
            std::mem::take(&mut admission.waiting)
        };
        // Their receivers see the senders go: those starts fail with `Unavailable`.
        drop(waiting);
        for cancelled in self.lock_cancels().values() {
            cancelled.store(true, Ordering::Release);
        }
        self.threads.close();
        self.processes.kill_all();
        let mut tasks = std::mem::take(
            &mut *self
                .tasks
                .lock()
                .unwrap_or_else(|poison| poison.into_inner()),
        );
        while let Some(result) = tasks.join_next().await {
            if let Err(error) = result {
                tracing::error!(manager = &*self.manager, %error, "a worker task failed");
            }
        }
        self.processes.reap_idle().await;
    }
}

/// Runs a `mode = "thread"` solver on the manager's thread pool.
pub(crate) fn solve_in_thread<E, T, F>(
    workers: &Arc<Workers>,
    slot: &mut ReplySlot,
    event: E,
    timeout: Option<Duration>,
    solver: F,
) -> Outcome
where
    E: Event,
    T: Returns<E::Kind>,
    F: FnOnce(E, &mut Worker) -> T + Send + 'static,
{
    let workers = workers.clone();
    let reply: SharedReply = Arc::new(Mutex::new(slot.take_sender()));
    match (workers.admit(), timeout) {
        // The common case goes straight to a thread: no task to wait for a slot or a deadline.
        (Admitted::Now(slot), None) => {
            let job = thread_job(&workers, slot, event, solver, reply.clone(), None);
            if let Err(error) = workers.threads.run(job) {
                fail(
                    &reply,
                    Failure::unavailable(format!("cannot start a thread worker: {error}")),
                );
                return Outcome::Failed;
            }
        }
        (admitted, timeout) => workers.clone().spawn(async move {
            let slot = match admitted.slot().await {
                Ok(slot) => slot,
                Err(failure) => return fail(&reply, failure),
            };
            let cancelled = slot.cancelled.clone();
            let (done, finished) = oneshot::channel();
            let job = thread_job(&workers, slot, event, solver, reply.clone(), Some(done));
            if let Err(error) = workers.threads.run(job) {
                return fail(
                    &reply,
                    Failure::unavailable(format!("cannot start a thread worker: {error}")),
                );
            }
            let outcome =
                thread_outcome(&workers, &cancelled, &reply, E::NAME, timeout, finished).await;
            workers.counters.count(outcome);
        }),
    }
    Outcome::Offloaded
}

/// The job a thread worker runs: the solver under `catch_unwind`, then its answer. With `done`,
/// the outcome goes there to be counted (a timeout is watching); without, it is counted here.
fn thread_job<E, T, F>(
    workers: &Arc<Workers>,
    slot: Slot,
    event: E,
    solver: F,
    reply: SharedReply,
    done: Option<oneshot::Sender<Outcome>>,
) -> Box<dyn FnOnce() + Send>
where
    E: Event,
    T: Returns<E::Kind>,
    F: FnOnce(E, &mut Worker) -> T + Send + 'static,
{
    let mut worker = Worker {
        name: workers.worker_name(slot.job),
        cancelled: slot.cancelled.clone(),
        link: workers.thread_link(None),
    };
    let workers = workers.clone();
    Box::new(move || {
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| solver(event, &mut worker)));
        // Free the slot before answering: a requester holding its answer sees it free.
        drop(slot);
        let manager = &*workers.manager;
        let outcome = match result {
            Ok(returned) => {
                returned.finish(&mut ReplySlot::with_sender(take(&reply)), manager, E::NAME)
            }
            Err(panic) => {
                let message = panic_message(panic.as_ref());
                workers.counters.panics.fetch_add(1, Ordering::Relaxed);
                tracing::error!(manager, event = E::NAME, panic = %message, "thread solver panicked");
                fail(
                    &reply,
                    Failure::internal(format!("the solver of `{}` panicked: {message}", E::NAME)),
                );
                Outcome::Failed
            }
        };
        match done {
            Some(done) => {
                let _ = done.send(outcome);
            }
            None => workers.counters.count(outcome),
        }
    })
}

/// Awaits a thread job; past its timeout, cancels it and fails the request with `Timeout`.
/// A thread cannot be killed: one that ignores its cancellation keeps its slot until it returns.
async fn thread_outcome(
    workers: &Workers,
    cancelled: &AtomicBool,
    reply: &SharedReply,
    event: &str,
    timeout: Option<Duration>,
    finished: oneshot::Receiver<Outcome>,
) -> Outcome {
    let finished = async { finished.await.unwrap_or(Outcome::Failed) };
    tokio::pin!(finished);
    if let Some(timeout) = timeout {
        tokio::select! {
            outcome = &mut finished => return outcome,
            _ = tokio::time::sleep(timeout) => {}
        }
        cancelled.store(true, Ordering::Release);
        fail(
            reply,
            Failure::timeout(format!(
                "the solver of `{event}` did not finish within {timeout:?}"
            )),
        );
        let grace = workers.entry.router().config.worker_grace;
        tokio::select! {
            outcome = &mut finished => return outcome,
            _ = tokio::time::sleep(grace) => tracing::warn!(
                manager = &*workers.manager,
                event,
                "a thread worker ignored its cancellation; it keeps its slot until it returns"
            ),
        }
    }
    finished.await
}

/// A `Work` type that can run in a worker process, found by the child in this table.
#[doc(hidden)]
pub struct WorkEntry {
    /// `module::Type`.
    pub key: &'static str,
    /// Decodes the value and runs it.
    pub run: fn(&[u8], &mut Worker) -> Result<Vec<u8>, Failure>,
}

#[doc(hidden)]
#[linkme::distributed_slice]
pub static WORKS: [WorkEntry];

/// Runs a registered `Work` inside the child: decode, run.
#[doc(hidden)]
pub fn run_work<W: Work + DeserializeOwned>(
    bytes: &[u8],
    worker: &mut Worker,
) -> Result<Vec<u8>, Failure> {
    let mut work: W = crate::wire::decode(bytes).map_err(|error| {
        Failure::internal(format!(
            "cannot decode the work `{}` in the worker process: {error}",
            type_name::<W>()
        ))
    })?;
    work.run(worker);
    Ok(Vec::new())
}

/// Runs a `mode = "process"` solver in one of the manager's worker processes.
pub(crate) fn solve_in_process<E: Event>(
    workers: &Arc<Workers>,
    slot: &mut ReplySlot,
    event: E,
    solver: &'static str,
    timeout: Option<Duration>,
) -> Outcome {
    let workers = workers.clone();
    let reply: SharedReply = Arc::new(Mutex::new(slot.take_sender()));
    let admitted = workers.admit();
    workers.clone().spawn(async move {
        let outcome = workers
            .run_in_process::<E>(admitted, &event, solver, timeout, &reply)
            .await;
        workers.counters.count(outcome);
    });
    Outcome::Offloaded
}

impl Workers {
    async fn run_in_process<E: Event>(
        self: &Arc<Self>,
        admitted: Admitted,
        event: &E,
        solver: &'static str,
        timeout: Option<Duration>,
        reply: &SharedReply,
    ) -> Outcome {
        let slot = match admitted.slot().await {
            Ok(slot) => slot,
            Err(failure) => {
                fail(reply, failure);
                return Outcome::Failed;
            }
        };
        let body = match crate::wire::encode(event) {
            Ok(body) => body,
            Err(error) => {
                fail(
                    reply,
                    Failure::internal(format!(
                        "cannot send `{}` ({}) to a worker process: {error}",
                        E::NAME,
                        type_name::<E>()
                    )),
                );
                return Outcome::Failed;
            }
        };
        let start = ToChild::Run {
            solver: solver.to_owned(),
            event: body,
            worker: self.worker_name(slot.job),
            request_timeout_ms: self.request_timeout_ms(),
        };
        let on_timeout = || {
            slot.cancelled.store(true, Ordering::Release);
            fail(
                reply,
                Failure::timeout(format!(
                    "the solver of `{}` did not finish within {timeout:?}",
                    E::NAME
                )),
            );
        };
        let result = self
            .converse_in_child(start, timeout, on_timeout, None)
            .await;
        // Free the slot before answering: a requester holding its answer sees it free.
        drop(slot);
        match result {
            Ok(Ok(bytes)) => match <E::Kind as crate::event::KindCodec>::decode_answer(&bytes) {
                Ok(response) => {
                    if let Some(sender) = take(reply) {
                        let _ = sender.send(Ok(response));
                    }
                    Outcome::Done
                }
                Err(failure) => {
                    fail(reply, failure);
                    Outcome::Failed
                }
            },
            Ok(Err(failure)) | Err(failure) => {
                fail(reply, failure);
                Outcome::Failed
            }
        }
    }

    fn request_timeout_ms(&self) -> u64 {
        u64::try_from(self.entry.router().config.request_timeout.as_millis()).unwrap_or(u64::MAX)
    }

    /// Runs one job in a pooled child; `Err` when the child could not be had or was lost.
    async fn converse_in_child(
        &self,
        start: ToChild,
        timeout: Option<Duration>,
        on_timeout: impl FnOnce(),
        to_worker: Option<tokio::sync::mpsc::Receiver<ToWorker>>,
    ) -> Result<Result<Vec<u8>, Failure>, Failure> {
        let what = match &start {
            ToChild::Run { solver, .. } => format!("the solver `{solver}`"),
            ToChild::Start { work, .. } => format!("the work `{work}`"),
            _ => "a job".to_owned(),
        };
        let mut child = self.processes.take().await.map_err(|error| {
            Failure::unavailable(format!("cannot start a worker process for {what}: {error}"))
        })?;
        match converse(
            &mut child,
            start,
            &self.entry,
            timeout,
            on_timeout,
            to_worker,
        )
        .await
        {
            JobEnd::Done { answer, panicked } => {
                if panicked {
                    self.counters.panics.fetch_add(1, Ordering::Relaxed);
                }
                self.processes.give_back(child).await;
                Ok(answer)
            }
            JobEnd::TimedOut => {
                let pid = child.pid;
                let how = self.processes.discard(child).await;
                tracing::warn!(
                    manager = &*self.manager,
                    pid,
                    "a worker process overran its timeout and grace period: it {how}"
                );
                Err(Failure::timeout(format!("{what} did not finish in time")))
            }
            JobEnd::Lost(reason) => {
                let pid = child.pid;
                let how = self.processes.discard(child).await;
                if self.processes.is_closed() {
                    return Err(Failure::unavailable(format!(
                        "manager `{}` is shutting down: its worker process running {what} was stopped",
                        self.manager
                    )));
                }
                tracing::error!(manager = &*self.manager, pid, %reason, "worker process lost: it {how}");
                Err(Failure::internal(format!(
                    "the worker process (pid {pid}) running {what} {reason}: it {how}"
                )))
            }
        }
    }

    /// Starts a long-lived worker; waits for a `max_workers` slot first.
    pub(crate) async fn start_work<W: Work>(
        self: &Arc<Self>,
        mut work: W,
        mode: Mode,
    ) -> Result<WorkerHandle, Failure> {
        let process = match mode {
            Mode::Process => Some(work.__process().ok_or_else(|| {
                Failure::bad_request(format!(
                    "`{}` cannot run in a worker process: derive Serialize and Deserialize for it and put #[edri::work] on its `impl Work` block",
                    type_name::<W>()
                ))
            })?),
            Mode::Thread => None,
        };
        let slot = self.admit().slot().await?;
        let name = self.worker_name(slot.job);
        let cancelled = slot.cancelled.clone();
        let (finished_in, finished) = oneshot::channel();
        let workers = self.clone();
        let to_worker = match process {
            None => {
                let (deliveries, inbox) = std::sync::mpsc::channel();
                let mut worker = Worker {
                    name: name.clone(),
                    cancelled: cancelled.clone(),
                    link: self.thread_link(Some(inbox)),
                };
                let started = self.threads.run(Box::new(move || {
                    let result =
                        std::panic::catch_unwind(AssertUnwindSafe(|| work.run(&mut worker)))
                            .map_err(|panic| {
                                Failure::internal(format!(
                                    "the work `{}` panicked: {}",
                                    type_name::<W>(),
                                    panic_message(panic.as_ref())
                                ))
                            });
                    let _ = finished_in.send(result);
                    drop(slot);
                }));
                started.map_err(|error| {
                    Failure::unavailable(format!("cannot start a thread worker: {error}"))
                })?;
                ToWorkerLink::Thread(Mutex::new(Some(deliveries)))
            }
            Some((key, value)) => {
                let value = value.map_err(|error| {
                    Failure::internal(format!(
                        "cannot send the work `{}` to a worker process: {error}",
                        type_name::<W>()
                    ))
                })?;
                let (sender, receiver) = tokio::sync::mpsc::channel(64);
                let start = ToChild::Start {
                    work: key.to_owned(),
                    value,
                    worker: name.clone(),
                    request_timeout_ms: self.request_timeout_ms(),
                };
                self.spawn(async move {
                    let result = workers
                        .converse_in_child(start, None, || {}, Some(receiver))
                        .await;
                    let _ = finished_in.send(result.and_then(|answer| answer.map(drop)));
                    drop(slot);
                });
                ToWorkerLink::Process(sender)
            }
        };
        Ok(WorkerHandle {
            name,
            cancelled,
            to_worker,
            finished: Mutex::new(Some(finished)),
        })
    }
}

enum ToWorkerLink {
    Thread(Mutex<Option<std::sync::mpsc::Sender<Message>>>),
    Process(tokio::sync::mpsc::Sender<ToWorker>),
}

/// The manager's side of a long-lived worker started with
/// [`Context::start_worker`](crate::Context::start_worker): send it events, cancel it, wait
/// for it.
pub struct WorkerHandle {
    name: String,
    cancelled: Arc<AtomicBool>,
    to_worker: ToWorkerLink,
    finished: Mutex<Option<oneshot::Receiver<Result<(), Failure>>>>,
}

impl WorkerHandle {
    /// The worker's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sends an event to the worker; it arrives at [`Worker::recv`].
    pub async fn send<E: Event>(&self, event: E) -> Result<(), Failure> {
        let gone =
            || Failure::unavailable(format!("the worker `{}` has stopped receiving", self.name));
        match &self.to_worker {
            ToWorkerLink::Thread(sender) => {
                let sender = sender.lock().unwrap_or_else(|poison| poison.into_inner());
                sender
                    .as_ref()
                    .ok_or_else(gone)?
                    .send(Message::local(event))
                    .map_err(|_| gone())
            }
            ToWorkerLink::Process(sender) => {
                let body = crate::wire::encode(&event).map_err(|error| {
                    Failure::internal(format!(
                        "cannot send `{}` ({}) to a worker process: {error}",
                        E::NAME,
                        type_name::<E>()
                    ))
                })?;
                sender
                    .send(ToWorker::Deliver {
                        name: E::NAME.to_owned(),
                        body,
                    })
                    .await
                    .map_err(|_| gone())
            }
        }
    }

    /// Asks the worker to stop: `worker.is_cancelled()` turns true and `worker.recv()` returns
    /// `None`.
    pub async fn cancel(&self) {
        self.cancelled.store(true, Ordering::Release);
        match &self.to_worker {
            ToWorkerLink::Thread(sender) => drop(
                sender
                    .lock()
                    .unwrap_or_else(|poison| poison.into_inner())
                    .take(),
            ),
            ToWorkerLink::Process(sender) => {
                let _ = sender.send(ToWorker::Cancel).await;
            }
        }
    }

    /// Waits until the worker's `run` returns: `Ok`, or a failure (it panicked, or its process
    /// died).
    pub async fn join(&self) -> Result<(), Failure> {
        let finished = self
            .finished
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .take();
        match finished {
            Some(finished) => finished
                .await
                .unwrap_or_else(|_| Err(Failure::internal("the worker vanished"))),
            None => Err(Failure::bad_request(
                "join() was already called on this worker",
            )),
        }
    }
}

impl std::fmt::Debug for WorkerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerHandle")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}
