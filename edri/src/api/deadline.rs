//! The deadlines of one API connection, so that a slow or silent client cannot hold it open.
//!
//! hyper has a single header timer, which it also runs while a keep-alive connection waits, and
//! nothing for bodies. So the connection's socket is wrapped in [`Watched`], which knows the
//! phase the connection is in and closes it when that phase outlasts its setting:
//! - waiting for the first request: the header timeout, counted from the connect;
//! - idle between requests: the keep-alive timeout;
//! - reading a request's head: the header timeout (counted from its first byte), then 408;
//! - writing while the client reads nothing: the keep-alive timeout.
//!
//! A request's body has its own deadline, in [`DeadlineBody`], so that the handler answers 408.
//! A connection upgraded to a WebSocket has none of these: it pings its client instead.
//!
//! [`Watched`] also gives hyper's own error answers (400 for a malformed request, 414 for a URL
//! too long, 431 for headers too large), which have empty bodies, the API's JSON error body.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::StatusCode;
use http_body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, Sleep};

use super::reply::ApiError;

/// What the connection's request handling tells its socket.
#[derive(Default)]
pub(super) struct Tracker {
    /// Requests handed to the app whose answer is not yet written.
    in_flight: AtomicUsize,
    /// Answers written in all; a change means the connection went idle.
    completed: AtomicU64,
    /// The connection became a WebSocket: it keeps itself alive with pings.
    upgraded: AtomicBool,
}

impl Tracker {
    /// A request starts; the returned guard ends it when dropped (with its answer's body).
    pub(super) fn start(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(self.clone())
    }

    pub(super) fn upgraded(&self) {
        self.upgraded.store(true, Ordering::Release);
    }
}

