//! What the router's connector needs from a transport, and the switch's TCP transport.
//!
//! The connector keeps the guarantee (sequence numbers, acknowledgements, resending,
//! de-duplication); a transport only opens sessions that carry the protocol's messages
//! between this router and the others. Another transport (NATS) implements [`Transport`]
//! without touching the router or the connector.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::frame::{FrameError, FrameReader, FrameWriter};
use super::handshake::{hello_digest, nonce, Secret, Transcript};
use super::message::{Handshake, Position, VERSION};
use super::outbound::Outbound;
use crate::wire;

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Who this router is, as it introduces itself at each connection.
#[derive(Clone, Debug)]
pub(crate) struct Introduction {
    pub(crate) router: String,
    pub(crate) epoch: u64,
    pub(crate) demands: Vec<String>,
    pub(crate) received: Vec<Position>,
}

/// Opens sessions with the other routers.
pub(crate) trait Transport: Send + Sync + 'static {
    /// Connects and introduces this router.
    fn connect<'a>(
        &'a self,
        introduction: &'a Introduction,
    ) -> BoxFuture<'a, Result<Session, ConnectError>>;

    /// Where it connects, for logs and health.
    fn describe(&self) -> String;
}

/// One open session: messages out, messages in.
pub(crate) struct Session {
    /// Frames to send: an [`Up`](super::message::Up) header and its payload.
    pub(crate) out: Arc<Outbound>,
    /// Frames received: a [`Down`](super::message::Down) header and its payload.
    pub(crate) incoming: Box<dyn Incoming>,
}

impl Drop for Session {
    /// The session is over (the connector stopped, or the connection failed): the writer
    /// finishes and closes its side, so that the switch sees this router leave at once
    /// rather than after its idle timeout.
    fn drop(&mut self) {
        self.out.close();
    }
}

/// The receiving side of a session.
pub(crate) trait Incoming: Send {
    /// The next message; `Ok(None)` when the session ended cleanly.
    fn next(&mut self) -> BoxFuture<'_, Result<Option<&[u8]>, FrameError>>;

    /// Whether another message is already here, so acknowledgements can wait for it.
    fn has_more(&self) -> bool;
}

/// Why a connection was not established.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectError {
    #[error("cannot reach the switch at {addr}: {source}")]
    Unreachable {
        addr: String,
        source: std::io::Error,
    },
    #[error("the switch at {addr} refused this router: {reason}")]
    Refused { addr: String, reason: String },
    #[error("the handshake with the switch at {addr} failed: {reason}")]
    Handshake { addr: String, reason: String },
}

/// The switch over TCP.
pub(crate) struct TcpTransport {
    pub(crate) addr: String,
    pub(crate) secret: Option<Secret>,
    pub(crate) max_frame: usize,
    /// TLS, and the name the switch's certificate must carry.
    pub(crate) tls: Option<(TlsConnector, ServerName<'static>)>,
}

/// How long the handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

impl Transport for TcpTransport {
    fn connect<'a>(
        &'a self,
        introduction: &'a Introduction,
    ) -> BoxFuture<'a, Result<Session, ConnectError>> {
        Box::pin(async move {
            let stream = TcpStream::connect(&self.addr).await.map_err(|source| {
                ConnectError::Unreachable {
                    addr: self.addr.clone(),
                    source,
                }
            })?;
            let _ = stream.set_nodelay(true);
            let session = async {
                match &self.tls {
                    None => {
                        let (read, write) = stream.into_split();
                        self.handshake(read, write, introduction).await
                    }
                    Some((connector, name)) => {
                        let stream = connector
                            .connect(name.clone(), stream)
                            .await
                            .map_err(|error| self.failed(format!("TLS: {error}")))?;
                        let (read, write) = tokio::io::split(stream);
                        self.handshake(read, write, introduction).await
                    }
                }
            };
            tokio::time::timeout(HANDSHAKE_TIMEOUT, session)
                .await
                .unwrap_or_else(|_| Err(self.failed("no answer within 10 s")))
        })
    }

    fn describe(&self) -> String {
        match self.tls {
            Some(_) => format!("{} (TLS)", self.addr),
            None => self.addr.clone(),
        }
    }
}

