//! Shutdown with events in flight: each one is processed, or its requester gets a failure;
//! none vanishes. `Edri::run` stops cleanly on SIGTERM and SIGINT with exit code 0.

mod common;

use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{App, Gate};
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

/// Far longer than an honest answer or failure takes here: a request with neither by then was
/// lost, and fails the test within seconds instead of stalling it.
const LOST_AFTER: Duration = Duration::from_secs(5);

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
            // Bounds the wait for room in the queue too, not only the wait for the answer.
            tokio::spawn(
                async move { tokio::time::timeout(LOST_AFTER, edri.ask(Work { n })).await },
            )
        })
        .collect();
    let stopping = tokio::spawn({
        let edri = edri.clone();
        async move { edri.shutdown().await }
    });
    gate.open();
    tokio::time::timeout(LOST_AFTER, stopping)
        .await
        .unwrap_or_else(|_| panic!("the shutdown did not end within {LOST_AFTER:?}"))
        .unwrap()
        .unwrap();

    let (mut answered, mut lost) = (0, Vec::new());
    for (n, requester) in requesters.into_iter().enumerate() {
        match requester.await.unwrap() {
            Ok(Ok(())) => answered += 1,
            Ok(Err(failure)) => assert_eq!(failure.status(), Status::Unavailable, "{failure}"),
            Err(_) => lost.push(n),
        }
    }
    assert!(
        lost.is_empty(),
        "requests {lost:?} got neither an answer nor a failure within {LOST_AFTER:?}"
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
    // `send` returns once the request is in the queue; the shutdown comes after that.
    let queued = edri.send(Work { n: 1 }).await.unwrap().timeout(LOST_AFTER);
    edri.shutdown().await.unwrap();
    // The shutdown fails it (at its 5 s deadline at the latest): a timeout here means it was lost.
    let failure = queued.await.unwrap_err();
    assert_eq!(failure.status(), Status::Unavailable, "{failure}");
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

/// How long the app may take to start, or to stop once signalled.
const APP_LIMIT: Duration = Duration::from_secs(10);

fn run_app_and_send(signal: &str) {
    let mut app = App::spawn(
        Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "app", "--nocapture", "--test-threads=1"])
            .env("EDRI_TEST_APP", "1"),
    );
    app.line_containing("ready", APP_LIMIT);
    let status = Command::new("kill")
        .args(["-s", signal, &app.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let rest = app.rest(APP_LIMIT);
    let status = app.wait();
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
