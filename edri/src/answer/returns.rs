//! What solvers return, and how it becomes an answer and an outcome: [`Finish`] for solvers
//! with nothing to answer, [`Returns`] for `#[solve(req)]` solvers.

use super::{send_answer, ReplySlot};
use crate::stats::Outcome;
use crate::Failure;

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
