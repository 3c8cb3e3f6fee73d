//! The database file of a persisted store: opening and loading it at startup, and the
//! write-behind thread that saves every change.
//!
//! The file is a redb database with one table, `edri-store-v1`, mapping each key to a postcard
//! [`Row`]: the value and its wall-clock expiry. The store answers from memory at once and hands
//! each change to a dedicated thread, which commits pending changes in batches (up to
//! [`BATCH`] per transaction), in order, and retries a failed commit with back-off instead of
//! dropping it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use redb::{Database, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use super::table::unix_now_ms;
use super::StoreError;
use crate::{Failure, Value};

/// The one table of the file.
const TABLE: TableDefinition<&str, &[u8]> = TableDefinition::new("edri-store-v1");

/// At most this many changes go into one transaction.
const BATCH: usize = 256;

/// The first wait after a failed commit; it doubles up to [`MAX_RETRY_DELAY`].
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(100);
const MAX_RETRY_DELAY: Duration = Duration::from_secs(30);

/// One key's row in the file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(crate = "serde")]
pub(crate) struct Row {
    pub(crate) value: Value,
    /// Milliseconds since the Unix epoch: wall-clock time, so a restart honours it.
    pub(crate) expires_at_unix_ms: Option<u64>,
}

/// [`Row`]'s encoding, without copying the value.
#[derive(Serialize)]
#[serde(crate = "serde")]
struct RowRef<'a> {
    value: &'a Value,
    expires_at_unix_ms: Option<u64>,
}

impl Row {
    /// The bytes of a row.
    pub(crate) fn encode(
        value: &Value,
        expires_at_unix_ms: Option<u64>,
    ) -> Result<Vec<u8>, crate::wire::WireError> {
        crate::wire::encode(&RowRef {
            value,
            expires_at_unix_ms,
        })
    }
}

/// Calls back whoever waits for the changes before it to be on disk.
pub(crate) type Ack = Box<dyn FnOnce(Result<(), Failure>) + Send>;

enum Op {
    Put(String, Vec<u8>),
    Remove(String),
    Flush(Ack),
}

/// What went wrong with a database file, for [`StoreError`].
#[derive(Debug, thiserror::Error)]
pub(crate) enum Reason {
    #[error(transparent)]
    Database(#[from] redb::Error),
    #[error("the row of key `{key}` does not decode: {source}")]
    Row {
        key: String,
        #[source]
        source: crate::wire::WireError,
    },
    #[error("cannot start the writer thread: {0}")]
    Thread(std::io::Error),
    #[error("the file is corrupt (the database library panicked reading it: {0})")]
    Panicked(String),
}

/// The writer of an open database file. Dropping it lets the thread finish in the background;
/// [`close`](Self::close) waits for it.
pub(crate) struct Disk {
    path: Arc<Path>,
    ops: Sender<Op>,
    /// Disconnected once the thread has committed everything and closed the file.
    done: Receiver<()>,
    thread: JoinHandle<()>,
}

/// Opens (creating if missing) the database at `path` and reads every live row. Expired rows
/// are deleted from the file.
pub(crate) fn open(path: &Path) -> Result<(Vec<(String, Row)>, Disk), StoreError> {
    let error = |reason: Reason| StoreError::new(path.to_owned(), reason);
    // redb reports a damaged file as an error when it checks integrity on open; should it
    // panic anyway, the startup still fails with an error naming the file, not a crash.
    let opened = catch_unwind(AssertUnwindSafe(|| load(path)))
        .map_err(|panic| error(Reason::Panicked(panic_message(&*panic))))?;
    let (db, rows) = opened.map_err(error)?;
    let path: Arc<Path> = Arc::from(path);
    let (ops, received) = mpsc::channel();
    let (finished, done) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("edri-store-writer".into())
        .spawn({
            let path = path.clone();
            move || write_behind(db, &path, received, finished)
        })
        .map_err(|io| error(Reason::Thread(io)))?;
    Ok((
        rows,
        Disk {
            path,
            ops,
            done,
            thread,
        },
    ))
}

fn load(path: &Path) -> Result<(Database, Vec<(String, Row)>), Reason> {
    let db = Database::builder()
        .set_check_integrity_on_open(true)
        .create(path)
        .map_err(redb::Error::from)?;
    let now = unix_now_ms();
    let mut rows = Vec::new();
    let mut expired = Vec::new();
    let txn = db.begin_write().map_err(redb::Error::from)?;
    {
        // Opening the table in a write transaction creates it in a new file.
        let mut table = txn.open_table(TABLE).map_err(redb::Error::from)?;
        for item in table.iter().map_err(redb::Error::from)? {
            let (key, bytes) = item.map_err(redb::Error::from)?;
            let key = key.value().to_owned();
            let row: Row = match crate::wire::decode(bytes.value()) {
                Ok(row) => row,
                Err(source) => return Err(Reason::Row { key, source }),
            };
            if row.expires_at_unix_ms.is_some_and(|at| at <= now) {
                expired.push(key);
            } else {
                rows.push((key, row));
            }
        }
        for key in &expired {
            table.remove(key.as_str()).map_err(redb::Error::from)?;
        }
    }
    txn.commit().map_err(redb::Error::from)?;
    Ok((db, rows))
}

impl Disk {
    /// The database file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Saves `row` under `key`, behind the answer.
    pub(crate) fn put(&self, key: &str, row: Vec<u8>) {
        self.send(Op::Put(key.to_owned(), row));
    }

    /// Deletes `key`'s row, behind the answer.
    pub(crate) fn remove(&self, key: &str) {
        self.send(Op::Remove(key.to_owned()));
    }

