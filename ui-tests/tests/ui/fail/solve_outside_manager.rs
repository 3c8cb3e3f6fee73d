use edri::prelude::*;

#[event(notification)]
pub struct Tick {}

pub struct Clock;

// The impl block is missing #[manager], so nothing subscribes `tick`.
impl Clock {
    #[solve(req)]
    async fn tick(&mut self, _event: Tick) {}
}

fn main() {}
