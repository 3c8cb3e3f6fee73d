//! Priority FIFO order (ties in arrival order) and backpressure of bounded queues.

mod common;

use common::Gate;
use edri::prelude::*;
use futures_util::FutureExt;
use tokio::sync::mpsc;

#[event(notification)]
pub struct Hold {}

#[event(notification)]
pub struct Urgent {
    pub tag: u32,
}

#[event(notification)]
pub struct Routine {
    pub tag: u32,
}

#[event(notification)]
pub struct Unranked {
    pub tag: u32,
}

pub struct Prioritized {
    gate: Gate,
    order: mpsc::UnboundedSender<String>,
}

#[manager(queue = "priority")]
impl Prioritized {
    #[solve(req, priority = -1)]
    async fn hold(&mut self, _event: Hold) {
        self.gate.pass().await;
    }

    #[solve(req, priority = 0)]
    async fn urgent(&mut self, event: Urgent) {
        let _ = self.order.send(format!("urgent {}", event.tag));
    }

    #[solve(req, priority = 5)]
    async fn routine(&mut self, event: Routine) {
        let _ = self.order.send(format!("routine {}", event.tag));
    }

    // No priority given: 0, like `urgent`.
    #[solve(req)]
    async fn unranked(&mut self, event: Unranked) {
        let _ = self.order.send(format!("unranked {}", event.tag));
    }
}

#[tokio::test]
async fn lower_priorities_run_first_and_ties_keep_arrival_order() {
    let gate = Gate::default();
    let (order, mut received) = mpsc::unbounded_channel();
    let edri = Edri::new()
        .manager(Prioritized {
            gate: gate.clone(),
            order,
        })
        .start()
        .await
        .unwrap();

    // Hold the manager so everything below queues up behind it.
    edri.notify(Hold {}).await.unwrap();
    gate.entered().await;
    edri.notify(Routine { tag: 1 }).await.unwrap();
    edri.notify(Urgent { tag: 1 }).await.unwrap();
    edri.notify(Routine { tag: 2 }).await.unwrap();
    edri.notify(Unranked { tag: 1 }).await.unwrap();
    edri.notify(Urgent { tag: 2 }).await.unwrap();
    gate.open();

    let mut got = Vec::new();
    for _ in 0..5 {
        got.push(received.recv().await.unwrap());
    }
    assert_eq!(
        got,
        [
            "urgent 1",
            "unranked 1",
            "urgent 2",
            "routine 1",
            "routine 2"
        ]
    );
    edri.shutdown().await.unwrap();
}

pub struct Small {
    gate: Gate,
    done: mpsc::UnboundedSender<u32>,
}

#[manager(capacity = 2)]
impl Small {
    #[solve(req)]
    async fn hold(&mut self, _event: Hold) {
        self.gate.pass().await;
    }

    #[solve(req)]
    async fn routine(&mut self, event: Routine) {
        let _ = self.done.send(event.tag);
    }
}

pub struct SmallPriority {
    gate: Gate,
    done: mpsc::UnboundedSender<u32>,
}

#[manager(queue = "priority", capacity = 2)]
impl SmallPriority {
    #[solve(req)]
    async fn hold(&mut self, _event: Hold) {
        self.gate.pass().await;
    }

    #[solve(req)]
    async fn routine(&mut self, event: Routine) {
        let _ = self.done.send(event.tag);
    }
}

async fn check_backpressure(edri: Handle, gate: Gate, mut done: mpsc::UnboundedReceiver<u32>) {
    edri.notify(Hold {}).await.unwrap();
    gate.entered().await;
    // The held event left the queue: two more fit.
    edri.notify(Routine { tag: 1 }).await.unwrap();
    edri.notify(Routine { tag: 2 }).await.unwrap();

    // The queue is full: the third sender waits instead of dropping the event.
    let mut third = Box::pin(edri.notify(Routine { tag: 3 }));
    assert!(
        (&mut third).now_or_never().is_none(),
        "a full queue must make the sender wait"
    );
    assert!(
        (&mut third).now_or_never().is_none(),
        "still full while the manager is held"
    );

    gate.open();
    third.await.unwrap();
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(done.recv().await.unwrap());
    }
    assert_eq!(got, [1, 2, 3], "nothing was dropped, and order was kept");
    edri.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_full_fifo_queue_makes_the_sender_wait() {
    let gate = Gate::default();
    let (done, received) = mpsc::unbounded_channel();
    let edri = Edri::new()
        .manager(Small {
            gate: gate.clone(),
            done,
        })
        .start()
        .await
        .unwrap();
    check_backpressure(edri, gate, received).await;
}

#[tokio::test]
async fn a_full_priority_queue_makes_the_sender_wait() {
    let gate = Gate::default();
    let (done, received) = mpsc::unbounded_channel();
    let edri = Edri::new()
        .manager(SmallPriority {
            gate: gate.clone(),
            done,
        })
        .start()
        .await
        .unwrap();
    check_backpressure(edri, gate, received).await;
}
