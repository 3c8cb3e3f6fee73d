//! Side-by-side benchmarks of edri against plain tokio channels (the floor), kameo, actix and
//! ractor, on the three in-process workloads of the design's part C.
//!
//! Every system gets the same workloads through the [`Subject`] trait, and the same machine
//! budget: a tokio runtime with two worker threads (actix, whose actors are thread-local, gets
//! two arbiters, that is two threads). Run with `cargo bench` from this folder; the table is
//! printed at the end. `docs/performance.md` explains the figures.

use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

pub mod actix_impl;
pub mod alloc_count;
pub mod edri_impl;
pub mod kameo_impl;
pub mod ractor_impl;
pub mod tokio_impl;

/// How many receivers (managers, actors, tasks) the one-way and fan-out workloads use.
pub const RECEIVERS: usize = 100;
/// Queue capacity used wherever a system lets us choose (edri's default).
pub const CAPACITY: usize = 1024;

/// What every receiver shares: it counts what it has seen, and the last receiver to reach its
/// quota wakes the driver. No sleeps, no polling.
pub struct Shared {
    /// The cumulative count each receiver must reach to have finished the current run.
    target: AtomicU64,
    /// How many receivers reached `target`.
    done: AtomicUsize,
    finished: Notify,
}

impl Shared {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            target: AtomicU64::new(u64::MAX),
            done: AtomicUsize::new(0),
            finished: Notify::new(),
        })
    }

    /// Called by a receiver for every message it handles; `seen` is its own counter.
    #[inline]
    pub fn count(&self, seen: &mut u64) {
        *seen += 1;
        if *seen == self.target.load(Ordering::Relaxed)
            && self.done.fetch_add(1, Ordering::AcqRel) + 1 == RECEIVERS
        {
            self.finished.notify_one();
        }
    }

    /// Prepares a run in which each receiver gets `per_receiver` more messages; `before` is what
    /// each has seen so far (all runs give every receiver the same number).
    fn arm(&self, before: u64, per_receiver: u64) {
        self.done.store(0, Ordering::Relaxed);
        self.target.store(before + per_receiver, Ordering::Release);
    }

    async fn wait(&self) {
        tokio::time::timeout(Duration::from_secs(120), self.finished.notified())
            .await
            .expect("receivers did not finish within 120 s");
    }
}

/// The workloads as each system expresses them.
pub trait Subject: Send + Sync {
    /// One message to each receiver `0..RECEIVERS`, addressed to that receiver alone.
    fn one_way_round(&self, n: u64) -> impl Future<Output = ()> + Send;
    /// One notification that every receiver gets.
    fn fan_out(&self, n: u64) -> impl Future<Output = ()> + Send;
    /// One request answered by a single echo receiver; returns the answer.
    fn ask(&self, n: u64) -> impl Future<Output = u64> + Send;
}

/// Sizes of one repetition and how many repetitions to run.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// One-way messages per repetition (a multiple of `RECEIVERS`).
    pub one_way: u64,
    /// Fan-out notifications per repetition (each gives `RECEIVERS` deliveries).
    pub fan_out: u64,
    /// Sequential round trips per repetition.
    pub asks: u64,
    /// Measured repetitions (each after its own warm-up pass).
    pub repetitions: usize,
}

impl Plan {
    pub fn from_env() -> Self {
        let get = |name: &str, default: u64| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        let scale = std::env::var("BENCH_SCALE")
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(1.0);
        let scaled = |n: u64| ((n as f64 * scale) as u64).max(1);
        Plan {
            one_way: scaled(get("BENCH_ONE_WAY", 1_000_000)) / RECEIVERS as u64 * RECEIVERS as u64,
            fan_out: scaled(get("BENCH_FAN_OUT", 10_000)),
            asks: scaled(get("BENCH_ASKS", 200_000)),
            repetitions: get("BENCH_REPETITIONS", 7) as usize,
        }
    }
}

