//! `cargo bench --bench workers`: requests to thread and process solvers, the cost of a cold
//! worker process, and the throughput of two process workers against two thread workers on a
//! CPU-bound job. Prints two tables.
//!
//! The thread-mode request has a floor measured in the same run: a
//! `tokio::task::spawn_blocking` round trip doing the same trivial work (returning the number it
//! was given). Both hand a job from the asking task to a parked pool thread and wake the task
//! with the answer, so the floor is what any thread hand-off costs on this machine, and edri's
//! p50 divided by it is what edri adds (target: at most 2x, or a p50 of 10 us or less).
//! The two are measured alternately, in blocks of [`BLOCK`] requests, so that a busy spell of
//! the machine hits both rather than one.
//!
//! Sizes: `BENCH_WORKER_ASKS` (default 2000), `BENCH_COLD_STARTS` (20), `BENCH_CPU_JOBS` (40).

use std::time::{Duration, Instant};

use edri::prelude::*;

#[event(request, response = u64)]
pub struct ThreadEcho {
    pub value: u64,
}

#[event(request, response = u64)]
pub struct ProcessEcho {
    pub value: u64,
}

/// A CPU-bound job: `rounds` rounds of a 64-bit mixing function.
#[event(request, response = u64)]
pub struct Crunch {
    pub rounds: u64,
}

#[event(request, response = u64)]
pub struct ThreadCrunch {
    pub rounds: u64,
}

#[derive(Default)]
pub struct Workers;

#[manager(max_workers = 2)]
impl Workers {
    #[solve(req, mode = "thread")]
    fn thread_echo(event: ThreadEcho) -> u64 {
        event.value
    }

    #[solve(req, mode = "process")]
    fn process_echo(event: ProcessEcho) -> u64 {
        event.value
    }

    #[solve(req, mode = "process")]
    fn crunch(event: Crunch) -> u64 {
        crunch(event.rounds)
    }

    #[solve(req, mode = "thread")]
    fn thread_crunch(event: ThreadCrunch) -> u64 {
        crunch(event.rounds)
    }
}

fn crunch(rounds: u64) -> u64 {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for i in 0..rounds {
        x ^= x >> 30;
        x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9).wrapping_add(i);
        x ^= x >> 27;
    }
    std::hint::black_box(x)
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

struct Latencies(Vec<Duration>);

impl Latencies {
    fn percentile(&mut self, p: f64) -> Duration {
        self.0.sort_unstable();
        let index = ((self.0.len() - 1) as f64 * p).round() as usize;
        self.0[index]
    }
}

/// Requests per block when two kinds of request are measured alternately.
const BLOCK: usize = 100;

/// `count` sequential requests of each of `a` and `b`, alternating in blocks of [`BLOCK`]
/// (after 50 warm-up requests of each); the latencies of `a`, then of `b`. Every answer is
/// checked.
async fn interleaved<A, FutA, B, FutB>(count: usize, mut a: A, mut b: B) -> (Latencies, Latencies)
where
    A: FnMut(u64) -> FutA,
    FutA: std::future::Future<Output = u64>,
    B: FnMut(u64) -> FutB,
    FutB: std::future::Future<Output = u64>,
{
    for i in 0..50 {
        assert_eq!(a(i).await, i);
        assert_eq!(b(i).await, i);
    }
    let mut all_a = Vec::with_capacity(count);
    let mut all_b = Vec::with_capacity(count);
    let mut i = 0u64;
    while all_a.len() < count {
        let block = BLOCK.min(count - all_a.len());
        for _ in 0..block {
            let start = Instant::now();
            let answer = a(i).await;
            all_a.push(start.elapsed());
            assert_eq!(answer, i);
            i += 1;
        }
        for _ in 0..block {
            let start = Instant::now();
            let answer = b(i).await;
            all_b.push(start.elapsed());
            assert_eq!(answer, i);
            i += 1;
        }
    }
    (Latencies(all_a), Latencies(all_b))
}

async fn latencies<F, Fut>(count: usize, mut ask: F) -> Latencies
where
    F: FnMut(u64) -> Fut,
    Fut: std::future::Future<Output = u64>,
{
    // Warm up: threads started, children spawned, caches hot.
    for i in 0..50 {
        assert_eq!(ask(i).await, i);
    }
    let mut all = Vec::with_capacity(count);
    for i in 0..count as u64 {
        let start = Instant::now();
        let answer = ask(i).await;
        all.push(start.elapsed());
        assert_eq!(answer, i);
    }
    Latencies(all)
}

