//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::sync::Arc;

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
        return; // already gone
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
