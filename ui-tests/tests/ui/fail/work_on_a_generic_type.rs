use edri::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub struct Echo<T> {
    prefix: T,
}

#[edri::work]
impl<T: Send + 'static> Work for Echo<T> {
    fn run(&mut self, _worker: &mut Worker) {}
}

fn main() {}
