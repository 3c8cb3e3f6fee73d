use edri::prelude::*;

#[event(notification)]
pub struct Alarm {}

#[event(notification)]
pub struct Tick {}

#[event(request)]
pub struct Count {
    #[response]
    pub handled: u32,
}

#[derive(Default)]
pub struct Backup {
    handled: u32,
}

#[manager(queue = "priority", max_workers = 4)]
impl Backup {
    // Lower runs first; equal priorities run in arrival order.
    #[solve(req, priority = 0)]
    async fn alarm(&mut self, _event: Alarm) {
        self.handled += 1;
    }

    #[solve(req, priority = 5)]
    async fn tick(&mut self, _event: Tick) {
        self.handled += 1;
    }

    #[solve(req, priority = -1)]
    async fn count(&mut self, _event: Count) -> CountResponse {
        CountResponse {
            handled: self.handled,
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let edri = Edri::new().manager(Backup::default()).start().await.unwrap();
    edri.notify(Tick {}).await.unwrap();
    edri.notify(Alarm {}).await.unwrap();
    let _ = edri.ask(Count {}).await.unwrap();
    edri.shutdown().await.unwrap();
}
