//! The switch spool (`.switch_spool(path)`): a router's unacknowledged outgoing items, its id
//! and its epoch, in a redb file, so that a router killed and restarted within the session
//! timeout continues its streams where they were, and delivers each item exactly once.
//!
//! Items are committed durably, a batch at a time, when they enter a peer's stream: after the
//! sender's `notify` has returned (it returns once the event is queued), before the item is
//! sent. An item counts as kept from then on (a router's report shows how far: `next_seq`).
//! Removals (after
//! acknowledgements) are not synced, because an item removed again after a crash is merely
//! sent again, and the receiver recognises it by its number.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use redb::{Database, Durability, ReadableTable, TableDefinition};

use super::message::Item;
use super::outbox::Entry;
use crate::wire;

/// (destination router, sequence number) -> encoded (item, body).
const ITEMS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("edri-switch-items-v1");
/// destination router -> the number its next item gets.
const NEXT: TableDefinition<&str, u64> = TableDefinition::new("edri-switch-next-v1");
/// "router" -> id, "epoch" -> epoch (as text).
const IDENTITY: TableDefinition<&str, &str> = TableDefinition::new("edri-switch-identity-v1");

/// Why the spool failed.
#[derive(Debug, thiserror::Error)]
#[error("switch spool {path}: {source}")]
pub struct SpoolError {
    path: PathBuf,
    source: Box<dyn std::error::Error + Send + Sync>,
}

/// What a spool restores for one destination: its name, the next number and the items.
pub(crate) type Restored = (Arc<str>, u64, Vec<Entry>);

pub(crate) struct Spool {
    path: PathBuf,
    db: Database,
    /// Appends waiting for [`commit`](Self::commit).
    pending: Mutex<Vec<(Arc<str>, Entry)>>,
}

impl Spool {
    /// Opens (or creates) the spool at `path`.
    pub(crate) fn open(path: &Path) -> Result<Self, SpoolError> {
        let fail = |source: redb::Error| SpoolError {
            path: path.to_owned(),
            source: Box::new(source),
        };
        let db = Database::builder()
            .set_check_integrity_on_open(true)
            .create(path)
            .map_err(|error| fail(error.into()))?;
        let txn = db.begin_write().map_err(|error| fail(error.into()))?;
        {
            // Opening the tables in a write transaction creates them in a new file.
            txn.open_table(ITEMS).map_err(|error| fail(error.into()))?;
            txn.open_table(NEXT).map_err(|error| fail(error.into()))?;
            txn.open_table(IDENTITY)
                .map_err(|error| fail(error.into()))?;
        }
        txn.commit().map_err(|error| fail(error.into()))?;
        Ok(Self {
            path: path.to_owned(),
            db,
            pending: Mutex::new(Vec::new()),
        })
    }

    fn fail(&self, source: impl std::error::Error + Send + Sync + 'static) -> SpoolError {
        SpoolError {
            path: self.path.clone(),
            source: Box::new(source),
        }
    }

    fn lock_pending(&self) -> MutexGuard<'_, Vec<(Arc<str>, Entry)>> {
        // Nothing panics while the lock is held, so a poisoned lock still holds valid data.
        self.pending
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// The router id and epoch of the previous run, or `fresh` (stored for the next run).
    pub(crate) fn identity(&self, fresh: (String, u64)) -> Result<(String, u64), SpoolError> {
        let txn = self.db.begin_write().map_err(|error| self.fail(error))?;
        let identity = {
            let mut table = txn.open_table(IDENTITY).map_err(|error| self.fail(error))?;
            let router = table
                .get("router")
                .map_err(|error| self.fail(error))?
                .map(|value| value.value().to_owned());
            let epoch = table
                .get("epoch")
                .map_err(|error| self.fail(error))?
                .and_then(|value| value.value().parse::<u64>().ok());
            match (router, epoch) {
                (Some(router), Some(epoch)) => (router, epoch),
                _ => {
                    table
                        .insert("router", fresh.0.as_str())
                        .map_err(|error| self.fail(error))?;
                    table
                        .insert("epoch", fresh.1.to_string().as_str())
                        .map_err(|error| self.fail(error))?;
                    fresh
                }
            }
        };
        txn.commit().map_err(|error| self.fail(error))?;
        Ok(identity)
    }

