use edri::events::test::{Ping, Test, TestResponse};
use edri::prelude::*;

#[event(request, rest = "GET /greet/{name}")]
pub struct Greet {
    pub name: String,
    #[response]
    pub message: String,
}

#[event(notification)]
pub struct FileUploaded {
    pub name: String,
    pub size: u64,
}

#[derive(Default)]
pub struct Greeter {
    greeted: u64,
}

#[manager]
impl Greeter {
    async fn after_start(&mut self, _ctx: &Context) {}

    #[solve(req)]
    async fn greet(&mut self, event: Greet) -> GreetResponse {
        self.greeted += 1;
        GreetResponse {
            message: format!("Hello, {}!", event.name),
        }
    }

    #[solve(req)]
    async fn ping(&mut self, _event: Ping) {}

    #[solve(req)]
    async fn test(&mut self, _event: Test, reply: Responder<Test>) {
        reply.send(TestResponse {
            random: self.greeted as i64,
        });
    }

    #[solve(req)]
    async fn uploaded(&mut self, event: FileUploaded, ctx: &Context) {
        ctx.send(Greet { name: event.name }).await;
    }

    #[solve(res)]
    async fn greeted(&mut self, event: Greet, answer: Result<GreetResponse, Failure>) {
        let _ = (event, answer);
    }
}

#[tokio::test]
async fn greets() {
    let edri = Edri::new()
        .manager(Greeter::default())
        .start()
        .await
        .unwrap();
    let answer = edri
        .ask(Greet {
            name: "world".into(),
        })
        .await
        .unwrap();
    assert_eq!(answer.message, "Hello, world!");
    edri.ask(Ping {}).await.unwrap();
    assert_eq!(edri.ask(Test {}).await.unwrap().random, 1);
    edri.notify(FileUploaded {
        name: "a".into(),
        size: 1,
    })
    .await
    .unwrap();
    edri.shutdown().await.unwrap();
}