impl TcpTransport {
    fn failed(&self, reason: impl std::fmt::Display) -> ConnectError {
        ConnectError::Handshake {
            addr: self.addr.clone(),
            reason: reason.to_string(),
        }
    }

    async fn read_handshake<R: AsyncRead + Unpin>(
        &self,
        reader: &mut FrameReader<R>,
    ) -> Result<Handshake, ConnectError> {
        let body = reader
            .read()
            .await
            .map_err(|error| self.failed(error))?
            .ok_or_else(|| self.failed("the switch closed the connection"))?;
        let message: Handshake = wire::decode(body).map_err(|error| self.failed(error))?;
        if let Handshake::Refused { reason } = message {
            return Err(ConnectError::Refused {
                addr: self.addr.clone(),
                reason,
            });
        }
        Ok(message)
    }

    async fn handshake<R, W>(
        &self,
        read: R,
        write: W,
        introduction: &Introduction,
    ) -> Result<Session, ConnectError>
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let mut reader = FrameReader::new(read, self.max_frame);
        let mut writer = FrameWriter::new(write);
        let Handshake::Challenge {
            version,
            nonce: switch_nonce,
            authenticated,
        } = self.read_handshake(&mut reader).await?
        else {
            return Err(self.failed("expected the switch's challenge"));
        };
        if version != VERSION {
            return Err(self.failed(format!(
                "the switch speaks protocol {version}, this router {VERSION}"
            )));
        }
        // A router without a secret still says hello to a switch that wants one: the switch
        // refuses it with a reason that both sides log.
        if !authenticated && self.secret.is_some() {
            // Refused like a wrong secret: asking again soon would not change the answer.
            return Err(ConnectError::Refused {
                addr: self.addr.clone(),
                reason: "the switch has no secret, but this router has one: refusing an unauthenticated switch".into(),
            });
        }
        let router_nonce = nonce().map_err(|error| self.failed(error))?;
        let transcript = Transcript {
            switch_nonce: &switch_nonce,
            router_nonce: &router_nonce,
            router: &introduction.router,
            epoch: introduction.epoch,
            details: hello_digest(&introduction.demands, &introduction.received),
        };
        let hello = Handshake::Hello {
            version: VERSION,
            router: introduction.router.clone(),
            epoch: introduction.epoch,
            nonce: router_nonce,
            proof: self
                .secret
                .as_ref()
                .map_or([0; 32], |secret| transcript.router_proof(secret)),
            demands: introduction.demands.clone(),
            received: introduction.received.clone(),
        };
        let bytes = wire::encode(&hello).map_err(|error| self.failed(error))?;
        writer
            .send(&[&bytes])
            .await
            .map_err(|error| self.failed(error))?;
        writer.flush().await.map_err(|error| self.failed(error))?;
        let Handshake::Welcome { proof } = self.read_handshake(&mut reader).await? else {
            return Err(self.failed("expected the switch's welcome"));
        };
        let out = Arc::new(Outbound::new());
        if let Some(secret) = &self.secret {
            if proof != transcript.switch_proof(secret) {
                return Err(self.failed("the switch did not prove it knows the secret"));
            }
            let (up, down) = transcript.session_keys(secret);
            out.authenticate(up);
            reader.decoder.authenticate(down);
        }
        let socket = writer.into_inner();
        tokio::spawn({
            let out = out.clone();
            async move {
                if let Err(error) = out.write_to(socket).await {
                    tracing::debug!(%error, "switch connection: write failed");
                }
                out.close();
            }
        });
        Ok(Session {
            out,
            incoming: Box::new(reader),
        })
    }
}

impl<R: AsyncRead + Unpin + Send> Incoming for FrameReader<R> {
    fn next(&mut self) -> BoxFuture<'_, Result<Option<&[u8]>, FrameError>> {
        Box::pin(self.read())
    }

    fn has_more(&self) -> bool {
        self.has_buffered()
    }
}
