//! Runs the example programs (`demo`, `hello`, `workers`, `store`, `scheduler`, `health`) as a
//! user would, and checks that each exits with code 0 and prints what it promises.
//!
//! `cargo test` builds the examples before it runs this test: they sit in
//! `target/<profile>/examples/`, next to the `deps/` folder that holds this test's binary.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long an example may take before the test gives up on it.
const LIMIT: Duration = Duration::from_secs(120);

/// The path of a built example.
fn example(name: &str) -> PathBuf {
    let test = std::env::current_exe().expect("the path of this test binary");
    // target/<profile>/deps/examples_run-HASH -> target/<profile>/examples/NAME
    let profile = test
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary is in target/<profile>/deps/");
    let path = profile
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "the example `{name}` is not built: expected it at {}. `cargo test -p examples` builds \
         the examples before running this test; when running the test binary by hand, build \
         them first with `cargo build -p examples --examples`",
        path.display()
    );
    path
}

/// Runs an example to its end; returns what it printed on stdout. Fails the test when it exits
/// with another code than 0 or outlives [`LIMIT`].
fn run(name: &str) -> String {
    let path = example(name);
    let mut child = Command::new(&path)
        .env_remove("RUST_LOG")
        // The demo serves its API until stopped unless told to exit after its tour; port 0,
        // so tests never clash over 8080.
        .env("EDRI_DEMO_EXIT", "1")
        .env("EDRI_PORT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {}: {error}", path.display()));
    let started = Instant::now();
    loop {
        match child.try_wait().expect("the example's status") {
            Some(_) => break,
            None if started.elapsed() > LIMIT => {
                let _ = child.kill();
                let output = child.wait_with_output().expect("the example's output");
                panic!(
                    "the example `{name}` did not finish within {LIMIT:?}\nstdout:\n{}\nstderr:\n{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    let output = child.wait_with_output().expect("the example's output");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "the example `{name}` ended with {}\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The line that starts with `prefix`.
fn line<'a>(stdout: &'a str, prefix: &str) -> &'a str {
    stdout
        .lines()
        .find(|line| line.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with `{prefix}` in:\n{stdout}"))
}

/// Asserts that `stdout` contains each of `expected`.
fn contains_all(stdout: &str, expected: &[&str]) {
    for expected in expected {
        assert!(
            stdout.contains(expected),
            "`{expected}` is missing from:\n{stdout}"
        );
    }
}

/// The position of the first line starting with `prefix`, to check the order of lines.
fn position(stdout: &str, prefix: &str) -> usize {
    stdout
        .lines()
        .position(|line| line.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with `{prefix}` in:\n{stdout}"))
}

/// The number after `pid ` in `line`.
fn pid(line: &str) -> u32 {
    let (_, rest) = line
        .split_once("pid ")
        .unwrap_or_else(|| panic!("no pid in `{line}`"));
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no pid in `{line}`"))
}

#[test]
fn hello_greets_the_world() {
    let stdout = run("hello");
    assert_eq!(stdout.trim(), "Hello, world!");
}

#[test]
fn demo_runs_every_part_and_stops_cleanly() {
    let stdout = run("demo");
    contains_all(
        &stdout,
        &[
            "edri demo: a tiny file service",
            "started; FileUploaded goes to: Storage, Auditor, Indexer",
            "[main] heard Indexed { name: \"report.pdf\" }",
            "[main] gather(Ping): 3 of 3 managers answered",
            "[main] /docs holds [\"photo.png\", \"report.pdf\"], after 2 uploads (counted in the store)",
            "[main] /music: refused with NOT_FOUND",
            "[main] backup ran, in order: monday, alarm, tuesday, wednesday",
            // The scheduler: the cron job declared at start, the stats job reading the store.
            "[main] job nightly-backup: sends backup-job, next run in ",
            "  [stats] run 3: /docs has had 2 uploads (read from the store)",
            "[main] cancelled the stats job after 3 runs",
            // Health: every manager, the built-in ones too.
            "[main] health: OK",
            "  edri-store: OK",
            "  edri-scheduler: OK",
            "  Stats: OK",
            "  FrontDesk: OK",
            "[main] stopped cleanly",
        ],
    );
}

#[test]
fn store_counts_locks_expires_and_persists() {
    let stdout = run("store");
    contains_all(
        &stdout,
        &[
            // `data` echoed to the manager's #[solve(res)] solver.
            "  [pages] the store answered session:s-1 = \"Ada\", with data \"/pricing\": serving /pricing to Ada",
            "[main] served /pricing to Ada",
            "[main] served /pricing to nobody",
            // Concurrent increments: none lost.
            "[main] 8 tasks x 25 increments: views:/home = 200, 200 distinct answers",
            // Exactly one of the contenders holds the lock.
            "[main] 1 of 5 workers acquired lock:nightly-report",
            "worker-6 acquires it now: true",
            // The watch saw the set, then the expiry.
            "[main] Changed: session:guest = \"guest-42\"",
            "[main] Changed: session:guest expired after ",
            "[main] Get session:guest: none",
            // The value read back after the restart.
            "[main] after the restart: views:/home = 200, site:name = \"edri.example\"",
        ],
    );
    let removed = line(&stdout, "[main] removed ");
    let path = removed.trim_start_matches("[main] removed ");
    assert!(
        !std::path::Path::new(path).exists(),
        "the example left its database file behind: {path}"
    );
}

#[test]
fn scheduler_runs_repeating_one_shot_and_managed_jobs() {
    let stdout = run("scheduler");
    contains_all(
        &stdout,
        &[
            "  [poller] created the job `poll-feed`",
            "  [poller] polling the feed (run 3)",
            "[main] poll-feed ran 3 times, then was cancelled",
            "  [monitor] one-shot job: welcome, 300 ms after the start",
            "  [monitor] heartbeat #5",
            "[main] cancelled the heartbeat; the monitor counted ",
        ],
    );
    // The first `List` shows every job (the example prints each list in one piece).
    let listed = jobs_listed(&stdout, "[main] the scheduler's jobs:");
    for name in ["poll-feed", "heartbeat", "welcome", "nightly-backup"] {
        assert!(
            listed.iter().any(|line| line.starts_with(name)),
            "`{name}` is missing from the first List:\n{stdout}"
        );
    }
    // The cron job runs next at 03:00 UTC.
    let nightly = line(&stdout, "  nightly-backup ");
    assert!(nightly.contains("(at 03:00:00 UTC)"), "{nightly}");
    // Then only the cron job is left: the others were cancelled or ran.
    let left = jobs_listed(&stdout, "[main] the jobs left:");
    assert_eq!(left.len(), 1, "{stdout}");
    assert!(left[0].starts_with("nightly-backup"), "{stdout}");
    assert_eq!(stdout.lines().last(), Some("[main] stopped"), "{stdout}");
}

/// The job lines (`  NAME sends EVENT ...`, trimmed) under the line `title`.
fn jobs_listed<'a>(stdout: &'a str, title: &str) -> Vec<&'a str> {
    stdout
        .lines()
        .skip(position(stdout, title) + 1)
        .take_while(|line| line.starts_with("  ") && line.contains(" sends "))
        .map(str::trim_start)
        .collect()
}

#[test]
fn health_shows_warning_then_error_then_recovery() {
    let stdout = run("health");
    // The mailer's own health check.
    contains_all(
        &stdout,
        &[
            "  Mailer: WARNING (3 mails wait for the mail server)",
            "[main] the mail server is back, 3 mails sent: OK",
        ],
    );
    // The stuck indexer: WARNING, then ERROR, then OK once released.
    let warning = position(&stdout, "  Indexer: WARNING (no answer to health checks");
    let error = position(&stdout, "  Indexer: ERROR (no answer to health checks");
    let released = position(&stdout, "[main] released: OK");
    let ok = stdout
        .lines()
        .skip(released)
        .position(|line| line == "  Indexer: OK");
    assert!(warning < error && error < released, "{stdout}");
    assert!(ok.is_some(), "the indexer did not recover:\n{stdout}");
}

#[test]
fn workers_run_in_every_mode_and_process_workers_in_other_processes() {
    let stdout = run("workers");
    let me = pid(line(&stdout, "example: pid "));

    let function = line(&stdout, "function solver: ");
    assert_eq!(pid(function), me, "{function}");

    let thread = line(&stdout, "thread solver: ");
    assert_eq!(pid(thread), me, "{thread}");
    assert!(
        thread.contains("thread Locator-worker-"),
        "a thread solver runs on the manager's worker thread: {thread}"
    );

    let process = line(&stdout, "process solver: ");
    let child = pid(process);
    assert_ne!(
        child, me,
        "a process solver runs in another process: {process}"
    );
    assert!(process.contains("sum 333833500"), "{process}");
    assert!(
        stdout.contains(&format!("asked the parent (pid {me}) and got an answer")),
        "the process solver's ask reached the parent:\n{stdout}"
    );
    assert!(
        line(&stdout, "process solver again: ").contains("the same child, reused"),
        "the idle child is reused:\n{stdout}"
    );

    let long_lived = line(&stdout, "long-lived worker: ");
    let worker = pid(long_lived);
    assert_ne!(worker, me, "{long_lived}");
    assert!(long_lived.ends_with("total 6"), "{long_lived}");

    assert_eq!(stdout.lines().last(), Some("shut down"), "{stdout}");
    // Shutdown reaped the children: no orphan outlives the example.
    if cfg!(target_os = "linux") {
        for pid in [child, worker] {
            assert!(
                !std::path::Path::new(&format!("/proc/{pid}")).exists(),
                "worker process {pid} outlived the example"
            );
        }
    }
}

/// The demo as `cargo run --example demo` runs it: it serves its API after the tour, answers
/// REST and WebSocket clients, pushes an upload to a registered WebSocket client, and stops
/// cleanly with code 0 on SIGTERM.
#[test]
fn demo_serves_its_api_until_sigterm() {
    let path = example("demo");
    let mut child = Command::new(&path)
        .env_remove("RUST_LOG")
        .env_remove("EDRI_DEMO_EXIT")
        .env("EDRI_HOST", "127.0.0.1")
        .env("EDRI_PORT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {}: {error}", path.display()));
    let mut lines = Lines::of(&mut child);
    let addr = lines
        .wait_for("[main] serving on http://")
        .split_whitespace()
        .next()
        .expect("an address")
        .to_owned();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    // The timer is made inside the runtime: `timeout` needs one to exist.
    let talked =
        runtime.block_on(async { tokio::time::timeout(LIMIT, talk_to_the_demo(&addr)).await });
    if talked.is_err() {
        lines.kill();
        panic!("the talk with the demo did not end within {LIMIT:?}");
    }

    let status = Command::new("kill")
        .args(["-s", "TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let rest = lines.rest();
    let (status, _) = finish(child);
    assert!(status.success(), "the demo ended with {status}: {rest:?}");
    assert!(
        rest.iter().any(|line| line == "[main] stopped cleanly"),
        "{rest:?}"
    );
}

async fn talk_to_the_demo(addr: &str) {
    use futures_util::SinkExt;
    use serde_json::{json, Value};
    use tokio_tungstenite::tungstenite::Message;

    let client = reqwest::Client::new();
    let greeting: Value = client
        .get(format!("http://{addr}/greet/world"))
        .send()
        .await
        .expect("GET /greet/world")
        .json()
        .await
        .expect("a JSON answer");
    assert_eq!(
        greeting,
        json!({"data": {"message": "Hello, world!"}, "status": "OK"})
    );

    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/"))
        .await
        .expect("a WebSocket");
    socket
        .send(Message::text(
            json!({"command": "greet", "name": "ws", "id": 7}).to_string(),
        ))
        .await
        .expect("send greet");
    let answer = read_json(&mut socket).await;
    assert_eq!(
        answer,
        json!({"command": "greet", "name": "ws", "id": 7,
               "response": {"data": {"message": "Hello, ws!"}, "status": "OK"}})
    );

    socket
        .send(Message::text(
            json!({"command": "register", "event": "file-uploaded", "paramSet": {"folder": "/docs"}})
                .to_string(),
        ))
        .await
        .expect("send register");
    let registered = read_json(&mut socket).await;
    assert_eq!(registered["response"]["status"], "OK", "{registered}");

    let upload: Value = client
        .post(format!("http://{addr}/files"))
        .json(&json!({"folder": "/docs", "name": "notes.txt", "size": 12}))
        .send()
        .await
        .expect("POST /files")
        .json()
        .await
        .expect("a JSON answer");
    assert_eq!(upload["data"]["accepted"], "/docs/notes.txt", "{upload}");

    let pushed = read_json(&mut socket).await;
    assert_eq!(
        pushed,
        json!({"command": "file-uploaded", "folder": "/docs", "name": "notes.txt", "size": 12})
    );
}

async fn read_json(
    socket: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) -> serde_json::Value {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        match socket.next().await.expect("a frame").expect("a good frame") {
            Message::Text(text) => return serde_json::from_str(&text).expect("JSON"),
            _ => continue,
        }
    }
}

/// Starts the demo with its API on a free port (and `env` on top), through `sh` so that a test
/// can set limits first; returns it with its stdout's lines.
fn start_demo(shell_prefix: &str, env: &[(&str, &str)]) -> (std::process::Child, Lines) {
    let path = example("demo");
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!("{shell_prefix} exec \"$0\"",))
        .arg(&path)
        .env_remove("RUST_LOG")
        .env_remove("EDRI_DEMO_EXIT")
        .env("EDRI_HOST", "127.0.0.1")
        .env("EDRI_PORT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {}: {error}", path.display()));
    let lines = Lines::of(&mut child);
    (child, lines)
}

