//! serde's attributes on event fields are read as attributes: `default`, `with` and `skip` are
//! honoured, and the same words inside a value (`rename = "default_tag"`) mean nothing.
use edri::prelude::*;

mod upper {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &str, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&value.to_uppercase())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
        String::deserialize(deserializer).map(|s| s.to_lowercase())
    }
}

/// Not serializable: a field of this type must be skipped.
#[derive(Clone, Debug, Default)]
pub struct Cache;

#[event(notification)]
pub struct Tagged {
    /// Missing means `None`, although its serde name contains "default".
    #[serde(rename = "default_tag")]
    pub tag: Option<String>,
    /// Missing means 7.
    #[serde(default = "seven")]
    pub count: u32,
    #[serde(with = "upper", rename = "with_default")]
    pub shout: String,
    #[serde(skip)]
    pub cache: Cache,
}

fn seven() -> u32 {
    7
}

fn main() {
    let tagged: Tagged = serde_json::from_str(r#"{"with_default": "HEY"}"#).unwrap();
    assert_eq!(
        (tagged.tag, tagged.count, tagged.shout.as_str()),
        (None, 7, "hey")
    );

    let events = edri::registered_events().unwrap();
    let info = events.iter().find(|info| info.name == "tagged").unwrap();
    // A skipped field is not on the wire, so the API does not list it.
    let fields: Vec<(&str, bool)> = info
        .fields
        .iter()
        .map(|field| (field.name, field.optional))
        .collect();
    assert_eq!(fields, [("tag", true), ("count", true), ("shout", false)]);
}
