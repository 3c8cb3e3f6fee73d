//! The solver's side of an answer: the slot the manager loop keeps for the request being
//! solved, [`Responder`], [`IntoAnswer`], and the note that answers for a panicking solver.

use std::cell::Cell;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use super::channel::{send_answer, AnswerSender};
use crate::{Failure, Request};

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

/// The answer channel of the request being solved, kept by the manager loop so that a panicking
/// solver still gets its requester an answer.
#[doc(hidden)]
pub struct ReplySlot {
    sender: Option<AnswerSender>,
    note: Arc<PanicNote>,
}

impl ReplySlot {
    /// Takes the answer channel out, for a worker that answers from elsewhere.
    pub(crate) fn take_sender(&mut self) -> Option<AnswerSender> {
        self.sender.take()
    }

    /// The slot of the request being solved by a manager with this panic note.
    pub(crate) fn new(sender: Option<AnswerSender>, note: Arc<PanicNote>) -> Self {
        Self { sender, note }
    }

    /// A slot for an answer channel taken out earlier.
    pub(crate) fn with_sender(sender: Option<AnswerSender>) -> Self {
        Self {
            sender,
            note: Arc::default(),
        }
    }

    /// Hands the answer channel to a solver that answers through a [`Responder`].
    #[doc(hidden)]
    pub fn responder<E: Request>(&mut self) -> Responder<E> {
        Responder::new(self.sender.take(), self.note.clone())
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
