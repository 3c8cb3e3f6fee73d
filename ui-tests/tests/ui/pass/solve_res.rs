use edri::prelude::*;

#[event(request)]
pub struct Greet {
    pub name: String,
    #[response]
    pub message: String,
}

#[event(notification)]
pub struct Start {}

#[event(notification)]
pub struct Greeted {
    pub message: String,
}

#[derive(Default)]
pub struct Greeter;

#[manager]
impl Greeter {
    #[solve(req)]
    async fn greet(&mut self, event: Greet) -> GreetResponse {
        GreetResponse {
            message: format!("Hello, {}!", event.name),
        }
    }
}

#[derive(Default)]
pub struct Caller;

#[manager]
impl Caller {
    #[solve(req)]
    async fn start(&mut self, _event: Start, ctx: &Context) {
        ctx.send(Greet { name: "world".into() }).await;
    }

    // The answer to the request this manager sent.
    #[solve(res)]
    async fn greeted(
        &mut self,
        _event: Greet,
        answer: Result<GreetResponse, Failure>,
        ctx: &Context,
    ) {
        let message = answer.map_or_else(|failure| failure.to_string(), |r| r.message);
        ctx.notify(Greeted { message }).await;
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let edri = Edri::new()
        .manager(Greeter)
        .manager(Caller)
        .start()
        .await
        .unwrap();
    let mut greeted = edri.subscribe::<Greeted>();
    edri.notify(Start {}).await.unwrap();
    assert_eq!(greeted.recv().await.unwrap().message, "Hello, world!");
    edri.shutdown().await.unwrap();
}
