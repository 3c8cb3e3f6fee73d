//! Hostile peers on a switch with a secret: a wrong or missing secret, random bytes, an
//! oversized length prefix, a truncated frame, a replayed frame and a frame with a flipped bit.
//! The switch closes each of those connections with a logged reason, and a well-behaved router
//! on the same switch loses nothing. The switch is the real binary.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::switch::{scratch_dir, SwitchProcess};
use edri::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

const TOKEN: &str = "a secret of at least thirty-two bytes, for the tests";

#[event(notification, shared)]
pub struct Numbered {
    pub n: u64,
}

pub struct Collector {
    numbers: mpsc::UnboundedSender<u64>,
}

#[manager]
impl Collector {
    #[solve(req)]
    async fn numbered(&mut self, event: Numbered) {
        let _ = self.numbers.send(event.n);
    }
}

/// How the proxy damages a router's connection, by its number (the first, the second, ...).
#[derive(Clone, Copy, Debug)]
enum Damage {
    /// Sends one frame twice.
    Replay,
    /// Flips one bit of one frame's body.
    FlipBit,
    /// Forwards faithfully.
    None,
}

/// A proxy between one router and the switch that understands just enough of the framing
/// (a 4-byte big-endian length, the body, then a 32-byte tag once the handshake is over) to
/// damage the 20th authenticated frame the router sends.
struct TamperingProxy {
    addr: String,
    damaged: Arc<AtomicUsize>,
}

impl TamperingProxy {
    async fn start(upstream: String, plan: Vec<Damage>) -> TamperingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let damaged = Arc::new(AtomicUsize::new(0));
        let counter = damaged.clone();
        tokio::spawn(async move {
            let mut connection = 0;
            while let Ok((router, _)) = listener.accept().await {
                let damage = plan.get(connection).copied().unwrap_or(Damage::None);
                connection += 1;
                let Ok(switch) = TcpStream::connect(&upstream).await else {
                    continue;
                };
                let counter = counter.clone();
                tokio::spawn(async move {
                    let (mut router_read, mut router_write) = router.into_split();
                    let (mut switch_read, mut switch_write) = switch.into_split();
                    let down = tokio::io::copy(&mut switch_read, &mut router_write);
                    let up = tamper(&mut router_read, &mut switch_write, damage, &counter);
                    tokio::select! {
                        _ = down => {}
                        _ = up => {}
                    }
                });
            }
        });
        TamperingProxy { addr, damaged }
    }
}

async fn tamper(
    from: &mut tokio::net::tcp::OwnedReadHalf,
    to: &mut tokio::net::tcp::OwnedWriteHalf,
    damage: Damage,
    damaged: &AtomicUsize,
) -> std::io::Result<()> {
    // Frame 0 is the hello, before any key exists; the rest carry tags.
    for frame in 0usize.. {
        let mut prefix = [0u8; 4];
        from.read_exact(&mut prefix).await?;
        let tag = if frame == 0 { 0 } else { 32 };
        let mut rest = vec![0u8; u32::from_be_bytes(prefix) as usize + tag];
        from.read_exact(&mut rest).await?;
        let mut bytes = prefix.to_vec();
        bytes.extend_from_slice(&rest);
        if frame == 20 {
            match damage {
                Damage::Replay => {
                    to.write_all(&bytes).await?;
                    damaged.fetch_add(1, Ordering::SeqCst);
                }
                Damage::FlipBit => {
                    bytes[4 + (rest.len() - tag) / 2] ^= 0x08;
                    damaged.fetch_add(1, Ordering::SeqCst);
                }
                Damage::None => {}
            }
        }
        to.write_all(&bytes).await?;
    }
    Ok(())
}

