//! The floor: plain tokio tasks and bounded mpsc channels, with a oneshot for answers.
//!
//! The same code, with one of edri's hot-path habits switched on, gives the diagnostic variants
//! (`cargo bench -- diag`) that docs/performance.md uses to price each habit:
//! a 30 s `tokio::time::timeout` around every answer, a receiver loop that `select!`s over three
//! sources (an unbounded answer channel, the inbox and a `watch` stop flag) like edri's manager
//! loop, and a heap-allocated, type-erased payload (`Arc<dyn Any>`) like edri's `Delivery`.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use crate::{Shared, Subject, CAPACITY, RECEIVERS};

/// What travels in the channels: a plain number, or a number in an `Arc<dyn Any>`.
pub trait Payload: Send + Sync + 'static {
    fn wrap(n: u64) -> Self;
    fn unwrap(self) -> u64;
}

impl Payload for u64 {
    #[inline]
    fn wrap(n: u64) -> Self {
        n
    }
    #[inline]
    fn unwrap(self) -> u64 {
        self
    }
}

pub type Erased = Arc<dyn Any + Send + Sync>;

impl Payload for Erased {
    #[inline]
    fn wrap(n: u64) -> Self {
        Arc::new(n)
    }
    #[inline]
    fn unwrap(self) -> u64 {
        let n = self.downcast::<u64>().expect("a u64");
        Arc::try_unwrap(n).unwrap_or_else(|shared| *shared)
    }
}

/// Which of edri's habits a variant adds to the floor.
#[derive(Clone, Copy, Default)]
pub struct Habits {
    /// Guard every answer with a `tokio::time::timeout` of this length.
    pub ask_timeout: Option<Duration>,
    /// Receivers `select!` over an answer channel, their inbox and a stop flag.
    pub select3: bool,
}

pub struct Tokio<P: Payload = u64> {
    receivers: Vec<mpsc::Sender<P>>,
    echo: mpsc::Sender<(P, oneshot::Sender<P>)>,
    habits: Habits,
    /// Kept so that the receivers' extra sources stay open.
    _answers: Vec<mpsc::UnboundedSender<()>>,
    _stop: watch::Sender<bool>,
}

pub async fn build(shared: Arc<Shared>) -> Tokio {
    build_with(shared, Habits::default()).await
}

pub async fn build_with_timeout(shared: Arc<Shared>) -> Tokio {
    let habits = Habits {
        ask_timeout: Some(Duration::from_secs(30)),
        ..Habits::default()
    };
    build_with(shared, habits).await
}

pub async fn build_with_select(shared: Arc<Shared>) -> Tokio {
    let habits = Habits {
        select3: true,
        ..Habits::default()
    };
    build_with(shared, habits).await
}

pub async fn build_erased(shared: Arc<Shared>) -> Tokio<Erased> {
    build_with(shared, Habits::default()).await
}

/// Runs `handle` on every message of `inbox`, plainly or edri-style.
async fn receive<M: Send + 'static>(
    mut inbox: mpsc::Receiver<M>,
    select3: bool,
    mut answers: mpsc::UnboundedReceiver<()>,
    mut stop: watch::Receiver<bool>,
    mut handle: impl FnMut(M) + Send,
) {
    if !select3 {
        while let Some(message) = inbox.recv().await {
            handle(message);
        }
        return;
    }
    loop {
        tokio::select! {
            biased;
            Some(()) = answers.recv() => {}
            message = inbox.recv() => match message {
                Some(message) => handle(message),
                None => break,
            },
            _ = stop.changed() => break,
        }
    }
}

pub async fn build_with<P: Payload>(shared: Arc<Shared>, habits: Habits) -> Tokio<P> {
    let (stop, stop_receiver) = watch::channel(false);
    let mut answer_senders = Vec::new();
    let mut extra = || {
        let (sender, receiver) = mpsc::unbounded_channel();
        answer_senders.push(sender);
        (receiver, stop_receiver.clone())
    };
    let mut receivers = Vec::with_capacity(RECEIVERS);
    for _ in 0..RECEIVERS {
        let (sender, inbox) = mpsc::channel::<P>(CAPACITY);
        let shared = shared.clone();
        let mut seen = 0;
        let (answers, stop_rx) = extra();
        tokio::spawn(receive(
            inbox,
            habits.select3,
            answers,
            stop_rx,
            move |message: P| {
                std::hint::black_box(message.unwrap());
                shared.count(&mut seen);
            },
        ));
        receivers.push(sender);
    }
    let (echo, inbox) = mpsc::channel::<(P, oneshot::Sender<P>)>(CAPACITY);
    let (answers, stop_rx) = extra();
    tokio::spawn(receive(
        inbox,
        habits.select3,
        answers,
        stop_rx,
        |(n, reply)| {
            let _ = reply.send(n);
        },
    ));
    Tokio {
        receivers,
        echo,
        habits,
        _answers: answer_senders,
        _stop: stop,
    }
}

pub async fn teardown<P: Payload>(_: Tokio<P>) {}

/// Queues a message: straight in when there is room (no future, no cooperative budget spent),
/// else waiting for room. What a performance-minded user of plain tokio writes, and what edri's
/// router does.
#[inline]
async fn push<M>(sender: &mpsc::Sender<M>, message: M) {
    match sender.try_send(message) {
        Ok(()) => {}
        Err(mpsc::error::TrySendError::Full(message)) => {
            if sender.send(message).await.is_err() {
                panic!("receiver stopped");
            }
        }
        Err(mpsc::error::TrySendError::Closed(_)) => panic!("receiver stopped"),
    }
}

impl<P: Payload> Subject for Tokio<P> {
    async fn one_way_round(&self, n: u64) {
        for receiver in &self.receivers {
            push(receiver, P::wrap(n)).await;
        }
    }

    async fn fan_out(&self, n: u64) {
        for receiver in &self.receivers {
            push(receiver, P::wrap(n)).await;
        }
    }

    async fn ask(&self, n: u64) -> u64 {
        let (reply, answer) = oneshot::channel();
        push(&self.echo, (P::wrap(n), reply)).await;
        let answer = match self.habits.ask_timeout {
            None => answer.await.unwrap(),
            Some(limit) => tokio::time::timeout(limit, answer).await.unwrap().unwrap(),
        };
        answer.unwrap()
    }
}
