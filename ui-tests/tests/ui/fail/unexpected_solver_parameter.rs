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
    async fn uploaded(&mut self, _event: Uploaded, _retries: u32) {}
}

fn main() {
    let _ = Edri::new().manager(Archive);
}
