use edri::prelude::*;

/// A request whose response is only a status: `Response = ()`.
#[event(request)]
pub struct Ping {}

#[derive(Default)]
pub struct Pinger;

#[manager]
impl Pinger {
    #[solve(req)]
    async fn ping(&mut self, _event: Ping) {}
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let edri = Edri::new().manager(Pinger).start().await.unwrap();
    let (): () = edri.ask(Ping {}).await.unwrap();
    edri.shutdown().await.unwrap();
}
