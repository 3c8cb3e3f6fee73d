use edri::prelude::*;

#[event(notification, response = bool)]
pub struct Uploaded {
    pub name: String,
}

fn main() {}
