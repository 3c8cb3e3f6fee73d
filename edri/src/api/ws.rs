//! WebSocket at `/` (being written).

use std::sync::Arc;

use super::ApiState;
use crate::{Error, EventInfo};

/// The WebSocket route.
pub(crate) fn routes(
    _state: &Arc<ApiState>,
    _events: &[&'static EventInfo],
) -> Result<axum::Router, Error> {
    Ok(axum::Router::new())
}