    /// Calls `ack` once every change handed over before it is committed.
    pub(crate) fn flush(&self, ack: Ack) {
        if let Err(mpsc::SendError(Op::Flush(ack))) = self.ops.send(Op::Flush(ack)) {
            ack(Err(Failure::internal(format!(
                "the writer of the store at {} has stopped; changes are no longer saved",
                self.path.display()
            ))));
        }
    }

    fn send(&self, op: Op) {
        if self.ops.send(op).is_err() {
            // Only a panic ends the writer early; it was logged where it happened.
            tracing::error!(
                path = %self.path.display(),
                "the store's writer has stopped: a change is kept in memory only"
            );
        }
    }

    /// Lets the writer commit what is pending and close the file, waiting up to `timeout`.
    /// Blocks: call it off the async runtime.
    pub(crate) fn close(self, timeout: Duration) {
        let Disk {
            path,
            ops,
            done,
            thread,
        } = self;
        drop(ops);
        match done.recv_timeout(timeout) {
            Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                if thread.join().is_err() {
                    tracing::error!(path = %path.display(), "the store's writer panicked");
                }
            }
            Err(RecvTimeoutError::Timeout) => tracing::error!(
                path = %path.display(),
                ?timeout,
                "the store's writer did not save every change in time; the last changes may be lost"
            ),
        }
    }
}

/// The writer thread: commits changes in order, in batches, until the store closes it.
fn write_behind(db: Database, path: &Path, ops: Receiver<Op>, finished: Sender<()>) {
    while let Ok(first) = ops.recv() {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match ops.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        let mut delay = FIRST_RETRY_DELAY;
        while let Err(error) = commit(&db, &batch) {
            // Never dropped: the same batch is retried, so later changes stay behind it.
            tracing::error!(
                path = %path.display(),
                %error,
                retry_in = ?delay,
                "cannot save the store's changes; retrying"
            );
            std::thread::sleep(delay);
            delay = (delay * 2).min(MAX_RETRY_DELAY);
        }
        for op in batch {
            if let Op::Flush(ack) = op {
                ack(Ok(()));
            }
        }
    }
    // The file is closed before `close` hears of it, so a new store can open it at once.
    drop(db);
    drop(finished);
}

/// Writes one batch in one transaction.
fn commit(db: &Database, batch: &[Op]) -> Result<(), redb::Error> {
    if batch.iter().all(|op| matches!(op, Op::Flush(_))) {
        return Ok(());
    }
    let txn = db.begin_write()?;
    {
        let mut table = txn.open_table(TABLE)?;
        for op in batch {
            match op {
                Op::Put(key, row) => {
                    table.insert(key.as_str(), row.as_slice())?;
                }
                Op::Remove(key) => {
                    table.remove(key.as_str())?;
                }
                Op::Flush(_) => {}
            }
        }
    }
    txn.commit()?;
    Ok(())
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_owned())
}

#[cfg(test)]
mod tests {
    use redb::ReadableDatabase;

    use super::*;

    /// A fresh path under the temporary directory; the caller removes it.
    fn temp_file(test: &str) -> std::path::PathBuf {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        std::env::temp_dir().join(format!(
            "edri-store-unit-{test}-{}-{nanos}.redb",
            std::process::id()
        ))
    }

    fn write_rows(path: &Path, rows: &[(&str, Vec<u8>)]) {
        let db = Database::create(path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut table = txn.open_table(TABLE).unwrap();
            for (key, bytes) in rows {
                table.insert(*key, bytes.as_slice()).unwrap();
            }
        }
        txn.commit().unwrap();
    }

    #[test]
    fn a_row_that_does_not_decode_names_the_path_and_the_key() {
        let path = temp_file("bad-row");
        let good = Row::encode(&Value::from("fine"), None).unwrap();
        write_rows(&path, &[("good", good), ("broken", vec![0xff, 0xff, 0xff])]);
        let error = open(&path).map(|_| ()).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(error.key(), Some("broken"));
        let message = error.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("`broken`"), "{message}");
    }

    #[test]
    fn expired_rows_are_skipped_and_deleted_from_the_file() {
        let path = temp_file("expired");
        let now = unix_now_ms();
        let rows = [
            ("past", Row::encode(&Value::Int(1), Some(now - 1)).unwrap()),
            (
                "future",
                Row::encode(&Value::Int(2), Some(now + 3_600_000)).unwrap(),
            ),
            ("forever", Row::encode(&Value::Int(3), None).unwrap()),
        ];
        write_rows(&path, &rows);

        let (loaded, disk) = open(&path).unwrap();
        let mut keys: Vec<&str> = loaded.iter().map(|(key, _)| key.as_str()).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["forever", "future"]);
        disk.close(Duration::from_secs(10));

        let db = Database::create(&path).unwrap();
        let txn = db.begin_read().unwrap();
        let table = txn.open_table(TABLE).unwrap();
        assert!(
            table.get("past").unwrap().is_none(),
            "deleted from the file"
        );
        assert!(table.get("future").unwrap().is_some());
        drop((table, txn, db));
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn the_writer_commits_in_order_and_acknowledges_a_flush() {
        let path = temp_file("writer");
        let (_, disk) = open(&path).unwrap();
        disk.put("k", Row::encode(&Value::Int(1), None).unwrap());
        disk.remove("k");
        disk.put("k", Row::encode(&Value::Int(2), None).unwrap());
        let (flushed, acked) = mpsc::channel();
        disk.flush(Box::new(move |done| flushed.send(done).unwrap()));
        assert_eq!(acked.recv_timeout(Duration::from_secs(10)).unwrap(), Ok(()));
        disk.close(Duration::from_secs(10));

        let (rows, disk) = open(&path).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].1.value, Value::Int(2));
        disk.close(Duration::from_secs(10));
        std::fs::remove_file(&path).unwrap();
    }
}
