//! One WebSocket connection: frames in, answers and pushes out, until either side closes.
//!
//! The client is pinged every `EDRI_API_WS_PING_INTERVAL`; one that leaves two pings in a row
//! unanswered is closed (1008), since TCP alone can take hours to notice a peer that vanished.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{close_code, CloseFrame, Message, Utf8Bytes, WebSocket};
use serde_json::{Map, Value};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::{Instant, Interval, MissedTickBehavior};

use super::filter::{Budget, Cost, Filter};
use super::frame::{self, BadFrame, Parsed};
use super::hub::{Client, Kicked, Outbox, TooManyFilters, MAX_FILTERS};
use super::Shared;
use crate::api::reply::{success_body, ApiError};
use crate::EventKind;

/// How long a closing connection waits for the client's Close frame (or for room to send its
/// own) before it lets go of the socket.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the socket stays open after a Close that followed a broken frame (too large,
/// invalid UTF-8). tungstenite reads no more from such a stream, so the rest of the client's
/// frame stays unread, and closing a socket with unread bytes makes the kernel reset the
/// connection: the part of the Close frame not yet sent is thrown away (and some systems also
/// drop what the client has received but not read). Holding the socket a moment lets the
/// Close through.
const LINGER: Duration = Duration::from_millis(500);

/// How many pings in a row a client may leave unanswered; at the next one due, it is closed.
const MISSED_PINGS: u32 = 2;

/// How a connection ends.
enum End {
    /// The client is gone, or closed: there is nothing more to send.
    Gone,
    /// The client sent Close; tungstenite answers it on the next read.
    ClosedByClient,
    /// The server closes with this code and reason.
    Close {
        code: u16,
        reason: String,
        /// What to do once the Close is sent.
        then: AfterClose,
    },
}

/// What a closing server does once its Close frame is sent.
enum AfterClose {
    /// Reads until the client's Close, which completes the handshake.
    Drain,
    /// Holds the socket a moment (see [`LINGER`]): tungstenite reads no more after a broken
    /// frame.
    Linger,
    /// Lets go at once: the client answers nothing, so waiting for it is pointless.
    LetGo,
}

impl End {
    /// A Close after which the client's own Close is awaited.
    fn close(code: u16, reason: impl Into<String>) -> Self {
        End::Close {
            code,
            reason: reason.into(),
            then: AfterClose::Drain,
        }
    }
}

/// What woke the connection up.
enum Next {
    Send(Utf8Bytes),
    Answer(Result<Utf8Bytes, tokio::task::JoinError>),
    Received(Option<Result<Message, axum::Error>>),
    Ping,
}

/// The pings that tell a live client from a vanished one.
struct Liveness {
    interval: Duration,
    ticks: Interval,
    /// Pings due since the client's last Pong.
    unanswered: u32,
}

impl Liveness {
    /// Counts from now, as the connection opens.
    fn new(interval: Duration) -> Self {
        // The first ping is due one interval in: the handshake just showed the client alive.
        // (The settings keep the interval within a year, so the sum cannot overflow.)
        let mut ticks = tokio::time::interval_at(Instant::now() + interval, interval);
        // A connection held up (by a large frame, say) pings once when free, not in a burst.
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Self {
            interval,
            ticks,
            unanswered: 0,
        }
    }

    /// A ping is due: counts it, or ends the connection when the client left the last
    /// [`MISSED_PINGS`] unanswered.
    fn due(&mut self) -> Result<(), End> {
        if self.unanswered >= MISSED_PINGS {
            tracing::debug!(
                interval = ?self.interval,
                "closing a WebSocket client that answers no pings"
            );
            return Err(End::Close {
                code: close_code::POLICY,
                reason: format!("no answer to {MISSED_PINGS} pings"),
                then: AfterClose::LetGo,
            });
        }
        self.unanswered += 1;
        Ok(())
    }

    /// Any Pong shows the client alive, even one it sent unasked.
    fn answered(&mut self) {
        self.unanswered = 0;
    }
}

/// Serves one upgraded connection until it ends, then removes its registrations.
pub(super) async fn serve(shared: Arc<Shared>, socket: WebSocket) {
    let (client, outbox, kicked) = shared.hub.client();
    let mut connection = Connection {
        stopping: shared.state.stopping.clone(),
        in_flight: shared.state.entry.router().config.queue_capacity,
        liveness: Liveness::new(shared.state.limits.ws_ping_interval),
        shared,
        socket,
        client,
        outbox,
        kicked,
        registered: HashMap::new(),
        calls: JoinSet::new(),
    };
    let end = connection.run().await;
    connection.finish(end).await;
}

