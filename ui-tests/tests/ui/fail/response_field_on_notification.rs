use edri::prelude::*;

#[event(notification)]
pub struct Uploaded {
    pub name: String,
    #[response]
    pub accepted: bool,
}

fn main() {}
