use edri::prelude::*;

#[derive(Clone, Debug)]
pub struct Ping {}

#[derive(Default)]
pub struct Pinger;

#[manager]
impl Pinger {
    #[solve(res)]
    async fn pinged(&mut self, _event: Ping, _answer: Result<(), Failure>) {}
}

fn main() {
    let _ = Edri::new().manager(Pinger);
}
