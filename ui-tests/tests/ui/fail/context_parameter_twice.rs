use edri::prelude::*;

#[event(request)]
pub struct Ping {}

#[derive(Default)]
pub struct Pinger;

#[manager]
impl Pinger {
    #[solve(req)]
    async fn ping(&mut self, _event: Ping, _ctx: &Context, _again: &Context) {}
}

fn main() {
    let _ = Edri::new().manager(Pinger);
}
