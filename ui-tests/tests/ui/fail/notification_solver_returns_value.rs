use edri::prelude::*;

#[event(notification)]
pub struct Uploaded {
    pub size: u64,
}

#[derive(Default)]
pub struct Archive;

#[manager]
impl Archive {
    #[solve(req)]
    async fn uploaded(&mut self, event: Uploaded) -> u64 {
        event.size
    }
}

fn main() {
    let _ = Edri::new().manager(Archive);
}
