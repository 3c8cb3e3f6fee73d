//! The in-memory table: values with optional deadlines, the watched keys, and the changes to
//! announce. Every change is also handed to the database file's writer, when there is one.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use super::persist::{Disk, Row};
use super::Changed;
use crate::{Failure, Value};

/// When a key expires, on both clocks: the monotonic one (tokio's, so a paused test clock drives
/// expiry) decides; the wall-clock one is what the database file keeps across restarts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Expiry {
    at: Instant,
    unix_ms: u64,
}

impl Expiry {
    /// `ttl` from now. A zero or unrepresentably long ttl is refused, naming the key.
    pub(crate) fn after(key: &str, ttl: Duration) -> Result<Self, Failure> {
        if ttl.is_zero() {
            return Err(Failure::bad_request(format!(
                "the ttl of store key `{key}` is zero; leave it out (None) for a key that never expires"
            )));
        }
        let at = Instant::now().checked_add(ttl);
        let unix_ms = u64::try_from(ttl.as_millis())
            .ok()
            .and_then(|ms| unix_now_ms().checked_add(ms));
        match (at, unix_ms) {
            (Some(at), Some(unix_ms)) => Ok(Self { at, unix_ms }),
            _ => Err(Failure::bad_request(format!(
                "the ttl of store key `{key}` ({ttl:?}) is too long to represent"
            ))),
        }
    }

    /// An expiry read from the database file, or `None` when that time has passed.
    fn restored(unix_ms: u64) -> Option<Self> {
        let left = unix_ms.checked_sub(unix_now_ms()).filter(|ms| *ms > 0)?;
        let at = Instant::now().checked_add(Duration::from_millis(left))?;
        Some(Self { at, unix_ms })
    }

    fn is_due(&self, now: Instant) -> bool {
        self.at <= now
    }
}

/// Milliseconds since the Unix epoch, on the wall clock.
pub(crate) fn unix_now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}

/// One key's value and expiry.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub(crate) value: Value,
    pub(crate) expiry: Option<Expiry>,
}

/// The store's state. Shared (behind a mutex) by the store manager and its expiry task.
#[derive(Default)]
pub(crate) struct Table {
    entries: HashMap<String, Entry>,
    /// Every expiry, soonest first, so the next one is found in O(log n).
    deadlines: BTreeSet<(Instant, String)>,
    /// How many `Watch`es each watched key has.
    watches: HashMap<String, usize>,
    /// Changes to watched keys not yet announced.
    changes: Vec<Changed>,
    /// The database file's writer, for a persisted store.
    disk: Option<Disk>,
}

impl Table {
    /// A table filled from a database file's rows (expired rows already left out).
    pub(crate) fn restored(rows: Vec<(String, Row)>, disk: Disk) -> Self {
        let mut table = Self::default();
        for (key, row) in rows {
            let expiry = match row.expires_at_unix_ms {
                None => None,
                // Expired between the read and now: the writer deletes the row.
                Some(unix_ms) => match Expiry::restored(unix_ms) {
                    Some(expiry) => Some(expiry),
                    None => {
                        disk.remove(&key);
                        continue;
                    }
                },
            };
            table.index(&key, expiry);
            table.entries.insert(
                key,
                Entry {
                    value: row.value,
                    expiry,
                },
            );
        }
        table.disk = Some(disk);
        table
    }

    /// The live entry of `key`. An expired one is removed now, and announced if watched.
    pub(crate) fn live(&mut self, key: &str, now: Instant) -> Option<&Entry> {
        let expired = self
            .entries
            .get(key)?
            .expiry
            .is_some_and(|expiry| expiry.is_due(now));
        if expired {
            self.remove(key);
            return None;
        }
        self.entries.get(key)
    }

    /// Puts `entry` under `key`: in memory, in the deadline index and on disk; announced if
    /// watched. Fails, changing nothing, only if the value cannot be encoded for the file.
    pub(crate) fn put(&mut self, key: &str, entry: Entry) -> Result<(), Failure> {
        if let Some(disk) = &self.disk {
            let row = Row::encode(&entry.value, entry.expiry.map(|expiry| expiry.unix_ms))
                .map_err(|error| {
                    Failure::internal(format!(
                        "cannot save store key `{key}` to {}: {error}",
                        disk.path().display()
                    ))
                })?;
            disk.put(key, row);
        }
        if self.watches.contains_key(key) {
            self.changes.push(Changed {
                key: key.to_owned(),
                value: Some(entry.value.clone()),
            });
        }
        // Unindex the old expiry first: an increment keeps the same one.
        if let Some(old) = self.entries.get(key).map(|old| old.expiry) {
            self.unindex(key, old);
        }
        self.index(key, entry.expiry);
        self.entries.insert(key.to_owned(), entry);
        Ok(())
    }

    /// Removes `key` everywhere; announced if watched. Returns the entry it held, expired or not.
    pub(crate) fn remove(&mut self, key: &str) -> Option<Entry> {
        let entry = self.entries.remove(key)?;
        self.unindex(key, entry.expiry);
        if let Some(disk) = &self.disk {
            disk.remove(key);
        }
        if self.watches.contains_key(key) {
            self.changes.push(Changed {
                key: key.to_owned(),
                value: None,
            });
        }
        Some(entry)
    }

    /// Removes every key whose expiry is due.
    pub(crate) fn expire_due(&mut self, now: Instant) {
        while let Some((at, key)) = self.deadlines.first().cloned() {
            if at > now {
                break;
            }
            self.remove(&key);
        }
    }

