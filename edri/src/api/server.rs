//! The API's listener: accepts connections up to the cap, serves each with hyper under the
//! deadlines of [`deadline`](super::deadline), and stops gracefully.
//!
//! `axum::serve` is not used because it offers neither a connection cap nor deadlines.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tower_service::Service;

use super::deadline::{error_answer, DeadlineBody, Deadlines, InFlight, Tracker, Watched};
use crate::config::ApiLimits;

/// How many refusals (503 beyond the cap) may be in progress at once; beyond, a connection is
/// closed without an answer, so refusing costs bounded resources too.
const MAX_REFUSALS: usize = 64;

/// More HTTP connections than can ever be open at once: the permits of the count of
/// connections being served.
const MAX_SERVING: u32 = 1 << 30;

/// How long a refused client has to take its 503 before the socket is closed.
const REFUSAL_LINGER: Duration = Duration::from_secs(1);

/// Serves `app` on `listener` until `stopping` turns true, then lets the connections in
/// progress finish their requests.
pub(super) async fn serve(
    listener: TcpListener,
    app: axum::Router,
    limits: ApiLimits,
    mut stopping: watch::Receiver<bool>,
) {
    let max_connections = within_file_limit(limits.max_connections);
    let slots = Arc::new(Semaphore::new(max_connections));
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS));
    // One permit per HTTP connection being served, WebSockets excepted: they close themselves
    // as the API stops, and are not waited for here.
    let serving = Arc::new(Semaphore::new(MAX_SERVING as usize));
    let accept_errors = crate::log_throttle::LogThrottle::new(Duration::from_secs(10));
    loop {
        let accepted = tokio::select! {
            biased;
            _ = stopping.wait_for(|stop| *stop) => break,
            accepted = listener.accept() => accepted,
        };
        let (socket, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors, most often: wait a moment for some to close.
                if let Some(count) = accept_errors.tick() {
                    tracing::error!(%error, count, "the API cannot accept connections");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "API connection refused: at EDRI_API_MAX_CONNECTIONS");
            if let Ok(refusal) = refusals.clone().try_acquire_owned() {
                tokio::spawn(async move {
                    refuse(socket).await;
                    drop(refusal);
                });
            }
            continue;
        };
        let _ = socket.set_nodelay(true);
        let tracker = Arc::new(Tracker::default());
        let deadlines = Deadlines {
            header: limits.header_timeout,
            keep_alive: limits.keep_alive,
        };
        let io = TokioIo::new(Watched::new(socket, tracker.clone(), deadlines, permit));
        let service = Connection {
            app: app.clone(),
            tracker,
            body_timeout: limits.body_timeout,
        };
        let mut stop = stopping.clone();
        let Ok(serving) = serving.clone().acquire_owned().await else {
            break;
        };
        tokio::spawn(async move {
            let _serving = serving;
            let mut builder = hyper::server::conn::http1::Builder::new();
            // `Watched` keeps the header deadline; hyper's own timer would also cut idle
            // keep-alive connections at the header timeout.
            builder.header_read_timeout(None);
            let connection = builder.serve_connection(io, service).with_upgrades();
            tokio::pin!(connection);
            let served = tokio::select! {
                served = connection.as_mut() => Some(served),
                _ = stop.wait_for(|stop| *stop) => None,
            };
            // Stopping: finish the request in progress, then close.
            let served = match served {
                Some(served) => served,
                None => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = served {
                tracing::debug!(%error, %peer, "API connection ended with an error");
            }
        });
    }
    // Let the requests in progress finish; hyper closes each connection after its answer.
    let _ = serving.acquire_many(MAX_SERVING).await;
}

/// The connection cap, lowered to what the process's file descriptor limit allows with room
/// to spare: past that limit `accept` fails, and then nobody is served, not even with a 503.
fn within_file_limit(max_connections: usize) -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct it is given and reads nothing else.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return max_connections;
    }
    let files = usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX);
    // A quarter for everything else the process opens (logs, databases, workers' pipes), and
    // for the refusals in progress.
    let room = files - (files / 4).clamp(MAX_REFUSALS + 32, 1024).min(files / 2);
    if max_connections > room {
        tracing::info!(
            max_connections,
            file_limit = files,
            cap = room,
            "EDRI_API_MAX_CONNECTIONS is above what the file descriptor limit (ulimit -n) \
             allows: the API takes at most {room} connections"
        );
        room.max(1)
    } else {
        max_connections
    }
}

/// Answers a connection beyond the cap with 503 and closes it.
async fn refuse(mut socket: TcpStream) {
    let answer = error_answer(
        StatusCode::SERVICE_UNAVAILABLE,
        "the API has as many connections as it takes (EDRI_API_MAX_CONNECTIONS); retry later",
    );
    let _ = tokio::time::timeout(REFUSAL_LINGER, async {
        socket.write_all(&answer).await?;
        socket.shutdown().await?;
        // Read what the client sent, so closing does not reset the connection before the
        // client has read the answer.
        let mut sink = [0u8; 4096];
        while tokio::io::AsyncReadExt::read(&mut socket, &mut sink).await? > 0 {}
        std::io::Result::Ok(())
    })
    .await;
}

/// The app, as hyper calls it for one connection.
#[derive(Clone)]
struct Connection {
    app: axum::Router,
    tracker: Arc<Tracker>,
    body_timeout: Duration,
}

type Answer = Response<Tracked>;

impl hyper::service::Service<Request<Incoming>> for Connection {
    type Response = Answer;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Answer, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let in_flight = self.tracker.start();
        let tracker = self.tracker.clone();
        let request = request.map(|body| Body::new(DeadlineBody::new(body, self.body_timeout)));
        // An axum Router is always ready, so it is called without `poll_ready`.
        let answer = self.app.clone().call(request);
        Box::pin(async move {
            let Ok(response) = answer.await;
            if response.status() == StatusCode::SWITCHING_PROTOCOLS {
                tracker.upgraded();
            }
            Ok(response.map(|body| Tracked {
                body,
                _in_flight: in_flight,
            }))
        })
    }
}

/// An answer's body, which ends the request (for [`Watched`]'s phases) when dropped.
struct Tracked {
    body: Body,
    _in_flight: InFlight,
}

impl http_body::Body for Tracked {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
