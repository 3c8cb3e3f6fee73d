use edri::prelude::*;

#[event(request)]
pub struct Greet {
    pub name: String,
    #[response]
    pub message: String,
}

#[event(request)]
pub struct Wave {}

#[derive(Default)]
pub struct Greeter;

#[manager]
impl Greeter {
    #[solve(req)]
    async fn greet(&mut self, _event: Greet, _reply: Responder<Wave>) {}
}

fn main() {
    let _ = Edri::new().manager(Greeter);
}
