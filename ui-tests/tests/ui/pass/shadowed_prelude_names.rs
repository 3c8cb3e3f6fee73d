//! The generated code uses absolute paths and hygienic locals, so a module that shadows the
//! prelude, or defines constants named like the generated locals, still compiles.
#![allow(dead_code, non_camel_case_types, non_upper_case_globals)]

use ::edri::prelude::*;

pub struct Result;
pub struct Ok;
pub struct Err;
pub struct Some;
pub struct None;
pub enum Option {
    Nothing,
}
pub struct Box;
pub struct Vec;
pub type String = u8;
pub struct Clone;
pub struct Debug;
pub struct Default;
pub struct Send;
pub struct Sync;
pub struct Sized;
pub struct Into;
pub struct From;
pub struct Future;
pub struct Drop;
pub struct Fn;
pub struct Iterator;
pub struct ToString;
pub mod core {}
pub mod std {}
pub mod serde {}
pub mod inventory {}
pub mod edri {}
pub struct S;
pub struct D;
#[derive(::std::clone::Clone, ::std::fmt::Debug, ::serde::Serialize, ::serde::Deserialize)]
pub struct T;
pub const event: u8 = 0;
pub const answer: u8 = 0;
pub const ctx: u8 = 0;
pub const reply: u8 = 0;
pub const delivery: u8 = 0;
pub const returned: u8 = 0;
pub const event_name: u8 = 0;
pub const value: u8 = 0;
pub const serializer: u8 = 0;
pub const deserializer: u8 = 0;

#[event(notification, shared, ws)]
pub struct Uploaded {
    pub name: ::std::string::String,
    pub tags: ::std::vec::Vec<::std::string::String>,
    pub size: ::std::option::Option<u64>,
    pub t: T,
}

#[event(request, rest = "GET /greet/{name}")]
pub struct Greet {
    pub name: ::std::string::String,
    #[response]
    pub message: ::std::string::String,
}

#[event(request, response = ::std::vec::Vec<u8>)]
pub struct Read {
    pub path: ::std::string::String,
}

#[event(request)]
pub struct Ping {}

pub struct Everything;

#[manager(queue = "priority", capacity = 8, name = "everything")]
impl Everything {
    async fn after_start(&mut self, _ctx: &Context) {}

    async fn before_stop(&mut self) {}

    #[solve(req, priority = 1)]
    async fn uploaded(&mut self, _event: Uploaded) {}

    #[solve(req)]
    async fn greet(&mut self, greet: Greet) -> ::std::result::Result<GreetResponse, Failure> {
        ::std::result::Result::Ok(GreetResponse {
            message: ::std::format!("Hello, {}!", greet.name),
        })
    }

    #[solve(req)]
    fn read(&self, _event: Read, responder: Responder<Read>) {
        responder.send(::std::vec![1, 2, 3]);
    }

    #[solve(req)]
    async fn ping(&mut self, _event: Ping, _ctx: &Context) {}

    #[solve(res)]
    async fn greeted(
        &mut self,
        _event: Greet,
        _answer: ::std::result::Result<GreetResponse, Failure>,
    ) {
    }
}

#[::tokio::main(flavor = "current_thread")]
async fn main() {
    let edri = Edri::new().manager(Everything).start().await.unwrap();
    let greeting = edri
        .ask(Greet {
            name: "world".into(),
        })
        .await
        .unwrap();
    ::std::assert_eq!(greeting.message, "Hello, world!");
    ::std::assert_eq!(edri.ask(Read { path: "a".into() }).await.unwrap(), [1, 2, 3]);
    edri.ask(Ping {}).await.unwrap();
    edri.shutdown().await.unwrap();
}
