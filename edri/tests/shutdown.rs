//! Shutdown with events in flight: each one is processed, or its requester gets a failure;
//! none vanishes. `Edri::run` stops cleanly on SIGTERM and SIGINT with exit code 0.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::Gate;
use edri::prelude::*;

#[event(request)]
pub struct Work {
    pub n: u64,
}

#[event(notification)]
pub struct Block {}

pub struct Worker {
    gate: Gate,
    solved: Arc<AtomicU64>,
}

#[manager(capacity = 64)]
impl Worker {
    #[solve(req)]
    async fn block(&mut self, _event: Block) {
        self.gate.pass().await;
    }

    #[solve(req)]
    async fn work(&mut self, _event: Work) {
        tokio::task::yield_now().await;
        self.solved.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_in_flight_at_shutdown_is_answered_or_failed() {
    let gate = Gate::default();
    let solved = Arc::new(AtomicU64::new(0));
    let edri = Edri::new()
        .manager(Worker {
            gate: gate.clone(),
            solved: solved.clone(),
        })
        .start()
        .await
        .unwrap();
    edri.notify(Block {}).await.unwrap();
    gate.entered().await;

    // 200 requesters against a queue of 64: some are queued, some wait for room.
    let requesters: Vec<_> = (0..200)
        .map(|n| {
            let edri = edri.clone();
            tokio::spawn(async move {
                edri.ask_timeout(Work { n }, Duration::from_secs(3600))
                    .await
            })
        })
        .collect();
    let stopping = tokio::spawn({
        let edri = edri.clone();
        async move { edri.shutdown().await }
    });
    gate.open();
    stopping.await.unwrap().unwrap();

    let (mut answered, mut failed) = (0, 0);
    for requester in requesters {
        match requester.await.unwrap() {
            Ok(()) => answered += 1,
            Err(failure) => {
                assert_eq!(failure.status(), Status::Unavailable, "{failure}");
                failed += 1;
            }
        }
    }
    assert_eq!(
        answered + failed,
        200,
        "every requester got an answer or a failure"
    );
    assert_eq!(
        answered,
        solved.load(Ordering::SeqCst),
        "an Ok answer means the work was done"
    );
}

#[tokio::test(start_paused = true)]
async fn a_solver_that_never_finishes_is_aborted_at_the_shutdown_deadline() {
    let gate = Gate::default();
    let solved = Arc::new(AtomicU64::new(0));
    let edri = Edri::new()
        .manager(Worker {
            gate: gate.clone(),
            solved,
        })
        .shutdown_timeout(Duration::from_secs(5))
        .start()
        .await
        .unwrap();
    edri.notify(Block {}).await.unwrap();
    gate.entered().await;
    let queued = tokio::spawn({
        let edri = edri.clone();
        async move {
            edri.ask_timeout(Work { n: 1 }, Duration::from_secs(3600))
                .await
        }
    });
    // Let the request reach the queue before shutting down.
    while edri.stats()[0].queue_depth == 0 {
        tokio::task::yield_now().await;
    }
    edri.shutdown().await.unwrap();
    let failure = queued.await.unwrap().unwrap_err();
    assert_eq!(failure.status(), Status::Unavailable);
}

/// The app run by the signal tests, in a child process: this same test binary, started with
/// `EDRI_TEST_APP=1`.
pub struct Announcer;

#[manager]
impl Announcer {
    async fn after_start(&mut self) {
        println!("ready");
    }

    async fn before_stop(&mut self) {
        println!("stopping");
    }
}

#[test]
fn app() {
    if std::env::var_os("EDRI_TEST_APP").is_some() {
        Edri::new().manager(Announcer).run().unwrap();
    }
}

fn run_app_and_send(signal: &str) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "app", "--nocapture", "--test-threads=1"])
        .env("EDRI_TEST_APP", "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    loop {
        let line = lines.next().expect("the app printed `ready`").unwrap();
        if line.contains("ready") {
            break;
        }
    }
    let status = Command::new("kill")
        .args(["-s", signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status after SIG{signal}: {status}");
    assert!(
        rest.iter().any(|line| line.contains("stopping")),
        "before_stop ran: {rest:?}"
    );
}

#[test]
fn run_stops_cleanly_on_sigterm() {
    run_app_and_send("TERM");
}

#[test]
fn run_stops_cleanly_on_sigint() {
    run_app_and_send("INT");
}

#[tokio::test]
async fn run_inside_a_runtime_is_a_clear_error() {
    let error = Edri::new().run().unwrap_err();
    assert!(matches!(error, edri::Error::NestedRuntime));
    assert!(error.to_string().contains("start().await"), "{error}");
}
