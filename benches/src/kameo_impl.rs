//! kameo: 100 counter actors and one echo actor, bounded mailboxes of the same capacity as
//! edri's queues; `tell` for one-way and fan-out (`try_send` first, waiting only when a mailbox
//! is full, as the tokio floor and edri's router do), `ask` for the round trip. kameo's default
//! `tracing` feature is off, so it does not capture a span per message.

use std::sync::Arc;

use kameo::actor::{ActorRef, Spawn};
use kameo::error::SendError;
use kameo::message::{Context, Message};
use kameo::{mailbox, Actor};

use crate::{Shared, Subject, CAPACITY, RECEIVERS};

#[derive(Actor)]
pub struct Counter {
    seen: u64,
    shared: Arc<Shared>,
}

pub struct Tick(pub u64);

impl Message<Tick> for Counter {
    type Reply = ();

    async fn handle(&mut self, msg: Tick, _ctx: &mut Context<Self, Self::Reply>) {
        std::hint::black_box(msg.0);
        self.shared.count(&mut self.seen);
    }
}

#[derive(Actor)]
pub struct Echoer;

pub struct Echo(pub u64);

impl Message<Echo> for Echoer {
    type Reply = u64;

    async fn handle(&mut self, msg: Echo, _ctx: &mut Context<Self, Self::Reply>) -> u64 {
        msg.0
    }
}

pub struct Kameo {
    counters: Vec<ActorRef<Counter>>,
    echo: ActorRef<Echoer>,
}

pub async fn build(shared: Arc<Shared>) -> Kameo {
    let counters = (0..RECEIVERS)
        .map(|_| {
            Counter::spawn_with_mailbox(
                Counter {
                    seen: 0,
                    shared: shared.clone(),
                },
                mailbox::bounded(CAPACITY),
            )
        })
        .collect();
    let echo = Echoer::spawn_with_mailbox(Echoer, mailbox::bounded(CAPACITY));
    Kameo { counters, echo }
}

pub async fn teardown(_: Kameo) {}

/// Queues a message without waiting when there is room, else waits for room.
#[inline]
async fn tell(counter: &ActorRef<Counter>, tick: Tick) {
    match counter.tell(tick).try_send() {
        Ok(()) => {}
        Err(SendError::MailboxFull(tick)) => counter.tell(tick).await.unwrap(),
        Err(_) => panic!("kameo actor stopped"),
    }
}

impl Subject for Kameo {
    async fn one_way_round(&self, n: u64) {
        for counter in &self.counters {
            tell(counter, Tick(n)).await;
        }
    }

    async fn fan_out(&self, n: u64) {
        for counter in &self.counters {
            tell(counter, Tick(n)).await;
        }
    }

    async fn ask(&self, n: u64) -> u64 {
        self.echo.ask(Echo(n)).await.unwrap()
    }
}
