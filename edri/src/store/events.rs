//! The store's events: one request per operation, and the [`Changed`] notification.
//!
//! Each request has a constructor that takes anything convertible into a key and a
//! [`Value`], so `Set::new("visits", 1)` reads as it should; the fields stay public for
//! those who prefer a struct literal.

use std::time::Duration;

use edri_macros::event;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{Failure, Value};

/// Puts `value` under `key`, replacing what was there. Answered by its status.
///
/// `ttl: None` keeps the value until it is changed or deleted, and clears an expiry the key had;
/// `Some(duration)` makes the key expire that long from now. A zero ttl is refused with
/// [`Status::BadRequest`](crate::Status::BadRequest).
#[event(request, name = "edri-store-set")]
pub struct Set {
    /// The key.
    pub key: String,
    /// The value.
    pub value: Value,
    /// How long the key lives; `None` for ever.
    #[serde(default)]
    pub ttl: Option<Duration>,
}

impl Set {
    /// Sets `key` to `value`, without expiry.
    pub fn new(key: impl Into<String>, value: impl Into<Value>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
            ttl: None,
        }
    }

    /// Sets `key` to any serde value, converted to a [`Value`]. A value serde cannot represent
    /// as a `Value` (a map with non-string keys, say) gives `Failure(Unprocessable)` naming the
    /// key and the type.
    pub fn from_serde<T: Serialize + ?Sized>(
        key: impl Into<String>,
        value: &T,
    ) -> Result<Self, Failure> {
        let key = key.into();
        let value = to_value(&key, value)?;
        Ok(Self {
            key,
            value,
            ttl: None,
        })
    }

    /// Makes the key expire `ttl` from when the store handles the request.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }
}

/// Reads the value of `key`. Always answered with a [`GetResponse`]: the value, or `None` for
/// a missing or expired key, and `data` echoed back untouched.
///
/// `data` lets a manager that sends the request with `ctx.send` and handles the answer in a
/// `#[solve(res)]` solver carry along what it needs to resume, so it keeps no state of its own.
#[event(request, name = "edri-store-get", response = GetResponse)]
pub struct Get {
    /// The key.
    pub key: String,
    /// Anything the requester wants back with the answer; `Value::Null` by default.
    #[serde(default)]
    pub data: Value,
}

impl Get {
    /// Reads `key`, with no data to echo.
    pub fn new(key: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            data: Value::Null,
        }
    }

    /// Attaches `data`, which comes back untouched in [`GetResponse::data`].
    pub fn data(mut self, data: impl Into<Value>) -> Self {
        self.data = data.into();
        self
    }
}

/// The answer to [`Get`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(crate = "serde")]
pub struct GetResponse {
    /// The key that was read.
    pub key: String,
    /// Its value; `None` when the key is missing or expired.
    pub value: Option<Value>,
    /// The request's `data`, untouched.
    pub data: Value,
}

impl GetResponse {
    /// The value as a `T`, or `None` for a missing key. A value that does not decode to `T`
    /// gives `Failure(Unprocessable)` naming the key and the type.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<Option<T>, Failure> {
        self.value
            .as_ref()
            .map(|value| {
                value.decode::<T>().map_err(|error| {
                    Failure::unprocessable(format!(
                        "the value of store key `{}` does not decode to `{}`: {}",
                        self.key,
                        error.type_name(),
                        error.reason()
                    ))
                })
            })
            .transpose()
    }
}

/// Removes `key`. Answers whether it existed (an expired key did not).
#[event(request, name = "edri-store-delete")]
pub struct Delete {
    /// The key.
    pub key: String,
    /// Whether the key held a value.
    #[response]
    pub existed: bool,
}

impl Delete {
    /// Removes `key`.
    pub fn new(key: impl Into<String>) -> Self {
        Self { key: key.into() }
    }
}

/// Asks for a [`Changed`] notification on every later change of `key`, and answers its current
/// value, so the watcher starts from a known state.
///
/// Watches are counted: after two `Watch` and one [`Unwatch`] the key is still watched.
#[event(request, name = "edri-store-watch")]
pub struct Watch {
    /// The key.
    pub key: String,
    /// The key's value now; `None` when it is missing or expired.
    #[response]
    pub value: Option<Value>,
}

impl Watch {
    /// Watches `key`.
    pub fn new(key: impl Into<String>) -> Self {
        Self { key: key.into() }
    }
}

/// Takes back one [`Watch`] of `key`. A key nobody watches gives `Failure(NotFound)`.
#[event(request, name = "edri-store-unwatch")]
pub struct Unwatch {
    /// The key.
    pub key: String,
}

impl Unwatch {
    /// Takes back one watch of `key`.
    pub fn new(key: impl Into<String>) -> Self {
        Self { key: key.into() }
    }
}

