//! Switch frames: a big-endian `u32` length, the body, and, on an authenticated connection, a
//! 32-byte HMAC-SHA256 tag.
//!
//! The tag covers the frame's number in its direction (counted from 0 after the handshake, and
//! never sent), the length and the body. A replayed, dropped, reordered or altered frame
//! therefore fails the check, and the connection is closed.
//!
//! [`FrameDecoder`] works on bytes already read, so that the same code serves the socket and
//! the property tests; it never asks for more than one frame's worth of bytes.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The length of a frame's tag.
pub(crate) const TAG_LEN: usize = 32;
/// The length prefix.
const PREFIX_LEN: usize = 4;
/// The largest frame body unless configured otherwise (`edri-switch --max-frame`,
/// [`Switch::max_frame`](super::Switch::max_frame)).
pub const DEFAULT_MAX_FRAME: usize = 16 * 1024 * 1024;

/// Why a connection was closed while reading or writing frames.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The length prefix announces more than the limit.
    #[error("a frame of {length} bytes is over the limit of {limit}")]
    TooLarge {
        /// The announced length.
        length: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The tag does not match: a forged, altered, replayed or reordered frame.
    #[error("frame {number} has a bad authentication tag")]
    BadTag {
        /// The frame's number in its direction.
        number: u64,
    },
    /// The body is not a message of this protocol.
    #[error("frame {number} is not a valid message: {reason}")]
    Malformed {
        /// The frame's number in its direction.
        number: u64,
        /// What the decoder found.
        reason: String,
    },
    /// The peer closed the connection in the middle of a frame.
    #[error("the connection ended in the middle of a frame")]
    Truncated,
    /// The socket failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// A keyed HMAC, cloned for each frame so the key is expanded once per connection.
#[derive(Clone)]
pub(crate) struct FrameKey(Hmac<Sha256>);

impl FrameKey {
    pub(crate) fn new(key: &[u8; 32]) -> Self {
        // HMAC takes keys of any length, so this cannot fail.
        Self(Hmac::new_from_slice(key).expect("HMAC accepts a 32-byte key"))
    }

    fn tag(&self, number: u64, body_parts: &[&[u8]]) -> [u8; TAG_LEN] {
        let mut mac = self.0.clone();
        let length: usize = body_parts.iter().map(|part| part.len()).sum();
        mac.update(&number.to_be_bytes());
        mac.update(&(length as u32).to_be_bytes());
        for part in body_parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    fn verify(&self, number: u64, body: &[u8], tag: &[u8]) -> bool {
        let mut mac = self.0.clone();
        mac.update(&number.to_be_bytes());
        mac.update(&(body.len() as u32).to_be_bytes());
        mac.update(body);
        mac.verify_slice(tag).is_ok()
    }
}

/// What the decoder found at the start of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decoded {
    /// A whole, verified frame: the body is `buffer[body]`, and the frame takes `used` bytes.
    Frame {
        body: std::ops::Range<usize>,
        used: usize,
    },
    /// The buffer holds the start of a frame of `total` bytes.
    Incomplete { total: usize },
}

/// Decodes and verifies the frames of one direction of one connection.
pub(crate) struct FrameDecoder {
    key: Option<FrameKey>,
    number: u64,
    limit: usize,
}

impl FrameDecoder {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            key: None,
            number: 0,
            limit,
        }
    }

    /// From now on, frames carry tags under `key`, numbered from 0.
    pub(crate) fn authenticate(&mut self, key: FrameKey) {
        self.key = Some(key);
        self.number = 0;
    }

    /// Changes the largest body accepted from the next frame on.
    pub(crate) fn set_limit(&mut self, limit: usize) {
        self.limit = limit;
    }

    /// The most bytes one frame may take, prefix and tag included.
    pub(crate) fn max_frame_bytes(&self) -> usize {
        PREFIX_LEN + self.limit + self.tag_len()
    }

    fn tag_len(&self) -> usize {
        if self.key.is_some() {
            TAG_LEN
        } else {
            0
        }
    }

    /// Looks at the start of `buffer`. The length is checked against the limit before
    /// anything else, so a hostile prefix never makes the reader wait for (or allocate) more
    /// than [`max_frame_bytes`](Self::max_frame_bytes).
    pub(crate) fn decode(&mut self, buffer: &[u8]) -> Result<Decoded, FrameError> {
        let Some(prefix) = buffer.first_chunk::<PREFIX_LEN>() else {
            return Ok(Decoded::Incomplete { total: PREFIX_LEN });
        };
        let length = u32::from_be_bytes(*prefix) as usize;
        if length > self.limit {
            return Err(FrameError::TooLarge {
                length,
                limit: self.limit,
            });
        }
        let total = PREFIX_LEN + length + self.tag_len();
        if buffer.len() < total {
            return Ok(Decoded::Incomplete { total });
        }
        let body = PREFIX_LEN..PREFIX_LEN + length;
        if let Some(key) = &self.key {
            if !key.verify(self.number, &buffer[body.clone()], &buffer[body.end..total]) {
                return Err(FrameError::BadTag {
                    number: self.number,
                });
            }
        }
        self.number += 1;
        Ok(Decoded::Frame { body, used: total })
    }

    /// The number the next frame will have.
    pub(crate) fn number(&self) -> u64 {
        self.number
    }
}

