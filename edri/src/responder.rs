//! Answers to requests: [`Responder`], [`IntoAnswer`] and the erased answer that crosses queues.

use std::any::Any;
use std::cell::Cell;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

pub(crate) use crate::answer::AnswerSender;
use crate::answer::Dropped;
use crate::{Failure, Request};

/// An answer on its way back to the requester, with the response type erased.
pub(crate) type Answer = Result<Box<dyn Any + Send>, Failure>;

/// An answer as it arrived at a requester, its channel's end included.
pub(crate) fn received(event: &str, received: Result<Answer, Dropped>) -> Answer {
    // Every solver path answers explicitly; a dropped sender means the delivery was dropped
    // unprocessed, because its manager stopped.
    received.unwrap_or_else(|_| Err(stopped_before_answering(event)))
}

/// Turns an answer that arrived at a requester back into its typed form.
pub(crate) fn typed_answer<R: 'static>(
    event: &'static str,
    received_answer: Result<Answer, Dropped>,
) -> Result<R, Failure> {
    received(event, received_answer)?
        .downcast::<R>()
        .map(|boxed| *boxed)
        .map_err(|_| Failure::internal(format!("the answer to `{event}` has an unexpected type")))
}

/// The failure of a request whose delivery was dropped unprocessed.
pub(crate) fn stopped_before_answering(event: &str) -> Failure {
    Failure::unavailable(format!(
        "the manager solving `{event}` stopped before answering"
    ))
}

/// Sends a typed answer through an erased sender. A requester that stopped waiting is not an error.
pub(crate) fn send_answer<R: Send + 'static>(sender: AnswerSender, answer: Result<R, Failure>) {
    let _ = sender.send(answer.map(|response| Box::new(response) as Box<dyn Any + Send>));
}

/// What a solver may return for a request whose response is `R`: the response itself, or a
/// `Result<R, Failure>`.
#[diagnostic::on_unimplemented(
    message = "this solver returns `{Self}`, but the event's response is `{R}`",
    label = "expected `{R}` or `Result<{R}, Failure>`",
    note = "a request solver returns the event's response, `Result<Response, Failure>`, or nothing when it takes a `Responder`"
)]
pub trait IntoAnswer<R> {
    /// The answer to send.
    fn into_answer(self) -> Result<R, Failure>;
}

impl<R> IntoAnswer<R> for R {
    fn into_answer(self) -> Result<R, Failure> {
        Ok(self)
    }
}

impl<R> IntoAnswer<R> for Result<R, Failure> {
    fn into_answer(self) -> Result<R, Failure> {
        self
    }
}

/// Answer channels of Responders dropped while their solver panicked inside the manager loop;
/// the loop answers them with the panic message once it has caught the panic.
#[derive(Default)]
pub(crate) struct PanicNote {
    orphans: Mutex<Vec<(&'static str, AnswerSender)>>,
}

thread_local! {
    /// The note of the manager whose solver this thread is polling right now, if any.
    static POLLING: Cell<*const PanicNote> = const { Cell::new(std::ptr::null()) };
}

impl PanicNote {
    /// Runs `poll` marked as polling a solver of the manager that owns this note.
    pub(crate) fn polling<T>(self: &Arc<Self>, poll: impl FnOnce() -> T) -> T {
        struct Reset(*const PanicNote);
        impl Drop for Reset {
            fn drop(&mut self) {
                POLLING.with(|polling| polling.set(self.0));
            }
        }
        let _reset = Reset(POLLING.with(|polling| polling.replace(Arc::as_ptr(self))));
        poll()
    }

    /// Answers every orphan with the panic message.
    pub(crate) fn fail_orphans(&self, panic: &str) {
        let orphans = std::mem::take(
            &mut *self
                .orphans
                .lock()
                .unwrap_or_else(|poison| poison.into_inner()),
        );
        for (event, sender) in orphans {
            let _ = sender.send(Err(Failure::internal(format!(
                "the solver of `{event}` panicked: {panic}"
            ))));
        }
    }

    /// Keeps the answer channel of a Responder dropped by a panic in this manager's solver.
    /// Gives it back when the panic is elsewhere (say, in a task the Responder was moved to).
    fn adopt(&self, event: &'static str, sender: AnswerSender) -> Option<AnswerSender> {
        if !std::thread::panicking() || !std::ptr::eq(POLLING.with(|polling| polling.get()), self) {
            return Some(sender);
        }
        self.orphans
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .push((event, sender));
        None
    }
}

/// Answers a request later: from another handler, a spawned task or a worker.
///
/// A solver that takes a `Responder<E>` parameter does not answer by returning; it answers by
/// calling [`Responder::send`]. A responder dropped without answering fails the request with
/// [`Status::Internal`](crate::Status::Internal), so no requester waits for nothing.
///
/// ```
/// use edri::prelude::*;
///
/// #[event(request)]
/// pub struct Slow { #[response] pub value: u32 }
///
/// #[derive(Default)]
/// pub struct Later;
///
/// #[manager]
/// impl Later {
///     #[solve(req)]
///     async fn slow(&mut self, _event: Slow, reply: Responder<Slow>) {
///         tokio::spawn(async move { reply.send(SlowResponse { value: 7 }) });
///     }
/// }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> edri::Result<()> {
/// let edri = Edri::new().manager(Later).start().await?;
/// assert_eq!(edri.ask(Slow {}).await?.value, 7);
/// # edri.shutdown().await }
/// ```
pub struct Responder<E: Request> {
    sender: Option<AnswerSender>,
    note: Arc<PanicNote>,
    _event: PhantomData<fn() -> E>,
}

impl<E: Request> Responder<E> {
    pub(crate) fn new(sender: Option<AnswerSender>, note: Arc<PanicNote>) -> Self {
        Self {
            sender,
            note,
            _event: PhantomData,
        }
    }

    /// Sends the answer: a response, or a `Result` of one.
    pub fn send(mut self, answer: impl IntoAnswer<E::Response>) {
        if let Some(sender) = self.sender.take() {
            send_answer(sender, answer.into_answer());
        }
    }

    /// Whether the requester stopped waiting (it timed out or was dropped), so the work can stop.
    /// A notification-style delivery with nobody waiting counts as closed.
    pub fn is_closed(&self) -> bool {
        self.sender.as_ref().is_none_or(|sender| sender.is_closed())
    }
}

impl<E: Request> std::fmt::Debug for Responder<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Responder")
            .field("event", &E::NAME)
            .finish()
    }
}

impl<E: Request> Drop for Responder<E> {
    fn drop(&mut self) {
        let Some(sender) = self.sender.take() else {
            return;
        };
        let Some(sender) = self.note.adopt(E::NAME, sender) else {
            return;
        };
        let failure = if std::thread::panicking() {
            Failure::internal(format!("the solver of `{}` panicked", E::NAME))
        } else {
            Failure::internal(format!(
                "the solver of `{}` dropped its Responder without answering",
                E::NAME
            ))
        };
        let _ = sender.send(Err(failure));
    }
}