/// Adds `by` (which may be negative) to the integer under `key`, atomically, and answers the new
/// value. A missing or expired key counts as 0; the key keeps its expiry.
///
/// A key holding anything but an integer, or a result that overflows an `i64`, gives
/// `Failure(Unprocessable)` naming the key.
#[event(request, name = "edri-store-increment")]
pub struct Increment {
    /// The key.
    pub key: String,
    /// How much to add.
    pub by: i64,
    /// The value after the increment.
    #[response]
    pub value: i64,
}

impl Increment {
    /// Adds `by` to `key`.
    pub fn new(key: impl Into<String>, by: i64) -> Self {
        Self {
            key: key.into(),
            by,
        }
    }
}

/// Sets `key` to `value` only if it holds `expected` now (`None`: only if it is missing or
/// expired), atomically. Answers whether it swapped; a swap clears the key's expiry.
#[event(request, name = "edri-store-compare-and-set")]
pub struct CompareAndSet {
    /// The key.
    pub key: String,
    /// The value the key must hold; `None` for a missing key.
    pub expected: Option<Value>,
    /// The new value.
    pub value: Value,
    /// Whether the key held `expected` and now holds `value`.
    #[response]
    pub swapped: bool,
}

impl CompareAndSet {
    /// Swaps `key` from `expected` to `value`.
    pub fn new(key: impl Into<String>, expected: Option<Value>, value: impl Into<Value>) -> Self {
        Self {
            key: key.into(),
            expected,
            value: value.into(),
        }
    }
}

/// Sets `key` to `value` only if it is missing (or expired), atomically: the lock primitive.
/// Answers whether it acquired the key.
///
/// With a `ttl`, a lock whose holder dies is released by expiry.
#[event(request, name = "edri-store-set-if-absent")]
pub struct SetIfAbsent {
    /// The key.
    pub key: String,
    /// The value to put when the key is absent.
    pub value: Value,
    /// How long the key lives once set; `None` for ever.
    #[serde(default)]
    pub ttl: Option<Duration>,
    /// Whether the key was absent and now holds `value`.
    #[response]
    pub acquired: bool,
}

impl SetIfAbsent {
    /// Sets `key` to `value` if it is absent, without expiry.
    pub fn new(key: impl Into<String>, value: impl Into<Value>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
            ttl: None,
        }
    }

    /// Like [`new`](Self::new), with any serde value (see [`Set::from_serde`]).
    pub fn from_serde<T: Serialize + ?Sized>(
        key: impl Into<String>,
        value: &T,
    ) -> Result<Self, Failure> {
        let key = key.into();
        let value = to_value(&key, value)?;
        Ok(Self {
            key,
            value,
            ttl: None,
        })
    }

    /// Makes the key expire `ttl` from when it is set.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }
}

/// Answered once every change the store made before it is written to its database file, for a
/// caller that needs durability at a point. A store in memory answers at once.
#[event(request, name = "edri-store-flush")]
pub struct Flush {}

/// A watched key changed: it was set, incremented, swapped or acquired (`value: Some(..)`), or
/// deleted or expired (`value: None`). Sent only for keys someone [`Watch`]es.
#[event(notification, name = "edri-store-changed")]
pub struct Changed {
    /// The key.
    pub key: String,
    /// Its new value; `None` once it is gone.
    pub value: Option<Value>,
}

/// Converts a serde value for `key`, or fails naming both.
fn to_value<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<Value, Failure> {
    Value::from_serde(value)
        .map_err(|error| Failure::unprocessable(format!("store key `{key}`: {error}")))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::Status;

    #[test]
    fn from_serde_names_the_key_and_the_type() {
        // JSON objects need string keys, so a map keyed by tuples has no `Value`.
        let map: BTreeMap<(u8, u8), u8> = BTreeMap::from([((1, 2), 3)]);
        let failure = Set::from_serde("grid", &map).unwrap_err();
        assert_eq!(failure.status(), Status::Unprocessable);
        assert!(failure.message().contains("`grid`"), "{failure}");
        assert!(failure.message().contains("BTreeMap"), "{failure}");
    }

    #[test]
    fn decode_names_the_key_and_the_type() {
        let answer = GetResponse {
            key: "count".into(),
            value: Some(Value::from("many")),
            data: Value::Null,
        };
        let failure = answer.decode::<u32>().unwrap_err();
        assert_eq!(failure.status(), Status::Unprocessable);
        assert!(failure.message().contains("`count`"), "{failure}");
        assert!(failure.message().contains("`u32`"), "{failure}");
        assert_eq!(answer.decode::<String>(), Ok(Some("many".to_owned())));
    }
}
