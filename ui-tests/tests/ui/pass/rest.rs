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
    let route = greet.rest.unwrap();
    assert_eq!(route.to_string(), "GET /greet/{name}");
    assert_eq!(route.method.as_str(), "GET");
    assert_eq!(route.path, "/greet/{name}");
    assert_eq!(route.params, ["name"]);
    assert!(greet.ws);
    let upload = events.iter().find(|info| info.name == "upload").unwrap();
    let route = upload.rest.unwrap();
    assert_eq!(route.as_str(), "POST /files/{folder}/{name}");
    assert!(route.method.takes_body());
    assert_eq!(route.params, ["folder", "name"]);
    let clear = events.iter().find(|info| info.name == "clear").unwrap();
    let route = clear.rest.unwrap();
    assert_eq!((route.method.as_str(), route.path), ("DELETE", "/files"));
    assert!(route.params.is_empty());
}
