use edri::prelude::*;

#[event(notification, request)]
pub struct Uploaded {
    pub name: String,
}

fn main() {}
