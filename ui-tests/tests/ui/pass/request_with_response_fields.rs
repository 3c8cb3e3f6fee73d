use edri::prelude::*;

/// The fields marked #[response] move into a generated `GreetResponse`.
#[event(request)]
pub struct Greet {
    pub name: String,
    #[response]
    pub message: String,
    #[response]
    pub count: u32,
}

#[derive(Default)]
pub struct Greeter {
    greeted: u32,
}

#[manager]
impl Greeter {
    #[solve(req)]
    async fn greet(&mut self, event: Greet) -> GreetResponse {
        self.greeted += 1;
        GreetResponse {
            message: format!("Hello, {}!", event.name),
            count: self.greeted,
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let edri = Edri::new().manager(Greeter::default()).start().await.unwrap();
    let answer = edri.ask(Greet { name: "world".into() }).await.unwrap();
    assert_eq!(answer.message, "Hello, world!");
    assert_eq!(answer.count, 1);
    edri.shutdown().await.unwrap();
}
