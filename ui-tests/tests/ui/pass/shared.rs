use edri::prelude::*;

/// A notification that may cross the switch to other routers.
#[event(notification, shared)]
pub struct Relay {
    pub token: String,
}

/// A shared request.
#[event(request, shared)]
pub struct Lookup {
    pub key: String,
    #[response]
    pub value: Option<String>,
}

fn main() {
    assert!(<Relay as edri::Event>::SHARED);
    assert!(<Lookup as edri::Event>::SHARED);
}
