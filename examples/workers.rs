//! Where solvers run: on the manager's task (`mode = "function"`), on an OS thread
//! (`mode = "thread"`), in a child process (`mode = "process"`), and a long-lived worker
//! (`edri::Work`) started by a manager.
//!
//! Run it with `cargo run --example workers`. Every solver reports the process id and the name
//! of the thread it ran on: the function solver runs on a tokio runtime thread, the thread solver
//! on `Locator-worker-N`, the process solver in a child process (this same executable, started
//! again) with a pid of its own. It shuts down and exits with code 0.

use std::time::Duration;

use edri::prelude::*;
use edri::serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

/// Where a solver ran, and what it computed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(crate = "edri::serde")]
pub struct Place {
    pub pid: u32,
    pub thread: String,
    /// `worker.name()` for thread and process solvers.
    pub worker: Option<String>,
    /// The sum of the squares of `1..=n`.
    pub sum: u64,
}

/// Solved in the manager's own task.
#[event(request, response = Place)]
pub struct InFunction {
    pub n: u64,
}

/// Solved on an OS thread of the manager's worker pool.
#[event(request, response = Place)]
pub struct InThread {
    pub n: u64,
}

/// Solved in a child process.
#[event(request, response = Place)]
pub struct InProcess {
    pub n: u64,
}

/// Sent by workers with `worker.send(..)`; printed by `main`.
#[event(notification)]
pub struct Progress {
    pub from: String,
    pub pid: u32,
    pub text: String,
}

/// Tells `Tally` to start its long-lived worker; answered once the worker has finished.
#[event(request)]
pub struct RunCounter {
    pub numbers: Vec<u64>,
}

/// An event for the long-lived worker, sent by the manager through its `WorkerHandle`.
#[event(notification)]
pub struct Add {
    pub n: u64,
}

fn sum_of_squares(n: u64) -> u64 {
    (1..=n).map(|i| i * i).sum()
}

fn here(worker: Option<&Worker>, sum: u64) -> Place {
    Place {
        pid: std::process::id(),
        thread: std::thread::current()
            .name()
            .unwrap_or("<unnamed>")
            .to_owned(),
        worker: worker.map(|worker| worker.name().to_owned()),
        sum,
    }
}

// ---------------------------------------------------------------------------------------------
// A long-lived worker: the seed's `WorkerProcess` with its `do()`
// ---------------------------------------------------------------------------------------------

/// Adds up the numbers it receives until its manager cancels it. In process mode the value
/// crosses to the child, so it derives serde's traits and its impl carries `#[edri::work]`.
#[derive(Serialize, Deserialize)]
#[serde(crate = "edri::serde")]
pub struct Counter {
    total: u64,
}

#[edri::work]
impl Work for Counter {
    fn run(&mut self, worker: &mut Worker) {
        // `recv` returns `None` once the manager cancels the worker or drops its handle.
        while let Some(message) = worker.recv() {
            if let Ok(add) = message.get::<Add>() {
                self.total += add.n;
            }
        }
        let text = format!("total {}", self.total);
        let _ = worker.send(Progress {
            from: "long-lived worker".into(),
            pid: std::process::id(),
            text,
        });
    }
}

// ---------------------------------------------------------------------------------------------
// The manager
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
pub struct Locator;

#[manager(max_workers = 2)]
impl Locator {
    /// `mode = "function"` (the default): runs in the manager's task, on the async runtime.
    #[solve(req)]
    async fn in_function(&mut self, event: InFunction) -> Place {
        here(None, sum_of_squares(event.n))
    }

    /// Runs on an OS thread named `Locator-worker-N`, never on a runtime thread.
    #[solve(req, mode = "thread")]
    fn in_thread(event: InThread, worker: &mut Worker) -> Place {
        here(Some(worker), sum_of_squares(event.n))
    }

    /// Runs in a child process; it may still talk to the system through `worker`.
    #[solve(req, mode = "process", timeout = "30s")]
    fn in_process(event: InProcess, worker: &mut Worker) -> Result<Place, Failure> {
        // `ask` blocks this worker until the function solver (in the parent) answers.
        let parent = worker.ask(InFunction { n: 1 })?;
        worker.send(Progress {
            from: "process solver".into(),
            pid: std::process::id(),
            text: format!("asked the parent (pid {}) and got an answer", parent.pid),
        })?;
        Ok(here(Some(worker), sum_of_squares(event.n)))
    }
}

/// Runs the long-lived worker. A manager of its own, so the worker gets a child of its own: each
/// manager keeps its own pool of worker processes.
#[derive(Default)]
pub struct Tally;

#[manager(max_workers = 1)]
impl Tally {
    /// Starts the long-lived worker in a child process, feeds it, stops it and waits for it.
    #[solve(req)]
    async fn run_counter(&mut self, event: RunCounter, ctx: &Context) -> Result<(), Failure> {
        let counter = ctx
            .start_worker(Counter { total: 0 }, Mode::Process)
            .await?;
        for n in event.numbers {
            counter.send(Add { n }).await?;
        }
        // `worker.recv()` returns `None` from now on; `join` waits for `run` to return.
        counter.cancel().await;
        counter.join().await
    }
}

// ---------------------------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------------------------

fn show(mode: &str, place: &Place) {
    let worker = match &place.worker {
        Some(worker) => format!(", worker {worker}"),
        None => String::new(),
    };
    println!(
        "{mode}: pid {}, thread {}{worker}, sum {}",
        place.pid, place.thread, place.sum
    );
}

#[tokio::main]
async fn main() -> edri::Result<()> {
    let me = std::process::id();
    let thread = std::thread::current();
    println!(
        "example: pid {me}, thread {}",
        thread.name().unwrap_or("<unnamed>")
    );

    let edri = Edri::new().manager(Locator).manager(Tally).start().await?;
    let mut progress = edri.subscribe::<Progress>();

    // On a tokio runtime thread, in this process.
    let function = edri.ask(InFunction { n: 10 }).await?;
    show("function solver", &function);

    // On the manager's own OS thread, in this process.
    let thread = edri.ask(InThread { n: 100 }).await?;
    show("thread solver", &thread);

    // In a child process. It runs before the child's `main`, on a thread Rust has not named.
    let process = edri.ask(InProcess { n: 1000 }).await?;
    show("process solver", &process);
    if let Some(message) = progress.recv().await {
        println!("  {} (pid {}): {}", message.from, message.pid, message.text);
    }

    // The idle child is kept and reused for the next job.
    let again = edri.ask(InProcess { n: 1000 }).await?;
    let reused = if again.pid == process.pid {
        "the same child, reused"
    } else {
        "a new child"
    };
    println!("process solver again: pid {} ({reused})", again.pid);
    progress.recv().await;

    // A long-lived worker in a child process of its own.
    edri.ask(RunCounter {
        numbers: vec![1, 2, 3],
    })
    .await?;
    if let Some(message) = progress.recv().await {
        println!("{}: pid {}, {}", message.from, message.pid, message.text);
    }

    for stats in edri.stats() {
        println!(
            "{}: {} workers running, worker processes alive {:?}",
            stats.name, stats.workers_running, stats.worker_processes
        );
    }

    // Shutdown kills and reaps every worker process.
    tokio::time::timeout(Duration::from_secs(30), edri.shutdown())
        .await
        .expect("shutdown finishes")?;
    println!("shut down");
    Ok(())
}
