use edri::prelude::*;

#[event(request, rest = "FETCH /greet/{name}")]
pub struct Greet {
    pub name: String,
    #[response]
    pub message: String,
}

fn main() {}
