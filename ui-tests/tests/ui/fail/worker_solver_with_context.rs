use edri::prelude::*;

#[event(notification)]
pub struct Uploaded {
    pub name: String,
}

#[derive(Default)]
pub struct Indexer;

#[manager]
impl Indexer {
    #[solve(req, mode = "thread")]
    fn uploaded(_event: Uploaded, _ctx: &Context) {}
}

fn main() {
    let _ = Edri::new().manager(Indexer);
}
