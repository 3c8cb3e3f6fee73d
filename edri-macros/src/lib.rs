//! Procedural macros of [edri](https://docs.rs/edri): `#[event]`, `#[manager]` and `#[solve]`.
//!
//! Use them through the `edri` crate (`use edri::prelude::*;`); the generated code refers to
//! `::edri` paths. Each macro parses its input into a model, checks it, and expands it; every
//! mistake found is reported with a span, and the user's item is emitted unchanged beside the
//! errors so that one mistake gives one error.

mod diagnostics;
mod event;
mod manager;
mod rest;
mod serde_attrs;
mod shape;
mod solve;
mod wire;
mod work;

use proc_macro::TokenStream;

/// Declares an event: `#[event(notification)]` or `#[event(request)]`.
///
/// Arguments: the kind, `name = "wire-name"`, `response = Type`, `shared`,
/// `rest = "METHOD /path/{field}"`, `ws`. Fields marked `#[response]` move into a generated
/// `<Name>Response`. Every field must implement serde's `Serialize` and `Deserialize`.
/// Write your own derives below `#[event]`, so that it sees them and adds only the missing ones.
/// See the `edri` crate's documentation.
#[proc_macro_attribute]
pub fn event(args: TokenStream, input: TokenStream) -> TokenStream {
    event::expand(args.into(), input.into()).into()
}

/// Turns an impl block into a manager: its `#[solve]` functions become subscriptions.
///
/// Arguments: `queue = "fifo" | "priority"`, `capacity = N`, `max_workers = N`, `name = "..."`.
#[proc_macro_attribute]
pub fn manager(args: TokenStream, input: TokenStream) -> TokenStream {
    manager::expand(args.into(), input.into()).into()
}

/// Marks a solver inside a `#[manager]` impl block: `#[solve(req)]` or `#[solve(res)]`.
///
/// `#[manager]` reads and removes these attributes; one that reaches this macro was used
/// outside a `#[manager]` block, which is an error.
#[proc_macro_attribute]
pub fn solve(args: TokenStream, input: TokenStream) -> TokenStream {
    solve::expand_outside_manager(args.into(), input.into()).into()
}

/// Registers a long-lived `Work` type so [`Context::start_worker`] can run it in a worker
/// process (`Mode::Process`): put it on the `impl Work for MyType` block of a type that derives
/// `Serialize` and `Deserialize`.
///
/// [`Context::start_worker`]: https://docs.rs/edri/latest/edri/struct.Context.html#method.start_worker
#[proc_macro_attribute]
pub fn work(args: TokenStream, input: TokenStream) -> TokenStream {
    work::expand(args.into(), input.into()).into()
}
