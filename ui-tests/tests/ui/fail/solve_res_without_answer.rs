use edri::prelude::*;

#[event(request)]
pub struct Ping {}

#[derive(Default)]
pub struct Pinger;

#[manager]
impl Pinger {
    #[solve(res)]
    async fn pinged(&mut self, _event: Ping) {}
}

fn main() {
    let _ = Edri::new().manager(Pinger);
}
