//! One WebSocket connection: frames in, answers and pushes out, until either side closes.

use std::any::TypeId;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{close_code, CloseFrame, Message, Utf8Bytes, WebSocket};
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinSet;

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
        /// Whether tungstenite still reads (it stops after a broken frame).
        readable: bool,
    },
}

impl End {
    fn close(code: u16, reason: impl Into<String>) -> Self {
        End::Close {
            code,
            reason: reason.into(),
            readable: true,
        }
    }
}

/// What woke the connection up.
enum Next {
    Send(Utf8Bytes),
    Answer(Result<Utf8Bytes, tokio::task::JoinError>),
    Received(Option<Result<Message, axum::Error>>),
}

/// Serves one upgraded connection until it ends, then removes its registrations.
pub(super) async fn serve(shared: Arc<Shared>, socket: WebSocket) {
    let (client, outbox, kicked) = shared.hub.client();
    let mut connection = Connection {
        stopping: shared.state.stopping.clone(),
        in_flight: shared.state.router.config.queue_capacity,
        shared,
        socket,
        client,
        outbox,
        kicked,
        registered: HashSet::new(),
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
    /// The notification types this client registered for.
    registered: HashSet<TypeId>,
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
                Some(done) = self.calls.join_next(), if !self.calls.is_empty() => Next::Answer(done),
                Some(push) = self.outbox.recv() => Next::Send(push),
                message = self.socket.recv(), if reading => Next::Received(message),
            };
            let outgoing = match next {
                Next::Send(text) | Next::Answer(Ok(text)) => text,
                Next::Answer(Err(error)) => {
                    // The calls only await the router; a panic there is a bug in edri.
                    tracing::error!(%error, "a WebSocket command failed without an answer");
                    continue;
                }
                Next::Received(Some(Ok(message))) => match self.receive(message) {
                    Ok(Some(reply)) => reply,
                    Ok(None) => continue,
                    Err(end) => return end,
                },
                Next::Received(Some(Err(error))) => {
                    return broken(&error, self.shared.state.max_body)
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
            // tungstenite answers pings itself.
            Message::Ping(_) | Message::Pong(_) => Ok(None),
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
            Ok(Parsed::Register { info, filter, echo }) => {
                match hub.register(&self.client, info, filter) {
                    Ok(()) => {
                        self.registered.insert((info.type_id)());
                        Some(frame::answer(echo, success_body(Value::Null)))
                    }
                    Err(TooManyFilters) => Some(
                        BadFrame::new(
                            Value::from(frame::REGISTER),
                            echo.get("id").cloned(),
                            ApiError::bad_request(format!(
                                "a client may register at most {MAX_FILTERS} filters for `{}`",
                                info.name
                            )),
                        )
                        .text(),
                    ),
                }
            }
            Ok(Parsed::Unregister { info, echo }) => {
                let type_id = (info.type_id)();
                self.registered.remove(&type_id);
                if hub.unregister(self.client.id, type_id) {
                    Some(frame::answer(echo, success_body(Value::Null)))
                } else {
                    Some(frame::not_registered(&echo, info.name).text())
                }
            }
        }
    }

    /// Sends a frame; a client that stops reading is still closed when it falls behind or the
    /// API stops.
    async fn send(&mut self, text: Utf8Bytes) -> Result<(), End> {
        tokio::select! {
            biased;
            sent = self.socket.send(Message::Text(text)) => sent.map_err(|_| End::Gone),
            () = self.kicked.wait() => Err(slow(&self.outbox)),
            _ = self.stopping.wait_for(|stop| *stop) => Err(stopping()),
        }
    }

    /// Removes the registrations first (so a client that sees the Close can count on them
    /// being gone), then closes.
    async fn finish(mut self, end: End) {
        for type_id in self.registered.drain() {
            self.shared.hub.unregister(self.client.id, type_id);
        }
        self.calls.abort_all();
        match end {
            End::Gone => {}
            End::ClosedByClient => self.drain().await,
            End::Close {
                code,
                reason,
                readable,
            } => {
                let close = Message::Close(Some(CloseFrame {
                    code,
                    reason: Utf8Bytes::from(close_reason(reason)),
                }));
                let sent = tokio::time::timeout(CLOSE_TIMEOUT, self.socket.send(close)).await;
                if !matches!(sent, Ok(Ok(()))) {
                    return;
                }
                if readable {
                    self.drain().await;
                } else {
                    tokio::time::sleep(LINGER).await;
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
        readable: false,
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
