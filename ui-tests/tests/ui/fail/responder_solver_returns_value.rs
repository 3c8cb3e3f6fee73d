use edri::prelude::*;

#[event(request)]
pub struct Greet {
    pub name: String,
    #[response]
    pub message: String,
}

#[derive(Default)]
pub struct Greeter;

#[manager]
impl Greeter {
    #[solve(req)]
    async fn greet(&mut self, event: Greet, _reply: Responder<Greet>) -> GreetResponse {
        GreetResponse {
            message: format!("Hello, {}!", event.name),
        }
    }
}

fn main() {
    let _ = Edri::new().manager(Greeter);
}
