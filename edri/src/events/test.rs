//! Test events, so the seed's examples (`from edri.events.edri.test import Ping, Test`)
//! translate one to one.

use edri_macros::event;

/// A request answered by its status alone: the seed's `ping.response.set_status(OK)` is a
/// solver returning `()`, or `Ok(())`.
#[event(request, name = "edri-test-ping")]
pub struct Ping {}

/// A request answered with data: the seed's `test.response.random = 1234` is a solver returning
/// `TestResponse { random: 1234 }`.
#[event(request, name = "edri-test-test")]
pub struct Test {
    /// A number chosen by the solver.
    #[response]
    pub random: i64,
}
