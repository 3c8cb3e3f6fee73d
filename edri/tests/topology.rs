//! Every sender is counted in the topology: the Handle, managers, their thread workers and the
//! scheduler all enter the router the same way.

use std::time::Duration;

use edri::prelude::*;
use edri::scheduler::Job;
use edri::Subscription;

#[event(notification)]
pub struct Tick {
    pub n: u32,
}

#[event(request)]
pub struct Relay {
    pub n: u32,
}

#[event(request)]
pub struct FromThread {
    pub n: u32,
}

#[derive(Default)]
pub struct Relayer;

#[manager]
impl Relayer {
    /// Passes the number on as two ticks: one from the manager, one from a thread worker.
    #[solve(req)]
    async fn relay(&mut self, event: Relay, ctx: &Context) {
        ctx.notify(Tick { n: event.n }).await;
        let _ = ctx.ask(FromThread { n: event.n }).await;
    }
}

#[derive(Default)]
pub struct Threads;

#[manager]
impl Threads {
    #[solve(req, mode = "thread")]
    fn from_thread(event: FromThread, worker: &mut Worker) {
        worker.send(Tick { n: event.n }).unwrap();
    }
}

async fn next(ticks: &mut Subscription<Tick>) -> Tick {
    use futures_util::StreamExt;
    tokio::time::timeout(Duration::from_secs(10), ticks.next())
        .await
        .expect("a tick within 10 s")
        .expect("the subscription is open")
}

fn sent(edri: &Handle, event: &str, sender: &str) -> u64 {
    edri.topology()
        .event(event)
        .and_then(|event| event.senders.iter().find(|link| link.manager == sender))
        .map_or(0, |link| link.count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_handle_managers_thread_workers_and_the_scheduler_are_all_counted() -> edri::Result<()>
{
    let edri = Edri::new()
        .manager(Relayer)
        .manager(Threads)
        .start_scheduler(Vec::new())
        .start()
        .await?;
    let mut ticks = edri.subscribe::<Tick>();

    for n in 0..3 {
        edri.ask(Relay { n }).await?;
    }
    edri.notify(Tick { n: 100 }).await?;
    // The scheduler fires a job of its own.
    edri.ask(edri::scheduler::Set {
        job: Job::new(Tick { n: 200 }),
    })
    .await
    .expect("the scheduler takes the job");
    let mut seen = Vec::new();
    for _ in 0..8 {
        seen.push(next(&mut ticks).await.n);
    }
    seen.sort_unstable();
    assert_eq!(seen, [0, 0, 1, 1, 2, 2, 100, 200]);

    assert_eq!(sent(&edri, "relay", "handle"), 3);
    assert_eq!(sent(&edri, "tick", "handle"), 1);
    // A manager and its thread workers count as one sender.
    assert_eq!(sent(&edri, "tick", "Relayer"), 3);
    assert_eq!(sent(&edri, "from-thread", "Relayer"), 3);
    assert_eq!(sent(&edri, "tick", "Threads"), 3);
    assert_eq!(sent(&edri, "tick", "edri-scheduler"), 1);
    edri.shutdown().await
}
