use edri::prelude::*;

#[event(notification)]
pub struct Changed<T> {
    pub value: T,
}

fn main() {}
