//! Thread and process solvers, `max_workers`, failures, timeouts, shutdown and long-lived
//! workers (`Work`).

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::alive;
use edri::prelude::*;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

/// Polls `done` (a condition no event announces) until it holds; fails the test if it does not
/// within `within`.
async fn until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::task::yield_now().await;
    }
}

fn now_micros() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros()
}

#[event(request)]
pub struct WhereAmI {
    #[response]
    pub thread: String,
    #[response]
    pub on_runtime: bool,
    #[response]
    pub pid: u32,
    #[response]
    pub doubled: u64,
}

#[event(request)]
pub struct Twice {
    pub value: u64,
    #[response]
    pub doubled: u64,
}

#[event(notification)]
pub struct Progress {
    pub from: String,
}

/// Meets `peers` solvers at a rendezvous in the parent before ending, proving they ran at once.
#[event(request)]
pub struct Overlap {
    pub peers: usize,
    #[response]
    pub pid: u32,
    #[response]
    pub started: u64,
    #[response]
    pub ended: u64,
}

#[event(request)]
pub struct Misbehave {
    pub how: String,
    #[response]
    pub pid: u32,
}

#[event(request)]
pub struct Stubborn {
    pub obey: bool,
}

/// Sent by a worker when it sees its cancellation.
#[event(notification)]
pub struct Stopping {
    pub pid: u32,
}

/// Asked by workers: answered once `peers` of them have arrived.
#[event(request)]
pub struct Arrive {
    pub peers: usize,
}

/// Sent by the meeting place when a worker arrives.
#[event(notification)]
pub struct Arrived {}

/// Parks each `Arrive` until enough have arrived, then answers them all.
#[derive(Default)]
pub struct Meeting {
    waiting: Vec<Responder<Arrive>>,
}

#[manager]
impl Meeting {
    #[solve(req)]
    async fn arrive(&mut self, event: Arrive, reply: Responder<Arrive>, ctx: &Context) {
        self.waiting.push(reply);
        ctx.notify(Arrived {}).await;
        if self.waiting.len() >= event.peers {
            for reply in self.waiting.drain(..) {
                reply.send(());
            }
        }
    }
}

#[derive(Default)]
pub struct Function;

#[manager]
impl Function {
    #[solve(req)]
    async fn twice(&mut self, event: Twice) -> TwiceResponse {
        TwiceResponse {
            doubled: event.value * 2,
        }
    }
}

fn where_am_i(worker: &mut Worker) -> WhereAmIResponse {
    worker
        .send(Progress {
            from: worker.name().to_owned(),
        })
        .unwrap();
    WhereAmIResponse {
        thread: std::thread::current().name().unwrap_or("").to_owned(),
        on_runtime: tokio::runtime::Handle::try_current().is_ok(),
        pid: std::process::id(),
        doubled: worker.ask(Twice { value: 21 }).unwrap().doubled,
    }
}

fn rendezvous(event: Overlap, worker: &mut Worker) -> OverlapResponse {
    let started = now_micros() as u64;
    worker.ask(Arrive { peers: event.peers }).unwrap();
    OverlapResponse {
        pid: std::process::id(),
        started,
        ended: now_micros() as u64,
    }
}

fn misbehave(event: Misbehave) -> MisbehaveResponse {
    match event.how.as_str() {
        "panic" => panic!("deliberate panic"),
        "abort" => std::process::abort(),
        "sigkill" => unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
            unreachable!()
        },
        "garbage" => {
            let junk = [0xffu8, 0xff, 0xff, 0x7f, 1, 2, 3];
            unsafe { libc::write(3, junk.as_ptr().cast(), junk.len()) };
            std::thread::sleep(Duration::from_secs(60));
            unreachable!()
        }
        _ => MisbehaveResponse {
            pid: std::process::id(),
        },
    }
}

