use edri::prelude::*;

/// Clone and Debug, but no serde: it cannot cross a process or the switch.
#[derive(Clone, Debug)]
pub struct Handle {
    pub fd: i32,
}

#[event(notification, shared)]
pub struct Opened {
    pub path: String,
    pub handle: Handle,
}

fn main() {}
