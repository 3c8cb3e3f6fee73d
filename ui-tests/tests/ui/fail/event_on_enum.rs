use edri::prelude::*;

#[event(notification)]
pub enum Light {
    On,
    Off,
}

fn main() {}