    /// The soonest expiry, if any key has one.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.first().map(|(at, _)| *at)
    }

    /// Adds one watch of `key`.
    pub(crate) fn watch(&mut self, key: &str) {
        *self.watches.entry(key.to_owned()).or_default() += 1;
    }

    /// Takes back one watch of `key`; `false` if it had none.
    pub(crate) fn unwatch(&mut self, key: &str) -> bool {
        let Some(count) = self.watches.get_mut(key) else {
            return false;
        };
        *count -= 1;
        if *count == 0 {
            self.watches.remove(key);
        }
        true
    }

    /// The changes to announce since the last call, in the order they happened.
    pub(crate) fn take_changes(&mut self) -> Vec<Changed> {
        std::mem::take(&mut self.changes)
    }

    /// The database file's writer, for a persisted store.
    pub(crate) fn disk(&self) -> Option<&Disk> {
        self.disk.as_ref()
    }

    /// Takes the writer out, to close it at shutdown; later changes stay in memory only.
    pub(crate) fn take_disk(&mut self) -> Option<Disk> {
        self.disk.take()
    }

    fn index(&mut self, key: &str, expiry: Option<Expiry>) {
        if let Some(expiry) = expiry {
            self.deadlines.insert((expiry.at, key.to_owned()));
        }
    }

    fn unindex(&mut self, key: &str, expiry: Option<Expiry>) {
        if let Some(expiry) = expiry {
            // The pair is rebuilt to look it up; the key's text is the only cost.
            self.deadlines.remove(&(expiry.at, key.to_owned()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(value: i64, expiry: Option<Expiry>) -> Entry {
        Entry {
            value: Value::Int(value),
            expiry,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn replacing_a_key_moves_its_deadline() {
        let mut table = Table::default();
        let soon = Expiry::after("k", Duration::from_secs(1)).unwrap();
        let later = Expiry::after("k", Duration::from_secs(9)).unwrap();
        table.put("k", entry(1, Some(soon))).unwrap();
        table.put("k", entry(2, Some(later))).unwrap();
        assert_eq!(table.next_deadline(), Some(later.at));
        table.put("k", entry(3, None)).unwrap();
        assert_eq!(table.next_deadline(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn expire_due_removes_only_due_keys_and_announces_watched_ones() {
        let mut table = Table::default();
        table.watch("a");
        let one = Expiry::after("a", Duration::from_secs(1)).unwrap();
        let two = Expiry::after("b", Duration::from_secs(2)).unwrap();
        table.put("a", entry(1, Some(one))).unwrap();
        table.put("b", entry(2, Some(two))).unwrap();
        assert_eq!(table.take_changes().len(), 1, "only `a` is watched");

        table.expire_due(Instant::now() + Duration::from_secs(1));
        let changes = table.take_changes();
        assert_eq!(changes.len(), 1);
        assert_eq!((changes[0].key.as_str(), &changes[0].value), ("a", &None));
        assert!(table.live("a", Instant::now()).is_none());
        assert!(table.live("b", Instant::now()).is_some());
        assert_eq!(table.next_deadline(), Some(two.at));
    }

    #[tokio::test(start_paused = true)]
    async fn keeping_the_same_expiry_keeps_the_deadline() {
        // What Increment does: a new value, the old expiry.
        let mut table = Table::default();
        let expiry = Expiry::after("n", Duration::from_secs(5)).unwrap();
        table.put("n", entry(1, Some(expiry))).unwrap();
        table.put("n", entry(2, Some(expiry))).unwrap();
        assert_eq!(table.next_deadline(), Some(expiry.at));
    }

    #[tokio::test(start_paused = true)]
    async fn a_hundred_thousand_deadlines_expire_in_order() {
        let mut table = Table::default();
        for n in 0..100_000u64 {
            let key = format!("key-{n}");
            let expiry = Expiry::after(&key, Duration::from_millis(1 + n % 1000)).unwrap();
            table.put(&key, entry(0, Some(expiry))).unwrap();
        }
        table.expire_due(Instant::now() + Duration::from_millis(500));
        assert_eq!(table.entries.len(), 50_000);
        assert_eq!(table.deadlines.len(), 50_000);
        let next = table.next_deadline().unwrap();
        assert_eq!(next, Instant::now() + Duration::from_millis(501));
        table.expire_due(Instant::now() + Duration::from_secs(1));
        assert!(table.entries.is_empty() && table.deadlines.is_empty());
    }

    #[test]
    fn a_restored_expiry_keeps_the_time_left_and_a_past_one_is_dropped() {
        // An hour left; the margin only absorbs the time between the two clock reads.
        let expiry = Expiry::restored(unix_now_ms() + 3_600_000).unwrap();
        let left = expiry.at - Instant::now();
        assert!(
            left > Duration::from_secs(3_000) && left <= Duration::from_secs(3_600),
            "{left:?}"
        );
        assert_eq!(Expiry::restored(unix_now_ms().saturating_sub(1)), None);
    }

    #[test]
    fn watches_are_counted() {
        let mut table = Table::default();
        table.watch("k");
        table.watch("k");
        assert!(table.unwatch("k"));
        assert!(table.unwatch("k"));
        assert!(!table.unwatch("k"), "two watches, three unwatches");
    }

    #[tokio::test(start_paused = true)]
    async fn zero_and_huge_ttls_are_refused() {
        let zero = Expiry::after("k", Duration::ZERO).unwrap_err();
        assert!(zero.message().contains("`k`"), "{zero}");
        let huge = Expiry::after("k", Duration::MAX).unwrap_err();
        assert!(huge.message().contains("too long"), "{huge}");
    }
}
