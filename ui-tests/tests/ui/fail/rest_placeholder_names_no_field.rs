use edri::prelude::*;

#[event(request, rest = "GET /greet/{nmae}")]
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
    async fn greet(&mut self, event: Greet) -> GreetResponse {
        GreetResponse {
            message: format!("Hello, {}!", event.name),
        }
    }
}

fn main() {
    let _ = Edri::new().manager(Greeter);
}
