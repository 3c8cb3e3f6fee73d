use edri::prelude::*;

/// A request exposed over REST (and therefore WebSocket).
#[event(request, rest = "GET /greet/{name}")]
pub struct Greet {
    pub name: String,
    #[response]
    pub message: String,
}

#[event(request, rest = "POST /files/{folder}/{name}")]
pub struct Upload {
    pub folder: String,
    pub name: String,
    pub body: Vec<u8>,
}

#[event(request, rest = "DELETE /files")]
pub struct Clear {}

fn main() {
    let events = edri::registered_events().unwrap();
    let greet = events.iter().find(|info| info.name == "greet").unwrap();
    assert_eq!(greet.rest, Some("GET /greet/{name}"));
    assert!(greet.ws);
    let upload = events.iter().find(|info| info.name == "upload").unwrap();
    assert_eq!(upload.rest, Some("POST /files/{folder}/{name}"));
}
