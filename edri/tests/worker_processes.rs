//! Process workers at the edges: children die with their parent even when it is SIGKILLed, a
//! plain (non-async) `main` with `Edri::run` works, and values that cannot cross the process
//! boundary fail their request with a reason naming the type.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{alive, wait_until_gone, App};
use edri::prelude::*;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[event(request)]
pub struct Pid {
    #[response]
    pub pid: u32,
}

#[derive(Default)]
pub struct Pids;

#[manager]
impl Pids {
    #[solve(req, mode = "process")]
    fn pid(_event: Pid) -> PidResponse {
        PidResponse {
            pid: std::process::id(),
        }
    }
}

/// Asks for a worker process as soon as it starts, and prints its PID.
#[derive(Default)]
pub struct Launcher;

#[manager]
impl Launcher {
    async fn after_start(&mut self, ctx: &Context) {
        let child = ctx.ask(Pid {}).await.unwrap().pid;
        println!("child {child}");
    }
}

/// The app run by the orphan test in a child process: this test binary again, with
/// `EDRI_TEST_APP=1`, a plain function calling `Edri::run`.
#[test]
fn app() {
    if std::env::var_os("EDRI_TEST_APP").is_some() {
        Edri::new().manager(Pids).manager(Launcher).run().unwrap();
    }
}

#[test]
fn worker_processes_die_with_their_parent_even_on_sigkill() {
    let mut app = App::spawn(
        Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "app", "--nocapture", "--test-threads=1"])
            .env("EDRI_TEST_APP", "1"),
    );
    // The harness prints `test app ... ` without a newline before the app's own output.
    let line = app.line_containing("child ", Duration::from_secs(10));
    let (_, pid) = line.split_once("child ").unwrap();
    let child: i32 = pid.trim().parse().unwrap();
    assert_ne!(child as u32, app.id());
    assert!(
        alive(child),
        "the worker process runs while its parent does"
    );

    app.kill(); // SIGKILL: no chance to clean up
    app.wait();
    wait_until_gone(child);
}

/// Serializes to an error: it cannot leave this process.
#[derive(Clone, Debug, Deserialize)]
pub struct Unencodable;

impl Serialize for Unencodable {
    fn serialize<S: Serializer>(&self, _serializer: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom(
            "this value refuses to be encoded",
        ))
    }
}

/// Encodes fine but cannot be decoded from postcard (it asks for a self-describing format).
#[derive(Clone, Debug, Serialize)]
pub struct Undecodable(u8);

impl<'de> Deserialize<'de> for Undecodable {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(deserializer).map(|_| Undecodable(0))
    }
}

#[event(request)]
pub struct SendUnencodable {
    pub value: Unencodable,
}

#[event(request)]
pub struct SendUndecodable {
    pub value: Undecodable,
}

#[event(request, response = Unencodable)]
pub struct AnswerUnencodable {}

#[derive(Default)]
pub struct Boundary;

#[manager]
impl Boundary {
    #[solve(req, mode = "process")]
    fn unencodable(_event: SendUnencodable) {}

    #[solve(req, mode = "process")]
    fn undecodable(_event: SendUndecodable) {}

    #[solve(req, mode = "process")]
    fn answer(_event: AnswerUnencodable) -> Unencodable {
        Unencodable
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_that_cannot_cross_the_process_boundary_fail_with_the_type_named() {
    let edri = Edri::new().manager(Boundary).start().await.unwrap();

    let failure = edri
        .ask(SendUnencodable { value: Unencodable })
        .await
        .unwrap_err();
    assert_eq!(failure.status(), Status::Internal, "{failure}");
    assert!(
        failure
            .message()
            .contains("worker_processes::SendUnencodable"),
        "{failure}"
    );

    let failure = edri
        .ask(SendUndecodable {
            value: Undecodable(1),
        })
        .await
        .unwrap_err();
    assert_eq!(failure.status(), Status::Internal, "{failure}");
    assert!(
        failure
            .message()
            .contains("cannot decode `send-undecodable`"),
        "{failure}"
    );
    assert!(
        failure
            .message()
            .contains("worker_processes::SendUndecodable"),
        "{failure}"
    );

    let failure = edri.ask(AnswerUnencodable {}).await.unwrap_err();
    assert_eq!(failure.status(), Status::Internal, "{failure}");
    assert!(
        failure
            .message()
            .contains("cannot encode the response `worker_processes::Unencodable`"),
        "{failure}"
    );

    // The boundary failures did not cost the manager its workers.
    assert_eq!(edri.stats()[0].workers_running, 0);
    edri.shutdown().await.unwrap();
}