/// Median ns/op of each workload, with the spread of the repetitions, and the heap
/// allocations per operation counted during the same measured passes (all zero unless the
/// binary installs [`alloc_count::Counting`] as its global allocator).
#[derive(Clone, Debug, Default)]
pub struct Figures {
    pub one_way: Stat,
    pub fan_out: Stat,
    pub ask: Stat,
    /// Allocations per one-way message (per delivery).
    pub one_way_allocs: Stat,
    /// Allocations per fan-out delivery (a notification's allocations / `RECEIVERS`).
    pub fan_out_allocs: Stat,
    /// Allocations per ask round trip.
    pub ask_allocs: Stat,
}

#[derive(Clone, Debug, Default)]
pub struct Stat {
    pub samples: Vec<f64>,
}

impl Stat {
    pub fn median(&self) -> f64 {
        let mut s = self.samples.clone();
        s.sort_by(|a, b| a.partial_cmp(b).unwrap());
        if s.is_empty() {
            return f64::NAN;
        }
        let mid = s.len() / 2;
        if s.len() % 2 == 1 {
            s[mid]
        } else {
            (s[mid - 1] + s[mid]) / 2.0
        }
    }
    pub fn min(&self) -> f64 {
        self.samples.iter().cloned().fold(f64::INFINITY, f64::min)
    }
    pub fn max(&self) -> f64 {
        self.samples
            .iter()
            .cloned()
            .fold(f64::NEG_INFINITY, f64::max)
    }
}

/// Runs the three workloads against one system: a warm-up pass at a fifth of the sizes, then
/// one measured pass. `main` calls this once per system and repetition, systems interleaved, so
/// that a busy spell of the machine (others compile on it) hits one sample of every system
/// rather than every sample of one.
pub async fn measure<S: Subject>(subject: &S, shared: &Shared, plan: Plan) -> Figures {
    let warm_up = Plan {
        one_way: (plan.one_way / 5).max(RECEIVERS as u64) / RECEIVERS as u64 * RECEIVERS as u64,
        fan_out: (plan.fan_out / 5).max(1),
        asks: (plan.asks / 5).max(1),
        ..plan
    };
    let mut seen = 0u64;
    pass(subject, shared, warm_up, &mut seen).await;
    pass(subject, shared, plan, &mut seen).await
}

async fn pass<S: Subject>(subject: &S, shared: &Shared, plan: Plan, seen: &mut u64) -> Figures {
    // One-way: round-robin over the receivers, until every one has counted its share.
    let per_receiver = plan.one_way / RECEIVERS as u64;
    shared.arm(*seen, per_receiver);
    let allocations = alloc_count::allocations();
    let start = Instant::now();
    for n in 0..per_receiver {
        subject.one_way_round(n).await;
    }
    shared.wait().await;
    let one_way = start.elapsed().as_nanos() as f64 / plan.one_way as f64;
    let one_way_allocs = (alloc_count::allocations() - allocations) as f64 / plan.one_way as f64;
    *seen += per_receiver;

    // Fan-out: each notification reaches every receiver.
    shared.arm(*seen, plan.fan_out);
    let deliveries = (plan.fan_out * RECEIVERS as u64) as f64;
    let allocations = alloc_count::allocations();
    let start = Instant::now();
    for n in 0..plan.fan_out {
        subject.fan_out(n).await;
    }
    shared.wait().await;
    let fan_out = start.elapsed().as_nanos() as f64 / deliveries;
    let fan_out_allocs = (alloc_count::allocations() - allocations) as f64 / deliveries;
    *seen += plan.fan_out;

    // Ask: sequential round trips to one receiver.
    let (ask, ask_allocs) = ask_pass(subject, plan.asks).await;

    let one = |value: f64| Stat {
        samples: vec![value],
    };
    Figures {
        one_way: one(one_way),
        fan_out: one(fan_out),
        ask: one(ask),
        one_way_allocs: one(one_way_allocs),
        fan_out_allocs: one(fan_out_allocs),
        ask_allocs: one(ask_allocs),
    }
}

