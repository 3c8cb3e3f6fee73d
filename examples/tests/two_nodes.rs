//! Runs the `two_nodes` example as a user would: once with no argument (the switch and both
//! routers in one process), and once as three processes (`switch`, `consumer`, `producer`),
//! authenticated with a shared secret. Checks what each prints and that each exits cleanly.
//!
//! `cargo test -p examples` builds the example before it runs this test: it sits in
//! `target/<profile>/examples/`, next to the `deps/` folder that holds this test's binary.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long one run may take before the test gives up on it.
const LIMIT: Duration = Duration::from_secs(60);

/// The built example.
fn example() -> PathBuf {
    let test = std::env::current_exe().expect("the path of this test binary");
    let profile = test
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary is in target/<profile>/deps/");
    let path = profile
        .join("examples")
        .join(format!("two_nodes{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "the example is not built: expected it at {}; build it with \
         `cargo build -p examples --example two_nodes`",
        path.display()
    );
    path
}

/// The example with a clean environment and piped output.
fn command(args: &[&str]) -> Command {
    let mut command = Command::new(example());
    command
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("EDRI_SWITCH_HOST")
        .env_remove("EDRI_SWITCH_PORT")
        .env_remove("EDRI_SWITCH_TOKEN")
        .env_remove("EDRI_SWITCH_TOKEN_FILE")
        .env_remove("EDRI_ROUTER_ID")
        .env_remove("EDRI_SWITCH_SPOOL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Waits for `child` to exit within [`LIMIT`]; returns its stdout. Fails unless it exits with 0.
fn finish(what: &str, mut child: Child) -> String {
    let started = Instant::now();
    while child.try_wait().expect("the example's status").is_none() {
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            let output = child.wait_with_output().expect("the example's output");
            panic!(
                "`{what}` did not finish within {LIMIT:?}\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("the example's output");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "`{what}` ended with {}\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn contains_all(stdout: &str, expected: &[&str]) {
    for expected in expected {
        assert!(
            stdout.contains(expected),
            "`{expected}` is missing from:\n{stdout}"
        );
    }
}

/// What both modes print about the readings and their average.
const READINGS: &[&str] = &[
    "[producer] sends kitchen 21.5 °C",
    "[producer] sends kitchen 22.0 °C",
    "[producer] sends kitchen 22.9 °C",
    "[producer] average 22.13 °C over 3 readings, solved on consumer",
    // Resends depend on timing (a late acknowledgement); losses never happen here.
    "[producer] switch report: sent 4, resent ",
    ", lost 0",
];

/// What the consumer prints, in this order (the producer's lines may come in between).
const CONSUMED: &[&str] = &[
    "[consumer] kitchen reads 21.5 °C",
    "[consumer] kitchen reads 22.0 °C",
    "[consumer] kitchen reads 22.9 °C",
    "[consumer] averaging 3 readings",
];

/// Asserts that the consumer's lines in `stdout` are exactly [`CONSUMED`], in order.
fn consumed_in_order(stdout: &str) {
    let consumer: Vec<&str> = stdout
        .lines()
        .filter(|line| line.starts_with("[consumer]") && !line.contains("running"))
        .collect();
    assert_eq!(consumer, CONSUMED, "in:\n{stdout}");
}

#[test]
fn all_three_parts_in_one_process() {
    let stdout = finish(
        "two_nodes",
        command(&[]).spawn().expect("start the example"),
    );
    contains_all(&stdout, READINGS);
    consumed_in_order(&stdout);
    assert!(
        stdout.trim_end().ends_with("[main] stopped cleanly"),
        "{stdout}"
    );
}

/// A part that keeps running: its stdout lines arrive on a channel as it prints them.
struct Part {
    name: &'static str,
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Part {
    fn start(name: &'static str, port: u16, token: &str) -> Self {
        let mut child = command(&[name])
            .env("EDRI_SWITCH_PORT", port.to_string())
            .env("EDRI_SWITCH_TOKEN", token)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start `{name}`: {error}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    return;
                }
            }
        });
        Self {
            name,
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits until the part prints a line starting with `prefix`.
    fn wait_for(&mut self, prefix: &str) {
        let deadline = Instant::now() + LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.starts_with(prefix);
                    self.seen.push(line);
                    if found {
                        return;
                    }
                }
                Err(_) => {
                    let _ = self.child.kill();
                    panic!(
                        "`{}` never printed `{prefix}`; it printed:\n{}",
                        self.name,
                        self.seen.join("\n")
                    );
                }
            }
        }
    }

    /// Stops it as Ctrl-C does; returns everything it printed.
    fn interrupt(mut self) -> String {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -INT {}", self.child.id());
        let name = self.name;
        let rest = finish(name, self.child);
        self.seen.extend(self.lines.try_iter());
        let mut printed = self.seen.join("\n");
        printed.push('\n');
        printed.push_str(&rest);
        printed
    }
}

/// A free port whose next port (the switch's status page) is free too.
fn free_port_pair() -> u16 {
    loop {
        let first = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let port = first.local_addr().expect("its address").port();
        if port < u16::MAX && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
}

#[cfg(unix)]
#[test]
fn three_processes_as_in_three_terminals() {
    let port = free_port_pair();
    let token = "an example secret of at least 32 bytes";
    let mut switch = Part::start("switch", port, token);
    switch.wait_for("[switch] running");
    let mut consumer = Part::start("consumer", port, token);
    consumer.wait_for("[consumer] running");

    let producer = command(&["producer"])
        .env("EDRI_SWITCH_PORT", port.to_string())
        .env("EDRI_SWITCH_TOKEN", token)
        .spawn()
        .expect("start the producer");
    let produced = finish("producer", producer);
    contains_all(&produced, READINGS);

    consumer.wait_for("[consumer] averaging 3 readings");
    let consumed = consumer.interrupt();
    consumed_in_order(&consumed);
    let switched = switch.interrupt();
    contains_all(
        &switched,
        &[
            &format!("[switch] listening on 127.0.0.1:{port}"),
            &format!("[switch] status at http://127.0.0.1:{}/status", port + 1),
        ],
    );
}
