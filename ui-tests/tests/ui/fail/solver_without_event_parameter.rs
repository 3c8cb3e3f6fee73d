use edri::prelude::*;

#[derive(Default)]
pub struct Clock;

#[manager]
impl Clock {
    #[solve(req)]
    async fn tick(&mut self, _ctx: &Context) {}
}

fn main() {
    let _ = Edri::new().manager(Clock);
}
