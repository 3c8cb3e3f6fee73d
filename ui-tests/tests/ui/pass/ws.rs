use edri::prelude::*;

/// A notification pushed to WebSocket clients.
#[event(notification, shared, ws)]
pub struct Relay {
    pub token: String,
}

/// A request reachable over WebSocket only.
#[event(request, ws)]
pub struct Status {
    #[response]
    pub up: bool,
}

fn main() {
    let events = edri::registered_events().unwrap();
    let relay = events.iter().find(|info| info.name == "relay").unwrap();
    assert!(relay.ws);
    assert!(relay.rest.is_none());
    let status = events.iter().find(|info| info.name == "status").unwrap();
    assert!(status.ws);
}
