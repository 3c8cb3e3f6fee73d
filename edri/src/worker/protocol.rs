//! The frames exchanged with a worker process: a little-endian `u32` length, then a postcard
//! body.

use std::io::{self, Read, Write};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::Failure;

/// Frames larger than this are refused as garbage.
pub(crate) const MAX_FRAME: usize = 256 * 1024 * 1024;

/// From the parent to a worker process.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ToChild {
    /// Run a process solver on an encoded event.
    Run {
        solver: String,
        event: Vec<u8>,
        /// The worker's name.
        worker: String,
        request_timeout_ms: u64,
    },
    /// Start a long-lived `Work` from its encoded value.
    Start {
        work: String,
        value: Vec<u8>,
        /// The worker's name.
        worker: String,
        request_timeout_ms: u64,
    },
    /// No more events will be addressed to the running job.
    Closed,
    /// The answer to the worker's `ask` number `call`: the encoded response.
    Answer {
        call: u64,
        answer: Result<Vec<u8>, Failure>,
    },
    /// An event addressed to the worker.
    Deliver { name: String, body: Vec<u8> },
    /// Stop the current job: `worker.is_cancelled()` turns true.
    Cancel,
}

/// From a worker process to its parent.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ToParent {
    /// The job ended: the encoded answer (empty for notifications and `Work`); `panicked`
    /// tells a panic from a failure the solver returned.
    Done {
        answer: Result<Vec<u8>, Failure>,
        panicked: bool,
    },
    /// Ask a request; the answer comes back as `ToChild::Answer` with the same `call`.
    Ask {
        call: u64,
        name: String,
        body: Vec<u8>,
        timeout_ms: u64,
    },
    /// Send an event into the router.
    Send { name: String, body: Vec<u8> },
}

/// Encodes a frame body and its length prefix.
pub(crate) fn encode<T: Serialize>(message: &T) -> Result<Vec<u8>, crate::wire::WireError> {
    let body = crate::wire::encode(message)?;
    let mut frame = Vec::with_capacity(body.len() + 4);
    frame.extend_from_slice(&(body.len() as u32).to_le_bytes());
    frame.extend_from_slice(&body);
    Ok(frame)
}

/// Reads one frame; `Ok(None)` at a clean end of the stream.
pub(crate) fn read_blocking<T: DeserializeOwned>(reader: &mut impl Read) -> io::Result<Option<T>> {
    let mut length = [0u8; 4];
    match reader.read_exact(&mut length) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(error) => return Err(error),
    }
    let body = read_body(u32::from_le_bytes(length) as usize, |buffer| {
        reader.read_exact(buffer)
    })?;
    decode(&body).map(Some)
}

/// Writes one frame.
pub(crate) fn write_blocking<T: Serialize>(writer: &mut impl Write, message: &T) -> io::Result<()> {
    let frame =
        encode(message).map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
    writer.write_all(&frame)
}

pub(crate) fn read_body(
    length: usize,
    read_exact: impl FnOnce(&mut [u8]) -> io::Result<()>,
) -> io::Result<Vec<u8>> {
    check_length(length)?;
    let mut body = vec![0u8; length];
    read_exact(&mut body)?;
    Ok(body)
}

/// Refuses a frame length over [`MAX_FRAME`]: a peer writing garbage.
pub(crate) fn check_length(length: usize) -> io::Result<()> {
    if length > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a frame of {length} bytes is over the limit of {MAX_FRAME}"),
        ));
    }
    Ok(())
}

pub(crate) fn decode<T: DeserializeOwned>(body: &[u8]) -> io::Result<T> {
    crate::wire::decode(body).map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))
}
