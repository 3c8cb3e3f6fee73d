use edri::prelude::*;

#[event(notification, persistent)]
pub struct Uploaded {
    pub name: String,
}

#[derive(Default)]
pub struct Archive;

#[manager]
impl Archive {
    #[solve(req)]
    async fn uploaded(&mut self, _event: Uploaded) {}
}

fn main() {
    let _ = Edri::new().manager(Archive);
}