/// Encodes the frames of one direction of one connection.
pub(crate) struct FrameEncoder {
    key: Option<FrameKey>,
    number: u64,
}

impl FrameEncoder {
    pub(crate) fn new() -> Self {
        Self {
            key: None,
            number: 0,
        }
    }

    /// From now on, frames carry tags under `key`, numbered from 0.
    pub(crate) fn authenticate(&mut self, key: FrameKey) {
        self.key = Some(key);
        self.number = 0;
    }

    /// Appends one frame whose body is the concatenation of `body_parts` to `out`.
    pub(crate) fn encode(&mut self, body_parts: &[&[u8]], out: &mut Vec<u8>) {
        let length: usize = body_parts.iter().map(|part| part.len()).sum();
        out.extend_from_slice(&(length as u32).to_be_bytes());
        for part in body_parts {
            out.extend_from_slice(part);
        }
        if let Some(key) = &self.key {
            out.extend_from_slice(&key.tag(self.number, body_parts));
        }
        self.number += 1;
    }
}

/// How many bytes a read asks for beyond the frame it completes.
const READ_SLACK: usize = 16 * 1024;

/// Reads frames from a socket into a buffer that never holds more than one frame beyond what
/// was read with it.
pub(crate) struct FrameReader<R> {
    reader: R,
    pub(crate) decoder: FrameDecoder,
    buffer: Vec<u8>,
    /// Where the unread bytes start in `buffer`.
    start: usize,
    /// Where the previous frame's body sits, until the next read.
    consumed: usize,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    pub(crate) fn new(reader: R, limit: usize) -> Self {
        Self {
            reader,
            decoder: FrameDecoder::new(limit),
            buffer: Vec::with_capacity(READ_SLACK),
            start: 0,
            consumed: 0,
        }
    }

    /// The next frame's body; `Ok(None)` when the peer closed cleanly between frames.
    pub(crate) async fn read(&mut self) -> Result<Option<&[u8]>, FrameError> {
        self.start += self.consumed;
        self.consumed = 0;
        loop {
            match self.decoder.decode(&self.buffer[self.start..])? {
                Decoded::Frame { body, used } => {
                    let body = self.start + body.start..self.start + body.end;
                    self.consumed = used;
                    return Ok(Some(&self.buffer[body]));
                }
                Decoded::Incomplete { total } => {
                    if !self.fill(total).await? {
                        return if self.start == self.buffer.len() {
                            Ok(None)
                        } else {
                            Err(FrameError::Truncated)
                        };
                    }
                }
            }
        }
    }

    /// Reads more bytes, with room for a frame of `total` bytes; `false` at end of stream.
    ///
    /// The buffer grows to at most one frame plus [`READ_SLACK`]: `total` never exceeds
    /// [`FrameDecoder::max_frame_bytes`], and an incomplete frame is all the buffer holds.
    async fn fill(&mut self, total: usize) -> Result<bool, FrameError> {
        debug_assert!(total <= self.decoder.max_frame_bytes());
        if self.start > 0 {
            self.buffer.drain(..self.start);
            self.start = 0;
        }
        let wanted = total.saturating_sub(self.buffer.len()).max(READ_SLACK);
        if self.buffer.capacity() - self.buffer.len() < wanted {
            self.buffer.reserve_exact(wanted);
        }
        let read = self.reader.read_buf(&mut self.buffer).await?;
        Ok(read > 0)
    }

