//! Event fields go through edri's serializability check and still serialize as serde would.
use std::collections::BTreeMap;

use edri::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub x: i32,
    pub y: i32,
}

mod upper {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &str, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&value.to_uppercase())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
        String::deserialize(deserializer).map(|s| s.to_lowercase())
    }
}

#[event(notification, shared)]
#[derive(PartialEq)]
pub struct Moved {
    pub r#type: String,
    pub to: Point,
    pub path: Vec<Point>,
    #[serde(rename = "labels")]
    pub tags: BTreeMap<String, u8>,
    #[serde(default)]
    pub note: Option<String>,
    // The user's own serde functions are kept as they are.
    #[serde(with = "upper")]
    pub shout: String,
}

#[event(request)]
pub struct Measure {
    pub from: Point,
    #[response]
    pub distance: f64,
    #[response]
    pub r#type: String,
}

fn main() {
    let moved = Moved {
        r#type: "walk".into(),
        to: Point { x: 1, y: 2 },
        path: vec![Point { x: 0, y: 0 }],
        tags: BTreeMap::from([("a".to_owned(), 1)]),
        note: None,
        shout: "hey".into(),
    };
    let json = serde_json::to_string(&moved).unwrap();
    assert_eq!(
        json,
        r#"{"type":"walk","to":{"x":1,"y":2},"path":[{"x":0,"y":0}],"labels":{"a":1},"note":null,"shout":"HEY"}"#
    );
    assert_eq!(serde_json::from_str::<Moved>(&json).unwrap(), moved);
    let without_note = r#"{"type":"walk","to":{"x":1,"y":2},"path":[],"labels":{},"shout":"HEY"}"#;
    assert_eq!(serde_json::from_str::<Moved>(without_note).unwrap().note, None);

    let response = MeasureResponse {
        distance: 2.5,
        r#type: "euclid".into(),
    };
    let json = serde_json::to_string(&response).unwrap();
    assert_eq!(json, r#"{"distance":2.5,"type":"euclid"}"#);
    let back: MeasureResponse = serde_json::from_str(&json).unwrap();
    assert_eq!(back.distance, 2.5);
    let request = serde_json::to_string(&Measure { from: Point { x: 3, y: 4 } }).unwrap();
    assert_eq!(request, r#"{"from":{"x":3,"y":4}}"#);
}
