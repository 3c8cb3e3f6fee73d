use edri::prelude::*;

#[event(request)]
pub struct Ping {}

#[derive(Default)]
pub struct Pinger;

#[manager(queue = "fifo", capacity = 16, max_workers = 2, name = "pinger-1")]
impl Pinger {
    #[solve(req)]
    async fn ping(&mut self, _event: Ping) {}
}

#[derive(Default)]
pub struct Bounded;

#[manager(capacity = 1)]
impl Bounded {}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let edri = Edri::new()
        .manager(Pinger)
        .manager(Bounded)
        .start()
        .await
        .unwrap();
    edri.ask(Ping {}).await.unwrap();
    assert_eq!(edri.subscribers::<Ping>(), ["pinger-1"]);
    edri.shutdown().await.unwrap();
}
