use edri::prelude::*;

#[event]
pub struct Uploaded {
    pub name: String,
}

fn main() {}
