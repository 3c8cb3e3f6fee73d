//! Workers: solvers and long-lived jobs that run on an OS thread (`mode = "thread"`) or in a
//! child process (`mode = "process"`), and the [`Worker`] handle they use to talk to the system.
//!
//! Thread workers keep the async runtime free for managers; process workers give full
//! parallelism and isolation: a crash in one fails its request and nothing else.

mod child;
mod pool;
mod process;
mod protocol;
mod thread;

use std::any::{Any, TypeId};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub use pool::WorkerHandle;
pub(crate) use pool::Workers;
#[doc(hidden)]
pub use pool::{
    run_process_solver, run_work, ProcessSolver, WorkEntry, WorkReturns, PROCESS_SOLVERS, WORKS,
};
pub(crate) use pool::{solve_in_process, solve_in_thread};

use crate::{Event, Failure, Request};

/// Where a worker runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// On an OS thread of the manager's pool, never on an async runtime thread.
    Thread,
    /// In a child process: this same executable, started again, that finds the solver in the
    /// registry. Events and answers cross as postcard.
    Process,
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mode::Thread => "thread",
            Mode::Process => "process",
        })
    }
}

/// A long-lived job in the seed's style (its `do()` is [`Work::run`]), started by a manager with
/// [`Context::start_worker`](crate::Context::start_worker) and counted by `max_workers`.
///
/// For [`Mode::Process`] the value crosses to the child process, so the type must also derive
/// `Serialize` and `Deserialize` and its impl block carry `#[edri::work]`.
pub trait Work: Send + 'static {
    /// The job: it may send, ask and receive through `worker` until it returns.
    fn run(&mut self, worker: &mut Worker);

    /// Filled in by `#[edri::work]`: the registry key and encoded value for process mode.
    #[doc(hidden)]
    fn __process(&self) -> Option<(&'static str, Result<Vec<u8>, crate::wire::WireError>)> {
        None
    }
}

/// An event addressed to a worker, received with [`Worker::recv`].
pub struct Message {
    name: String,
    body: Body,
}

enum Body {
    Local(Box<dyn Any + Send>),
    Encoded(Vec<u8>),
}

impl Message {
    pub(crate) fn local<E: Event>(event: E) -> Self {
        Self {
            name: E::NAME.to_owned(),
            body: Body::Local(Box::new(event)),
        }
    }

    pub(crate) fn encoded(name: String, body: Vec<u8>) -> Self {
        Self {
            name,
            body: Body::Encoded(body),
        }
    }

    /// The event's wire name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the message is an `E`.
    pub fn is<E: Event>(&self) -> bool {
        self.name == E::NAME
    }

    /// The event, when it is an `E`; the message back otherwise.
    ///
    /// Both ends run the same executable, so a message named like `E` always decodes; one that
    /// does not (a corrupted pipe) is logged and given back.
    pub fn get<E: Event>(self) -> Result<E, Message> {
        if !self.is::<E>() {
            return Err(self);
        }
        match self.body {
            Body::Local(event) => match event.downcast::<E>() {
                Ok(event) => Ok(*event),
                Err(event) => Err(Message {
                    name: self.name,
                    body: Body::Local(event),
                }),
            },
            Body::Encoded(bytes) => match crate::wire::decode::<E>(&bytes) {
                Ok(event) => Ok(event),
                Err(error) => {
                    tracing::error!(event = E::NAME, %error, "a message to a worker does not decode");
                    Err(Message {
                        name: self.name,
                        body: Body::Encoded(bytes),
                    })
                }
            },
        }
    }
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The handle of a thread or process worker: send and ask into the system, receive events
/// addressed to this worker, and notice cancellation.
///
/// Every call blocks the worker's own thread, never an async runtime.
pub struct Worker {
    name: String,
    cancelled: Arc<AtomicBool>,
    link: Link,
}

enum Link {
    Thread(thread::Link),
    Process(child::Link),
}

impl Worker {
    /// The worker's name: `<manager>-worker-<job number>`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the worker was asked to stop (its timeout passed, or the system is shutting
    /// down). Long jobs should check it and return early.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }

    /// Sends an event into the system (the seed's `message_send`): a notification to every
    /// subscriber, a request to its solvers with the answer discarded (use [`Worker::ask`] to
    /// get it).
    pub fn send<E: Event>(&mut self, event: E) -> Result<(), Failure> {
        match &mut self.link {
            Link::Thread(link) => {
                link.send(event);
                Ok(())
            }
            Link::Process(link) => link.send(event),
        }
    }

    /// Sends a request and blocks until the first answer, up to the default request timeout.
    pub fn ask<E: Request>(&mut self, event: E) -> Result<E::Response, Failure> {
        let timeout = match &self.link {
            Link::Thread(link) => link.request_timeout(),
            Link::Process(link) => link.request_timeout(),
        };
        self.ask_timeout(event, timeout)
    }

    /// Sends a request and blocks until the first answer, up to `timeout`.
    pub fn ask_timeout<E: Request>(
        &mut self,
        event: E,
        timeout: Duration,
    ) -> Result<E::Response, Failure> {
        match &mut self.link {
            Link::Thread(link) => link.ask(event, timeout),
            Link::Process(link) => link.ask(event, timeout),
        }
    }

    /// Blocks until an event addressed to this worker arrives; `None` once nothing more can
    /// arrive (the manager dropped the worker's handle, or the worker was cancelled).
    pub fn recv(&mut self) -> Option<Message> {
        match &mut self.link {
            Link::Thread(link) => link.recv(None),
            Link::Process(link) => link.recv(None),
        }
    }

    /// Like [`Worker::recv`], giving up after `timeout`.
    pub fn recv_timeout(&mut self, timeout: Duration) -> Option<Message> {
        match &mut self.link {
            Link::Thread(link) => link.recv(Some(timeout)),
            Link::Process(link) => link.recv(Some(timeout)),
        }
    }
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The `TypeId` and name of an event, for the erased router calls.
fn key<E: Event>() -> (TypeId, &'static str) {
    (TypeId::of::<E>(), E::NAME)
}
