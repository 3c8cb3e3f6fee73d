//! The flows of a request: awaiting the first answer, gathering all answers, and forwarding
//! answers to a manager's `#[solve(res)]`.

use std::any::Any;
use std::future::Future;
use std::future::IntoFuture;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::mpsc;

use super::{
    received, typed_answer, unavailable, Answer, AnswerReceiver, Answers, Deadlines, Dropped,
};
use crate::{Failure, Request};

/// Awaits one answer until `timeout` has passed.
async fn answer_until(
    event: &'static str,
    receiver: AnswerReceiver,
    deadlines: &Arc<Deadlines>,
    timeout: Duration,
) -> Result<Answer, Dropped> {
    deadlines.watch(&receiver, event, timeout);
    receiver.await
}

/// The first successful answer; when every solver fails, the first failure.
pub(crate) async fn first_answer<R: 'static>(
    event: &'static str,
    answers: Answers,
    deadlines: &Arc<Deadlines>,
    timeout: Duration,
) -> Result<R, Failure> {
    typed_answer(
        event,
        Ok(first_answer_erased(event, answers, deadlines, timeout).await),
    )
}

/// [`first_answer`] with the response type still erased.
pub(crate) async fn first_answer_erased(
    event: &'static str,
    answers: Answers,
    deadlines: &Arc<Deadlines>,
    timeout: Duration,
) -> Answer {
    match answers {
        Answers::None => Err(unavailable(event)),
        Answers::One(receiver) => received(
            event,
            answer_until(event, receiver, deadlines, timeout).await,
        ),
        Answers::Many(receivers) => {
            let mut pending: FuturesUnordered<_> = receivers
                .into_iter()
                .map(|receiver| answer_until(event, receiver, deadlines, timeout))
                .collect();
            let mut first_failure = None;
            while let Some(answer) = pending.next().await {
                match received(event, answer) {
                    Ok(response) => return Ok(response),
                    Err(failure) => {
                        first_failure.get_or_insert(failure);
                    }
                }
            }
            Err(first_failure.unwrap_or_else(|| unavailable(event)))
        }
    }
}

/// Every solver's answer, in the order of the solvers; one that misses the deadline gives
/// `Failure(Timeout)`. No solver gives an empty list.
pub(crate) async fn all_answers<R: 'static>(
    event: &'static str,
    answers: Answers,
    deadlines: &Arc<Deadlines>,
    timeout: Duration,
) -> Vec<Result<R, Failure>> {
    let receivers = match answers {
        Answers::None => return Vec::new(),
        Answers::One(receiver) => vec![receiver],
        Answers::Many(receivers) => receivers,
    };
    let waits = receivers.into_iter().map(|receiver| async move {
        typed_answer(
            event,
            answer_until(event, receiver, deadlines, timeout).await,
        )
    });
    futures_util::future::join_all(waits).await
}

/// An answer on its way to a manager's `#[solve(res)]` solver: it resolves when the solver
/// answers or the timeout passes. The manager loop polls these itself, so answers are handled
/// in the order they arrive.
pub(crate) type PendingAnswer = Pin<Box<dyn Future<Output = AnswerDelivery> + Send>>;

/// Hands each answer's wait to the manager that sent the request.
pub(crate) fn forward_answers(
    event: &'static str,
    request: Arc<dyn Any + Send + Sync>,
    answers: Answers,
    deadlines: &Arc<Deadlines>,
    timeout: Duration,
    solver: u16,
    to: &mpsc::UnboundedSender<PendingAnswer>,
) {
    let delivery = move |answer: Answer| AnswerDelivery {
        solver,
        event_name: event,
        request: request.clone(),
        answer,
    };
    let receivers = match answers {
        Answers::None => {
            let answer = delivery(Err(unavailable(event)));
            // A manager that stopped no longer needs its answers.
            let _ = to.send(Box::pin(std::future::ready(answer)));
            return;
        }
        Answers::One(receiver) => vec![receiver],
        Answers::Many(receivers) => receivers,
    };
    for receiver in receivers {
        deadlines.watch(&receiver, event, timeout);
        let delivery = delivery.clone();
        let _ = to.send(Box::pin(async move {
            delivery(received(event, receiver.await))
        }));
    }
}

/// An answer on its way to the `#[solve(res)]` solver of the manager that sent the request.
#[doc(hidden)]
pub struct AnswerDelivery {
    pub(crate) solver: u16,
    pub(crate) event_name: &'static str,
    pub(crate) request: Arc<dyn Any + Send + Sync>,
    pub(crate) answer: Answer,
}

impl AnswerDelivery {
    /// Index of the `#[solve(res)]` solver in the receiving manager's table.
    pub fn solver(&self) -> u16 {
        self.solver
    }

    /// The request's wire name.
    pub fn event_name(&self) -> &'static str {
        self.event_name
    }
}

/// A request on its way: await it for the first answer.
#[must_use = "await the pending request to get its answer"]
pub struct Pending<E: Request> {
    answers: Answers,
    deadlines: Arc<Deadlines>,
    timeout: Duration,
    _event: PhantomData<fn() -> E>,
}

impl<E: Request> Pending<E> {
    pub(crate) fn new(answers: Answers, deadlines: Arc<Deadlines>, timeout: Duration) -> Self {
        Self {
            answers,
            deadlines,
            timeout,
            _event: PhantomData,
        }
    }

    /// Waits up to `timeout` instead of the default request timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl<E: Request> IntoFuture for Pending<E> {
    type Output = Result<E::Response, Failure>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(
            async move { first_answer(E::NAME, self.answers, &self.deadlines, self.timeout).await },
        )
    }
}
