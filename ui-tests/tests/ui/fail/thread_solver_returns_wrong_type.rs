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
    #[solve(req, mode = "thread")]
    fn checksum(event: Checksum) -> u64 {
        event.data.iter().map(|&b| u64::from(b)).sum()
    }
}

fn main() {
    let _ = Edri::new().manager(Hasher);
}
