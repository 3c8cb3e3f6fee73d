use edri::prelude::*;

#[event(notification)]
fn uploaded() {}

fn main() {}
