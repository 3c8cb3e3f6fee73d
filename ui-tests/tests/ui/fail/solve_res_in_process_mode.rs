use edri::prelude::*;

#[event(request)]
pub struct Render {
    pub page: String,
}

#[derive(Default)]
pub struct Publisher;

#[manager]
impl Publisher {
    #[solve(res, mode = "process")]
    fn rendered(_event: Render, _answer: Result<(), Failure>) {}
}

fn main() {
    let _ = Edri::new().manager(Publisher);
}
