use edri::prelude::*;

#[event(request, rest = "GET greet")]
pub struct Greet {
    pub name: String,
}

fn main() {}
