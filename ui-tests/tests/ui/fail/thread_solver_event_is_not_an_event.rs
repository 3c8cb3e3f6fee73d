use edri::prelude::*;

mod images {
    // Missing `#[event(notification)]`.
    #[derive(Clone, Debug)]
    pub struct Resize {
        pub width: u32,
    }
}

#[derive(Default)]
pub struct Images;

#[manager]
impl Images {
    #[solve(req, mode = "thread")]
    fn resize(_event: images::Resize, _worker: &mut Worker) {}
}

fn main() {
    let _ = Edri::new().manager(Images);
}
