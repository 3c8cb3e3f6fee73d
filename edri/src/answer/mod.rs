//! Answers to requests, all in one place: the channel an answer travels in ([`channel`]), the
//! deadlines that fail unanswered requests ([`deadlines`]), waiting for answers
//! ([`wait`]), and the solver's side: the answer slot a solver fills and [`Responder`]
//! ([`responder`]).
//!
//! A request used to wait for its answer through a tokio `oneshot` wrapped in
//! `tokio::time::timeout`. The timer cost more than everything else in a round trip: each
//! request put an entry into tokio's timer wheel and took it out again, under the time
//! driver's lock, and a new earliest deadline woke an idle worker thread. Here a request's
//! deadline goes into one [`Deadlines`] queue per system instead, which a single task sweeps:
//! it sleeps until the earliest deadline still pending, so a request answered in time never
//! touches the timer. The answer channel is edri's own, because the sweeper has to be able to
//! complete it with the timeout.

mod channel;
mod deadlines;
mod responder;
mod returns;
mod wait;

use std::any::Any;

pub(crate) use channel::{channel, send_answer, AnswerReceiver, AnswerSender, Dropped};
pub(crate) use deadlines::Deadlines;
pub(crate) use responder::PanicNote;
pub use responder::{IntoAnswer, ReplySlot, Responder};
pub use returns::{finish, Finish, Returns};
pub(crate) use wait::{
    all_answers, first_answer, first_answer_erased, forward_answers, PendingAnswer,
};
pub use wait::{AnswerDelivery, Pending};

use crate::Failure;

/// An answer on its way back to the requester, with the response type erased.
pub(crate) type Answer = Result<Box<dyn Any + Send>, Failure>;

/// The answers a request will get: one receiver per solver.
pub(crate) enum Answers {
    None,
    One(AnswerReceiver),
    Many(Vec<AnswerReceiver>),
}

impl Answers {
    pub(crate) fn add(&mut self, receiver: AnswerReceiver) {
        *self = match std::mem::replace(self, Answers::None) {
            Answers::None => Answers::One(receiver),
            Answers::One(first) => Answers::Many(vec![first, receiver]),
            Answers::Many(mut all) => {
                all.push(receiver);
                Answers::Many(all)
            }
        };
    }
}

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

/// The failure of a request nobody solves.
pub(crate) fn unavailable(event: &'static str) -> Failure {
    Failure::unavailable(format!("no manager solves `{event}`"))
}
