use edri::prelude::*;

pub struct Archive;

#[manager]
impl Default for Archive {
    fn default() -> Self {
        Archive
    }
}

fn main() {}
