use edri::prelude::*;

#[event(notification, name = "")]
pub struct Uploaded {
    pub name: String,
}

fn main() {}
