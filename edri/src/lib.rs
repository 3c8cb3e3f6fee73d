//! # edri: Event Driven Routing Infrastructure
//!
//! Code is split into *managers* that exchange typed *events* through a *router*. Events are
//! declared with [`#[event]`](macro@event), managers with [`#[manager]`](macro@manager) and
//! their handlers with [`#[solve]`](macro@solve); the macros generate the dispatch tables,
//! response types and registrations, and a small tokio runtime drives them.
//!
//! ```
//! use edri::prelude::*;
//!
//! /// A request: the `#[response]` fields move into a generated `GreetResponse`.
//! #[event(request)]
//! pub struct Greet {
//!     pub name: String,
//!     #[response]
//!     pub message: String,
//! }
//!
//! #[derive(Default)]
//! pub struct Greeter;
//!
//! #[manager]
//! impl Greeter {
//!     #[solve(req)]
//!     async fn greet(&mut self, event: Greet) -> GreetResponse {
//!         GreetResponse { message: format!("Hello, {}!", event.name) }
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> edri::Result<()> {
//! let edri = Edri::new().manager(Greeter).start().await?;
//! let answer = edri.ask(Greet { name: "world".into() }).await?;
//! assert_eq!(answer.message, "Hello, world!");
//! edri.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! See the `docs/` folder of the repository for the guides.

#![warn(missing_docs)]

// Lets the macros' `::edri::...` paths resolve inside this crate too.
extern crate self as edri;

mod answer;
pub mod api;
mod config;
mod context;
mod error;
mod event;
pub mod events;
mod failure;
pub mod health;
mod log_throttle;
mod mailbox;
mod manager;
mod payload;
mod router;
pub mod scheduler;
mod stats;
pub mod store;
mod subscription;
pub mod switch;
mod system;
pub mod topology;
mod value;
mod wire;
mod worker;

pub use answer::{Finish, IntoAnswer, Pending, Responder};
pub use context::Context;
pub use edri_macros::{event, manager, solve, work};
pub use error::{Error, Result};
pub use event::{
    registered_events, Event, EventInfo, EventKind, FieldInfo, FieldShape, HttpMethod, JsonError,
    Notification, Request, RestRoute,
};
pub use failure::{Failure, Status};
pub use mailbox::QueueKind;
pub use manager::Manager;
/// serde, as edri uses it: derive `Serialize` and `Deserialize` for types named by
/// `response = Type` with `#[serde(crate = "edri::serde")]`, without a dependency of your own.
pub use serde;
pub use stats::ManagerStats;
pub use subscription::Subscription;
pub use system::{Edri, Handle, StopSignal};
pub use value::{Value, ValueError};
pub use wire::WireError;
pub use worker::{Message, Mode, Work, Worker, WorkerHandle};

/// The names most programs need: `use edri::prelude::*;`.
pub mod prelude {
    pub use crate::{
        event, manager, solve, Context, Edri, Failure, Handle, Message, Mode, Responder, Status,
        Work, Worker,
    };
}

/// What the macros' generated code calls. Not a public API: it may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::answer::{finish, AnswerDelivery, ReplySlot, Returns};
    pub use crate::event::{
        decode_event, decode_json, encode_answer, encode_answer_json, encode_json, KindCodec,
        NotificationKind, RequestKind,
    };
    pub use crate::mailbox::Delivery;
    pub use crate::manager::{
        assert_event, misrouted, solve_in_process, solve_in_thread, take_answer, take_event,
        Direction, ManagerDescriptor, SolverInfo,
    };
    pub use crate::stats::Outcome;
    pub use crate::wire::{decode as wire_decode, encode as wire_encode};
    pub use crate::worker::{
        run_process_solver, run_work, ProcessSolver, WorkEntry, WorkReturns, PROCESS_SOLVERS, WORKS,
    };
    pub use inventory;
    pub use linkme;
}

/// The guides in `docs/` are compiled and run as doc tests, so their examples stay true.
#[cfg(doctest)]
mod guides {
    #[doc = include_str!("../../docs/seed-tour.md")]
    struct SeedTour;
    #[doc = include_str!("../../docs/architecture.md")]
    struct Architecture;
    #[doc = include_str!("../../docs/macros.md")]
    struct Macros;
    #[doc = include_str!("../../README.md")]
    struct Readme;
    #[doc = include_str!("../../docs/workers.md")]
    struct Workers;
    #[doc = include_str!("../../docs/store.md")]
    struct Store;
    #[doc = include_str!("../../docs/scheduler.md")]
    struct Scheduler;
    #[doc = include_str!("../../docs/health.md")]
    struct Health;
    #[doc = include_str!("../../docs/api.md")]
    struct Api;
}
