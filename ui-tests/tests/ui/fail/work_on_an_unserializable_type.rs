use edri::prelude::*;

pub struct Echo {
    pub prefix: String,
}

#[edri::work]
impl Work for Echo {
    fn run(&mut self, _worker: &mut Worker) {
        let _ = &self.prefix;
    }
}

fn main() {}
