//! Two events with one name are a startup error naming both types and source locations.
//! (In a binary of its own: every start in this binary fails.)

use edri::prelude::*;

pub mod a {
    use super::*;

    #[event(notification, name = "upload")]
    pub struct Uploaded {}
}

pub mod b {
    use super::*;

    #[event(request, name = "upload")]
    pub struct Upload {}
}

#[tokio::test]
async fn two_events_with_one_name_fail_the_start() {
    let error = Edri::new().start().await.unwrap_err();
    let edri::Error::DuplicateEventName {
        name,
        first,
        first_location,
        second,
        second_location,
    } = &error
    else {
        panic!("unexpected error: {error}");
    };
    assert_eq!(*name, "upload");
    let mut types = [*first, *second];
    types.sort();
    assert_eq!(
        types,
        [
            "duplicate_event_names::a::Uploaded",
            "duplicate_event_names::b::Upload"
        ]
    );
    for location in [first_location, second_location] {
        assert!(
            location.starts_with("edri/tests/duplicate_event_names.rs:"),
            "{location}"
        );
    }
    let message = error.to_string();
    assert!(
        message.contains("two events are named `upload`"),
        "{message}"
    );
    assert!(
        message.contains("name = "),
        "the message says how to fix it: {message}"
    );
}
