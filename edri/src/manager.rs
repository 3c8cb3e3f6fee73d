//! Managers: the [`Manager`] trait that `#[manager]` implements, and the loop that runs one.

use std::any::TypeId;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::FutureExt;
use tokio::sync::{mpsc, watch};
use tracing::Instrument;

use crate::answer::{send_answer, AnswerDelivery, PanicNote, PendingAnswer, ReplySlot, Returns};
use crate::context::Context;
use crate::failure::panic_message;
use crate::mailbox::{Delivery, Inbox, QueueKind};
use crate::stats::{Counters, Outcome};
use crate::worker::Worker;
use crate::{Failure, Request};

/// A component that subscribes to events and solves them. Implemented by `#[manager]`.
///
/// Do not implement this trait by hand: its items are generated and may change between
/// releases. Put `#[manager]` on the impl block that holds your `#[solve]` functions.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an edri manager",
    label = "no #[manager] impl block for this type",
    note = "put `#[manager]` on an `impl {Self} {{ ... }}` block holding its #[solve] functions"
)]
pub trait Manager: Send + 'static {
    #[doc(hidden)]
    fn descriptor() -> &'static ManagerDescriptor;

    #[doc(hidden)]
    fn dispatch<'a>(
        &'a mut self,
        delivery: Delivery,
        reply: &'a mut ReplySlot,
        ctx: &'a Context,
    ) -> impl Future<Output = Outcome> + Send + 'a;

    #[doc(hidden)]
    fn dispatch_answer<'a>(
        &'a mut self,
        delivery: AnswerDelivery,
        ctx: &'a Context,
    ) -> impl Future<Output = Outcome> + Send + 'a;

    #[doc(hidden)]
    fn after_start<'a>(&'a mut self, ctx: &'a Context) -> impl Future<Output = ()> + Send + 'a;

    #[doc(hidden)]
    fn before_stop<'a>(&'a mut self, ctx: &'a Context) -> impl Future<Output = ()> + Send + 'a;
}

/// What `#[manager]` declares about a manager.
#[doc(hidden)]
#[derive(Debug)]
pub struct ManagerDescriptor {
    pub name: &'static str,
    pub queue: QueueKind,
    pub capacity: Option<usize>,
    pub max_workers: Option<usize>,
    pub solvers: &'static [SolverInfo],
}

/// Whether a solver handles requests arriving or answers returning.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    Req,
    Res,
}

/// One `#[solve]` function of a manager.
#[doc(hidden)]
#[derive(Debug)]
pub struct SolverInfo {
    pub event: fn() -> TypeId,
    pub event_name: &'static str,
    pub event_type: &'static str,
    pub direction: Direction,
    /// Index in the manager's `dispatch` (req) or `dispatch_answer` (res) table.
    pub index: u16,
    pub priority: i32,
    pub function: &'static str,
    pub location: &'static str,
    /// The key a process solver is found by in the child.
    pub process: Option<&'static str>,
}

/// Takes the typed event out of a delivery.
#[doc(hidden)]
pub fn take_event<E: Clone + Send + Sync + 'static>(delivery: Delivery) -> Option<E> {
    delivery.event.take::<E>()
}

/// Takes the typed request and answer out of an answer delivery.
#[doc(hidden)]
pub fn take_answer<E: Request>(
    delivery: AnswerDelivery,
) -> Option<(E, Result<E::Response, Failure>)> {
    let event = crate::payload::take_shared::<E>(delivery.request)?;
    let answer = match delivery.answer {
        Ok(response) => Ok(*response.downcast::<E::Response>().ok()?),
        Err(failure) => Err(failure),
    };
    Some((event, answer))
}

/// Logs a delivery that reached a solver of the wrong type; the tables make this impossible,
/// but a bug there must show up, not vanish.
#[doc(hidden)]
pub fn misrouted(manager: &str, event: &str) -> Outcome {
    tracing::error!(
        manager,
        event,
        "edri bug: a delivery reached the wrong solver; it was dropped"
    );
    Outcome::Failed
}