/// `asks` sequential round trips; returns ns and allocations per round trip. The answers are
/// checked.
async fn ask_pass<S: Subject>(subject: &S, asks: u64) -> (f64, f64) {
    let allocations = alloc_count::allocations();
    let start = Instant::now();
    let mut sum = 0u64;
    for n in 0..asks {
        sum = sum.wrapping_add(subject.ask(n).await);
    }
    let ns = start.elapsed().as_nanos() as f64 / asks as f64;
    let allocs = (alloc_count::allocations() - allocations) as f64 / asks as f64;
    assert_eq!(sum, (0..asks).sum::<u64>(), "wrong answers");
    (ns, allocs)
}

impl Figures {
    /// Adds another repetition's samples.
    pub fn extend(&mut self, other: Figures) {
        self.one_way.samples.extend(other.one_way.samples);
        self.fan_out.samples.extend(other.fan_out.samples);
        self.ask.samples.extend(other.ask.samples);
        self.one_way_allocs
            .samples
            .extend(other.one_way_allocs.samples);
        self.fan_out_allocs
            .samples
            .extend(other.fan_out_allocs.samples);
        self.ask_allocs.samples.extend(other.ask_allocs.samples);
    }
}

/// The runtime every tokio-based system runs on: multi-thread, two workers.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Builds the subject inside the runtime, then drives the workloads from a task on a worker
/// thread (not from the thread calling `block_on`, which is not one of the two workers).
pub fn run_on_tokio<S, B, F, D, DF>(build: B, teardown: D, plan: Plan) -> Figures
where
    S: Subject + 'static,
    B: FnOnce(Arc<Shared>) -> F + Send + 'static,
    F: Future<Output = S> + Send,
    D: FnOnce(S) -> DF + Send + 'static,
    DF: Future<Output = ()> + Send,
{
    drive(runtime(), async move {
        let shared = Shared::new();
        let subject = build(shared.clone()).await;
        let figures = measure(&subject, &shared, plan).await;
        teardown(subject).await;
        figures
    })
}

/// Runs `work` as a task on `runtime` (not as the `block_on` future: see
/// [`run_ask_on_current_thread`]), then shuts the runtime down.
fn drive<T: Send + 'static>(
    runtime: tokio::runtime::Runtime,
    work: impl Future<Output = T> + Send + 'static,
) -> T {
    let result =
        runtime.block_on(async move { tokio::spawn(work).await.expect("benchmark task panicked") });
    runtime.shutdown_timeout(Duration::from_secs(5));
    result
}

/// The ask workload alone, with requester and solver on one thread: a `current_thread` tokio
/// runtime, the driver a task on it (as in [`run_on_tokio`]), so every task the system spawns
/// (the solver's loop included) runs on that same thread, and a round trip is two task switches
/// with no cross-thread wake-up. This prices the ask path itself, without the scheduler's
/// cross-core hand-off that dominates the two-worker figure.
///
/// The driver is spawned rather than being the `block_on` future itself because waking the
/// `block_on` future of a current-thread runtime unparks its driver (an `eventfd` write when I/O
/// is enabled): every round trip would pay a system call that a spawned task does not.
/// Warm-up at a fifth of the size, as in [`measure`]; only `ask` and `ask_allocs` of the result
/// are filled.
pub fn run_ask_on_current_thread<S, B, F, D, DF>(build: B, teardown: D, plan: Plan) -> Figures
where
    S: Subject + 'static,
    B: FnOnce(Arc<Shared>) -> F + Send + 'static,
    F: Future<Output = S> + Send,
    D: FnOnce(S) -> DF + Send + 'static,
    DF: Future<Output = ()> + Send,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio current-thread runtime");
    drive(runtime, async move {
        let subject = build(Shared::new()).await;
        ask_pass(&subject, (plan.asks / 5).max(1)).await;
        let (ask, ask_allocs) = ask_pass(&subject, plan.asks).await;
        teardown(subject).await;
        Figures {
            ask: Stat { samples: vec![ask] },
            ask_allocs: Stat {
                samples: vec![ask_allocs],
            },
            ..Figures::default()
        }
    })
}
