use edri::prelude::*;

#[event(notification)]
pub struct Alarm {}

#[derive(Default)]
pub struct Backup;

#[manager]
impl Backup {
    #[solve(req, priority = 0)]
    async fn alarm(&mut self, _event: Alarm) {}
}

fn main() {
    let _ = Edri::new().manager(Backup);
}
