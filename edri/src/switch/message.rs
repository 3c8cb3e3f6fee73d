//! The messages of the switch protocol (see `docs/switch-protocol.md`).
//!
//! A frame's body is a postcard-encoded header, sometimes followed by a payload the header
//! announces: the switch decodes only the header of what it relays and copies the payload as
//! it is, and an event's own bytes are never decoded by anyone but the router that handles it.

use serde::{Deserialize, Serialize};

use crate::Failure;

/// The protocol version; a peer speaking another one is refused at the handshake.
pub(crate) const VERSION: u16 = 1;

/// The longest router id.
pub(crate) const MAX_ROUTER_ID: usize = 64;

/// How far a receiver has read one origin's stream: the origin's epoch and the last sequence
/// number taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Mark {
    pub(crate) epoch: u64,
    pub(crate) seq: u64,
}

/// One origin's position in a receiver's handshake.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Position {
    pub(crate) origin: String,
    pub(crate) mark: Mark,
}

/// The handshake, in order: `Challenge` (switch), `Hello` (router), `Welcome` or `Refused`
/// (switch). Frames carry tags only after it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) enum Handshake {
    Challenge {
        version: u16,
        nonce: [u8; 32],
        /// Whether the switch has a secret: then the router must prove it knows it.
        authenticated: bool,
    },
    Hello {
        version: u16,
        router: String,
        /// Changes when the router restarts without a spool: its sequence numbers start over.
        epoch: u64,
        nonce: [u8; 32],
        /// HMAC of the transcript under the shared secret; zeros without a secret.
        proof: [u8; 32],
        /// The `shared` events this router subscribes to.
        demands: Vec<String>,
        /// The last sequence number taken from each origin.
        received: Vec<Position>,
    },
    Welcome {
        /// The switch's proof that it knows the secret too; zeros without a secret.
        proof: [u8; 32],
    },
    Refused {
        reason: String,
    },
}

/// What a router says to the switch after the handshake.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Up {
    /// The `shared` events this router now subscribes to (all of them).
    Demands(Vec<String>),
    /// Relay the payload (a [`PeerHeader`] and its body) to router `to`.
    To { to: String },
    /// Nothing to say; the connection is alive.
    Heartbeat,
}

/// One router as the switch announces it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PeerInfo {
    pub(crate) router: String,
    pub(crate) epoch: u64,
    pub(crate) demands: Vec<String>,
    /// From its handshake: how far it has read each origin.
    pub(crate) received: Vec<Position>,
}

/// What the switch says to a router after the handshake.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Down {
    /// The routers connected when this one joined.
    Present(Vec<PeerInfo>),
    /// A router joined (or came back).
    Arrived(PeerInfo),
    /// A router's demands changed.
    Demands {
        router: String,
        demands: Vec<String>,
    },
    /// A router's connection closed.
    Left { router: String },
    /// A payload relayed from router `from`.
    From { from: String },
    /// Nothing to say; the connection is alive.
    Heartbeat,
}

/// What one router says to another, relayed by the switch without decoding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum PeerHeader {
    /// The receiver's position in the sender's stream: resend what follows.
    Resume { mark: Option<Mark> },
    /// The origin's stream to the receiver continues at `first`; anything before it that the
    /// receiver has not taken is lost (the origin reported it).
    Start { epoch: u64, first: u64 },
    /// One item of the origin's stream; the body follows.
    Item { epoch: u64, seq: u64, item: Item },
    /// The receiver has taken everything up to `mark.seq` (cumulative).
    Ack { mark: Mark },
}

impl PeerHeader {
    /// The first byte of an encoded `Ack` (postcard writes the variant index first, and an
    /// index below 128 is one byte); a test pins it.
    pub(crate) const ACK_VARIANT: u8 = 3;
}

/// What a stream carries. The body after the header is the event, or the answer's response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Item {
    Notify {
        event: String,
    },
    Request {
        id: u64,
        event: String,
    },
    /// The answer to request `id`; with a failure, the body is empty.
    Answer {
        id: u64,
        failure: Option<Failure>,
    },
}

/// Whether a router id is usable: 1 to 64 letters, digits, `-`, `_`, `.` or `:`.
pub(crate) fn valid_router_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ROUTER_ID
        && id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-_.:".contains(&byte))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire;

    #[test]
    fn an_ack_starts_with_its_variant_byte_and_nothing_else_does() {
        let mark = Mark { epoch: 7, seq: 9 };
        let ack = wire::encode(&PeerHeader::Ack { mark }).unwrap();
        assert_eq!(ack[0], PeerHeader::ACK_VARIANT);
        for other in [
            PeerHeader::Resume { mark: Some(mark) },
            PeerHeader::Start { epoch: 7, first: 1 },
            PeerHeader::Item {
                epoch: 7,
                seq: 9,
                item: Item::Notify {
                    event: "numbered".into(),
                },
            },
        ] {
            assert_ne!(wire::encode(&other).unwrap()[0], PeerHeader::ACK_VARIANT);
        }
    }
}
