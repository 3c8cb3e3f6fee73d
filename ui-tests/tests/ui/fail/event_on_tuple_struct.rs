use edri::prelude::*;

#[event(notification)]
pub struct Uploaded(pub String, pub u64);

fn main() {}