/// Connects to the switch as a raw client, sends `bytes`, and returns once the switch has
/// closed the connection (failing the test if it does not within 15 s).
async fn closed_after(switch: &str, bytes: &[u8]) {
    let mut stream = TcpStream::connect(switch).await.unwrap();
    // The switch speaks first (its challenge); the reply is the hostile part.
    let mut challenge = [0u8; 4];
    stream.read_exact(&mut challenge).await.unwrap();
    let _ = stream.write_all(bytes).await;
    // Done writing: a switch still waiting for the rest of a frame learns it never comes.
    let _ = stream.shutdown().await;
    let mut sink = Vec::new();
    let ended = tokio::time::timeout(Duration::from_secs(15), stream.read_to_end(&mut sink)).await;
    assert!(ended.is_ok(), "the switch kept a hostile connection open");
}

/// Bytes that look random, the same on every run.
fn noise(count: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..count)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_connections_are_closed_and_a_good_router_loses_nothing() {
    const COUNT: u64 = 20_000;
    let switch = SwitchProcess::start(&scratch_dir("switch-hostile"), Some(TOKEN));
    let (numbers, mut received) = mpsc::unbounded_channel();
    let b = Edri::new()
        .connect_switch(switch.addr())
        .switch_token(TOKEN)
        .router_id("b")
        .manager(Collector { numbers })
        .start()
        .await
        .unwrap();
    // Router A's first two connections are damaged; it reconnects, and loses nothing.
    let proxy = TamperingProxy::start(switch.addr(), vec![Damage::Replay, Damage::FlipBit]).await;
    let a = Edri::new()
        .connect_switch(&proxy.addr)
        .switch_token(TOKEN)
        .router_id("a")
        .start()
        .await
        .unwrap();
    a.remote_subscriber::<Numbered>().await;
    let sending = {
        let a = a.clone();
        tokio::spawn(async move {
            for n in 1..=COUNT {
                a.notify(Numbered { n }).await.unwrap();
            }
        })
    };

    // Meanwhile, everything else that is wrong.
    let wrong = Edri::new()
        .connect_switch(switch.addr())
        .switch_token("not the secret, though just as long as the real one")
        .router_id("wrong")
        .start()
        .await
        .unwrap();
    let missing = Edri::new()
        .connect_switch(switch.addr())
        .router_id("missing")
        .start()
        .await
        .unwrap();
    closed_after(&switch.addr(), &noise(4096)).await;
    let mut framed_noise = 200u32.to_be_bytes().to_vec();
    framed_noise.extend_from_slice(&noise(200));
    closed_after(&switch.addr(), &framed_noise).await;
    closed_after(&switch.addr(), &u32::MAX.to_be_bytes()).await;
    let mut truncated = 100u32.to_be_bytes().to_vec();
    truncated.extend_from_slice(&noise(10));
    closed_after(&switch.addr(), &truncated).await;

    for expected in 1..=COUNT {
        let n = tokio::time::timeout(Duration::from_secs(60), received.recv())
            .await
            .expect("router B received nothing for a minute")
            .unwrap();
        assert_eq!(n, expected, "router B: out of order or twice");
    }
    sending.await.unwrap();
    assert_eq!(proxy.damaged.load(Ordering::SeqCst), 2);
    for report in [a.switch_report().unwrap(), b.switch_report().unwrap()] {
        assert_eq!(report.lost, 0, "{report:#?}");
        assert!(report.connected, "{report:#?}");
    }
    for refused in [
        wrong.switch_report().unwrap(),
        missing.switch_report().unwrap(),
    ] {
        assert!(!refused.connected, "{refused:#?}");
    }
    for edri in [a, b, wrong, missing] {
        edri.shutdown().await.unwrap();
    }
    assert_eq!(received.try_recv().ok(), None, "a number arrived twice");

    let log = switch.log();
    for reason in [
        "router `wrong` did not prove it knows the switch's secret",
        "router `missing` did not prove it knows the switch's secret",
        "not a hello message",
        "over the limit",
        "the connection ended in the middle of a frame",
        "has a bad authentication tag",
    ] {
        assert!(
            log.contains(reason),
            "the switch logged no `{reason}`:\n{log}"
        );
    }
    // The replay and the flipped bit each closed one of A's connections.
    let bad_tags = log.matches("has a bad authentication tag").count();
    assert_eq!(bad_tags, 2, "{log}");
}
