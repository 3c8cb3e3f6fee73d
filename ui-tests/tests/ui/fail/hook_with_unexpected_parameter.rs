use edri::prelude::*;

#[derive(Default)]
pub struct Archive;

#[manager]
impl Archive {
    async fn before_stop(&mut self, _ctx: &Context, _reason: String) {}
}

fn main() {
    let _ = Edri::new().manager(Archive);
}
