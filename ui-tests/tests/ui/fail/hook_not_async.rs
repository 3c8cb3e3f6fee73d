use edri::prelude::*;

#[derive(Default)]
pub struct Archive;

#[manager]
impl Archive {
    fn after_start(&mut self, _ctx: &Context) {}
}

fn main() {
    let _ = Edri::new().manager(Archive);
}
