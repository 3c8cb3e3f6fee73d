use edri::prelude::*;

#[event(request)]
pub struct Ping {}

#[derive(Default)]
pub struct Pinger;

#[manager]
impl Pinger {
    #[solve(req, timeout = "30s")]
    async fn ping(&mut self, _event: Ping) {}
}

fn main() {
    let _ = Edri::new().manager(Pinger);
}
