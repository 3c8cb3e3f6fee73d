use edri::prelude::*;

#[event(request)]
pub struct Add {
    pub a: i32,
    pub b: i32,
    #[response]
    pub sum: i32,
}

#[event(notification)]
pub struct Reset {}

#[derive(Default)]
pub struct Adder {
    calls: u32,
}

#[manager]
impl Adder {
    // A plain `fn` runs in the manager's task without awaiting.
    #[solve(req)]
    fn add(&mut self, event: Add) -> AddResponse {
        self.calls += 1;
        AddResponse {
            sum: event.a + event.b,
        }
    }

    #[solve(req)]
    fn reset(&mut self, _event: Reset, _ctx: &Context) {
        self.calls = 0;
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let edri = Edri::new().manager(Adder::default()).start().await.unwrap();
    assert_eq!(edri.ask(Add { a: 2, b: 3 }).await.unwrap().sum, 5);
    edri.notify(Reset {}).await.unwrap();
    edri.shutdown().await.unwrap();
}