/// Everything a running manager's loop needs besides the manager itself.
pub(crate) struct Wiring {
    pub(crate) inbox: Inbox,
    pub(crate) answers: mpsc::UnboundedReceiver<PendingAnswer>,
    pub(crate) replay: Vec<Delivery>,
    pub(crate) stop: watch::Receiver<bool>,
    /// Turns true once every manager given to the builder has subscribed.
    pub(crate) started: watch::Receiver<bool>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) ctx: Context,
}

/// The solver index that routes `HealthCheck` to the runtime's own answer, for managers that
/// have no `HealthCheck` solver; generated tables never reach it.
pub(crate) const BUILT_IN_HEALTH: u16 = u16::MAX;

/// How many queued deliveries a manager handles in a row before it looks at its answers and its
/// stop signal again.
const BATCH: usize = 32;

/// Runs a manager until it is told to stop, then finishes its queue and calls `before_stop`.
pub(crate) async fn run<M: Manager>(mut manager: M, wiring: Wiring) {
    let Wiring {
        mut inbox,
        mut answers,
        replay,
        mut stop,
        mut started,
        counters,
        ctx,
    } = wiring;
    // `after_start` may send to any manager of the system, so it waits until all subscribed.
    // A system that stops first (its start failed) drops what was queued: each requester
    // gets `Unavailable`.
    let stopped_first = tokio::select! {
        biased;
        started = started.wait_for(|started| *started) => started.is_err(),
        _ = stop.wait_for(|stop| *stop) => true,
    };
    if stopped_first {
        inbox.close();
        ctx.workers().shutdown().await;
        return;
    }
    let note = Arc::new(PanicNote::default());
    let runner = Runner {
        counters: &counters,
        note: &note,
        ctx: &ctx,
    };

    let mut in_flight = FuturesUnordered::new();
    manager.after_start(&ctx).await;
    for delivery in replay {
        runner.solve(&mut manager, delivery).await;
    }
    // One future for the stop signal, polled again on every round: a new one per round would
    // join and leave the signal's waiter list each time, which cost more than a delivery.
    // The flag only ever turns true; a dropped sender means the system is gone.
    let mut stopped = pin!(async { stop.wait_for(|stop| *stop).await.map(|_| ()) });
    loop {
        tokio::select! {
            biased;
            Some(answer) = in_flight.next(), if !in_flight.is_empty() => runner.solve_answer(&mut manager, answer).await,
            Some(pending) = answers.recv() => in_flight.push(pending),
            delivery = inbox.recv() => match delivery {
                Some(delivery) => {
                    runner.solve(&mut manager, delivery).await;
                    // Take what queued meanwhile without going back through the select, a few
                    // at a time, so answers and the stop signal are still looked at soon.
                    for _ in 1..BATCH {
                        let Some(delivery) = inbox.try_recv() else { break };
                        runner.solve(&mut manager, delivery).await;
                    }
                }
                None => break,
            },
            _ = &mut stopped => break,
        }
    }
    // Refuse new deliveries, then finish those already queued: each is processed, or its
    // requester gets a failure when the shutdown deadline aborts this task.
    inbox.close();
    while let Some(delivery) = inbox.recv().await {
        runner.solve(&mut manager, delivery).await;
    }
    // Answers already in are handled; those still awaited are not waited for.
    while let Ok(pending) = answers.try_recv() {
        in_flight.push(pending);
    }
    while let Some(Some(answer)) = in_flight.next().now_or_never() {
        runner.solve_answer(&mut manager, answer).await;
    }
    // The hook runs while the manager's workers still do, so it can wait for them.
    manager.before_stop(&ctx).await;
    ctx.workers().shutdown().await;
    tracing::debug!(manager = ctx.name(), "stopped");
}

struct Runner<'a> {
    counters: &'a Counters,
    note: &'a Arc<PanicNote>,
    ctx: &'a Context,
}

