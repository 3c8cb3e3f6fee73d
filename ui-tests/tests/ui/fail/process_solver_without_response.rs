use edri::prelude::*;

#[event(request)]
pub struct Checksum {
    pub data: Vec<u8>,
    #[response]
    pub sum: u64,
}

#[derive(Default)]
pub struct Hasher;

#[manager]
impl Hasher {
    #[solve(req, mode = "process")]
    fn checksum(_event: Checksum) {}
}

fn main() {
    let _ = Edri::new().manager(Hasher);
}
