//! `GET /status` on the switch's side port: the connected routers and the switch's vitals.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::Json;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::server::Shared;
use super::SwitchError;

/// Binds `addr` and serves the status there until `stopped` turns true.
pub(crate) async fn serve(
    addr: &str,
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<bool>,
) -> Result<SocketAddr, SwitchError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| SwitchError::Bind {
            addr: addr.to_owned(),
            source,
        })?;
    let bound = listener.local_addr()?;
    let app = axum::Router::new()
        .route("/status", get(status))
        .route("/", get(status))
        .with_state(shared);
    tokio::spawn(async move {
        let stop = async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        if let Err(error) = axum::serve(listener, app)
            .with_graceful_shutdown(stop)
            .await
        {
            tracing::warn!(%error, "switch: the status server stopped");
        }
    });
    tracing::info!(addr = %bound, "switch status at http://{bound}/status");
    if !bound.ip().is_loopback() {
        tracing::warn!(
            addr = %bound,
            "the status page is not authenticated and names every router: serve it on loopback or behind a proxy that checks who asks"
        );
    }
    Ok(bound)
}

async fn status(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(report(&shared))
}

/// The status as JSON.
pub(crate) fn report(shared: &Shared) -> Value {
    let mut routers: Vec<Value> = shared
        .lock_routers()
        .values()
        .map(|router| {
            let info = router.info();
            json!({
                "id": router.router,
                "epoch": info.epoch,
                "addr": router.addr.to_string(),
                "connected_seconds": router.since.elapsed().as_secs_f64(),
                "demands": info.demands,
                "queue_depth_bytes": router.out.buffered(),
                "frames_in": router.frames_in.load(Ordering::Relaxed),
                "frames_out": router.frames_out.load(Ordering::Relaxed),
                "received": router.taken().into_iter().map(|(origin, mark)| json!({
                    "origin": origin,
                    "epoch": mark.epoch,
                    "seq": mark.seq,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    routers.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    let vitals = &shared.vitals;
    json!({
        "routers": routers,
        "vitals": {
            "version": env!("CARGO_PKG_VERSION"),
            "protocol": super::message::VERSION,
            "uptime_seconds": shared.started.elapsed().as_secs_f64(),
            "connections_accepted": vitals.connections.load(Ordering::Relaxed),
            "handshakes_refused": vitals.refused.load(Ordering::Relaxed),
            "closed_for_bad_input": vitals.closed_bad_input.load(Ordering::Relaxed),
            "frames_relayed": vitals.frames_relayed.load(Ordering::Relaxed),
            "bytes_relayed": vitals.bytes_relayed.load(Ordering::Relaxed),
            "frames_dropped": vitals.frames_dropped.load(Ordering::Relaxed),
        }
    })
}
