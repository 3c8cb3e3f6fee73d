use edri::prelude::*;

#[event(notification)]
pub struct Uploaded {
    pub name: String,
}

#[derive(Default)]
pub struct Archive;

#[manager]
impl Archive {
    #[solve(req)]
    async fn uploaded(&mut self, _event: Uploaded) {}

    #[solve(req)]
    async fn uploaded_again(&mut self, _event: Uploaded) {}
}

fn main() {
    let _ = Edri::new().manager(Archive);
}
