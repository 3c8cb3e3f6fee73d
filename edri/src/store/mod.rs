//! The key-value store: a built-in manager that shares values between managers and workers.
//!
//! Start it with [`Edri::start_store`](crate::Edri::start_store) (values in memory) or
//! [`Edri::start_store_at`](crate::Edri::start_store_at) (values in a database file, so they
//! survive a restart), then send it its requests from anywhere: a [`Handle`](crate::Handle), a
//! manager's [`Context`](crate::Context) or a [`Worker`](crate::Worker).
//!
//! ```
//! use edri::prelude::*;
//! use edri::store;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> edri::Result<()> {
//! let edri = Edri::new().start_store().start().await?;
//! edri.ask(store::Set::new("greeting", "hello")).await?;
//! let answer = edri.ask(store::Get::new("greeting")).await?;
//! assert_eq!(answer.decode::<String>()?.as_deref(), Some("hello"));
//! assert_eq!(edri.ask(store::Increment::new("visits", 1)).await?.value, 1);
//! edri.shutdown().await
//! # }
//! ```
//!
//! Values are [`Value`](crate::Value)s (JSON-like); [`Set::from_serde`] and
//! [`GetResponse::decode`] put and get any serde type. The store handles one request at a
//! time, so every operation, [`Increment`], [`CompareAndSet`] and [`SetIfAbsent`] included, is
//! atomic. Keys may expire ([`Set::ttl`]); [`Watch`] asks for a [`Changed`] notification on every
//! change of a key. The guide is `docs/store.md`.

mod events;
mod manager;
mod persist;
mod table;

use std::path::{Path, PathBuf};

pub use events::{
    Changed, CompareAndSet, CompareAndSetResponse, Delete, DeleteResponse, Flush, Get, GetResponse,
    Increment, IncrementResponse, Set, SetIfAbsent, SetIfAbsentResponse, Unwatch, Watch,
    WatchResponse,
};

use manager::Store;
use persist::Reason;
use table::Table;

/// Why the store could not open its database file: the file cannot be opened or created, it is
/// not a database (or is damaged), or one of its rows does not decode. Its text names the file,
/// and the key of a bad row.
#[derive(Debug, thiserror::Error)]
#[error("cannot open the store at {}: {reason}", .path.display())]
pub struct StoreError {
    path: PathBuf,
    reason: Reason,
}

impl StoreError {
    pub(crate) fn new(path: PathBuf, reason: Reason) -> Self {
        Self { path, reason }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The key whose row does not decode, when that is the problem.
    pub fn key(&self) -> Option<&str> {
        match &self.reason {
            Reason::Row { key, .. } => Some(key),
            _ => None,
        }
    }
}

/// The store manager, its database file (if it has one) opened and loaded first, so a file that
/// cannot be used makes `Edri::start()` fail before anything is served.
pub(crate) fn manager(path: Option<PathBuf>) -> crate::Result<Store> {
    let table = match path {
        None => Table::default(),
        Some(path) => {
            let (rows, disk) = persist::open(&path)?;
            Table::restored(rows, disk)
        }
    };
    Ok(Store::new(table))
}
