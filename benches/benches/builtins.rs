//! `cargo bench --bench builtins`: the built-in managers. The store's `Set` and `Get` asks per
//! second, in memory and persisted, from one client and from 16 at once, with the cost of a
//! `Flush` and the size of the file; the scheduler holding 100 000 pending jobs: adding them,
//! their memory, the CPU they cost while idle, listing and cancelling them, and 100 000 jobs
//! falling due at once. Prints two tables.
//!
//! Sizes: `BENCH_STORE_OPS` (default 100000), `BENCH_JOBS` (100000), `BENCH_REPETITIONS` (3:
//! each figure is the median of the repetitions, printed one by one on stderr).
//! `cargo bench --bench builtins -- store` (or `-- scheduler`) runs one half.

use std::alloc::{GlobalAlloc, Layout, System};
use std::error::Error;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use edri::prelude::*;
use edri::scheduler::{self, Job};
use edri::store;
use edri::Value;
use tokio::sync::Notify;

type BenchResult<T> = Result<T, Box<dyn Error + Send + Sync>>;

/// The system allocator, counting the bytes allocated minus the bytes freed while a memory
/// step runs ([`added_memory`]): the heap a step leaves behind, exactly, where the resident
/// size also counts what the allocator keeps after frees. Outside the steps it costs one
/// relaxed load per call.
struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static HEAP_NET: AtomicIsize = AtomicIsize::new(0);

fn count(bytes: isize) {
    if COUNTING.load(Ordering::Relaxed) {
        HEAP_NET.fetch_add(bytes, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded unchanged to `System`; the counting touches no memory of
// the allocations.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize);
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize);
        System.alloc_zeroed(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as isize));
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size as isize - layout.size() as isize);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// How many tasks ask at once in the concurrent runs.
const CLIENTS: usize = 16;

/// Asks made before each measured run, so that queues, tables and caches are warm.
const WARM_UP: usize = 500;

/// The floor: a request to a manager that does nothing else, priced in the same run.
#[event(request, response = u64)]
pub struct Echo {
    pub value: u64,
}

#[derive(Default)]
pub struct Echoer;

#[manager]
impl Echoer {
    #[solve(req)]
    async fn echo(&mut self, event: Echo) -> u64 {
        event.value
    }
}

/// The event of the jobs that wait an hour: never sent during the run.
#[event(notification)]
pub struct Later {}

/// The event of the jobs that fall due together, counted by [`Counter`].
#[event(notification)]
pub struct Due {}

/// How many [`Due`] the counter has received.
#[event(request)]
pub struct Count {
    #[response]
    pub count: u64,
}

/// Counts [`Due`] notifications and wakes the driver when the last one arrives, so the driver
/// waits on an event rather than polling the count.
pub struct Counter {
    count: u64,
    target: u64,
    done: Arc<Notify>,
}

#[manager]
impl Counter {
    #[solve(req)]
    async fn due(&mut self, _event: Due) {
        self.count += 1;
        if self.count == self.target {
            // Leaves a permit if the driver is not waiting yet: the wake-up is never lost.
            self.done.notify_one();
        }
    }