struct Connection {
    shared: Arc<Shared>,
    socket: WebSocket,
    client: Client,
    outbox: Outbox,
    kicked: Kicked,
    stopping: watch::Receiver<bool>,
    liveness: Liveness,
    /// The notification types this client registered for, and what their filters cost of
    /// its budget.
    registered: HashMap<TypeId, Cost>,
    /// The commands being answered; dropping the connection aborts them.
    calls: JoinSet<Utf8Bytes>,
    /// At most this many commands in flight: beyond, the connection stops reading frames.
    in_flight: usize,
}

impl Connection {
    async fn run(&mut self) -> End {
        loop {
            if *self.stopping.borrow() {
                return stopping();
            }
            let reading = self.calls.len() < self.in_flight;
            let next = tokio::select! {
                biased;
                _ = self.stopping.wait_for(|stop| *stop) => return stopping(),
                () = self.kicked.wait() => return slow(&self.outbox),
                _ = self.liveness.ticks.tick() => Next::Ping,
                Some(done) = self.calls.join_next(), if !self.calls.is_empty() => Next::Answer(done),
                Some(push) = self.outbox.recv() => Next::Send(push),
                message = self.socket.recv(), if reading => Next::Received(message),
            };
            let outgoing = match next {
                Next::Send(text) | Next::Answer(Ok(text)) => Message::Text(text),
                Next::Ping => {
                    // While the connection does not read (too many commands in flight), the
                    // client's Pong would go unseen, so such a ping is not held against it.
                    if reading {
                        if let Err(end) = self.liveness.due() {
                            return end;
                        }
                    }
                    Message::Ping(Bytes::new())
                }
                Next::Answer(Err(error)) => {
                    // The calls only await the router; a panic there is a bug in edri.
                    tracing::error!(%error, "a WebSocket command failed without an answer");
                    continue;
                }
                Next::Received(Some(Ok(message))) => match self.receive(message) {
                    Ok(Some(reply)) => Message::Text(reply),
                    Ok(None) => continue,
                    Err(end) => return end,
                },
                Next::Received(Some(Err(error))) => {
                    return broken(&error, self.shared.state.limits.max_body)
                }
                Next::Received(None) => return End::Gone,
            };
            if let Err(end) = self.send(outgoing).await {
                return end;
            }
        }
    }

    /// Handles one message from the client; returns the frame to answer with at once, if any.
    fn receive(&mut self, message: Message) -> Result<Option<Utf8Bytes>, End> {
        match message {
            Message::Text(text) => Ok(self.command(&text)),
            Message::Binary(_) => Ok(Some(
                BadFrame::new(
                    Value::Null,
                    None,
                    ApiError::bad_request(
                        "binary frames are not read: send a JSON object as a text frame",
                    ),
                )
                .text(),
            )),
            Message::Close(_) => Err(End::ClosedByClient),
            Message::Pong(_) => {
                self.liveness.answered();
                Ok(None)
            }
            // tungstenite answers pings itself.
            Message::Ping(_) => Ok(None),
        }
    }

    /// Carries out a text frame: a call is answered later, the rest at once.
    fn command(&mut self, text: &str) -> Option<Utf8Bytes> {
        let hub = &self.shared.hub;
        match frame::parse(text, &self.shared.commands) {
            Err(bad) => Some(bad.text()),
            Ok(Parsed::Call { info, event, echo }) => {
                let state = self.shared.state.clone();
                self.calls.spawn(async move {
                    let response = match state.dispatch(info, event).await {
                        Ok(answer) => match info.kind {
                            EventKind::Request => match (info.encode_answer_json)(answer) {
                                Ok(data) => success_body(data),
                                Err(failure) => ApiError::from(failure).body(),
                            },
                            EventKind::Notification => success_body(Value::Null),
                        },
                        Err(error) => error.body(),
                    };
                    frame::answer(echo, response)
                });
                None
            }
            Ok(Parsed::Register {
                info,
                param_set,
                echo,
            }) => {
                let budget = Budget::new(&self.shared.state.limits, self.spent());
                let filter = match Filter::compile(info, param_set, &budget) {
                    Ok(filter) => filter,
                    Err(error) => return Some(refused(&echo, error)),
                };
                let cost = filter.cost();
                match hub.register(&self.client, info, filter) {
                    Ok(()) => {
                        let spent = self.registered.entry((info.type_id)()).or_default();
                        *spent = spent.plus(cost);
                        Some(frame::answer(echo, success_body(Value::Null)))
                    }
                    Err(TooManyFilters) => Some(refused(
                        &echo,
                        ApiError::bad_request(format!(
                            "a client may register at most {MAX_FILTERS} filters for `{}`",
                            info.name
                        )),
                    )),
                }
            }
            Ok(Parsed::Unregister { info, echo }) => {
                let type_id = (info.type_id)();
                // Gives the filters' cost back to the client's budget.
                self.registered.remove(&type_id);
                if hub.unregister(self.client.id, type_id) {
                    Some(frame::answer(echo, success_body(Value::Null)))
                } else {
                    Some(frame::not_registered(&echo, info.name).text())
                }
            }
        }
    }

