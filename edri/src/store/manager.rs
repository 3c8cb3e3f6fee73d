//! The store manager: it solves the store's requests one at a time, which makes every operation
//! atomic, and runs a task that expires keys when their time comes.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use edri_macros::manager;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::table::{Entry, Expiry, Table};
use super::{
    CompareAndSet, CompareAndSetResponse, Delete, DeleteResponse, Flush, Get, GetResponse,
    Increment, IncrementResponse, Set, SetIfAbsent, SetIfAbsentResponse, Unwatch, Watch,
    WatchResponse,
};
use crate::{Context, Failure, Responder, Value};

/// How long shutdown waits for the database file's writer to save what is pending.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(3);

/// What the manager and its expiry task share.
struct Shared {
    table: Mutex<Table>,
    /// Held from a change until its [`Changed`](super::Changed) notifications are sent, so the manager and the
    /// expiry task announce changes in the order they made them.
    lane: tokio::sync::Mutex<()>,
    /// Wakes the expiry task when the soonest deadline changes.
    wake: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Table> {
        // Table operations do not panic midway, so a poisoned lock still holds a valid table.
        self.table
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Runs `change` on the table, wakes the expiry task if the soonest deadline moved, and
    /// announces the changes to watched keys.
    async fn change<T>(&self, ctx: &Context, change: impl FnOnce(&mut Table, Instant) -> T) -> T {
        let _lane = self.lane.lock().await;
        let (result, changes) = {
            let mut table = self.lock();
            let soonest = table.next_deadline();
            let result = change(&mut table, Instant::now());
            if table.next_deadline() != soonest {
                self.wake.notify_one();
            }
            (result, table.take_changes())
        };
        for changed in changes {
            ctx.notify(changed).await;
        }
        result
    }
}

/// The key-value store, as a manager.
pub(crate) struct Store {
    shared: Arc<Shared>,
    expiry: Option<JoinHandle<()>>,
}

impl Store {
    pub(crate) fn new(table: Table) -> Self {
        Self {
            shared: Arc::new(Shared {
                table: Mutex::new(table),
                lane: tokio::sync::Mutex::new(()),
                wake: Notify::new(),
            }),
            expiry: None,
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // Also when shutdown aborted the manager before `before_stop`.
        if let Some(task) = self.expiry.take() {
            task.abort();
        }
    }
}

#[manager(name = "edri-store")]
impl Store {
    async fn after_start(&mut self, ctx: &Context) {
        self.expiry = Some(tokio::spawn(expire(self.shared.clone(), ctx.clone())));
    }

    async fn before_stop(&mut self) {
        if let Some(task) = self.expiry.take() {
            task.abort();
        }
        let disk = self.shared.lock().take_disk();
        if let Some(disk) = disk {
            // On a blocking thread: the wait is bounded in real time, and a paused test clock
            // does not jump ahead meanwhile.
            let _ = tokio::task::spawn_blocking(move || disk.close(CLOSE_TIMEOUT)).await;
        }
    }

    #[solve(req)]
    async fn set(&mut self, event: Set, ctx: &Context) -> Result<(), Failure> {
        let Set { key, value, ttl } = event;
        check_key(&key)?;
        let expiry = ttl.map(|ttl| Expiry::after(&key, ttl)).transpose()?;
        self.shared
            .change(ctx, |table, _| table.put(&key, Entry { value, expiry }))
            .await
    }

    #[solve(req)]
    async fn get(&mut self, event: Get, ctx: &Context) -> Result<GetResponse, Failure> {
        let Get { key, data } = event;
        check_key(&key)?;
        let value = self
            .shared
            .change(ctx, |table, now| {
                table.live(&key, now).map(|entry| entry.value.clone())
            })
            .await;
        Ok(GetResponse { key, value, data })
    }

    #[solve(req)]
    async fn delete(&mut self, event: Delete, ctx: &Context) -> Result<DeleteResponse, Failure> {
        check_key(&event.key)?;
        let existed = self
            .shared
            .change(ctx, |table, now| {
                table.live(&event.key, now).is_some() && table.remove(&event.key).is_some()
            })
            .await;
        Ok(DeleteResponse { existed })
    }

