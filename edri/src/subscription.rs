//! [`Subscription`]: notifications of one type as a `Stream`, for tests and embedding code.

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;
use tokio::sync::mpsc;

use crate::mailbox::Delivery;
use crate::router::{Router, SubscriberId};
use crate::Notification;

/// Every notification of type `E` sent after [`Handle::subscribe`](crate::Handle::subscribe),
/// plus those kept because nobody had subscribed yet.
///
/// A subscription is a subscriber like a manager: while its buffer is full, senders wait.
/// Dropping it unsubscribes.
pub struct Subscription<E: Notification> {
    receiver: mpsc::Receiver<Delivery>,
    replay: VecDeque<Delivery>,
    router: Arc<Router>,
    id: SubscriberId,
    _event: PhantomData<fn() -> E>,
}

impl<E: Notification> Subscription<E> {
    pub(crate) fn new(
        receiver: mpsc::Receiver<Delivery>,
        replay: Vec<Delivery>,
        router: Arc<Router>,
        id: SubscriberId,
    ) -> Self {
        Self {
            receiver,
            replay: replay.into(),
            router,
            id,
            _event: PhantomData,
        }
    }

    /// The next notification; `None` once edri has shut down.
    pub async fn recv(&mut self) -> Option<E> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<E>> {
        loop {
            let delivery = match self.replay.pop_front() {
                Some(delivery) => delivery,
                None => match self.receiver.poll_recv(cx) {
                    Poll::Ready(Some(delivery)) => delivery,
                    Poll::Ready(None) => return Poll::Ready(None),
                    Poll::Pending => return Poll::Pending,
                },
            };
            match delivery.event.take::<E>() {
                Some(event) => return Poll::Ready(Some(event)),
                None => {
                    crate::manager::misrouted("subscription", E::NAME);
                }
            }
        }
    }
}

impl<E: Notification> Stream for Subscription<E> {
    type Item = E;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<E>> {
        self.get_mut().poll_recv(cx)
    }
}

impl<E: Notification> Drop for Subscription<E> {
    fn drop(&mut self) {
        self.router.unsubscribe(self.id);
    }
}

impl<E: Notification> std::fmt::Debug for Subscription<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("event", &E::NAME)
            .finish()
    }
}