    /// Whether bytes of a next frame are already buffered, so a reader can handle it before
    /// flushing what it wrote.
    pub(crate) fn has_buffered(&self) -> bool {
        self.start + self.consumed < self.buffer.len()
    }
}

/// Writes frames to a socket, batching until [`flush`](Self::flush).
pub(crate) struct FrameWriter<W> {
    writer: W,
    pub(crate) encoder: FrameEncoder,
    buffer: Vec<u8>,
}

impl<W: AsyncWrite + Unpin> FrameWriter<W> {
    pub(crate) fn new(writer: W) -> Self {
        Self {
            writer,
            encoder: FrameEncoder::new(),
            buffer: Vec::with_capacity(64 * 1024),
        }
    }

    /// Queues one frame; writes out when the batch is large.
    pub(crate) async fn send(&mut self, body_parts: &[&[u8]]) -> std::io::Result<()> {
        self.encoder.encode(body_parts, &mut self.buffer);
        if self.buffer.len() >= 256 * 1024 {
            self.flush().await?;
        }
        Ok(())
    }

    /// Writes out every queued frame.
    pub(crate) async fn flush(&mut self) -> std::io::Result<()> {
        if !self.buffer.is_empty() {
            self.writer.write_all(&self.buffer).await?;
            self.buffer.clear();
        }
        self.writer.flush().await
    }

