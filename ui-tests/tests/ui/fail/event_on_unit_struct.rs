use edri::prelude::*;

#[event(request)]
pub struct Ping;

fn main() {}