    /// Every destination's next number and unacknowledged items.
    pub(crate) fn load(&self) -> Result<Vec<Restored>, SpoolError> {
        let txn = self.db.begin_write().map_err(|error| self.fail(error))?;
        let mut restored: Vec<Restored> = Vec::new();
        {
            let next = txn.open_table(NEXT).map_err(|error| self.fail(error))?;
            let items = txn.open_table(ITEMS).map_err(|error| self.fail(error))?;
            for row in next.iter().map_err(|error| self.fail(error))? {
                let (router, next_seq) = row.map_err(|error| self.fail(error))?;
                let router = router.value().to_owned();
                let mut entries = Vec::new();
                let range = items
                    .range((router.as_str(), 0)..=(router.as_str(), u64::MAX))
                    .map_err(|error| self.fail(error))?;
                for row in range {
                    let (key, value) = row.map_err(|error| self.fail(error))?;
                    let (item, body): (Item, Vec<u8>) =
                        wire::decode(value.value()).map_err(|error| self.fail(error))?;
                    entries.push(Entry {
                        seq: key.value().1,
                        item,
                        body: Arc::from(body),
                    });
                }
                restored.push((Arc::from(router), next_seq.value(), entries));
            }
        }
        txn.abort().map_err(|error| self.fail(error))?;
        Ok(restored)
    }

    /// Queues an append for the next [`commit`](Self::commit).
    pub(crate) fn put(&self, router: &Arc<str>, entry: &Entry) {
        self.lock_pending().push((router.clone(), entry.clone()));
    }

    /// Writes the queued appends durably. A failure is logged: the items are still held in
    /// memory and delivered, only a crash could lose them now.
    pub(crate) fn commit(&self) {
        let pending = std::mem::take(&mut *self.lock_pending());
        if pending.is_empty() {
            return;
        }
        if let Err(error) = self.write(&pending) {
            tracing::error!(%error, "switch spool: cannot write; a crash now would lose these events");
        }
    }

    fn write(&self, pending: &[(Arc<str>, Entry)]) -> Result<(), SpoolError> {
        let txn = self.db.begin_write().map_err(|error| self.fail(error))?;
        {
            let mut items = txn.open_table(ITEMS).map_err(|error| self.fail(error))?;
            let mut next = txn.open_table(NEXT).map_err(|error| self.fail(error))?;
            for (router, entry) in pending {
                let value =
                    wire::encode(&(&entry.item, &*entry.body)).map_err(|error| self.fail(error))?;
                items
                    .insert((&**router, entry.seq), value.as_slice())
                    .map_err(|error| self.fail(error))?;
                next.insert(&**router, entry.seq + 1)
                    .map_err(|error| self.fail(error))?;
            }
        }
        txn.commit().map_err(|error| self.fail(error))
    }

    /// Forgets the items to `router` up to `seq` (acknowledged, or reported lost).
    pub(crate) fn remove(&self, router: &str, seq: u64) {
        let removed = (|| -> Result<(), SpoolError> {
            let mut txn = self.db.begin_write().map_err(|error| self.fail(error))?;
            txn.set_durability(Durability::None)
                .map_err(|error| self.fail(error))?;
            {
                let mut items = txn.open_table(ITEMS).map_err(|error| self.fail(error))?;
                items
                    .retain_in((router, 0)..=(router, seq), |_, _| false)
                    .map_err(|error| self.fail(error))?;
            }
            txn.commit().map_err(|error| self.fail(error))
        })();
        if let Err(error) = removed {
            tracing::warn!(%error, "switch spool: cannot forget acknowledged events; they may be sent again after a restart");
        }
    }
}
