use edri::prelude::*;

#[manager]
pub struct Archive;

fn main() {}
