use edri::prelude::*;

#[event(request, response = String)]
pub struct Greet {
    pub name: String,
    #[response]
    pub message: String,
}

fn main() {}