    #[solve(req)]
    async fn watch(&mut self, event: Watch, ctx: &Context) -> Result<WatchResponse, Failure> {
        check_key(&event.key)?;
        let value = self
            .shared
            .change(ctx, |table, now| {
                // Read first: an expiry found now is news to earlier watchers, not to this one.
                let value = table.live(&event.key, now).map(|entry| entry.value.clone());
                table.watch(&event.key);
                value
            })
            .await;
        Ok(WatchResponse { value })
    }

    #[solve(req)]
    async fn unwatch(&mut self, event: Unwatch) -> Result<(), Failure> {
        check_key(&event.key)?;
        if self.shared.lock().unwatch(&event.key) {
            Ok(())
        } else {
            Err(Failure::not_found(format!(
                "store key `{}` is not watched",
                event.key
            )))
        }
    }

    #[solve(req)]
    async fn increment(
        &mut self,
        event: Increment,
        ctx: &Context,
    ) -> Result<IncrementResponse, Failure> {
        let Increment { key, by } = event;
        check_key(&key)?;
        self.shared
            .change(ctx, |table, now| {
                let (current, expiry) = match table.live(&key, now) {
                    None => (0, None),
                    Some(Entry {
                        value: Value::Int(current),
                        expiry,
                    }) => (*current, *expiry),
                    Some(entry) => {
                        return Err(Failure::unprocessable(format!(
                            "cannot increment store key `{key}`: it holds a {}, not an integer",
                            entry.value.kind()
                        )))
                    }
                };
                let value = current.checked_add(by).ok_or_else(|| {
                    Failure::unprocessable(format!(
                        "cannot increment store key `{key}` ({current}) by {by}: the result overflows an i64"
                    ))
                })?;
                table.put(
                    &key,
                    Entry {
                        value: Value::Int(value),
                        expiry,
                    },
                )?;
                Ok(IncrementResponse { value })
            })
            .await
    }

    #[solve(req)]
    async fn compare_and_set(
        &mut self,
        event: CompareAndSet,
        ctx: &Context,
    ) -> Result<CompareAndSetResponse, Failure> {
        let CompareAndSet {
            key,
            expected,
            value,
        } = event;
        check_key(&key)?;
        self.shared
            .change(ctx, |table, now| {
                let current = table.live(&key, now).map(|entry| &entry.value);
                if current != expected.as_ref() {
                    return Ok(CompareAndSetResponse { swapped: false });
                }
                table.put(
                    &key,
                    Entry {
                        value,
                        expiry: None,
                    },
                )?;
                Ok(CompareAndSetResponse { swapped: true })
            })
            .await
    }

    #[solve(req)]
    async fn set_if_absent(
        &mut self,
        event: SetIfAbsent,
        ctx: &Context,
    ) -> Result<SetIfAbsentResponse, Failure> {
        let SetIfAbsent { key, value, ttl } = event;
        check_key(&key)?;
        let expiry = ttl.map(|ttl| Expiry::after(&key, ttl)).transpose()?;
        self.shared
            .change(ctx, |table, now| {
                if table.live(&key, now).is_some() {
                    return Ok(SetIfAbsentResponse { acquired: false });
                }
                table.put(&key, Entry { value, expiry })?;
                Ok(SetIfAbsentResponse { acquired: true })
            })
            .await
    }

    #[solve(req)]
    async fn flush(&mut self, _event: Flush, reply: Responder<Flush>) {
        let table = self.shared.lock();
        match table.disk() {
            // The writer answers once it has committed everything handed to it before.
            Some(disk) => disk.flush(Box::new(move |done| reply.send(done))),
            None => reply.send(()),
        }
    }
}

/// Expires keys when their deadline comes, so watchers hear of it even if nobody reads them.
async fn expire(shared: Arc<Shared>, ctx: Context) {
    loop {
        let soonest = shared.lock().next_deadline();
        match soonest {
            Some(at) => tokio::select! {
                () = tokio::time::sleep_until(at) => {}
                () = shared.wake.notified() => continue,
            },
            None => {
                shared.wake.notified().await;
                continue;
            }
        }
        shared
            .change(&ctx, |table, now| table.expire_due(now))
            .await;
    }
}

/// Refuses the empty key, which is always a mistake.
fn check_key(key: &str) -> Result<(), Failure> {
    if key.is_empty() {
        return Err(Failure::bad_request("a store key cannot be empty"));
    }
    Ok(())
}
