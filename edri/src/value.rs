//! [`Value`]: a JSON-like value that crosses processes, machines and the API.
//!
//! The store keeps `Value`s, so one store serves every type: put any serde type in with
//! [`Value::from_serde`] and take it out with [`Value::decode`].
//!
//! On human-readable formats (JSON for the API) a `Value` is written as plain JSON. On compact
//! binary formats (postcard, between processes and machines) it is written with a tag per
//! variant, because those formats cannot tell the type of a value from its bytes.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{DeserializeOwned, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A JSON-like value: null, a boolean, a number, a string, an array or an object.
///
/// ```
/// use edri::Value;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, Debug, PartialEq)]
/// #[serde(crate = "edri::serde")]
/// struct Config { retries: u32, host: String }
///
/// let config = Config { retries: 3, host: "db".into() };
/// let value = Value::from_serde(&config)?;
/// assert_eq!(value.to_string(), r#"{"host":"db","retries":3}"#);
/// assert_eq!(value.decode::<Config>()?, config);
///
/// let error = value.decode::<Vec<u8>>().unwrap_err();
/// assert!(error.to_string().contains("alloc::vec::Vec<u8>"), "{error}");
/// # Ok::<(), edri::ValueError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Value {
    /// No value; JSON's `null`.
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A whole number. Unsigned numbers above `i64::MAX` become a [`Value::Float`].
    Int(i64),
    /// A number with a fraction.
    Float(f64),
    /// Text.
    String(String),
    /// An ordered list.
    Array(Vec<Value>),
    /// Named values, ordered by name.
    Object(BTreeMap<String, Value>),
}

/// A value that could not be turned into the requested type, or a type that could not be
/// turned into a value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{action} `{type_name}`: {reason}")]
pub struct ValueError {
    action: &'static str,
    type_name: &'static str,
    reason: String,
}

impl ValueError {
    /// The Rust type that was asked for, or given.
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }

    /// What serde reported.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl Value {
    /// Turns any serializable value into a `Value`.
    pub fn from_serde<T: Serialize + ?Sized>(value: &T) -> Result<Value, ValueError> {
        serde_json::to_value(value)
            .map(Value::from)
            .map_err(|error| ValueError {
                action: "cannot store a value of type",
                type_name: std::any::type_name::<T>(),
                reason: error.to_string(),
            })
    }

    /// Reads the value as `T`; the error names `T` and says what did not fit.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, ValueError> {
        self.clone().into_decoded()
    }

    /// Like [`decode`](Self::decode), without copying the value first.
    pub fn into_decoded<T: DeserializeOwned>(self) -> Result<T, ValueError> {
        serde_json::from_value(serde_json::Value::from(self)).map_err(|error| ValueError {
            action: "the value does not decode to",
            type_name: std::any::type_name::<T>(),
            reason: error.to_string(),
        })
    }

    /// What kind of value this is, for messages: `"null"`, `"bool"`, `"integer"`, `"float"`,
    /// `"string"`, `"array"` or `"object"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "integer",
            Value::Float(_) => "float",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }

    /// Whether this is [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(value) => Some(*value),
            _ => None,
        }
    }

    /// The whole number, if this is one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(value) => Some(*value),
            _ => None,
        }
    }

    /// The number as a float, if this is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(value) => Some(*value as f64),
            Value::Float(value) => Some(*value),
            _ => None,
        }
    }

    /// The text, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(value) => Some(value),
            _ => None,
        }
    }

    /// The items, if this is an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The named values, if this is an object.
    pub fn as_object(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Object(map) => Some(map),
            _ => None,
        }
    }

    /// The value named `key`, if this is an object that has it.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_object()?.get(key)
    }
}

impl fmt::Display for Value {
    /// Writes the value as compact JSON.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&serde_json::Value::from(self.clone()), f)
    }
}

impl From<serde_json::Value> for Value {
    fn from(value: serde_json::Value) -> Self {
        match value {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(value) => Value::Bool(value),
            serde_json::Value::Number(number) => match number.as_i64() {
                Some(int) => Value::Int(int),
                // u64 above i64::MAX and fractions; serde_json's numbers always fit an f64.
                None => Value::Float(number.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(value) => Value::String(value),
            serde_json::Value::Array(items) => {
                Value::Array(items.into_iter().map(Value::from).collect())
            }
            serde_json::Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(key, value)| (key, Value::from(value)))
                    .collect(),
            ),
        }
    }
}

