//! The deadlines of the requests that wait for answers: one queue per system, swept by one
//! task.

use std::collections::{BinaryHeap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::channel::{AnswerReceiver, Slot};
use crate::Failure;

/// One request's deadline.
struct Entry {
    at: Instant,
    slot: Weak<Slot>,
    event: &'static str,
    timeout: Duration,
}

impl Entry {
    /// Whether the request no longer waits: its sender and receiver are both gone.
    fn settled(&self) -> bool {
        self.slot.strong_count() == 0
    }

    /// Fails the request with `Timeout` if it is still unanswered.
    fn expire(self) {
        if let Some(slot) = self.slot.upgrade() {
            let failure = Failure::timeout(format!(
                "no answer to `{}` within {:?}",
                self.event, self.timeout
            ));
            let _ = slot.complete(Some(Err(failure)));
        }
    }
}

/// For the heap: the earliest deadline on top.
struct Later(Entry);

impl PartialEq for Later {
    fn eq(&self, other: &Self) -> bool {
        self.0.at == other.0.at
    }
}
impl Eq for Later {}
impl PartialOrd for Later {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Later {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other.0.at.cmp(&self.0.at)
    }
}

#[derive(Default)]
struct Queue {
    /// Deadlines in the order they fall: with one timeout for every request (the default),
    /// each new deadline is the latest, so this is all there is.
    in_order: VecDeque<Entry>,
    /// Deadlines that fall before the latest one in `in_order` (shorter per-call timeouts).
    out_of_order: BinaryHeap<Later>,
    /// The deadline the sweeper sleeps until; `None` while it waits for work.
    sweeper_wakes: Option<Instant>,
    sweeper_started: bool,
}

impl Queue {
    /// Drops the entries of settled requests from the front of `in_order`, so the queue holds
    /// about as many entries as requests in flight.
    fn trim(&mut self) {
        while self.in_order.front().is_some_and(Entry::settled) {
            self.in_order.pop_front();
        }
    }

    /// Fails the requests whose deadline passed; returns the next deadline still pending.
    fn sweep(&mut self, now: Instant) -> Option<Instant> {
        self.trim();
        while self.in_order.front().is_some_and(|entry| entry.at <= now) {
            if let Some(entry) = self.in_order.pop_front() {
                entry.expire();
            }
            self.trim();
        }
        while self.out_of_order.peek().is_some_and(|top| top.0.at <= now) {
            if let Some(Later(entry)) = self.out_of_order.pop() {
                entry.expire();
            }
        }
        let first = self.in_order.front().map(|entry| entry.at);
        let other = self.out_of_order.peek().map(|top| top.0.at);
        match (first, other) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// The deadlines of every request of one system waiting for an answer.
#[derive(Default)]
pub(crate) struct Deadlines {
    queue: Mutex<Queue>,
    /// Wakes the sweeper for a deadline earlier than the one it sleeps until.
    wake: Arc<Notify>,
}

impl Deadlines {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Nothing panics while the lock is held, so a poisoned lock still holds a valid queue.
        self.queue
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Fails `receiver`'s request with `Timeout` once `timeout` has passed without an answer.
    /// Needs a tokio runtime (the sweeper is a task).
    pub(crate) fn watch(
        self: &Arc<Self>,
        receiver: &AnswerReceiver,
        event: &'static str,
        timeout: Duration,
    ) {
        let at = Instant::now() + timeout;
        let entry = Entry {
            at,
            slot: Arc::downgrade(&receiver.slot),
            event,
            timeout,
        };
        let (start, wake) = {
            let mut queue = self.lock();
            queue.trim();
            if queue.in_order.back().is_none_or(|last| last.at <= at) {
                queue.in_order.push_back(entry);
            } else {
                queue.out_of_order.push(Later(entry));
            }
            let start = !std::mem::replace(&mut queue.sweeper_started, true);
            // Only a deadline earlier than the sweeper's (or a sweeper waiting for work) needs
            // a wake-up: the common case, a later deadline, costs nothing more.
            let wake = queue.sweeper_wakes.is_none_or(|wakes| at < wakes);
            if wake {
                queue.sweeper_wakes = Some(at);
            }
            (start, wake)
        };
        if start {
            tokio::spawn(sweep(Arc::downgrade(self), self.wake.clone()));
        } else if wake {
            self.wake.notify_one();
        }
    }
}

impl Drop for Deadlines {
    fn drop(&mut self) {
        // The sweeper holds only a weak reference: wake it so that it sees the queue gone.
        self.wake.notify_one();
    }
}

/// The sweeper: sleeps until the earliest pending deadline, fails what is due, and repeats;
/// with nothing pending it waits to be woken. Ends with the queue.
async fn sweep(deadlines: Weak<Deadlines>, wake: Arc<Notify>) {
    loop {
        let next = {
            let Some(deadlines) = deadlines.upgrade() else {
                return;
            };
            let mut queue = deadlines.lock();
            let next = queue.sweep(Instant::now());
            queue.sweeper_wakes = next;
            next
        };
        match next {
            Some(at) => {
                tokio::select! {
                    () = tokio::time::sleep_until(at) => {}
                    () = wake.notified() => {}
                }
            }
            None => wake.notified().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::{channel, Answer};

    fn ok(value: u32) -> Answer {
        Ok(Box::new(value))
    }

    fn value(answer: Answer) -> u32 {
        *answer.unwrap().downcast::<u32>().unwrap()
    }

    #[tokio::test]
    async fn an_answer_arrives_and_a_dropped_sender_closes_the_channel() {
        let (sender, receiver) = channel();
        assert!(!sender.is_closed());
        assert!(sender.send(ok(7)));
        assert_eq!(value(receiver.await.unwrap()), 7);

        let (sender, receiver) = channel();
        drop(sender);
        assert!(receiver.await.is_err());

        let (sender, receiver) = channel();
        drop(receiver);
        assert!(sender.is_closed());
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_past_its_deadline_fails_and_a_late_answer_is_refused() {
        let deadlines = Arc::new(Deadlines::default());
        let (sender, receiver) = channel();
        deadlines.watch(&receiver, "slow", Duration::from_secs(5));
        let started = Instant::now();
        let failure = receiver.await.unwrap().unwrap_err();
        assert_eq!(started.elapsed(), Duration::from_secs(5));
        assert_eq!(failure.status(), crate::Status::Timeout);
        assert!(failure.message().contains("`slow` within 5s"), "{failure}");
        assert!(sender.is_closed());
        assert!(!sender.send(ok(1)));
    }

    #[tokio::test(start_paused = true)]
    async fn shorter_deadlines_after_longer_ones_fire_first() {
        let deadlines = Arc::new(Deadlines::default());
        let (_long_sender, long) = channel();
        deadlines.watch(&long, "long", Duration::from_secs(30));
        let (_short_sender, short) = channel();
        deadlines.watch(&short, "short", Duration::from_secs(1));
        let started = Instant::now();
        assert!(short.await.unwrap().is_err());
        assert_eq!(started.elapsed(), Duration::from_secs(1));
        assert!(long.await.unwrap().is_err());
        assert_eq!(started.elapsed(), Duration::from_secs(30));
    }

    #[tokio::test(start_paused = true)]
    async fn answered_requests_leave_the_queue() {
        let deadlines = Arc::new(Deadlines::default());
        for n in 0..1000 {
            let (sender, receiver) = channel();
            deadlines.watch(&receiver, "fast", Duration::from_secs(30));
            assert!(sender.send(ok(n)));
            assert_eq!(value(receiver.await.unwrap()), n);
        }
        // Each new watch trims the settled ones before it.
        assert!(deadlines.lock().in_order.len() <= 1);
    }
}