/// The lines a demo prints on stdout, read on a thread so that every wait for them is bounded
/// by [`LIMIT`]: a demo that hangs is killed and fails the test instead of stalling it.
struct Lines {
    lines: std::sync::mpsc::Receiver<String>,
    pid: u32,
}

impl Lines {
    /// Takes the child's piped stdout.
    fn of(child: &mut std::process::Child) -> Lines {
        use std::io::BufRead;
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Lines {
            lines,
            pid: child.id(),
        }
    }

    /// The next line; `None` at the end of the output.
    fn next_line(&mut self, deadline: Instant, waiting_for: &str) -> Option<String> {
        use std::sync::mpsc::RecvTimeoutError;
        match self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            Ok(line) => Some(line),
            Err(RecvTimeoutError::Disconnected) => None,
            Err(RecvTimeoutError::Timeout) => {
                self.kill();
                panic!("{waiting_for}: not within {LIMIT:?}")
            }
        }
    }

    /// Kills the demo (not reaped yet, so its pid is still its own).
    fn kill(&self) {
        let _ = Command::new("kill")
            .args(["-s", "KILL", &self.pid.to_string()])
            .status();
    }

    /// Reads lines until one starts with `prefix`; returns the rest of that line.
    fn wait_for(&mut self, prefix: &str) -> String {
        let deadline = Instant::now() + LIMIT;
        let waiting_for = format!("the demo printed no line starting with `{prefix}`");
        loop {
            let line = self
                .next_line(deadline, &waiting_for)
                .unwrap_or_else(|| panic!("the demo ended before printing `{prefix}`"));
            if let Some(rest) = line.strip_prefix(prefix) {
                return rest.to_owned();
            }
        }
    }

    /// The lines up to the end of the output.
    fn rest(&mut self) -> Vec<String> {
        let deadline = Instant::now() + LIMIT;
        let mut rest = Vec::new();
        while let Some(line) = self.next_line(deadline, "the demo's output did not end") {
            rest.push(line);
        }
        rest
    }
}