fn stubborn(event: Stubborn, worker: &mut Worker) {
    while !worker.is_cancelled() {
        std::thread::sleep(Duration::from_millis(1));
    }
    worker
        .send(Stopping {
            pid: std::process::id(),
        })
        .unwrap();
    if !event.obey {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

#[derive(Default)]
pub struct Threads;

#[manager]
impl Threads {
    #[solve(req, mode = "thread")]
    fn where_am_i(_event: WhereAmI, worker: &mut Worker) -> WhereAmIResponse {
        where_am_i(worker)
    }
}

#[derive(Default)]
pub struct Processes;

#[manager(max_workers = 2)]
impl Processes {
    #[solve(req, mode = "process")]
    fn where_am_i(_event: WhereAmI, worker: &mut Worker) -> WhereAmIResponse {
        where_am_i(worker)
    }

    #[solve(req, mode = "process")]
    fn overlap(event: Overlap, worker: &mut Worker) -> OverlapResponse {
        rendezvous(event, worker)
    }

    #[solve(req, mode = "process")]
    fn misbehave(event: Misbehave) -> MisbehaveResponse {
        misbehave(event)
    }

    #[solve(req, mode = "process", timeout = "300ms")]
    fn stubborn(event: Stubborn, worker: &mut Worker) {
        stubborn(event, worker)
    }
}

pub struct Watcher {
    seen: mpsc::UnboundedSender<String>,
}

#[manager]
impl Watcher {
    #[solve(req)]
    async fn progress(&mut self, event: Progress) {
        let _ = self.seen.send(event.from);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_solver_runs_on_its_own_os_thread_and_talks_to_the_system() {
    let (seen, mut progress) = mpsc::unbounded_channel();
    let edri = Edri::new()
        .manager(Threads)
        .manager(Function)
        .manager(Watcher { seen })
        .start()
        .await
        .unwrap();
    let answer = edri.ask(WhereAmI {}).await.unwrap();
    assert!(
        answer.thread.starts_with("Threads-worker-"),
        "{}",
        answer.thread
    );
    assert!(
        !answer.on_runtime,
        "a thread solver must not run on a tokio thread"
    );
    assert_eq!(answer.pid, std::process::id());
    assert_eq!(answer.doubled, 42, "worker.ask reached a function solver");
    assert!(
        progress
            .recv()
            .await
            .unwrap()
            .starts_with("Threads-worker-"),
        "worker.send reached a subscriber"
    );
    edri.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_solver_runs_in_a_pooled_child_and_talks_to_the_system() {
    let (seen, mut progress) = mpsc::unbounded_channel();
    let edri = Edri::new()
        .manager(Processes)
        .manager(Function)
        .manager(Watcher { seen })
        .start()
        .await
        .unwrap();
    let first = edri.ask(WhereAmI {}).await.unwrap();
    assert_ne!(
        first.pid,
        std::process::id(),
        "a process solver runs in a child process"
    );
    assert_eq!(
        first.doubled, 42,
        "worker.ask from the child reached a function solver in the parent"
    );
    assert!(
        !progress.recv().await.unwrap().is_empty(),
        "worker.send from the child reached a subscriber"
    );
    let second = edri.ask(WhereAmI {}).await.unwrap();
    assert_eq!(second.pid, first.pid, "the idle child was reused");
    edri.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_process_solvers_run_in_parallel_in_two_children() {
    let edri = Edri::new()
        .manager(Processes)
        .manager(Meeting::default())
        .start()
        .await
        .unwrap();
    let ask =
        |edri: Handle| tokio::spawn(async move { edri.ask(Overlap { peers: 2 }).await.unwrap() });
    let (a, b) = (ask(edri.clone()), ask(edri.clone()));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    assert_ne!(a.pid, b.pid);
    assert!(a.pid != std::process::id() && b.pid != std::process::id());
    assert!(
        a.started < b.ended && b.started < a.ended,
        "the two jobs overlapped in time"
    );
    edri.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashing_child_fails_its_request_and_a_fresh_child_replaces_it() {
    let edri = Edri::new().manager(Processes).start().await.unwrap();
    let healthy = edri
        .ask(Misbehave { how: "fine".into() })
        .await
        .unwrap()
        .pid;
    let mut pids = HashSet::from([healthy]);
    for (how, expected) in [
        ("panic", "panicked: deliberate panic"),
        ("abort", "SIGABRT"),
        ("sigkill", "SIGKILL"),
        ("garbage", "unreadable frame"),
    ] {
        // The crash comes after the request is sent (to an idle child: no start-up in between),
        // so this bounds the time from the crash to the failure from above.
        let asked = Instant::now();
        let failure = edri
            .ask_timeout(Misbehave { how: how.into() }, Duration::from_secs(5))
            .await
            .unwrap_err();
        let took = asked.elapsed();
        // The promise is for a child that dies (or is killed for garbage). A panic is no crash:
        // the child lives on, and the time is the child's panic hook (with RUST_BACKTRACE=1, a
        // backtrace resolved in a debug build takes over a second on a loaded machine).
        if how != "panic" {
            assert!(
                took < Duration::from_secs(1),
                "{how}: the request failed {took:?} after it was sent, not within a second: {failure}"
            );
        }
        assert_eq!(failure.status(), Status::Internal, "{how}: {failure}");
        assert!(failure.message().contains(expected), "{how}: {failure}");
        // The slot is freed before the failure is answered (so, for a crash, within that second).
        assert_eq!(
            edri.stats()[0].workers_running,
            0,
            "{how}: the slot was freed by the time the request failed"
        );
        let after = edri
            .ask(Misbehave { how: "fine".into() })
            .await
            .unwrap()
            .pid;
        pids.insert(after);
    }
    // The panic keeps its child (the solver failed, the process did not); the others need new ones.
    assert!(pids.len() >= 4, "dead children were replaced: {pids:?}");
    let stats = edri.stats();
    assert_eq!(stats[0].workers_running, 0, "every slot was freed");
    edri.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overrunning_process_worker_is_cancelled_then_killed() {
    let edri = Edri::new().manager(Processes).start().await.unwrap();
    let mut stopping = edri.subscribe::<Stopping>();

    let failure = edri.ask(Stubborn { obey: false }).await.unwrap_err();
    assert_eq!(failure.status(), Status::Timeout, "{failure}");
    let ignoring = stopping.recv().await.unwrap().pid;
    wait_until_gone(ignoring as i32).await;

    let failure = edri.ask(Stubborn { obey: true }).await.unwrap_err();
    assert_eq!(failure.status(), Status::Timeout, "{failure}");
    let obeying = stopping.recv().await.unwrap().pid;
    assert_ne!(obeying, ignoring, "the killed child was replaced");
    // The cancelled job ends (and gives its child back) just after it said so.
    until(
        "the cancelled job gives its slot back",
        Duration::from_secs(5),
        || edri.stats()[0].workers_running == 0,
    )
    .await;
    let next = edri
        .ask(Misbehave { how: "fine".into() })
        .await
        .unwrap()
        .pid;
    assert_eq!(
        next, obeying,
        "a child that stopped in time is kept for the next job"
    );
    edri.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_reaps_every_child_even_in_the_middle_of_a_job() {
    let edri = Edri::new()
        .manager(Processes)
        .manager(Meeting::default())
        .start()
        .await
        .unwrap();
    let mut arrived = edri.subscribe::<Arrived>();
    // A job that never ends on its own: it waits for peers that never come.
    let stuck = tokio::spawn({
        let edri = edri.clone();
        async move { edri.ask(Overlap { peers: 99 }).await }
    });
    arrived.recv().await.unwrap();
    // A second child, started while the first is busy, finishes and waits idle.
    edri.ask(Misbehave { how: "fine".into() }).await.unwrap();
    let pids = edri
        .stats()
        .iter()
        .find(|s| s.name == "Processes")
        .unwrap()
        .worker_processes
        .clone();
    assert_eq!(pids.len(), 2, "one idle child and one busy child: {pids:?}");
    edri.shutdown().await.unwrap();
    for pid in pids {
        assert!(!alive(pid as i32), "child {pid} is gone after shutdown");
    }
    let failure = stuck.await.unwrap().unwrap_err();
    assert_eq!(failure.status(), Status::Unavailable, "{failure}");
}

/// Waits for a process to end without blocking the runtime.
async fn wait_until_gone(pid: i32) {
    tokio::task::spawn_blocking(move || common::wait_until_gone(pid))
        .await
        .unwrap();
}

/// A long-lived worker in the seed's style: echoes what it receives until told to stop.
#[derive(Serialize, Deserialize)]
pub struct Echo {
    prefix: String,
}

#[event(notification)]
pub struct Say {
    pub text: String,
}

#[event(notification)]
pub struct Said {
    pub text: String,
    pub pid: u32,
}

#[edri::work]
impl Work for Echo {
    fn run(&mut self, worker: &mut Worker) {
        while let Some(message) = worker.recv() {
            if let Ok(say) = message.get::<Say>() {
                worker
                    .send(Said {
                        text: format!("{}{}", self.prefix, say.text),
                        pid: std::process::id(),
                    })
                    .unwrap();
            }
        }
    }
}

#[event(notification)]
pub struct StartEcho {
    pub process: bool,
}

/// Warms up a worker process, so the long-lived worker that follows reuses that child.
#[event(request)]
pub struct WarmUp {}

#[derive(Default)]
pub struct Starter;

#[manager(max_workers = 1)]
impl Starter {
    #[solve(req, mode = "process")]
    fn warm_up(_event: WarmUp) {}

    #[solve(req)]
    async fn start_echo(&mut self, event: StartEcho, ctx: &Context) {
        let mode = if event.process {
            Mode::Process
        } else {
            Mode::Thread
        };
        let echo = ctx
            .start_worker(
                Echo {
                    prefix: format!("{mode}: "),
                },
                mode,
            )
            .await
            .unwrap();
        echo.send(Say { text: "one".into() }).await.unwrap();
        echo.send(Say { text: "two".into() }).await.unwrap();
        echo.cancel().await;
        echo.join().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_lived_workers_receive_events_and_send_them_on_in_both_modes() {
    let edri = Edri::new().manager(Starter).start().await.unwrap();
    let mut said = edri.subscribe::<Said>();
    // A child that already ran a solver job: events for the next job must still reach it.
    edri.ask(WarmUp {}).await.unwrap();
    for process in [false, true] {
        edri.notify(StartEcho { process }).await.unwrap();
        let mode = if process { "process" } else { "thread" };
        let first = said.recv().await.unwrap();
        let second = said.recv().await.unwrap();
        assert_eq!(
            [first.text, second.text],
            [format!("{mode}: one"), format!("{mode}: two")]
        );
        assert_eq!(
            first.pid == std::process::id(),
            !process,
            "{mode} worker pid"
        );
    }
    edri.shutdown().await.unwrap();
}

/// A thread job that announces its start, then waits for the gate to open.
#[event(request)]
pub struct Slow {
    pub tag: u32,
}

#[event(notification)]
pub struct SlowStarted {
    pub tag: u32,
}

#[event(request)]
pub struct PassGate {}

#[event(notification)]
pub struct OpenGate {}

#[event(request)]
pub struct Quick {}

/// Parks each `PassGate` until an `OpenGate` lets one through.
#[derive(Default)]
pub struct Gatekeeper {
    waiting: std::collections::VecDeque<Responder<PassGate>>,
    opened: usize,
}

#[manager]
impl Gatekeeper {
    #[solve(req)]
    async fn pass(&mut self, _event: PassGate, reply: Responder<PassGate>) {
        self.waiting.push_back(reply);
        self.release();
    }

    #[solve(req)]
    async fn open(&mut self, _event: OpenGate) {
        self.opened += 1;
        self.release();
    }
}

impl Gatekeeper {
    fn release(&mut self) {
        while self.opened > 0 {
            let Some(reply) = self.waiting.pop_front() else {
                return;
            };
            self.opened -= 1;
            reply.send(());
        }
    }
}

#[derive(Default)]
pub struct Limited;

#[manager(max_workers = 1)]
impl Limited {
    #[solve(req, mode = "thread")]
    fn slow(event: Slow, worker: &mut Worker) {
        worker.send(SlowStarted { tag: event.tag }).unwrap();
        worker.ask(PassGate {}).unwrap();
    }

    #[solve(req)]
    async fn quick(&mut self, _event: Quick) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_workers_queues_further_starts_in_fifo_order_while_the_manager_keeps_serving() {
    let edri = Edri::new()
        .manager(Limited)
        .manager(Gatekeeper::default())
        .start()
        .await
        .unwrap();
    let mut started = edri.subscribe::<SlowStarted>();
    let mut pending = Vec::new();
    for tag in 1..=3 {
        pending.push(edri.send(Slow { tag }).await.unwrap());
    }
    assert_eq!(started.recv().await.unwrap().tag, 1);
    // The manager's own queue keeps moving while its only worker slot is taken.
    edri.ask(Quick {}).await.unwrap();
    let limited = || {
        edri.stats()
            .into_iter()
            .find(|s| s.name == "Limited")
            .unwrap()
    };
    until(
        "two starts wait for the slot",
        Duration::from_secs(5),
        || limited().workers_pending >= 2,
    )
    .await;
    assert_eq!(
        (limited().workers_running, limited().workers_pending),
        (1, 2)
    );

    for expected in 2..=3 {
        edri.notify(OpenGate {}).await.unwrap();
        assert_eq!(
            started.recv().await.unwrap().tag,
            expected,
            "starts are served in FIFO order"
        );
    }
    edri.notify(OpenGate {}).await.unwrap();
    for answer in pending {
        answer.await.unwrap();
    }
    assert_eq!(
        (limited().workers_running, limited().workers_pending),
        (0, 0)
    );
    edri.shutdown().await.unwrap();
}

#[event(request)]
pub struct ThreadPanic {}

#[event(request)]
pub struct ThreadOverrun {}

#[derive(Default)]
pub struct TroubledThreads;

#[manager(max_workers = 1)]
impl TroubledThreads {
    #[solve(req, mode = "thread")]
    fn panics(_event: ThreadPanic) {
        panic!("thread trouble");
    }

    #[solve(req, mode = "thread", timeout = "100ms")]
    fn overruns(_event: ThreadOverrun, worker: &mut Worker) {
        while !worker.is_cancelled() {
            std::thread::sleep(Duration::from_millis(1));
        }
        worker
            .send(Stopping {
                pid: std::process::id(),
            })
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_solver_that_panics_or_overruns_fails_its_request_and_frees_its_slot() {
    let edri = Edri::new().manager(TroubledThreads).start().await.unwrap();
    let mut stopping = edri.subscribe::<Stopping>();

    let failure = edri.ask(ThreadPanic {}).await.unwrap_err();
    assert_eq!(failure.status(), Status::Internal, "{failure}");
    assert_eq!(
        failure.message(),
        "the solver of `thread-panic` panicked: thread trouble"
    );

    let failure = edri.ask(ThreadOverrun {}).await.unwrap_err();
    assert_eq!(failure.status(), Status::Timeout, "{failure}");
    // The worker saw its cancellation and stopped; with one slot, the next job can run.
    stopping.recv().await.unwrap();
    let failure = edri.ask(ThreadPanic {}).await.unwrap_err();
    assert_eq!(
        failure.status(),
        Status::Internal,
        "the slot was freed for the next job: {failure}"
    );

    let stats = &edri.stats()[0];
    assert_eq!(stats.panics, 2);
    edri.shutdown().await.unwrap();
}
