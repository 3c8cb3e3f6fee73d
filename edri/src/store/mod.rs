//! The key-value store (stub, being written).

use std::path::PathBuf;

use crate::system::Launch;

/// Why the store could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot open the store at {path}: {reason}")]
pub struct StoreError {
    path: PathBuf,
    reason: String,
}

pub(crate) fn launch(path: Option<PathBuf>) -> Launch {
    Box::new(move |_system| {
        let _ = path;
        Ok(())
    })
}
