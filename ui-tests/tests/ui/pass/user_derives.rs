use edri::prelude::*;

// The user already derives Clone and Debug (and more): #[event] adds only what is missing.
// Derives go below #[event], so that it sees them.
#[event(notification)]
#[derive(Clone, Debug, PartialEq)]
pub struct Uploaded {
    pub name: String,
}

#[event(request)]
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Greet {
    pub name: String,
    #[response]
    pub message: String,
}

#[event(notification)]
#[derive(core::fmt::Debug, std::clone::Clone, Eq, PartialEq, Hash, PartialOrd, Ord)]
pub struct Tick {
    pub at: u64,
}

fn main() {
    let event = Uploaded { name: "a".into() };
    assert_eq!(event.clone(), event);
    let greet = Greet::default();
    let _ = format!("{:?} {:?}", greet.clone(), GreetResponse { message: "hi".into() });
    assert!(Tick { at: 1 } < Tick { at: 2 });
}