    /// The socket, once everything queued has been flushed.
    pub(crate) fn into_inner(self) -> W {
        self.writer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(key: Option<[u8; 32]>, limit: usize) -> (FrameEncoder, FrameDecoder) {
        let mut encoder = FrameEncoder::new();
        let mut decoder = FrameDecoder::new(limit);
        if let Some(key) = key {
            encoder.authenticate(FrameKey::new(&key));
            decoder.authenticate(FrameKey::new(&key));
        }
        (encoder, decoder)
    }

    #[test]
    fn frames_round_trip_with_and_without_tags() {
        for key in [None, Some([7; 32])] {
            let (mut encoder, mut decoder) = pair(key, 1024);
            let mut bytes = Vec::new();
            encoder.encode(&[b"head", b"er"], &mut bytes);
            encoder.encode(&[b"second"], &mut bytes);
            let Decoded::Frame { body, used } = decoder.decode(&bytes).unwrap() else {
                panic!("a whole frame")
            };
            assert_eq!(&bytes[body], b"header");
            let rest = &bytes[used..];
            let Decoded::Frame { body, .. } = decoder.decode(rest).unwrap() else {
                panic!("a whole frame")
            };
            assert_eq!(&rest[body], b"second");
        }
    }

    #[test]
    fn a_replayed_or_altered_frame_fails_its_tag() {
        let (mut encoder, mut decoder) = pair(Some([1; 32]), 1024);
        let mut first = Vec::new();
        encoder.encode(&[b"one"], &mut first);
        assert!(matches!(decoder.decode(&first), Ok(Decoded::Frame { .. })));
        // The same bytes again are frame 0 replayed where frame 1 is expected.
        assert!(matches!(
            decoder.decode(&first),
            Err(FrameError::BadTag { number: 1 })
        ));

        let (mut encoder, mut decoder) = pair(Some([1; 32]), 1024);
        let mut frame = Vec::new();
        encoder.encode(&[b"one"], &mut frame);
        frame[5] ^= 0x10;
        assert!(matches!(
            decoder.decode(&frame),
            Err(FrameError::BadTag { number: 0 })
        ));
    }

    #[test]
    fn an_oversized_prefix_is_refused_before_its_body_arrives() {
        let (_, mut decoder) = pair(None, 100);
        let error = decoder.decode(&101u32.to_be_bytes()).unwrap_err();
        assert!(matches!(
            error,
            FrameError::TooLarge {
                length: 101,
                limit: 100
            }
        ));
    }

    #[tokio::test]
    async fn the_reader_reports_a_truncated_frame_and_a_clean_end() {
        let (mut encoder, _) = pair(None, 1024);
        let mut bytes = Vec::new();
        encoder.encode(&[b"whole"], &mut bytes);
        let mut reader = FrameReader::new(&bytes[..], 1024);
        assert_eq!(reader.read().await.unwrap(), Some(&b"whole"[..]));
        assert!(reader.read().await.unwrap().is_none());

        let cut = &bytes[..bytes.len() - 2];
        let mut reader = FrameReader::new(cut, 1024);
        assert!(matches!(reader.read().await, Err(FrameError::Truncated)));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        const LIMIT: usize = 4096;

        /// Decodes `bytes` to the end the way the reader does, checking what each step asks for.
        fn decode_all(decoder: &mut FrameDecoder, bytes: &[u8]) -> Vec<Vec<u8>> {
            let mut frames = Vec::new();
            let mut at = 0;
            loop {
                match decoder.decode(&bytes[at..]) {
                    Ok(Decoded::Frame { body, used }) => {
                        assert!(used <= decoder.max_frame_bytes());
                        frames.push(bytes[at..][body].to_vec());
                        at += used;
                    }
                    Ok(Decoded::Incomplete { total }) => {
                        // The reader allocates for `total`: never more than one frame.
                        assert!(total <= decoder.max_frame_bytes(), "asked for {total}");
                        return frames;
                    }
                    Err(_) => return frames,
                }
            }
        }

        fn encoded(key: Option<[u8; 32]>, bodies: &[Vec<u8>]) -> Vec<u8> {
            let (mut encoder, _) = pair(key, LIMIT);
            let mut bytes = Vec::new();
            for body in bodies {
                encoder.encode(&[body], &mut bytes);
            }
            bytes
        }

        proptest! {
            #[test]
            fn random_bytes_never_panic_nor_ask_past_the_limit(
                bytes in proptest::collection::vec(any::<u8>(), 0..10_000),
                keyed in any::<bool>(),
            ) {
                let (_, mut decoder) = pair(keyed.then_some([3; 32]), LIMIT);
                decode_all(&mut decoder, &bytes);
            }

            #[test]
            fn a_flipped_bit_never_passes_as_the_frame_under_a_key(
                bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..600), 1..6),
                flip in any::<proptest::sample::Index>(),
                bit in 0u8..8,
            ) {
                let key = Some([9; 32]);
                let mut bytes = encoded(key, &bodies);
                let at = flip.index(bytes.len());
                bytes[at] ^= 1 << bit;
                let (_, mut decoder) = pair(key, LIMIT);
                let frames = decode_all(&mut decoder, &bytes);
                // Every frame taken is one that was sent, unaltered, in its place.
                prop_assert!(frames.len() < bodies.len());
                prop_assert_eq!(&frames[..], &bodies[..frames.len()]);
            }

            #[test]
            fn cut_and_spliced_streams_never_panic(
                bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..600), 1..6),
                cut in any::<proptest::sample::Index>(),
                junk in proptest::collection::vec(any::<u8>(), 0..64),
                keyed in any::<bool>(),
            ) {
                let key = keyed.then_some([5; 32]);
                let bytes = encoded(key, &bodies);
                let mut spliced = bytes[..cut.index(bytes.len())].to_vec();
                spliced.extend_from_slice(&junk);
                let (_, mut decoder) = pair(key, LIMIT);
                let frames = decode_all(&mut decoder, &spliced);
                if keyed {
                    prop_assert_eq!(&frames[..], &bodies[..frames.len()]);
                }
            }
        }

        #[tokio::test]
        async fn the_reader_never_buffers_more_than_a_frame_for_a_hostile_prefix() {
            let mut bytes = (LIMIT as u32).to_be_bytes().to_vec();
            bytes.extend(std::iter::repeat_n(0u8, LIMIT - 1));
            let mut reader = FrameReader::new(&bytes[..], LIMIT);
            assert!(matches!(reader.read().await, Err(FrameError::Truncated)));
            assert!(reader.buffer.capacity() <= LIMIT + PREFIX_LEN + READ_SLACK);
        }
    }
}
