//! The bounded queue in front of each manager: FIFO, or priority FIFO.
//!
//! Senders push straight into the queue of each subscriber; a full queue makes them wait.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, Notify, Semaphore};

use crate::answer::AnswerSender;
use crate::payload::Payload;

/// An event on its way to one solver of one manager.
#[doc(hidden)]
pub struct Delivery {
    /// Index of the solver in the receiving manager's table.
    pub(crate) solver: u16,
    pub(crate) event_name: &'static str,
    /// Inline for one small event; shared between the subscribers of a fan-out.
    pub(crate) event: Payload,
    /// Present for requests: where this solver's answer goes.
    pub(crate) reply: Option<AnswerSender>,
}

impl Delivery {
    /// Index of the solver in the receiving manager's table.
    pub fn solver(&self) -> u16 {
        self.solver
    }

    /// The event's wire name.
    pub fn event_name(&self) -> &'static str {
        self.event_name
    }
}

/// Whether a manager's queue is plain FIFO or priority FIFO.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueKind {
    /// Events are handled in arrival order.
    Fifo,
    /// Lower priority numbers first; equal priorities in arrival order.
    Priority,
}

/// The sending side of a manager's queue.
#[derive(Clone)]
pub(crate) enum Mailbox {
    Fifo(mpsc::Sender<Delivery>),
    Priority(Arc<PriorityQueue>),
}

/// The receiving side of a manager's queue.
pub(crate) enum Inbox {
    Fifo(mpsc::Receiver<Delivery>),
    Priority(Arc<PriorityQueue>),
}

/// Creates a queue of the given kind that holds at most `capacity` deliveries.
pub(crate) fn mailbox(kind: QueueKind, capacity: usize) -> (Mailbox, Inbox) {
    match kind {
        QueueKind::Fifo => {
            let (sender, receiver) = mpsc::channel(capacity);
            (Mailbox::Fifo(sender), Inbox::Fifo(receiver))
        }
        QueueKind::Priority => {
            let queue = Arc::new(PriorityQueue::new(capacity));
            (Mailbox::Priority(queue.clone()), Inbox::Priority(queue))
        }
    }
}

/// Why a queue did not take a delivery at once; the delivery comes back.
pub(crate) enum Refused {
    Full(Delivery),
    Closed,
}

impl Mailbox {
    /// Queues the delivery if there is room now.
    pub(crate) fn try_push(&self, delivery: Delivery, priority: i32) -> Result<(), Refused> {
        match self {
            Mailbox::Fifo(sender) => sender.try_send(delivery).map_err(|error| match error {
                mpsc::error::TrySendError::Full(delivery) => Refused::Full(delivery),
                mpsc::error::TrySendError::Closed(_) => Refused::Closed,
            }),
            Mailbox::Priority(queue) => queue.try_push(delivery, priority),
        }
    }

    /// Waits for room, then queues the delivery. Gives it back when the queue is closed.
    pub(crate) async fn push(&self, delivery: Delivery, priority: i32) -> Result<(), Delivery> {
        match self {
            Mailbox::Fifo(sender) => sender.send(delivery).await.map_err(|error| error.0),
            Mailbox::Priority(queue) => queue.push(delivery, priority).await,
        }
    }

    /// How many deliveries wait in the queue.
    pub(crate) fn depth(&self) -> usize {
        match self {
            Mailbox::Fifo(sender) => sender.max_capacity() - sender.capacity(),
            Mailbox::Priority(queue) => queue.len(),
        }
    }
}

impl Inbox {
    /// The next delivery; `None` once the queue is closed and empty.
    pub(crate) async fn recv(&mut self) -> Option<Delivery> {
        match self {
            Inbox::Fifo(receiver) => receiver.recv().await,
            Inbox::Priority(queue) => queue.recv().await,
        }
    }

    /// The next delivery if one is queued now.
    pub(crate) fn try_recv(&mut self) -> Option<Delivery> {
        match self {
            Inbox::Fifo(receiver) => receiver.try_recv().ok(),
            Inbox::Priority(queue) => queue.try_pop(),
        }
    }

    /// Refuses new deliveries; those already queued can still be received.
    pub(crate) fn close(&mut self) {
        match self {
            Inbox::Fifo(receiver) => receiver.close(),
            Inbox::Priority(queue) => queue.close(),
        }
    }
}

/// A bounded priority queue: lower priority first, ties in arrival order.
pub(crate) struct PriorityQueue {
    heap: Mutex<Heap>,
    /// One permit per free place; senders wait on it when the queue is full.
    room: Semaphore,
    /// Wakes the single consumer.
    ready: Notify,
}

#[derive(Default)]
struct Heap {
    entries: BinaryHeap<Entry>,
    next_seq: u64,
    closed: bool,
}

struct Entry {
    priority: i32,
    seq: u64,
    delivery: Delivery,
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        // BinaryHeap pops the greatest: reverse so the lowest (priority, seq) comes first.
        (other.priority, other.seq).cmp(&(self.priority, self.seq))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Entry {}

impl PriorityQueue {
    fn new(capacity: usize) -> Self {
        Self {
            heap: Mutex::new(Heap::default()),
            room: Semaphore::new(capacity),
            ready: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Heap> {
        // Nothing panics while the lock is held, so a poisoned lock still holds a valid heap.
        self.heap
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    async fn push(&self, delivery: Delivery, priority: i32) -> Result<(), Delivery> {
        let Ok(permit) = self.room.acquire().await else {
            return Err(delivery);
        };
        self.insert(permit, delivery, priority)
    }

    fn try_push(&self, delivery: Delivery, priority: i32) -> Result<(), Refused> {
        match self.room.try_acquire() {
            Ok(permit) => self
                .insert(permit, delivery, priority)
                .map_err(|_| Refused::Closed),
            Err(tokio::sync::TryAcquireError::NoPermits) => Err(Refused::Full(delivery)),
            Err(tokio::sync::TryAcquireError::Closed) => Err(Refused::Closed),
        }
    }

    fn insert(
        &self,
        permit: tokio::sync::SemaphorePermit<'_>,
        delivery: Delivery,
        priority: i32,
    ) -> Result<(), Delivery> {
        {
            let mut heap = self.lock();
            if heap.closed {
                return Err(delivery);
            }
            // The place is given back by `recv`, not when the permit goes out of scope.
            permit.forget();
            let seq = heap.next_seq;
            heap.next_seq += 1;
            heap.entries.push(Entry {
                priority,
                seq,
                delivery,
            });
        }
        self.ready.notify_one();
        Ok(())
    }

    fn try_pop(&self) -> Option<Delivery> {
        let entry = self.lock().entries.pop()?;
        self.room.add_permits(1);
        Some(entry.delivery)
    }

    async fn recv(&self) -> Option<Delivery> {
        loop {
            {
                let mut heap = self.lock();
                if let Some(entry) = heap.entries.pop() {
                    self.room.add_permits(1);
                    return Some(entry.delivery);
                }
                if heap.closed {
                    return None;
                }
            }
            // `notify_one` stores a permit when nobody waits, so a push between the check above
            // and this await is not missed.
            self.ready.notified().await;
        }
    }

    fn close(&self) {
        self.lock().closed = true;
        self.room.close();
        self.ready.notify_one();
    }

    fn len(&self) -> usize {
        self.lock().entries.len()
    }
}