    /// What this client's filters hold, across every event.
    fn spent(&self) -> Cost {
        self.registered
            .values()
            .fold(Cost::default(), |total, cost| total.plus(*cost))
    }

    /// Sends a frame; a client that stops reading is still closed when it falls behind, when
    /// it misses its pings, or when the API stops.
    async fn send(&mut self, message: Message) -> Result<(), End> {
        let sending = self.socket.send(message);
        tokio::pin!(sending);
        loop {
            tokio::select! {
                biased;
                sent = &mut sending => return sent.map_err(|_| End::Gone),
                () = self.kicked.wait() => return Err(slow(&self.outbox)),
                _ = self.stopping.wait_for(|stop| *stop) => return Err(stopping()),
                // A frame this long on its way means the client does not read: the ping due
                // cannot even go out, so it counts as unanswered.
                _ = self.liveness.ticks.tick() => self.liveness.due()?,
            }
        }
    }

    /// Removes the registrations first (so a client that sees the Close can count on them
    /// being gone), then closes.
    async fn finish(mut self, end: End) {
        for (type_id, _) in self.registered.drain() {
            self.shared.hub.unregister(self.client.id, type_id);
        }
        self.calls.abort_all();
        match end {
            End::Gone => {}
            End::ClosedByClient => self.drain().await,
            End::Close { code, reason, then } => {
                let close = Message::Close(Some(CloseFrame {
                    code,
                    reason: Utf8Bytes::from(close_reason(reason)),
                }));
                // A client that answers nothing is likely gone: its Close gets one ping
                // interval to go out, not the usual wait.
                let patience = match then {
                    AfterClose::LetGo => self.liveness.interval.min(CLOSE_TIMEOUT),
                    AfterClose::Drain | AfterClose::Linger => CLOSE_TIMEOUT,
                };
                let sent = tokio::time::timeout(patience, self.socket.send(close)).await;
                if !matches!(sent, Ok(Ok(()))) {
                    return;
                }
                match then {
                    AfterClose::Drain => self.drain().await,
                    AfterClose::Linger => tokio::time::sleep(LINGER).await,
                    AfterClose::LetGo => {}
                }
            }
        }
    }

    /// Reads until the client's Close (which completes the handshake) or the end of the stream.
    async fn drain(&mut self) {
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
            while let Some(Ok(_)) = self.socket.recv().await {}
        })
        .await;
    }
}

/// The error frame that refuses a `register`.
fn refused(echo: &Map<String, Value>, error: ApiError) -> Utf8Bytes {
    BadFrame::new(Value::from(frame::REGISTER), echo.get("id").cloned(), error).text()
}

fn stopping() -> End {
    End::close(close_code::AWAY, "the server is stopping")
}

fn slow(outbox: &Outbox) -> End {
    End::close(
        close_code::POLICY,
        format!(
            "too slow: more than {} pushes waiting to be read",
            outbox.capacity()
        ),
    )
}

/// The Close for a read error. tungstenite's error type is not nameable here (axum wraps it
/// and edri does not depend on tungstenite), so it is told apart by its message, which the
/// tests pin down.
fn broken(error: &axum::Error, max_body: usize) -> End {
    let text = error.to_string();
    let (code, reason) = if text.starts_with("Space limit exceeded") {
        (
            close_code::SIZE,
            format!("a frame is larger than {max_body} bytes (EDRI_MAX_BODY_SIZE)"),
        )
    } else if text.starts_with("UTF-8 encoding error") {
        (close_code::INVALID, "a text frame is not UTF-8".to_owned())
    } else if text.starts_with("WebSocket protocol error") {
        (close_code::PROTOCOL, close_reason(text.clone()))
    } else {
        tracing::debug!(error = %text, "a WebSocket connection broke");
        return End::Gone;
    };
    tracing::debug!(error = %text, code, "closing a WebSocket connection after a bad frame");
    End::Close {
        code,
        reason,
        then: AfterClose::Linger,
    }
}

/// A Close reason fits in 123 bytes (a control frame carries 125, two for the code).
fn close_reason(mut reason: String) -> String {
    const MAX: usize = 123;
    if reason.len() > MAX {
        let mut end = MAX;
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason.truncate(end);
    }
    reason
}
