use edri::prelude::*;

#[event(notification)]
pub struct Uploaded {
    pub name: String,
}

#[derive(Default)]
pub struct Archive;

#[manager]
impl Archive {
    #[solve(res)]
    async fn uploaded(&mut self, _event: Uploaded, _answer: Result<(), Failure>) {}
}

fn main() {
    let _ = Edri::new().manager(Archive);
}