impl From<Value> for serde_json::Value {
    fn from(value: Value) -> Self {
        match value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(value) => serde_json::Value::Bool(value),
            Value::Int(value) => serde_json::Value::from(value),
            // JSON has no NaN or infinity: those become null, as serde_json writes them.
            Value::Float(value) => serde_json::Number::from_f64(value)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            Value::String(value) => serde_json::Value::String(value),
            Value::Array(items) => {
                serde_json::Value::Array(items.into_iter().map(Into::into).collect())
            }
            Value::Object(map) => serde_json::Value::Object(
                map.into_iter()
                    .map(|(key, value)| (key, value.into()))
                    .collect(),
            ),
        }
    }
}

macro_rules! from_number {
    ($variant:ident as $target:ty: $($source:ty),*) => {$(
        impl From<$source> for Value {
            fn from(value: $source) -> Self {
                Value::$variant(<$target>::from(value))
            }
        }
    )*};
}

from_number!(Int as i64: i8, i16, i32, i64, u8, u16, u32);
from_number!(Float as f64: f32, f64);

impl From<bool> for Value {
    fn from(value: bool) -> Self {
        Value::Bool(value)
    }
}

impl From<String> for Value {
    fn from(value: String) -> Self {
        Value::String(value)
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Value::String(value.to_owned())
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(items: Vec<T>) -> Self {
        Value::Array(items.into_iter().map(Into::into).collect())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(value: Option<T>) -> Self {
        value.map_or(Value::Null, Into::into)
    }
}

impl From<BTreeMap<String, Value>> for Value {
    fn from(map: BTreeMap<String, Value>) -> Self {
        Value::Object(map)
    }
}

/// The tagged form of a value on compact binary formats.
#[derive(Serialize)]
#[serde(crate = "serde")]
enum TaggedRef<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(&'a str),
    Array(&'a [Value]),
    Object(&'a BTreeMap<String, Value>),
}

#[derive(Deserialize)]
#[serde(crate = "serde")]
enum Tagged {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    Array(Vec<Value>),
    Object(BTreeMap<String, Value>),
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            return match self {
                Value::Null => serializer.serialize_unit(),
                Value::Bool(value) => serializer.serialize_bool(*value),
                Value::Int(value) => serializer.serialize_i64(*value),
                Value::Float(value) => serializer.serialize_f64(*value),
                Value::String(value) => serializer.serialize_str(value),
                Value::Array(items) => items.serialize(serializer),
                Value::Object(map) => map.serialize(serializer),
            };
        }
        match self {
            Value::Null => TaggedRef::Null,
            Value::Bool(value) => TaggedRef::Bool(*value),
            Value::Int(value) => TaggedRef::Int(*value),
            Value::Float(value) => TaggedRef::Float(*value),
            Value::String(value) => TaggedRef::String(value),
            Value::Array(items) => TaggedRef::Array(items),
            Value::Object(map) => TaggedRef::Object(map),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if !deserializer.is_human_readable() {
            return Ok(match Tagged::deserialize(deserializer)? {
                Tagged::Null => Value::Null,
                Tagged::Bool(value) => Value::Bool(value),
                Tagged::Int(value) => Value::Int(value),
                Tagged::Float(value) => Value::Float(value),
                Tagged::String(value) => Value::String(value),
                Tagged::Array(items) => Value::Array(items),
                Tagged::Object(map) => Value::Object(map),
            });
        }
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        Value::deserialize(deserializer)
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Int(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(i64::try_from(value).map_or(Value::Float(value as f64), Value::Int))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Value::Float(value))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = BTreeMap::new();
        while let Some((key, value)) = map.next_entry::<String, Value>()? {
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Value {
        let mut object = BTreeMap::new();
        object.insert("n".to_owned(), Value::Int(-3));
        object.insert("f".to_owned(), Value::Float(1.5));
        object.insert(
            "list".to_owned(),
            Value::from(vec![Value::Null, Value::Bool(true), Value::from("x")]),
        );
        Value::Object(object)
    }

    #[test]
    fn wire_round_trip_keeps_every_variant() {
        let bytes = crate::wire::encode(&sample()).unwrap();
        let back: Value = crate::wire::decode(&bytes).unwrap();
        assert_eq!(back, sample());
    }

    #[test]
    fn json_is_plain_json() {
        let json = serde_json::to_string(&sample()).unwrap();
        assert_eq!(json, r#"{"f":1.5,"list":[null,true,"x"],"n":-3}"#);
        let back: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back, sample());
    }

    #[test]
    fn large_unsigned_numbers_become_floats() {
        let value: Value = serde_json::from_str("18446744073709551615").unwrap();
        assert_eq!(value.kind(), "float");
    }

    #[test]
    fn decode_errors_name_the_type() {
        let error = Value::from("text").decode::<u32>().unwrap_err();
        assert_eq!(error.type_name(), "u32");
        assert!(error.to_string().contains("`u32`"), "{error}");
    }
}
