//! One origin's stream to one destination router: the items not yet acknowledged, numbered,
//! and how far the current session has sent them.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use super::message::Item;

/// An item waiting for the destination's acknowledgement.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub(crate) seq: u64,
    pub(crate) item: Item,
    pub(crate) body: Arc<[u8]>,
}

/// The items sent to one router and not yet acknowledged, in order.
pub(crate) struct Outbox {
    /// The number the next item gets; numbers start at 1.
    next_seq: u64,
    entries: VecDeque<Entry>,
    bytes: usize,
    /// The next number to send in this session; `None` until the destination has resumed.
    cursor: Option<u64>,
    /// The last acknowledgement or resumption: resending starts when it is too old.
    pub(crate) last_progress: Instant,
}

/// Items dropped unacknowledged: how many, and their numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Dropped {
    pub(crate) first: u64,
    pub(crate) last: u64,
}

impl Dropped {
    pub(crate) fn count(&self) -> u64 {
        self.last - self.first + 1
    }
}

impl Outbox {
    pub(crate) fn new(next_seq: u64) -> Self {
        Self {
            next_seq,
            entries: VecDeque::new(),
            bytes: 0,
            cursor: None,
            last_progress: Instant::now(),
        }
    }

    /// An outbox holding `entries` from a spool (numbered, in order).
    pub(crate) fn restored(next_seq: u64, entries: Vec<Entry>) -> Self {
        let mut outbox = Self::new(next_seq);
        for entry in entries {
            outbox.bytes += entry.body.len();
            outbox.entries.push_back(entry);
        }
        outbox
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    pub(crate) fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Appends an item and returns its entry.
    pub(crate) fn push(&mut self, item: Item, body: Arc<[u8]>) -> &Entry {
        let seq = self.next_seq;
        self.next_seq += 1;
        if self.entries.is_empty() {
            // Waiting for an acknowledgement starts now, not at the last one of a while ago.
            self.last_progress = Instant::now();
        }
        self.bytes += body.len();
        self.entries.push_back(Entry { seq, item, body });
        self.entries.back().expect("just pushed")
    }

    /// Drops the items up to `seq`, which the destination has taken; returns how many.
    pub(crate) fn ack(&mut self, seq: u64) -> usize {
        let mut removed = 0;
        while self.entries.front().is_some_and(|entry| entry.seq <= seq) {
            if let Some(entry) = self.entries.pop_front() {
                self.bytes -= entry.body.len();
                removed += 1;
            }
        }
        if removed > 0 {
            self.last_progress = Instant::now();
        }
        if let Some(cursor) = &mut self.cursor {
            *cursor = (*cursor).max(seq + 1).min(self.next_seq);
        }
        removed
    }

    /// The destination resumes after `taken` (the last number it took in this stream, if it
    /// knows the stream): returns the number sending continues at.
    pub(crate) fn resume(&mut self, taken: Option<u64>) -> u64 {
        if let Some(taken) = taken {
            self.ack(taken.min(self.next_seq.saturating_sub(1)));
        }
        let first = self
            .entries
            .front()
            .map_or(self.next_seq, |entry| entry.seq);
        self.cursor = Some(first);
        self.last_progress = Instant::now();
        first
    }

    /// The first unacknowledged item, to send again when acknowledgements are late. Only the
    /// first: if the destination has it, it acknowledges again (its acknowledgement was lost);
    /// if something before it is missing there, the destination asks to resume from its
    /// position; if it is merely slow, one duplicate is all it costs.
    pub(crate) fn probe(&mut self) -> Option<&Entry> {
        self.cursor?;
        self.last_progress = Instant::now();
        self.entries.front()
    }

    /// The session ended: nothing more is sent until the destination resumes.
    pub(crate) fn pause(&mut self) {
        self.cursor = None;
    }

    /// Whether items wait for an acknowledgement that has been slow to come.
    pub(crate) fn stalled(&self, patience: std::time::Duration) -> bool {
        self.cursor.is_some() && !self.entries.is_empty() && self.last_progress.elapsed() > patience
    }

    /// The items the current session has not sent yet; they count as sent afterwards.
    pub(crate) fn take_unsent(&mut self) -> impl Iterator<Item = &Entry> {
        let from = match self.cursor {
            Some(cursor) => {
                self.cursor = Some(self.next_seq);
                let first = self
                    .entries
                    .front()
                    .map_or(self.next_seq, |entry| entry.seq);
                (cursor.max(first) - first) as usize
            }
            None => self.entries.len(),
        };
        self.entries.iter().skip(from)
    }

    /// Drops everything unacknowledged (the destination is gone); returns what was dropped.
    pub(crate) fn drop_all(&mut self) -> Option<Dropped> {
        let first = self.entries.front()?.seq;
        let last = self.entries.back()?.seq;
        self.entries.clear();
        self.bytes = 0;
        Some(Dropped { first, last })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(outbox: &mut Outbox) -> u64 {
        outbox
            .push(Item::Notify { event: "e".into() }, Arc::from(&b"x"[..]))
            .seq
    }

    fn unsent(outbox: &mut Outbox) -> Vec<u64> {
        outbox.take_unsent().map(|entry| entry.seq).collect()
    }

    #[test]
    fn nothing_is_sent_before_the_destination_resumes_and_everything_after() {
        let mut outbox = Outbox::new(1);
        item(&mut outbox);
        item(&mut outbox);
        assert!(unsent(&mut outbox).is_empty());
        assert_eq!(outbox.resume(None), 1);
        assert_eq!(unsent(&mut outbox), [1, 2]);
        item(&mut outbox);
        assert_eq!(unsent(&mut outbox), [3]);
    }

    #[test]
    fn resuming_skips_what_the_destination_has_and_acks_free_room() {
        let mut outbox = Outbox::new(1);
        for _ in 0..5 {
            item(&mut outbox);
        }
        assert_eq!(outbox.resume(Some(3)), 4);
        assert_eq!(outbox.len(), 2);
        assert_eq!(unsent(&mut outbox), [4, 5]);
        outbox.ack(4);
        assert_eq!(outbox.probe().map(|entry| entry.seq), Some(5));
        assert!(unsent(&mut outbox).is_empty());
    }

    #[test]
    fn dropping_reports_the_exact_range() {
        let mut outbox = Outbox::new(1);
        for _ in 0..5 {
            item(&mut outbox);
        }
        outbox.ack(2);
        assert_eq!(outbox.drop_all(), Some(Dropped { first: 3, last: 5 }));
        assert_eq!(outbox.resume(Some(2)), 6);
    }
}