fn micros(duration: Duration) -> String {
    format!("{:.1} us", duration.as_secs_f64() * 1e6)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let asks = env("BENCH_WORKER_ASKS", 2000);
        let edri = Edri::new().manager(Workers).start().await.unwrap();

        // The thread-mode request and its floor, `spawn_blocking` doing the solver's work.
        let (mut thread, mut floor) = interleaved(
            asks,
            |value| {
                let edri = edri.clone();
                async move { edri.ask(ThreadEcho { value }).await.unwrap() }
            },
            |value| async move {
                tokio::task::spawn_blocking(move || std::hint::black_box(value))
                    .await
                    .expect("the blocking closure cannot panic")
            },
        )
        .await;
        let mut process = latencies(asks, |value| {
            let edri = edri.clone();
            async move { edri.ask(ProcessEcho { value }).await.unwrap() }
        })
        .await;

        // A cold start: a new system whose first request must start a worker process.
        let cold_starts = env("BENCH_COLD_STARTS", 20);
        let mut cold = Vec::with_capacity(cold_starts);
        for value in 0..cold_starts as u64 {
            let fresh = Edri::new().manager(Workers).start().await.unwrap();
            let start = Instant::now();
            assert_eq!(fresh.ask(ProcessEcho { value }).await.unwrap(), value);
            cold.push(start.elapsed());
            fresh.shutdown().await.unwrap();
        }
        let mut cold = Latencies(cold);

        // Throughput on a CPU-bound job, two workers each (max_workers = 2 on 2 cores).
        let jobs = env("BENCH_CPU_JOBS", 40);
        let rounds = 20_000_000;
        let started = Instant::now();
        let pending: Vec<_> = (0..jobs).map(|_| edri.send(Crunch { rounds })).collect();
        for pending in futures_join(pending).await {
            pending.unwrap().await.unwrap();
        }
        let process_rate = jobs as f64 / started.elapsed().as_secs_f64();
        let started = Instant::now();
        let pending: Vec<_> = (0..jobs).map(|_| edri.send(ThreadCrunch { rounds })).collect();
        for pending in futures_join(pending).await {
            pending.unwrap().await.unwrap();
        }
        let thread_rate = jobs as f64 / started.elapsed().as_secs_f64();
        let single = {
            let start = Instant::now();
            crunch(rounds);
            1.0 / start.elapsed().as_secs_f64()
        };
        edri.shutdown().await.unwrap();

        let thread_p50 = thread.percentile(0.5);
        let floor_p50 = floor.percentile(0.5);
        let ratio = thread_p50.as_secs_f64() / floor_p50.as_secs_f64();
        let met = ratio <= 2.0 || thread_p50 <= Duration::from_micros(10);

        println!();
        println!("| workload | p50 | p99 | edri target | Python EDRI |");
        println!("|---|---|---|---|---|");
        println!(
            "| floor: `tokio::task::spawn_blocking` round trip, same work ({asks} requests, \
             interleaved with the next row) | {} | {} | | |",
            micros(floor_p50),
            micros(floor.percentile(0.99))
        );
        println!(
            "| request to a thread-mode solver ({asks} asks) | {} | {} | p50 <= 10 us | 1.3 ms |",
            micros(thread_p50),
            micros(thread.percentile(0.99))
        );
        println!(
            "| thread-mode p50 / floor p50 | {ratio:.2}x | | <= 2x or p50 <= 10 us: {} | |",
            if met { "met" } else { "**missed**" }
        );
        println!(
            "| request to a warm process-mode solver ({asks} asks) | {} | {} | p50 <= 100 us | 4.7 ms |",
            micros(process.percentile(0.5)),
            micros(process.percentile(0.99))
        );
        println!(
            "| cold process start + first answer ({cold_starts} starts) | {} | {} | | |",
            micros(cold.percentile(0.5)),
            micros(cold.percentile(0.99))
        );
        println!();
        println!("| CPU-bound job ({rounds} rounds, {jobs} jobs, max_workers = 2) | jobs/s |");
        println!("|---|---|");
        println!("| one job inline on one core | {single:.1} |");
        println!("| two thread workers | {thread_rate:.1} |");
        println!("| two process workers | {process_rate:.1} |");
    });
}

/// Awaits the sends in order (each returns once its request is queued).
async fn futures_join<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut outputs = Vec::with_capacity(futures.len());
    for future in futures {
        outputs.push(future.await);
    }
    outputs
}
