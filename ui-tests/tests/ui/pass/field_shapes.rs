//! `#[event]` records the shape of each field, read from its type, for the API.
use std::collections::{BTreeSet, HashMap};

use edri::prelude::*;

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Point {
    pub x: i32,
}

macro_rules! counted {
    ($count:ty) => {
        #[event(request)]
        pub struct Survey {
            pub name: String,
            pub count: $count,
            pub ratio: Option<f64>,
            pub tags: BTreeSet<String>,
            pub scores: HashMap<String, Vec<i16>>,
            pub shared: Box<str>,
            pub at: Point,
            pub size: usize,
            #[response]
            pub ok: bool,
        }
    };
}

counted!(Option<u8>);

fn main() {
    let events = edri::registered_events().unwrap();
    let info = events.iter().find(|info| info.name == "survey").unwrap();
    let shapes: Vec<String> = info
        .fields
        .iter()
        .map(|field| format!("{} {:?} {}", field.name, field.shape, field.optional))
        .collect();
    let size = format!(
        "size Integer {{ signed: false, bits: {} }} false",
        usize::BITS
    );
    assert_eq!(
        shapes,
        [
            "name String false",
            "count Option(Integer { signed: false, bits: 8 }) true",
            "ratio Option(Float) true",
            "tags Set(String) false",
            "scores Map(List(Integer { signed: true, bits: 16 })) false",
            "shared String false",
            "at Other false",
            size.as_str(),
        ]
    );
    assert_eq!(info.fields[1].ty, "Option<u8>");
    assert!(info.fields[1].shape.is_option());
    assert_eq!(info.response_type, "SurveyResponse");
    assert_eq!(format!("{:?}", info.response_fields[0].shape), "Bool");
}
