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
    async fn greet(&mut self, event: Greet) -> Result<String, Failure> {
        Ok(format!("Hello, {}!", event.name))
    }
}

fn main() {
    let _ = Edri::new().manager(Greeter);
}
