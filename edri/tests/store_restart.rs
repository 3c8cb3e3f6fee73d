//! A persisted store survives a real restart of the app: one process writes and stops (on
//! SIGTERM, as `run()` does), a new process reads. This test binary plays both processes.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::App;
use edri::prelude::*;
use edri::store;

/// Writes on start, then runs until stopped.
pub struct Writer;

#[manager]
impl Writer {
    async fn after_start(&mut self, ctx: &Context) {
        ctx.ask(store::Set::new("greeting", "hello from the first run"))
            .await
            .unwrap();
        for _ in 0..3 {
            ctx.ask(store::Increment::new("runs", 1)).await.unwrap();
        }
        ctx.ask(store::Set::new("scratch", 1)).await.unwrap();
        ctx.ask(store::Delete::new("scratch")).await.unwrap();
        println!("written");
    }
}

/// Reads on start, prints what it found, then runs until stopped.
pub struct Reader;

#[manager]
impl Reader {
    async fn after_start(&mut self, ctx: &Context) {
        let greeting = ctx.ask(store::Get::new("greeting")).await.unwrap();
        let runs = ctx.ask(store::Get::new("runs")).await.unwrap();
        let scratch = ctx.ask(store::Get::new("scratch")).await.unwrap();
        println!(
            "read greeting={} runs={} scratch={}",
            greeting
                .value
                .map_or("none".to_owned(), |value| value.to_string()),
            runs.value
                .map_or("none".to_owned(), |value| value.to_string()),
            scratch
                .value
                .map_or("none".to_owned(), |value| value.to_string()),
        );
    }
}

/// The app run in the child processes: `EDRI_STORE_APP=write|read`, `EDRI_STORE_PATH=...`.
#[test]
fn app() {
    let Some(role) = std::env::var_os("EDRI_STORE_APP") else {
        return;
    };
    let path = PathBuf::from(std::env::var_os("EDRI_STORE_PATH").unwrap());
    let edri = Edri::new().start_store_at(path);
    let edri = if role == "write" {
        edri.manager(Writer)
    } else {
        edri.manager(Reader)
    };
    edri.run().unwrap();
}

/// Runs the app in a child process until it prints `expect`, then stops it with SIGTERM and
/// checks it exits cleanly. Returns the output from `expect` to the end of its line.
fn run_app(role: &str, path: &Path, expect: &str) -> String {
    let mut app = App::spawn(
        Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "app", "--nocapture", "--test-threads=1"])
            .env("EDRI_STORE_APP", role)
            .env("EDRI_STORE_PATH", path),
    );
    // The harness prints `test app ... ` before the app's first line.
    let line = app.line_containing(expect, Duration::from_secs(10));
    let line = line[line.find(expect).unwrap()..].to_owned();
    let status = Command::new("kill")
        .args(["-s", "TERM", &app.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let status = app.wait();
    assert!(status.success(), "the {role} app ended with {status}");
    line
}

#[test]
fn values_survive_a_restart_of_the_app() {
    let dir = std::env::temp_dir().join(format!("edri-store-restart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("store.redb");

    run_app("write", &path, "written");
    let read = run_app("read", &path, "read ");
    assert_eq!(
        read,
        r#"read greeting="hello from the first run" runs=3 scratch=none"#
    );

    std::fs::remove_dir_all(&dir).unwrap();
}
