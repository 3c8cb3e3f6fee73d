use edri::prelude::*;

#[event(request)]
pub struct Ping {}

#[derive(Default)]
pub struct Pinger;

#[manager]
impl Pinger {
    #[solve(req)]
    #[solve(res)]
    async fn ping(&mut self, _event: Ping) {}
}

fn main() {
    let _ = Edri::new().manager(Pinger);
}
