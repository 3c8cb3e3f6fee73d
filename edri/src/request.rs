//! The flows of a request: awaiting the first answer, gathering all answers, and forwarding
//! answers to a manager's `#[solve(res)]`.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::mpsc;

use crate::answer::{AnswerReceiver, Deadlines, Dropped};
use crate::mailbox::AnswerDelivery;
use crate::responder::{received, typed_answer, Answer};
use crate::router::Answers;
use crate::Failure;

fn unavailable(event: &'static str) -> Failure {
    Failure::unavailable(format!("no manager solves `{event}`"))
}

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
