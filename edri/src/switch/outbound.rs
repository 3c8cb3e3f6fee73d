//! The frames waiting to be written to one connection, shared by everyone who sends on it.
//!
//! Senders encode their frames into one buffer under a lock (so frame numbers follow the
//! order of the bytes), and one writer task writes the whole buffer at each turn: a burst of
//! small events leaves in a few large writes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::Notify;

use super::frame::{FrameEncoder, FrameKey};

/// How often each side of a connection says it is alive.
pub(crate) const HEARTBEAT: Duration = Duration::from_secs(1);

/// How many bytes may wait for one connection before senders wait for room.
pub(crate) const MAX_BUFFERED: usize = 32 * 1024 * 1024;

pub(crate) struct Outbound {
    state: Mutex<State>,
    /// Wakes the writer.
    wake: Notify,
    /// Wakes senders waiting for room.
    room: Notify,
    closed: AtomicBool,
}

struct State {
    encoder: FrameEncoder,
    buffer: Vec<u8>,
}

impl Outbound {
    pub(crate) fn new() -> Self {
        Self {
            state: Mutex::new(State {
                encoder: FrameEncoder::new(),
                buffer: Vec::new(),
            }),
            wake: Notify::new(),
            room: Notify::new(),
            closed: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while the lock is held, so a poisoned lock still holds valid data.
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// From the next frame on, frames carry tags under `key`.
    pub(crate) fn authenticate(&self, key: FrameKey) {
        self.lock().encoder.authenticate(key);
    }

    /// Queues one frame made of `parts`; `false` once the connection is closed.
    pub(crate) fn send(&self, parts: &[&[u8]]) -> bool {
        if self.is_closed() {
            return false;
        }
        let mut state = self.lock();
        let State { encoder, buffer } = &mut *state;
        encoder.encode(parts, buffer);
        drop(state);
        self.wake.notify_one();
        true
    }

    /// Queues frames while holding the lock once: `write` calls the given sender per frame.
    pub(crate) fn send_many(&self, write: impl FnOnce(&mut dyn FnMut(&[&[u8]]))) -> bool {
        if self.is_closed() {
            return false;
        }
        let mut state = self.lock();
        let State { encoder, buffer } = &mut *state;
        write(&mut |parts| encoder.encode(parts, buffer));
        drop(state);
        self.wake.notify_one();
        true
    }

    /// How many bytes wait to be written.
    pub(crate) fn buffered(&self) -> usize {
        self.lock().buffer.len()
    }

    /// Waits until fewer than [`MAX_BUFFERED`] bytes wait, for at most `patience`; `false`
    /// when the buffer stayed full (or the connection closed).
    pub(crate) async fn wait_for_room(&self, patience: Duration) -> bool {
        let wait = async {
            loop {
                let room = self.room.notified();
                if self.is_closed() {
                    return false;
                }
                if self.buffered() < MAX_BUFFERED {
                    return true;
                }
                room.await;
            }
        };
        tokio::time::timeout(patience, wait).await.unwrap_or(false)
    }

    /// Closes the connection: the writer stops, senders are refused.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.wake.notify_one();
        self.room.notify_waiters();
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Sends `message` every [`HEARTBEAT`] until the connection closes, so that the other
    /// side can tell a quiet connection from a dead one.
    pub(crate) async fn heartbeats(self: Arc<Self>, message: impl serde::Serialize) {
        let Ok(heartbeat) = crate::wire::encode(&message) else {
            return;
        };
        let mut ticks = tokio::time::interval(HEARTBEAT);
        loop {
            ticks.tick().await;
            if !self.send(&[&heartbeat]) {
                return;
            }
        }
    }

    /// Writes queued frames to `writer` until the connection is closed or the socket fails.
    pub(crate) async fn write_to(
        &self,
        mut writer: impl AsyncWrite + Unpin,
    ) -> std::io::Result<()> {
        let mut spare = Vec::new();
        loop {
            let woken = self.wake.notified();
            {
                let mut state = self.lock();
                std::mem::swap(&mut state.buffer, &mut spare);
            }
            if spare.is_empty() {
                if self.is_closed() {
                    // A clean end: over TLS, `shutdown` sends close_notify.
                    writer.flush().await?;
                    return writer.shutdown().await;
                }
                woken.await;
                continue;
            }
            self.room.notify_waiters();
            writer.write_all(&spare).await?;
            spare.clear();
            // Keep a large buffer from one burst from staying allocated forever.
            if spare.capacity() > 4 * 1024 * 1024 {
                spare = Vec::new();
            }
        }
    }
}
