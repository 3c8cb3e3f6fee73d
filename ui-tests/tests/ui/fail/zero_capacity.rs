use edri::prelude::*;

#[event(request)]
pub struct Ping {}

#[derive(Default)]
pub struct Pinger;

#[manager(capacity = 0)]
impl Pinger {
    #[solve(req)]
    async fn ping(&mut self, _event: Ping) {}
}

fn main() {
    let _ = Edri::new().manager(Pinger);
}
