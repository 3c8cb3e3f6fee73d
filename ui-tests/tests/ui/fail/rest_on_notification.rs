use edri::prelude::*;

#[event(notification, rest = "POST /uploaded")]
pub struct Uploaded {
    pub name: String,
}

fn main() {}
