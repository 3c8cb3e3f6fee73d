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

mod config;
mod context;
mod error;
mod event;
pub mod events;
mod failure;
mod mailbox;
mod manager;
mod request;
mod responder;
mod router;
mod subscription;
mod system;

pub use context::Context;
pub use edri_macros::{event, manager, solve};
pub use error::{Error, Result};
pub use event::{registered_events, Event, EventInfo, EventKind, Notification, Request};
pub use failure::{Failure, Status};
pub use mailbox::QueueKind;
pub use manager::{Finish, Manager, ManagerStats};
pub use responder::{IntoAnswer, Responder};
pub use subscription::Subscription;
pub use system::{Edri, Handle, Pending};

/// The names most programs need: `use edri::prelude::*;`.
pub mod prelude {
    pub use crate::{event, manager, solve, Context, Edri, Failure, Handle, Responder, Status};
}

/// What the macros' generated code calls. Not a public API: it may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::event::EventInfo;
    pub use crate::event::{NotificationKind, RequestKind};
    pub use crate::mailbox::QueueKind;
    pub use crate::mailbox::{AnswerDelivery, Delivery};
    pub use crate::manager::{
        assert_event, finish, misrouted, take_answer, take_event, Direction, ManagerDescriptor,
        Outcome, ReplySlot, Returns, SolverInfo,
    };
    pub use inventory;
    pub use serde;

    /// Serde `with` functions for event fields: they compile only for fields serde can write and
    /// read back, and say so with edri's own message.
    pub mod wire {
        use super::WireField;

        /// Serializes a field.
        pub fn serialize<T: WireField, S: serde::Serializer>(
            value: &T,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            value.serialize(serializer)
        }

        /// Deserializes a field.
        pub fn deserialize<'de, T: WireField, D: serde::Deserializer<'de>>(
            deserializer: D,
        ) -> Result<T, D::Error> {
            T::deserialize(deserializer)
        }
    }

    /// A type that serde can write and read back.
    #[diagnostic::on_unimplemented(
        message = "event field type `{Self}` cannot be serialized",
        label = "events cross processes, machines and the API, so every field must implement serde's `Serialize` and `Deserialize`",
        note = "derive `serde::Serialize` and `serde::Deserialize` for `{Self}`, or use a type that has them"
    )]
    pub trait WireField: serde::Serialize + serde::de::DeserializeOwned {}
    impl<T: serde::Serialize + serde::de::DeserializeOwned> WireField for T {}
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
}