fn signal(child: &std::process::Child, name: &str) {
    let status = Command::new("kill")
        .args(["-s", name, &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -s {name} failed");
}

/// Waits for the child with a bound; returns its status and stderr.
fn finish(mut child: std::process::Child) -> (std::process::ExitStatus, String) {
    use std::io::Read;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("the demo's status") {
            break status;
        }
        assert!(started.elapsed() < LIMIT, "the demo did not end");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    (status, stderr)
}

/// A signal while the start-up tour runs (and the API already listens) stops the demo cleanly.
/// The demo is frozen with SIGSTOP while the signal is sent, so the tour cannot end first.
#[test]
fn demo_stops_cleanly_on_a_signal_during_its_tour() {
    let (child, mut lines) = start_demo("", &[]);
    lines.wait_for("started; FileUploaded goes to");
    signal(&child, "STOP");
    signal(&child, "TERM");
    signal(&child, "CONT");
    let rest = lines.rest();
    let (status, stderr) = finish(child);
    assert!(status.success(), "the demo ended with {status}: {stderr}");
    assert!(
        rest.iter()
            .any(|line| line == "[main] stop signal during the tour"),
        "{rest:?}"
    );
    assert!(!rest.iter().any(|line| line == "6. API"), "{rest:?}");
    assert!(
        rest.iter().any(|line| line == "[main] stopped cleanly"),
        "{rest:?}"
    );
}

/// A second signal while the demo stops ends it at once, with 128 + the signal's number.
#[test]
fn a_second_signal_ends_the_demo_at_once() {
    use std::os::unix::process::ExitStatusExt;
    let (child, mut lines) = start_demo("", &[]);
    lines.wait_for("started; FileUploaded goes to");
    // Both arrive together when the demo resumes: one asks for a stop, the other forces it.
    signal(&child, "STOP");
    signal(&child, "TERM");
    signal(&child, "INT");
    signal(&child, "CONT");
    let rest = lines.rest();
    let (status, stderr) = finish(child);
    assert!(
        matches!(status.code(), Some(130 | 143)),
        "the demo ended with {status} (signal {:?}): {stderr}",
        status.signal()
    );
    assert!(stderr.contains("exiting now"), "{stderr}");
    assert!(
        !rest.iter().any(|line| line == "[main] stopped cleanly"),
        "{rest:?}"
    );
}

/// A startup error is printed as a sentence naming the setting, and the demo exits with 1.
#[test]
fn a_bad_setting_stops_the_demo_with_a_sentence() {
    let (child, mut lines) = start_demo("", &[("EDRI_QUEUE_CAPACITY", "2305843009213693952")]);
    let stdout = lines.rest();
    let (status, stderr) = finish(child);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "Error: environment variable EDRI_QUEUE_CAPACITY=\"2305843009213693952\" is invalid"
        ),
        "{stderr}"
    );
    assert!(
        !stderr.contains("InvalidEnv"),
        "printed in Debug form: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        !stdout.iter().any(|line| line.starts_with("started")),
        "{stdout:?}"
    );
}

