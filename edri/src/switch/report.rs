//! What a router's connector reports in health: its peers, its counters and every gap.

use serde::Serialize;

/// A router's view of the switch, in [`HealthReport::switch`](crate::health::HealthReport).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SwitchReport {
    /// This router's id.
    pub router: String,
    /// This router's epoch: it changes when the router restarts without a spool.
    pub epoch: u64,
    /// Where the switch is.
    pub switch: String,
    /// Whether the connection to the switch is up.
    pub connected: bool,
    /// The other routers this one knows.
    pub peers: Vec<PeerReport>,
    /// Items (events and answers) put into streams to other routers.
    pub sent: u64,
    /// Items taken from other routers' streams, each once.
    pub received: u64,
    /// Items that arrived again and were dropped as duplicates.
    pub duplicates: u64,
    /// Items that arrived ahead of one missing, dropped until it is sent again.
    pub out_of_order: u64,
    /// Items sent again after a reconnection or a late acknowledgement.
    pub resent: u64,
    /// Items lost, in either direction: the total of [`gaps`](Self::gaps).
    pub lost: u64,
    /// Events refused: unknown here, not shared, or not decodable.
    pub refused: u64,
    /// Every loss, with its exact numbers.
    pub gaps: Vec<Gap>,
}

/// Another router, as this one knows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PeerReport {
    /// Its id.
    pub router: String,
    /// Whether it is connected to the switch now.
    pub present: bool,
    /// The shared events it subscribes to.
    pub demands: Vec<String>,
    /// Items sent to it and not acknowledged yet.
    pub unacknowledged: usize,
    /// Their size in bytes.
    pub unacknowledged_bytes: usize,
    /// The number the next item to it gets.
    pub next_seq: u64,
    /// The last number taken from its stream, if any.
    pub received_seq: Option<u64>,
}

/// Items of one stream that were lost: numbers `first..=last` from `origin` to `destination`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Gap {
    /// The router that sent them.
    pub origin: String,
    /// The router they were for.
    pub destination: String,
    /// The first lost number.
    pub first: u64,
    /// The last lost number.
    pub last: u64,
    /// How many: `last - first + 1`.
    pub count: u64,
}
