use edri::prelude::*;

#[derive(Clone, Debug)]
pub struct Tick {
    pub at: u64,
}

#[derive(Default)]
pub struct Clock;

#[manager]
impl Clock {
    #[solve(req)]
    async fn tick(&mut self, _event: Tick) {}
}

fn main() {
    let _ = Edri::new().manager(Clock);
}
