//! The wire format: everything that crosses a pipe or a socket (events, answers, the worker
//! protocol) and the store's file is encoded and decoded here, with postcard.
//!
//! Keeping postcard behind this module means generated code and public signatures never name
//! it, and a change of format touches one file.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Why a value could not be written to, or read from, edri's wire format.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct WireError(#[from] postcard::Error);

/// Encodes a value in edri's wire format.
#[doc(hidden)]
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, WireError> {
    Ok(postcard::to_stdvec(value)?)
}

/// Decodes a value from edri's wire format.
#[doc(hidden)]
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, WireError> {
    Ok(postcard::from_bytes(bytes)?)
}

/// Decodes a value from the start of `bytes`, and returns it with the bytes that follow it.
pub(crate) fn decode_prefix<T: DeserializeOwned>(bytes: &[u8]) -> Result<(T, &[u8]), WireError> {
    Ok(postcard::take_from_bytes(bytes)?)
}

/// The error for a value that its type refuses to encode (an event of another type than
/// expected, found by a type-erased encoder).
pub(crate) fn refused() -> WireError {
    WireError(postcard::Error::SerdeSerCustom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_survives_the_round_trip_and_garbage_is_an_error() {
        let bytes = encode(&(7u32, "seven".to_owned())).unwrap();
        let back: (u32, String) = decode(&bytes).unwrap();
        assert_eq!(back, (7, "seven".to_owned()));
        let error = decode::<(u32, String)>(&[0xff, 0xff, 0xff]).unwrap_err();
        assert!(!error.to_string().is_empty());
    }
}