/// Logs go to stderr: stdout holds the tour only, even at debug level.
#[test]
fn the_demo_logs_to_stderr() {
    let (child, mut lines) = start_demo("", &[("EDRI_DEMO_EXIT", "1"), ("RUST_LOG", "edri=debug")]);
    let stdout = lines.rest();
    let (status, stderr) = finish(child);
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("DEBUG"), "no debug log on stderr: {stderr}");
    assert!(
        !stdout
            .iter()
            .any(|line| line.contains("DEBUG") || line.contains(" WARN ")),
        "logs on stdout: {stdout:?}"
    );
}

/// With `ulimit -n 256`, one client holding 300 half-sent requests no longer stops the demo
/// from answering: connections beyond the cap get 503, a client already served goes on being
/// served, and once the header deadline closes the half-sent requests everyone is served.
#[test]
fn a_connection_flood_under_a_low_file_limit_hurts_no_one_for_long() {
    use std::io::{Read, Write};
    use std::net::TcpStream;

    let (child, mut lines) = start_demo("ulimit -n 256;", &[("EDRI_API_HEADER_TIMEOUT", "3")]);
    let addr = lines.wait_for("[main] serving on http://");
    let addr = addr
        .split_whitespace()
        .next()
        .expect("an address")
        .to_owned();
    let bound = Some(Duration::from_secs(10));
    let greet = |socket: &mut TcpStream, name: &str| -> String {
        socket
            .write_all(format!("GET /greet/{name} HTTP/1.1\r\nHost: demo\r\n\r\n").as_bytes())
            .expect("send");
        let mut answer = vec![0u8; 4096];
        let n = socket.read(&mut answer).unwrap_or(0);
        String::from_utf8_lossy(&answer[..n]).into_owned()
    };
    let mut served = TcpStream::connect(&addr).expect("connect");
    served.set_read_timeout(bound).unwrap();
    assert!(greet(&mut served, "first").starts_with("HTTP/1.1 200 "));

    let flood: Vec<TcpStream> = (0..300)
        .filter_map(|_| {
            let mut socket = TcpStream::connect(&addr).ok()?;
            socket.write_all(b"GET /greet/x HTTP/1.1\r\n").ok()?;
            Some(socket)
        })
        .collect();
    assert!(flood.len() > 200, "only {} connections opened", flood.len());

    // The client served before the flood is still served.
    assert!(greet(&mut served, "during").starts_with("HTTP/1.1 200 "));

    // A new client is refused with a clear answer, not left hanging ...
    let started = Instant::now();
    let refused = loop {
        let mut socket = TcpStream::connect(&addr).expect("connect");
        socket.set_read_timeout(bound).unwrap();
        let answer = greet(&mut socket, "new");
        if answer.starts_with("HTTP/1.1 503 ") {
            break answer;
        }
        eprintln!("{:?} {answer:?}", started.elapsed());
        // Closed without an answer while many refusals were in progress: ask again.
        assert!(started.elapsed() < LIMIT, "never answered: {answer:?}");
    };
    assert!(refused.contains("EDRI_API_MAX_CONNECTIONS"), "{refused}");

    // ... and served once the header deadline has closed the flood.
    let started = Instant::now();
    loop {
        let mut socket = TcpStream::connect(&addr).expect("connect");
        socket.set_read_timeout(bound).unwrap();
        if greet(&mut socket, "later").starts_with("HTTP/1.1 200 ") {
            break;
        }
        assert!(started.elapsed() < LIMIT, "the flood was never cleared");
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(flood);
    signal(&child, "TERM");
    let (status, stderr) = finish(child);
    assert!(status.success(), "the demo ended with {status}: {stderr}");
}