impl Runner<'_> {
    async fn solve<M: Manager>(&self, manager: &mut M, delivery: Delivery) {
        if delivery.solver == BUILT_IN_HEALTH {
            // Not counted: the counters report the manager's own work.
            if let Some(sender) = delivery.reply {
                send_answer(sender, Ok(self.ctx.health()));
            }
            return;
        }
        if let Some(received) = self.counters.received.get(usize::from(delivery.solver)) {
            received.fetch_add(1, Ordering::Relaxed);
        }
        // Without a subscriber for debug events, no span: entering and leaving one on every
        // poll cost more than the rest of the dispatch.
        let span = if tracing::enabled!(tracing::Level::DEBUG) {
            let span = tracing::debug_span!(
                "solve",
                manager = self.ctx.name(),
                event = delivery.event_name
            );
            span.in_scope(|| tracing::debug!("solving"));
            span
        } else {
            tracing::Span::none()
        };
        let event_name = delivery.event_name;
        let mut delivery = delivery;
        let mut slot = ReplySlot::new(delivery.reply.take(), self.note.clone());
        let note = self.note;
        let result = {
            let mut solving = pin!(manager
                .dispatch(delivery, &mut slot, self.ctx)
                .instrument(span));
            // Polled by hand, marked with this manager's note, so a Responder dropped by a panic
            // leaves its answer channel for the loop to answer with the panic message.
            std::future::poll_fn(|cx| {
                note.polling(|| {
                    std::panic::catch_unwind(AssertUnwindSafe(|| solving.as_mut().poll(cx)))
                })
                .map_or_else(|panic| Poll::Ready(Err(panic)), |poll| poll.map(Ok))
            })
            .await
        };
        let outcome = match result {
            Ok(outcome) => outcome,
            Err(panic) => {
                let message = panic_message(panic.as_ref());
                self.counters.panics.fetch_add(1, Ordering::Relaxed);
                tracing::error!(manager = self.ctx.name(), event = event_name, panic = %message, "solver panicked");
                self.note.fail_orphans(&message);
                if let Some(sender) = slot.take_sender() {
                    send_answer::<()>(
                        sender,
                        Err(Failure::internal(format!(
                            "the solver of `{event_name}` panicked: {message}"
                        ))),
                    );
                }
                Outcome::Failed
            }
        };
        self.count(outcome);
    }

    async fn solve_answer<M: Manager>(&self, manager: &mut M, answer: AnswerDelivery) {
        let span = tracing::debug_span!(
            "solve_res",
            manager = self.ctx.name(),
            event = answer.event_name
        );
        let event_name = answer.event_name;
        let result = AssertUnwindSafe(manager.dispatch_answer(answer, self.ctx))
            .catch_unwind()
            .instrument(span)
            .await;
        let outcome = result.unwrap_or_else(|panic| {
            self.counters.panics.fetch_add(1, Ordering::Relaxed);
            tracing::error!(
                manager = self.ctx.name(),
                event = event_name,
                panic = %panic_message(panic.as_ref()),
                "answer solver panicked"
            );
            Outcome::Failed
        });
        self.count(outcome);
    }

    fn count(&self, outcome: Outcome) {
        self.counters.count(outcome);
    }
}

/// Compiles only for event types, so a wrong event parameter gets edri's message.
#[doc(hidden)]
pub const fn assert_event<E: crate::Event>() {}

/// Runs a `mode = "thread"` solver on the manager's thread pool.
#[doc(hidden)]
pub fn solve_in_thread<E, T, F>(
    ctx: &Context,
    slot: &mut ReplySlot,
    event: E,
    timeout: Option<Duration>,
    solver: F,
) -> Outcome
where
    E: crate::Event,
    T: Returns<E::Kind>,
    F: FnOnce(E, &mut Worker) -> T + Send + 'static,
{
    crate::worker::solve_in_thread(ctx.workers(), slot, event, timeout, solver)
}

/// Runs a `mode = "process"` solver in one of the manager's worker processes.
#[doc(hidden)]
pub fn solve_in_process<E: crate::Event>(
    ctx: &Context,
    slot: &mut ReplySlot,
    event: E,
    solver: &'static str,
    timeout: Option<Duration>,
) -> Outcome {
    crate::worker::solve_in_process(ctx.workers(), slot, event, solver, timeout)
}
