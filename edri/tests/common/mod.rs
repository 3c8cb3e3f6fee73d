//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// Holds a solver until the test opens it, and tells the test when the solver got there.
#[derive(Clone, Default)]
pub struct Gate {
    entered: Arc<Notify>,
    open: Arc<Notify>,
}

impl Gate {
    /// Called by the solver: announce arrival, then wait to be let through.
    pub async fn pass(&self) {
        self.entered.notify_one();
        self.open.notified().await;
    }

    /// Called by the test: wait until a solver is held at the gate.
    pub async fn entered(&self) {
        self.entered.notified().await;
    }

    /// Called by the test: let one held solver through.
    pub fn open(&self) {
        self.open.notify_one();
    }
}

/// Whether a process exists (`kill(pid, 0)` fails with ESRCH once it is gone and reaped).
pub fn alive(pid: i32) -> bool {
    unsafe { libc::kill(pid, 0) == 0 }
}

/// Blocks until a process ends, through a pidfd: an event, not a guess.
pub fn wait_until_gone(pid: i32) {
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
    if fd < 0 {
        let error = std::io::Error::last_os_error();
        // ESRCH: already gone (and reaped). Any other error must not pass for a process gone.
        assert_eq!(
            error.raw_os_error(),
            Some(libc::ESRCH),
            "cannot watch process {pid}: {error}"
        );
        return;
    }
    let mut poll = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let ready = unsafe { libc::poll(&mut poll, 1, 10_000) };
    unsafe { libc::close(fd) };
    assert_eq!(ready, 1, "process {pid} did not end");
}

/// A program a test runs in a child process. Its stdout is read line by line on a thread, so
/// that every wait on it is bounded: a child that hangs fails the test with a message instead
/// of stalling it. Dropped before it ended (a failed test), it is killed.
pub struct App {
    process: std::process::Child,
    lines: mpsc::Receiver<String>,
}

impl App {
    /// Starts `command` with its stdout piped.
    pub fn spawn(command: &mut Command) -> App {
        let mut process = command.stdout(Stdio::piped()).spawn().unwrap();
        let stdout = process.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        App { process, lines }
    }

    pub fn id(&self) -> u32 {
        self.process.id()
    }

    /// Reads lines until one contains `needle`, and returns it. Fails the test if the output
    /// ends first, or if no such line comes within `within`.
    pub fn line_containing(&mut self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            match self
                .lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    panic!("the app printed no line with `{needle}` within {within:?}")
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("the app's output ended before a line with `{needle}`")
                }
            }
        }
    }

    /// The lines it prints from now to the end of its output, which must come within `within`.
    pub fn rest(&mut self, within: Duration) -> Vec<String> {
        let deadline = Instant::now() + within;
        let mut rest = Vec::new();
        loop {
            match self
                .lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(line) => rest.push(line),
                Err(RecvTimeoutError::Disconnected) => return rest,
                Err(RecvTimeoutError::Timeout) => {
                    panic!("the app's output did not end within {within:?}: {rest:?}")
                }
            }
        }
    }

    /// Kills it with SIGKILL.
    pub fn kill(&mut self) {
        self.process.kill().unwrap();
    }

    /// Waits for it to end, through a pidfd (bounded, see [`wait_until_gone`]), and reaps it.
    pub fn wait(&mut self) -> ExitStatus {
        wait_until_gone(self.process.id() as i32);
        self.process.wait().unwrap()
    }
}

impl Drop for App {
    fn drop(&mut self) {
        if let Ok(None) = self.process.try_wait() {
            let _ = self.process.kill();
            let _ = self.process.wait();
        }
    }
}
pub mod switch;