/// A request in progress; see [`Tracker::start`].
pub(super) struct InFlight(Arc<Tracker>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.completed.fetch_add(1, Ordering::AcqRel);
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The settings [`Watched`] enforces.
#[derive(Clone, Copy)]
pub(super) struct Deadlines {
    pub(super) header: Duration,
    pub(super) keep_alive: Duration,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Phase {
    /// No byte of the next request yet, since `since`; `first` on a new connection.
    Waiting { since: Instant, first: bool },
    /// Reading a request's head, which must be complete by `deadline`.
    Head { deadline: Instant },
    /// The app has the request (or the connection is a WebSocket).
    Busy,
}

/// A client's socket, with the deadlines of the phase its connection is in.
pub(super) struct Watched<IO> {
    io: IO,
    tracker: Arc<Tracker>,
    deadlines: Deadlines,
    phase: Phase,
    seen_completed: u64,
    /// Since when writes have made no progress, if they are stuck.
    write_stalled: Option<Instant>,
    timer: Pin<Box<Sleep>>,
    /// The deadline `timer` is set to.
    armed: Option<Instant>,
    /// The API's version of one of hyper's error answers, still to be written.
    replacement: Option<(Vec<u8>, usize)>,
    /// Holds the connection's place under the connection cap for as long as the socket lives,
    /// WebSocket included.
    _permit: OwnedSemaphorePermit,
}

impl<IO> Watched<IO> {
    pub(super) fn new(
        io: IO,
        tracker: Arc<Tracker>,
        deadlines: Deadlines,
        permit: OwnedSemaphorePermit,
    ) -> Self {
        let now = Instant::now();
        Self {
            io,
            tracker,
            deadlines,
            phase: Phase::Waiting {
                since: now,
                first: true,
            },
            seen_completed: 0,
            write_stalled: None,
            timer: Box::pin(tokio::time::sleep_until(now)),
            armed: None,
            replacement: None,
            _permit: permit,
        }
    }

    /// Brings the phase up to date with what the request handling did since the last look.
    fn refresh(&mut self) {
        if self.tracker.upgraded.load(Ordering::Acquire)
            || self.tracker.in_flight.load(Ordering::Acquire) > 0
        {
            self.phase = Phase::Busy;
            return;
        }
        let completed = self.tracker.completed.load(Ordering::Acquire);
        if completed != self.seen_completed || self.phase == Phase::Busy {
            self.seen_completed = completed;
            self.phase = Phase::Waiting {
                since: Instant::now(),
                first: false,
            };
        }
    }

    /// Bytes of a request arrived.
    fn received(&mut self) {
        if let Phase::Waiting { since, first } = self.phase {
            // The first request's head is due `header` after the connect; a later one's,
            // `header` after its first byte.
            let start = if first { since } else { Instant::now() };
            self.phase = Phase::Head {
                deadline: start + self.deadlines.header,
            };
        }
    }

    fn deadline(&self) -> Option<Instant> {
        if self.tracker.upgraded.load(Ordering::Acquire) {
            return None;
        }
        let phase = match self.phase {
            Phase::Waiting { since, first: true } => Some(since + self.deadlines.header),
            Phase::Waiting { since, .. } => Some(since + self.deadlines.keep_alive),
            Phase::Head { deadline } => Some(deadline),
            Phase::Busy => None,
        };
        let stalled = self
            .write_stalled
            .map(|since| since + self.deadlines.keep_alive);
        match (phase, stalled) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether the current deadline has passed; arms the timer (with `cx`'s waker) when not.
    ///
    /// The deadline moves later with every answer on a keep-alive connection; re-arming the
    /// timer each time would put a timer-wheel update on every request. So a timer set for an
    /// earlier deadline is kept, and moved on only when it fires before the current one.
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(deadline) = self.deadline() else {
            return false;
        };
        loop {
            if self.armed.is_none_or(|armed| armed > deadline) {
                self.timer.as_mut().reset(deadline);
                self.armed = Some(deadline);
            }
            if self.timer.as_mut().poll(cx).is_pending() {
                return false;
            }
            if self.armed.is_some_and(|armed| armed >= deadline) {
                return true;
            }
            // Fired for an earlier deadline that has since moved: wait for the current one.
            self.armed = None;
        }
    }
}

impl<IO: AsyncWrite + Unpin> Watched<IO> {
    /// Writes what is left of a replacement answer.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.replacement {
            if *written == bytes.len() {
                self.replacement = None;
                break;
            }
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }

    /// Takes hyper's automatic error answer (a head with no body, written while no request is
    /// in the app) and queues the API's version instead. Whether it did.
    fn replace_error_answer(&mut self, buf: &[u8]) -> bool {
        if !matches!(self.phase, Phase::Head { .. }) || self.replacement.is_some() {
            return false;
        }
        match hyper_error_answer(buf) {
            Some(bytes) => {
                self.replacement = Some((bytes, 0));
                true
            }
            None => false,
        }
    }

    fn track_write(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        match poll {
            Poll::Pending => {
                self.write_stalled.get_or_insert_with(Instant::now);
                if self.expired(cx) {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client read nothing for the keep-alive timeout",
                    )));
                }
                Poll::Pending
            }
            ready => {
                self.write_stalled = None;
                ready
            }
        }
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncRead for Watched<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.refresh();
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.received();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => {
                if !this.expired(cx) {
                    return Poll::Pending;
                }
                if let Phase::Head { .. } = this.phase {
                    // A best-effort answer, so the client learns why; then the connection ends.
                    let answer = error_answer(
                        StatusCode::REQUEST_TIMEOUT,
                        "the request's headers did not arrive in time (EDRI_API_HEADER_TIMEOUT)",
                    );
                    let _ = Pin::new(&mut this.io).poll_write(cx, &answer);
                }
                tracing::debug!(phase = ?this.phase, "API connection closed at its deadline");
                // The end of the stream: hyper closes the connection.
                Poll::Ready(Ok(()))
            }
        }
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Watched<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.refresh();
        ready!(this.poll_replacement(cx))?;
        if this.replace_error_answer(buf) {
            ready!(this.poll_replacement(cx))?;
            return Poll::Ready(Ok(buf.len()));
        }
        let poll = Pin::new(&mut this.io).poll_write(cx, buf);
        this.track_write(cx, poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.refresh();
        ready!(this.poll_replacement(cx))?;
        if matches!(this.phase, Phase::Head { .. }) {
            let whole: Vec<u8> = bufs.iter().flat_map(|buf| buf.iter().copied()).collect();
            if this.replace_error_answer(&whole) {
                ready!(this.poll_replacement(cx))?;
                return Poll::Ready(Ok(whole.len()));
            }
        }
        let poll = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.track_write(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_replacement(cx))?;
        // hyper flushes after each answer and then waits for the socket without reading again,
        // so the idle deadline is armed here: its timer wakes hyper, whose read then ends the
        // connection.
        this.refresh();
        let _ = this.expired(cx);
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_replacement(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

/// The API's version of hyper's answer to a request it could not parse, if `written` is one:
/// `HTTP/1.1 400|414|431 ...` with an empty body.
fn hyper_error_answer(written: &[u8]) -> Option<Vec<u8>> {
    let head = written.strip_prefix(b"HTTP/1.1 ")?;
    let end = written.windows(4).position(|w| w == b"\r\n\r\n")?;
    if end + 4 != written.len() {
        return None;
    }
    let lower = written.to_ascii_lowercase();
    if !lower.windows(18).any(|w| w == b"content-length: 0\r") {
        return None;
    }
    let reason = match head.get(..3)? {
        b"400" => "the request is not valid HTTP/1.1",
        b"414" => "the URL is longer than the API takes",
        b"431" => "the request's headers are larger than the API takes",
        _ => return None,
    };
    let code = std::str::from_utf8(&head[..3]).ok()?.parse().ok()?;
    Some(error_answer(StatusCode::from_u16(code).ok()?, reason))
}

/// A whole HTTP/1.1 answer in the API's error shape, after which the connection closes.
pub(super) fn error_answer(code: StatusCode, reason: &str) -> Vec<u8> {
    let body = ApiError::new(code, reason).body().to_string();
    format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        code.as_u16(),
        code.canonical_reason().unwrap_or("Error"),
        body.len()
    )
    .into_bytes()
}

/// The body of a request has not arrived by its deadline (`EDRI_API_BODY_TIMEOUT`).
#[derive(Debug, thiserror::Error)]
#[error("the request's body did not arrive in time (EDRI_API_BODY_TIMEOUT)")]
pub(crate) struct BodyTimeout;

/// A request body that fails with [`BodyTimeout`] once its deadline passes.
pub(super) struct DeadlineBody<B> {
    inner: B,
    timer: Pin<Box<Sleep>>,
}

impl<B> DeadlineBody<B> {
    pub(super) fn new(inner: B, timeout: Duration) -> Self {
        Self {
            inner,
            timer: Box::pin(tokio::time::sleep(timeout)),
        }
    }
}

impl<B> Body for DeadlineBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|frame| frame.map_err(Into::into))),
            Poll::Pending => match this.timer.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(BodyTimeout.into()))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyper_error_answers_get_a_json_body() {
        let answer = hyper_error_answer(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: x\r\n\r\n",
        )
        .unwrap();
        let text = String::from_utf8(answer).unwrap();
        assert!(text.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(text.contains("\"status_code\":431"), "{text}");
        assert!(text.contains("connection: close"), "{text}");
        // Answers with a body, or other statuses, pass through.
        assert!(
            hyper_error_answer(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\n{}")
                .is_none()
        );
        assert!(hyper_error_answer(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
    }
}
