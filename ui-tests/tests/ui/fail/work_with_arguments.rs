use edri::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub struct Echo {
    prefix: String,
}

#[edri::work(mode = "process")]
impl Work for Echo {
    fn run(&mut self, _worker: &mut Worker) {
        let _ = &self.prefix;
    }
}

fn main() {}
