use edri::prelude::*;

#[event(request)]
pub struct Ping {}

pub struct Pinger<T>(T);

#[manager]
impl<T: Send + 'static> Pinger<T> {
    #[solve(req)]
    async fn ping(&mut self, _event: Ping) {}
}

fn main() {}
