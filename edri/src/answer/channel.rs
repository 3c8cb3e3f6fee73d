//! The channel one answer to one request travels in: edri's own, because the deadline
//! sweeper has to be able to complete it with the timeout.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use super::Answer;
use crate::Failure;

/// The answer channel closed without an answer: its sender was dropped.
#[derive(Debug)]
pub(crate) struct Dropped;

/// One answer's place, shared by its sender, its receiver and (weakly) the deadline queue.
#[derive(Default)]
pub(super) struct Slot {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    answer: Option<Answer>,
    /// No answer can come any more: sent, expired, or the sender dropped.
    closed: bool,
    receiver_gone: bool,
    waker: Option<Waker>,
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while the lock is held, so a poisoned lock still holds valid state.
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Puts the answer in (or, with `None`, closes the channel), unless one came first; wakes
    /// the receiver.
    pub(super) fn complete(&self, answer: Option<Answer>) -> Result<(), ()> {
        let waker = {
            let mut state = self.lock();
            if state.closed {
                return Err(());
            }
            state.closed = true;
            state.answer = answer;
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }
}

/// Where one solver sends its answer to one request.
pub(crate) struct AnswerSender {
    slot: Arc<Slot>,
}

/// The requester's side: a future of the answer.
pub(crate) struct AnswerReceiver {
    pub(super) slot: Arc<Slot>,
}

/// A new answer channel.
pub(crate) fn channel() -> (AnswerSender, AnswerReceiver) {
    let slot = Arc::new(Slot::default());
    (AnswerSender { slot: slot.clone() }, AnswerReceiver { slot })
}

impl AnswerSender {
    /// Sends the answer; whether it arrived in time (the requester's deadline had not passed).
    pub(crate) fn send(self, answer: Answer) -> bool {
        self.slot.complete(Some(answer)).is_ok()
    }

    /// Whether the requester stopped waiting: it timed out or was dropped.
    pub(crate) fn is_closed(&self) -> bool {
        let state = self.slot.lock();
        state.closed || state.receiver_gone
    }
}

impl Drop for AnswerSender {
    fn drop(&mut self) {
        // Closes the channel if nothing was sent, so the requester hears of it at once.
        let _ = self.slot.complete(None);
    }
}

impl Future for AnswerReceiver {
    type Output = Result<Answer, Dropped>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.slot.lock();
        if let Some(answer) = state.answer.take() {
            return Poll::Ready(Ok(answer));
        }
        if state.closed {
            return Poll::Ready(Err(Dropped));
        }
        match &mut state.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            waker => *waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl Drop for AnswerReceiver {
    fn drop(&mut self) {
        self.slot.lock().receiver_gone = true;
    }
}

/// Sends a typed answer through an erased sender. A requester that stopped waiting is not an error.
pub(crate) fn send_answer<R: Send + 'static>(sender: AnswerSender, answer: Result<R, Failure>) {
    let _ = sender.send(answer.map(|response| Box::new(response) as Box<dyn Any + Send>));
}