    #[solve(req)]
    async fn count(&mut self, _event: Count) -> CountResponse {
        CountResponse { count: self.count }
    }
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn key(i: usize) -> String {
    format!("key-{i}")
}

struct Latencies(Vec<Duration>);

impl Latencies {
    fn percentile(&mut self, p: f64) -> Duration {
        self.0.sort_unstable();
        let index = ((self.0.len() - 1) as f64 * p).round() as usize;
        self.0[index]
    }
}

/// One client asking in a loop: asks per second, and the latency of each ask.
async fn one_client<F, Fut>(ops: usize, mut ask: F) -> BenchResult<(f64, Vec<Duration>)>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = BenchResult<()>>,
{
    for i in 0..WARM_UP.min(ops) {
        ask(i).await?;
    }
    let mut all = Vec::with_capacity(ops);
    let started = Instant::now();
    for i in 0..ops {
        let start = Instant::now();
        ask(i).await?;
        all.push(start.elapsed());
    }
    let rate = ops as f64 / started.elapsed().as_secs_f64();
    Ok((rate, all))
}

/// [`CLIENTS`] tasks asking at once, `ops` asks in all: asks per second.
async fn many_clients<F, Fut>(ops: usize, ask: F) -> BenchResult<f64>
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = BenchResult<()>> + Send,
{
    let started = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let ask = ask.clone();
            tokio::spawn(async move {
                for i in (client..ops).step_by(CLIENTS) {
                    ask(i).await?;
                }
                BenchResult::Ok(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    Ok(ops as f64 / started.elapsed().as_secs_f64())
}

async fn set(edri: &Handle, i: usize) -> BenchResult<()> {
    edri.ask(store::Set::new(key(i), i as i64)).await?;
    Ok(())
}

async fn get(edri: &Handle, i: usize) -> BenchResult<()> {
    let answer = edri.ask(store::Get::new(key(i))).await?;
    if answer.value != Some(Value::Int(i as i64)) {
        return Err(format!("`{}` holds {:?}, not {i}", answer.key, answer.value).into());
    }
    Ok(())
}

/// Times a `Flush`: how long the writer takes to commit what the sets left pending.
async fn flush(edri: &Handle) -> BenchResult<Duration> {
    let started = Instant::now();
    edri.ask(store::Flush {}).await?;
    Ok(started.elapsed())
}

/// One repetition of one column of the store's table.
struct StoreRun {
    set_one: f64,
    set_latency: Vec<Duration>,
    set_many: f64,
    get_one: f64,
    get_latency: Vec<Duration>,
    get_many: f64,
    /// Persisted only: the flush after the one-client sets, then after the 16-client ones.
    flushes: Option<(Duration, Duration)>,
    /// Persisted only: the file's size after the first `ops` sets, then at the end.
    file_sizes: Option<(u64, u64)>,
}

/// Sets `ops` keys from one client, reads them back, then sets and reads them all again from
/// [`CLIENTS`] clients; a persisted store is flushed after each round of sets.
async fn measure_store(ops: usize, path: Option<&Path>) -> BenchResult<StoreRun> {
    let tasks = alive_tasks();
    let builder = match path {
        Some(path) => {
            // A fresh file every time: the first round inserts, the second overwrites.
            let _ = std::fs::remove_file(path);
            Edri::new().start_store_at(path)
        }
        None => Edri::new().start_store(),
    };
    let edri = builder.start().await?;
    let file_size = || path.map(|path| std::fs::metadata(path).map(|meta| meta.len()));

    let (set_one, set_latency) = one_client(ops, |i| set(&edri, i)).await?;
    let first_flush = flush(&edri).await?;
    let first_size = file_size().transpose()?;
    let (get_one, get_latency) = one_client(ops, |i| get(&edri, i)).await?;
    let handle = edri.clone();
    let set_many = many_clients(ops, move |i| {
        let edri = handle.clone();
        async move { set(&edri, i).await }
    })
    .await?;
    let second_flush = flush(&edri).await?;
    let handle = edri.clone();
    let get_many = many_clients(ops, move |i| {
        let edri = handle.clone();
        async move { get(&edri, i).await }
    })
    .await?;
    let last_size = file_size().transpose()?;
    edri.shutdown().await?;
    drop(edri);
    settle(tasks).await;
    if let Some(path) = path {
        std::fs::remove_file(path)?;
    }
    Ok(StoreRun {
        set_one,
        set_latency,
        set_many,
        get_one,
        get_latency,
        get_many,
        flushes: path.map(|_| (first_flush, second_flush)),
        file_sizes: first_size.zip(last_size),
    })
}

/// The floor: the same loops as the store's, asking a manager that echoes a number.
async fn measure_echo(ops: usize) -> BenchResult<(f64, Vec<Duration>, f64)> {
    let tasks = alive_tasks();
    let edri = Edri::new().manager(Echoer).start().await?;
    let (one, latency) = one_client(ops, |i| echo(&edri, i)).await?;
    let handle = edri.clone();
    let many = many_clients(ops, move |i| {
        let edri = handle.clone();
        async move { echo(&edri, i).await }
    })
    .await?;
    edri.shutdown().await?;
    drop(edri);
    settle(tasks).await;
    Ok((one, latency, many))
}

async fn echo(edri: &Handle, i: usize) -> BenchResult<()> {
    let value = i as u64;
    let answer = edri.ask(Echo { value }).await?;
    if answer != value {
        return Err(format!("echo of {value} answered {answer}").into());
    }
    Ok(())
}

/// The median of the repetitions' figures; there is at least one (`main` makes sure).
fn median<T: PartialOrd + Copy>(mut values: Vec<T>) -> T {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    values[values.len() / 2]
}

/// p50 / p99 over the latencies of every repetition.
fn percentiles(runs: &[StoreRun], pick: impl Fn(&StoreRun) -> &[Duration]) -> String {
    let mut latencies = Latencies(runs.iter().flat_map(pick).copied().collect());
    format!(
        "{} / {}",
        micros(latencies.percentile(0.5)),
        micros(latencies.percentile(0.99))
    )
}

async fn store_table(ops: usize, repetitions: usize) -> BenchResult<()> {
    let path: PathBuf =
        std::env::temp_dir().join(format!("edri-bench-store-{}.redb", std::process::id()));
    let (mut memory, mut persisted, mut floor) = (Vec::new(), Vec::new(), Vec::new());
    // Interleaved, so that a busy spell of the machine hits one sample of each column.
    for repetition in 1..=repetitions {
        let echo = measure_echo(ops).await?;
        eprintln!(
            "store #{repetition}: echo floor {:.0}/s, {CLIENTS} clients {:.0}/s",
            echo.0, echo.2
        );
        floor.push(echo);
        let run = measure_store(ops, None).await?;
        eprintln!(
            "store #{repetition}: in memory: set {:.0}/s, get {:.0}/s, {CLIENTS} clients set {:.0}/s, get {:.0}/s",
            run.set_one, run.get_one, run.set_many, run.get_many
        );
        memory.push(run);
        let run = measure_store(ops, Some(&path)).await;
        let _ = std::fs::remove_file(&path);
        let run = run?;
        eprintln!(
            "store #{repetition}: persisted: set {:.0}/s, get {:.0}/s, {CLIENTS} clients set {:.0}/s, get {:.0}/s, flushes {:?}, file {:?}",
            run.set_one, run.get_one, run.set_many, run.get_many, run.flushes, run.file_sizes
        );
        persisted.push(run);
    }

    let rate = |runs: &[StoreRun], pick: fn(&StoreRun) -> f64| {
        format!("{:.0}/s", median(runs.iter().map(pick).collect()))
    };
    let row = |what: &str, pick: fn(&StoreRun) -> f64, floor: String| {
        println!(
            "| {what} | {} | {} | {floor} |",
            rate(&memory, pick),
            rate(&persisted, pick)
        );
    };
    let floor_one = median(floor.iter().map(|run| run.0).collect());
    let floor_many = median(floor.iter().map(|run| run.2).collect());
    let mut floor_latency = Latencies(floor.into_iter().flat_map(|run| run.1).collect());
    println!();
    println!(
        "| store, {ops} asks per run, median of {repetitions} | in memory | persisted (redb file) | floor: echo manager |"
    );
    println!("|---|---:|---:|---:|");
    row(
        "`Set`, 1 client",
        |run| run.set_one,
        format!("{floor_one:.0}/s"),
    );
    println!(
        "| `Set`, 1 client: p50 / p99 latency | {} | {} | {} / {} |",
        percentiles(&memory, |run| &run.set_latency),
        percentiles(&persisted, |run| &run.set_latency),
        micros(floor_latency.percentile(0.5)),
        micros(floor_latency.percentile(0.99))
    );
    row(
        &format!("`Set`, {CLIENTS} clients"),
        |run| run.set_many,
        format!("{floor_many:.0}/s"),
    );
    row("`Get`, 1 client", |run| run.get_one, String::new());
    println!(
        "| `Get`, 1 client: p50 / p99 latency | {} | {} | |",
        percentiles(&memory, |run| &run.get_latency),
        percentiles(&persisted, |run| &run.get_latency)
    );
    row(
        &format!("`Get`, {CLIENTS} clients"),
        |run| run.get_many,
        String::new(),
    );
    let flushes: Vec<(Duration, Duration)> =
        persisted.iter().filter_map(|run| run.flushes).collect();
    let sizes: Vec<(u64, u64)> = persisted.iter().filter_map(|run| run.file_sizes).collect();
    if !flushes.is_empty() && !sizes.is_empty() {
        println!(
            "| `Flush` right after the {ops} sets of 1 client / of {CLIENTS} clients | | {} / {} | |",
            millis(median(flushes.iter().map(|f| f.0).collect())),
            millis(median(flushes.iter().map(|f| f.1).collect()))
        );
        let (size, last_size) = (
            median(sizes.iter().map(|s| s.0).collect()),
            median(sizes.iter().map(|s| s.1).collect()),
        );
        println!(
            "| file size after {ops} keys set / after setting them all again | | {:.1} MB ({:.0} B per key) / {:.1} MB | |",
            size as f64 / 1e6,
            size as f64 / ops.max(1) as f64,
            last_size as f64 / 1e6
        );
    }
    Ok(())
}

/// Resident memory of the process, from `/proc/self/statm` (its second field, in pages).
///
/// With `trim`, glibc first returns the free memory of its heaps to the system
/// (`malloc_trim(0)`), so what remains is closer to the memory in use: without it, memory a
/// step allocated and freed (a vector of jobs being moved, a hash table outgrown) still counts.
fn resident_bytes(trim: bool) -> BenchResult<u64> {
    if trim {
        // SAFETY: malloc_trim only releases free memory of the allocator's own heaps.
        unsafe { libc::malloc_trim(0) };
    }
    let statm = std::fs::read_to_string("/proc/self/statm")?;
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .ok_or("/proc/self/statm has no resident field")?
        .parse()?;
    // SAFETY: sysconf only reads a configuration value.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Ok(pages * u64::try_from(page)?)
}

/// Memory a step added: heap bytes still allocated, and resident memory as the system sees it,
/// then after a trim.
struct Added {
    heap: i64,
    raw: u64,
    trimmed: u64,
}

/// Runs `step`, counting the heap it leaves allocated and the resident memory it adds.
async fn added_memory<T, Fut: Future<Output = BenchResult<T>>>(
    step: Fut,
) -> BenchResult<(T, Added)> {
    let before = resident_bytes(true)?;
    HEAP_NET.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::Relaxed);
    let output = step.await;
    COUNTING.store(false, Ordering::Relaxed);
    let heap = HEAP_NET.load(Ordering::Relaxed) as i64;
    let raw = resident_bytes(false)?.saturating_sub(before);
    let trimmed = resident_bytes(true)?.saturating_sub(before);
    Ok((output?, Added { heap, raw, trimmed }))
}

/// User plus system CPU time of the whole process so far, from `getrusage(RUSAGE_SELF)`.
fn cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the `rusage` it is given; a zeroed one is valid if it fails.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    let time = |tv: libc::timeval| {
        Duration::from_secs(tv.tv_sec as u64) + Duration::from_micros(tv.tv_usec as u64)
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// The CPU the whole process uses while it waits one second with nothing to do.
async fn idle_cpu() -> Duration {
    let before = cpu_time();
    tokio::time::sleep(Duration::from_secs(1)).await;
    cpu_time().saturating_sub(before)
}

const HOUR: Duration = Duration::from_secs(3600);

/// How many tasks the runtime runs now.
fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// Waits until the runtime is back to `tasks` tasks after a system shut down. `shutdown`
/// returns once the managers have stopped, but the helper tasks they abort (the scheduler's
/// timer, the store's expiry task) end a little later, and the last of them frees the jobs or
/// keys: without this, a system's memory is freed while the next step is measured.
async fn settle(tasks: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive_tasks() > tasks {
        if Instant::now() > deadline {
            eprintln!("{} tasks still alive 5 s after a shutdown", alive_tasks());
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Times a `List`, and gives the names it lists.
async fn list(edri: &Handle, expected: usize) -> BenchResult<(Duration, Vec<String>)> {
    let started = Instant::now();
    let jobs = edri.ask(scheduler::List {}).await?.jobs;
    let elapsed = started.elapsed();
    if jobs.len() != expected {
        return Err(format!("`List` gave {} jobs, not {expected}", jobs.len()).into());
    }
    Ok((elapsed, jobs.into_iter().map(|job| job.name).collect()))
}

/// One repetition of the scheduler's table.
struct SchedulerRun {
    empty_start: Duration,
    empty_idle: Duration,
    full_start: Duration,
    memory_at_start: Added,
    full_idle: Duration,
    first_list: Duration,
    set_all: Duration,
    memory_by_set: Added,
    second_list: Duration,
    cancel_all: Duration,
    fired: Duration,
    late: bool,
}

async fn measure_scheduler(jobs: usize) -> BenchResult<SchedulerRun> {
    let tasks = alive_tasks();
    // An empty scheduler first: the start-up and idle CPU the jobs are compared with.
    let started = Instant::now();
    let edri = Edri::new().start_scheduler([]).start().await?;
    let empty_start = started.elapsed();
    let empty_idle = idle_cpu().await;
    edri.shutdown().await?;
    drop(edri);
    settle(tasks).await;

    // Jobs given to `start_scheduler`: the memory counts building them, the time does not.
    let ((edri, full_start), memory_at_start) = added_memory(async {
        let pending: Vec<Job> = (0..jobs).map(|_| Job::new(Later {}).after(HOUR)).collect();
        let started = Instant::now();
        let edri = Edri::new().start_scheduler(pending).start().await?;
        Ok((edri, started.elapsed()))
    })
    .await?;
    let full_idle = idle_cpu().await;
    let (first_list, _) = list(&edri, jobs).await?;
    edri.shutdown().await?;
    drop(edri);
    settle(tasks).await;

    // The same jobs through `Set` asks, then `List`, and `Cancel` of each listed name.
    let edri = Edri::new().start_scheduler([]).start().await?;
    let (set_all, memory_by_set) = added_memory(async {
        let started = Instant::now();
        for _ in 0..jobs {
            let job = Job::new(Later {}).after(HOUR);
            edri.ask(scheduler::Set { job }).await?;
        }
        Ok(started.elapsed())
    })
    .await?;
    let (second_list, names) = list(&edri, jobs).await?;
    let started = Instant::now();
    for name in names {
        edri.ask(scheduler::Cancel { name }).await?;
    }
    let cancel_all = started.elapsed();
    list(&edri, 0).await?;
    edri.shutdown().await?;
    drop(edri);
    settle(tasks).await;

    // Jobs all due at one moment, far enough ahead for the start to end before it.
    let margin = (full_start * 3).max(Duration::from_secs(1));
    let done = Arc::new(Notify::new());
    let counter = Counter {
        count: 0,
        target: jobs as u64,
        done: done.clone(),
    };
    let due = tokio::time::Instant::now() + margin;
    let pending: Vec<Job> = (0..jobs).map(|_| Job::new(Due {}).at(due)).collect();
    let edri = Edri::new()
        .manager(counter)
        .start_scheduler(pending)
        .start()
        .await?;
    let late = tokio::time::Instant::now() > due;
    done.notified().await;
    let fired = due.elapsed();
    let count = edri.ask(Count {}).await?.count;
    edri.shutdown().await?;
    drop(edri);
    settle(tasks).await;
    if count != jobs as u64 {
        return Err(format!("{count} jobs ran, not {jobs}").into());
    }
    Ok(SchedulerRun {
        empty_start,
        empty_idle,
        full_start,
        memory_at_start,
        full_idle,
        first_list,
        set_all,
        memory_by_set,
        second_list,
        cancel_all,
        fired,
        late,
    })
}

async fn scheduler_table(jobs: usize, repetitions: usize) -> BenchResult<()> {
    eprintln!(
        "scheduler: a `Job` is {} bytes inline",
        std::mem::size_of::<Job>()
    );
    let mut runs = Vec::with_capacity(repetitions);
    for repetition in 1..=repetitions {
        let run = measure_scheduler(jobs).await?;
        eprintln!(
            "scheduler #{repetition}: start {:?} (empty {:?}), set {:?}, list {:?} / {:?}, cancel {:?}, fire {:?}{}, idle CPU {:?} (empty {:?}), heap {} / {} B",
            run.full_start,
            run.empty_start,
            run.set_all,
            run.first_list,
            run.second_list,
            run.cancel_all,
            run.fired,
            if run.late { " (late start)" } else { "" },
            run.full_idle,
            run.empty_idle,
            run.memory_at_start.heap,
            run.memory_by_set.heap,
        );
        runs.push(run);
    }
    let time = |pick: fn(&SchedulerRun) -> Duration| median(runs.iter().map(pick).collect());
    let per_job = |total: Duration| micros(total / jobs.max(1) as u32);
    // Memory from the first repetition only (there is one: `main` asks for at least one):
    // later ones reuse what earlier ones freed.
    let bytes = |added: &Added| {
        let per_job = |bytes: f64| format!("{:.0} B", bytes / jobs.max(1) as f64);
        format!(
            "{:.1} MB / {:.1} MB / {:.1} MB | {} / {} / {}",
            added.heap as f64 / 1e6,
            added.raw as f64 / 1e6,
            added.trimmed as f64 / 1e6,
            per_job(added.heap as f64),
            per_job(added.raw as f64),
            per_job(added.trimmed as f64)
        )
    };
    let (full_start, set_all, cancel_all, fired) = (
        time(|run| run.full_start),
        time(|run| run.set_all),
        time(|run| run.cancel_all),
        time(|run| run.fired),
    );
    println!();
    println!("| scheduler, {jobs} jobs, median of {repetitions} | time | per job |");
    println!("|---|---:|---:|");
    println!(
        "| `start()` with `start_scheduler({jobs} jobs due in 1 h)` (no jobs: {}) | {} | {} |",
        millis(time(|run| run.empty_start)),
        millis(full_start),
        per_job(full_start)
    );
    println!(
        "| {jobs} `scheduler::Set` asks, 1 client | {} | {} |",
        millis(set_all),
        per_job(set_all)
    );
    println!(
        "| resident memory added by `start_scheduler` (first run): heap / resident / resident after `malloc_trim` | {} |",
        bytes(&runs[0].memory_at_start)
    );
    println!(
        "| resident memory added by the `Set` asks (first run): heap / resident / resident after `malloc_trim` | {} |",
        bytes(&runs[0].memory_by_set)
    );
    println!(
        "| CPU of the whole process idle for 1 s, {jobs} jobs pending (no jobs: {}) | {} | |",
        millis(time(|run| run.empty_idle)),
        millis(time(|run| run.full_idle))
    );
    println!(
        "| `List` of {jobs} jobs (after `start_scheduler` / after `Set`) | {} / {} | |",
        millis(time(|run| run.first_list)),
        millis(time(|run| run.second_list))
    );
    println!(
        "| {jobs} `scheduler::Cancel` asks, 1 client | {} | {} |",
        millis(cancel_all),
        per_job(cancel_all)
    );
    let late = runs.iter().filter(|run| run.late).count();
    println!(
        "| {jobs} jobs due at one instant: from it to the last one counted{} | {} | {} |",
        if late > 0 {
            format!(" ({late} runs started late!)")
        } else {
            String::new()
        },
        millis(fired),
        per_job(fired)
    );
    Ok(())
}

fn micros(duration: Duration) -> String {
    format!("{:.1} us", duration.as_secs_f64() * 1e6)
}

fn millis(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1e3)
}

fn main() -> BenchResult<()> {
    // `cargo bench` passes `--bench`; any other argument names the halves to run.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"))
        .collect();
    let wanted = |name: &str| args.is_empty() || args.iter().any(|arg| name.contains(arg.as_str()));
    let (run_scheduler, run_store) = (wanted("scheduler"), wanted("store"));
    let ops = env("BENCH_STORE_OPS", 100_000);
    let jobs = env("BENCH_JOBS", 100_000);
    let repetitions = env("BENCH_REPETITIONS", 3).max(1);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    // The driver runs as a task on one of the two workers, not on the thread of `block_on`.
    runtime.block_on(async move {
        tokio::spawn(async move {
            // The scheduler first: its memory figure needs a process that has freed nothing yet.
            if run_scheduler {
                scheduler_table(jobs, repetitions).await?;
            }
            if run_store {
                store_table(ops, repetitions).await?;
            }
            BenchResult::Ok(())
        })
        .await?
    })
}
