//! actix: 100 counter actors and one echo actor. actix actors live on single-threaded arbiters,
//! so the two-core budget is two arbiters: counters alternate between them, and the driver and
//! the echo actor share the first (as the asker and the solver share a worker in tokio). `do_send`
//! never waits (its queue is unbounded), so the counters on the driver's arbiter catch up only
//! once the driver waits for the end of the run; the others work meanwhile.

use std::sync::Arc;

use actix::prelude::*;

use crate::{measure, Figures, Plan, Shared, Subject, RECEIVERS};

pub struct Counter {
    seen: u64,
    shared: Arc<Shared>,
}

impl Actor for Counter {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct Tick(pub u64);

impl Handler<Tick> for Counter {
    type Result = ();

    fn handle(&mut self, msg: Tick, _ctx: &mut Context<Self>) {
        std::hint::black_box(msg.0);
        self.shared.count(&mut self.seen);
    }
}

pub struct Echoer;

impl Actor for Echoer {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "u64")]
pub struct Echo(pub u64);

impl Handler<Echo> for Echoer {
    type Result = u64;

    fn handle(&mut self, msg: Echo, _ctx: &mut Context<Self>) -> u64 {
        msg.0
    }
}

pub struct Actix {
    counters: Vec<Addr<Counter>>,
    echo: Addr<Echoer>,
}

impl Subject for Actix {
    async fn one_way_round(&self, n: u64) {
        for counter in &self.counters {
            counter.do_send(Tick(n));
        }
    }

    async fn fan_out(&self, n: u64) {
        for counter in &self.counters {
            counter.do_send(Tick(n));
        }
    }

    async fn ask(&self, n: u64) -> u64 {
        self.echo.send(Echo(n)).await.unwrap()
    }
}

pub fn run(plan: Plan) -> Figures {
    let system = System::new();
    let figures = system.block_on(async move {
        let arbiters = [Arbiter::new(), Arbiter::new()];
        let shared = Shared::new();
        let counters = (0..RECEIVERS)
            .map(|i| {
                let shared = shared.clone();
                Counter::start_in_arbiter(&arbiters[i % 2].handle(), move |_| Counter {
                    seen: 0,
                    shared,
                })
            })
            .collect();
        let echo = Echoer::start_in_arbiter(&arbiters[0].handle(), |_| Echoer);
        let subject = Actix { counters, echo };
        let (sender, receiver) = tokio::sync::oneshot::channel();
        arbiters[0].spawn(async move {
            let figures = measure(&subject, &shared, plan).await;
            let _ = sender.send(figures);
        });
        let figures = receiver.await.expect("actix driver finished");
        for arbiter in &arbiters {
            arbiter.stop();
        }
        figures
    });
    System::current().stop();
    figures
}
