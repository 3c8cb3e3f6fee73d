use edri::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub struct Echo {
    prefix: String,
}

#[edri::work]
impl Echo {
    fn run(&mut self, _worker: &mut Worker) {}
}

fn main() {
    let _ = Echo {
        prefix: String::new(),
    }
    .prefix;
}
