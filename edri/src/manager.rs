//! Managers: the [`Manager`] trait that `#[manager]` implements, and the loop that runs one.

use std::any::{Any, TypeId};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::Poll;

use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::FutureExt;
use tokio::sync::{mpsc, watch};
use tracing::Instrument;

use crate::answer::{send_answer, AnswerDelivery, PanicNote, PendingAnswer, ReplySlot};
use crate::context::Context;
use crate::mailbox::{Delivery, Inbox, QueueKind};
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

/// How handling one delivery ended, for the counters.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Failed,
    /// Handed to a worker, which counts it when it ends.
    Offloaded,
}

/// Counters of one manager, reported by [`Handle::stats`](crate::Handle::stats).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ManagerStats {
    /// The manager's name.
    pub name: String,
    /// Events and answers handled.
    pub processed: u64,
    /// Of those, how many ended in a failure (an `Err` answer or a panic).
    pub failed: u64,
    /// Solvers that panicked.
    pub panics: u64,
    /// Deliveries waiting in the queue.
    pub queue_depth: usize,
    /// Thread and process workers running now.
    pub workers_running: usize,
    /// Worker starts waiting for a `max_workers` slot.
    pub workers_pending: usize,
    /// Process ids of the manager's worker processes alive now (running or idle).
    pub worker_processes: Vec<u32>,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) processed: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) panics: AtomicU64,
    /// Deliveries received, per `#[solve(req)]` solver index, for the topology.
    pub(crate) received: Box<[AtomicU64]>,
}

impl Counters {
    /// Counters for a manager with `solvers` request solvers.
    pub(crate) fn new(solvers: usize) -> Self {
        Self {
            received: (0..solvers).map(|_| AtomicU64::new(0)).collect(),
            ..Self::default()
        }
    }

    pub(crate) fn count(&self, outcome: Outcome) {
        if outcome == Outcome::Offloaded {
            return;
        }
        self.processed.fetch_add(1, Ordering::Relaxed);
        if outcome == Outcome::Failed {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
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

/// What a notification solver (or one that answers through a `Responder`) may return.
#[diagnostic::on_unimplemented(
    message = "this solver returns `{Self}`, but it has nothing to answer",
    label = "expected `()` or `Result<(), Failure>`",
    note = "notification solvers, `#[solve(res)]` solvers and solvers taking a `Responder` return nothing (or `Result<(), Failure>` to count a failure)"
)]
pub trait Finish {
    #[doc(hidden)]
    fn into_result(self) -> Result<(), Failure>;

    #[doc(hidden)]
    fn outcome(self, manager: &str, event: &str) -> Outcome
    where
        Self: Sized,
    {
        match self.into_result() {
            Ok(()) => Outcome::Done,
            Err(failure) => {
                tracing::warn!(manager, event, %failure, "solver failed");
                Outcome::Failed
            }
        }
    }
}

impl Finish for () {
    fn into_result(self) -> Result<(), Failure> {
        Ok(())
    }
}

impl Finish for Result<(), Failure> {
    fn into_result(self) -> Result<(), Failure> {
        self
    }
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

pub(crate) fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(message) = panic.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = panic.downcast_ref::<String>() {
        message.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

/// What a `#[solve(req)]` solver returns, for an event of kind `K`: nothing for a notification,
/// the response (or a `Result` of it) for a request.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "a solver of this event cannot return `{Self}`",
    label = "wrong return type for this event",
    note = "a request solver returns the event's response or `Result<Response, Failure>`; a notification solver returns `()` or `Result<(), Failure>`"
)]
pub trait Returns<K> {
    fn finish(self, slot: &mut ReplySlot, manager: &str, event: &str) -> Outcome;
}

impl<T: Finish> Returns<crate::event::NotificationKind> for T {
    fn finish(self, _slot: &mut ReplySlot, manager: &str, event: &str) -> Outcome {
        self.outcome(manager, event)
    }
}

impl<R: Send + 'static, T: crate::IntoAnswer<R>> Returns<crate::event::RequestKind<R>> for T {
    fn finish(self, slot: &mut ReplySlot, _manager: &str, _event: &str) -> Outcome {
        let answer = self.into_answer();
        let outcome = if answer.is_ok() {
            Outcome::Done
        } else {
            Outcome::Failed
        };
        if let Some(sender) = slot.take_sender() {
            send_answer(sender, answer);
        }
        outcome
    }
}

/// Finishes a `#[solve(req)]` solver: answers the requester when the event is a request.
#[doc(hidden)]
pub fn finish<E: crate::Event, T: Returns<E::Kind>>(
    returned: T,
    slot: &mut ReplySlot,
    manager: &str,
) -> Outcome {
    returned.finish(slot, manager, E::NAME)
}

/// Compiles only for event types, so a wrong event parameter gets edri's message.
#[doc(hidden)]
pub const fn assert_event<E: crate::Event>() {}
