use edri::prelude::*;

#[event(request)]
pub struct Ping {}

#[derive(Default)]
pub struct Pinger;

#[manager(name = " ")]
impl Pinger {
    #[solve(req)]
    async fn ping(&mut self, _event: Ping) {}
}

fn main() {
    let _ = Edri::new().manager(Pinger);
}
