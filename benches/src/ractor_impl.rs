//! ractor: 100 counter actors and one echo actor (ractor's mailboxes are unbounded); `cast` for
//! one-way and fan-out, `call` for the round trip.

use std::sync::Arc;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use crate::{Shared, Subject, RECEIVERS};

pub struct Counter;

impl Actor for Counter {
    type Msg = u64;
    type State = (u64, Arc<Shared>);
    type Arguments = Arc<Shared>;

    async fn pre_start(
        &self,
        _myself: ActorRef<u64>,
        shared: Arc<Shared>,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok((0, shared))
    }

    async fn handle(
        &self,
        _myself: ActorRef<u64>,
        n: u64,
        (seen, shared): &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        std::hint::black_box(n);
        shared.count(seen);
        Ok(())
    }
}

pub struct Echoer;

pub struct Echo(u64, RpcReplyPort<u64>);

impl Actor for Echoer {
    type Msg = Echo;
    type State = ();
    type Arguments = ();

    async fn pre_start(&self, _myself: ActorRef<Echo>, _: ()) -> Result<(), ActorProcessingErr> {
        Ok(())
    }

    async fn handle(
        &self,
        _myself: ActorRef<Echo>,
        Echo(n, reply): Echo,
        _: &mut (),
    ) -> Result<(), ActorProcessingErr> {
        let _ = reply.send(n);
        Ok(())
    }
}

pub struct Ractor {
    counters: Vec<ActorRef<u64>>,
    echo: ActorRef<Echo>,
}

pub async fn build(shared: Arc<Shared>) -> Ractor {
    let mut counters = Vec::with_capacity(RECEIVERS);
    for _ in 0..RECEIVERS {
        let (actor, _) = Actor::spawn(None, Counter, shared.clone())
            .await
            .expect("ractor spawns");
        counters.push(actor);
    }
    let (echo, _) = Actor::spawn(None, Echoer, ()).await.expect("ractor spawns");
    Ractor { counters, echo }
}

pub async fn teardown(ractor: Ractor) {
    for counter in &ractor.counters {
        counter.stop(None);
    }
    ractor.echo.stop(None);
}

impl Subject for Ractor {
    async fn one_way_round(&self, n: u64) {
        for counter in &self.counters {
            counter.cast(n).unwrap();
        }
    }

    async fn fan_out(&self, n: u64) {
        for counter in &self.counters {
            counter.cast(n).unwrap();
        }
    }

    async fn ask(&self, n: u64) -> u64 {
        match self.echo.call(|reply| Echo(n, reply), None).await.unwrap() {
            ractor::rpc::CallResult::Success(m) => m,
            other => panic!("ractor call failed: {other:?}"),
        }
    }
}
