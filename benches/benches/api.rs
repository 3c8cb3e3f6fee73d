//! `cargo bench --bench api`: REST greet requests per second and latency through edri's API
//! broker, against a plain axum handler doing the same work, driven by the same load generator
//! in the same run; and WebSocket round trips per second.
//!
//! The load generator is a minimal HTTP/1.1 keep-alive client (like `wrk`): each connection sends
//! `GET /greet/bench`, reads the whole answer, and sends again. Server and generator share the
//! process and its 2-thread tokio runtime, for both servers alike.
//!
//! Sizes: `BENCH_API_SECONDS` (default 5 per measurement), `BENCH_API_CONNECTIONS` (16).

use std::time::{Duration, Instant};

use edri::api::axum;
use edri::prelude::*;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

#[event(request, rest = "GET /greet/{name}")]
pub struct Greet {
    pub name: String,
    #[response]
    pub message: String,
}

#[derive(Default)]
pub struct Greeter;

#[manager]
impl Greeter {
    #[solve(req)]
    async fn greet(&mut self, event: Greet) -> GreetResponse {
        GreetResponse {
            message: format!("Hello, {}!", event.name),
        }
    }
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// The same answer edri gives, from a plain axum handler.
async fn plain_axum() -> std::net::SocketAddr {
    use axum::extract::Path;
    let app = axum::Router::new().route(
        "/greet/{name}",
        axum::routing::get(|Path(name): Path<String>| async move {
            axum::Json(serde_json::json!({
                "data": {"message": format!("Hello, {name}!")},
                "status": "OK",
            }))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// Reads one HTTP/1.1 response with a Content-Length body; returns its status code.
async fn read_response(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> u16 {
    buffer.clear();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the server closed the connection");
        buffer.extend_from_slice(&chunk[..n]);
        let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = std::str::from_utf8(&buffer[..end]).unwrap();
        let length: usize = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().unwrap())
            })
            .expect("a content-length");
        let status = head[9..12].parse().unwrap();
        while buffer.len() < end + 4 + length {
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the server closed the connection");
            buffer.extend_from_slice(&chunk[..n]);
        }
        return status;
    }
}

struct Load {
    requests: u64,
    seconds: f64,
    latencies: Vec<Duration>,
}

impl Load {
    fn per_second(&self) -> f64 {
        self.requests as f64 / self.seconds
    }

    fn percentile(&mut self, p: f64) -> Duration {
        self.latencies.sort_unstable();
        self.latencies[((self.latencies.len() - 1) as f64 * p).round() as usize]
    }
}

/// `connections` keep-alive connections asking `GET /greet/bench` for `seconds`.
async fn http_load(addr: std::net::SocketAddr, connections: u64, seconds: u64) -> Load {
    let request = format!("GET /greet/bench HTTP/1.1\r\nHost: {addr}\r\n\r\n").into_bytes();
    // Warm up: connections open, caches hot.
    let warm_until = Instant::now() + Duration::from_millis(500);
    let until = warm_until + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let request = request.clone();
            tokio::spawn(async move {
                let mut stream = TcpStream::connect(addr).await.unwrap();
                stream.set_nodelay(true).unwrap();
                let mut buffer = Vec::with_capacity(1024);
                let mut latencies = Vec::new();
                loop {
                    let start = Instant::now();
                    if start >= until {
                        break;
                    }
                    stream.write_all(&request).await.unwrap();
                    assert_eq!(read_response(&mut stream, &mut buffer).await, 200);
                    if start >= warm_until {
                        latencies.push(start.elapsed());
                    }
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    Load {
        requests: latencies.len() as u64,
        seconds: seconds as f64,
        latencies,
    }
}

/// `clients` WebSocket clients each sending `greet` commands one after another for `seconds`.
async fn ws_load(addr: std::net::SocketAddr, clients: u64, seconds: u64) -> Load {
    let warm_until = Instant::now() + Duration::from_millis(500);
    let until = warm_until + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            tokio::spawn(async move {
                let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/"))
                    .await
                    .unwrap();
                let frame = r#"{"command": "greet", "name": "bench"}"#;
                let mut latencies = Vec::new();
                loop {
                    let start = Instant::now();
                    if start >= until {
                        break;
                    }
                    socket.send(Message::text(frame)).await.unwrap();
                    loop {
                        match socket.next().await.unwrap().unwrap() {
                            Message::Text(text) => {
                                assert!(text.contains("Hello, bench!"), "{text}");
                                break;
                            }
                            _ => continue,
                        }
                    }
                    if start >= warm_until {
                        latencies.push(start.elapsed());
                    }
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    Load {
        requests: latencies.len() as u64,
        seconds: seconds as f64,
        latencies,
    }
}

fn micros(duration: Duration) -> String {
    format!("{:.0} us", duration.as_secs_f64() * 1e6)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let seconds = env("BENCH_API_SECONDS", 5);
        let connections = env("BENCH_API_CONNECTIONS", 16);
        let edri = Edri::new()
            .manager(Greeter)
            .start_api("127.0.0.1:0")
            .start()
            .await
            .unwrap();
        let edri_addr = edri.api_addr().unwrap();
        let axum_addr = plain_axum().await;

        // Alternate, so neither always runs on a warmer (or busier) machine.
        let mut axum_first = http_load(axum_addr, connections, seconds).await;
        let mut edri_rest = http_load(edri_addr, connections, seconds).await;
        let axum_second = http_load(axum_addr, connections, seconds).await;
        let axum_rate = (axum_first.per_second() + axum_second.per_second()) / 2.0;
        let mut ws_one = ws_load(edri_addr, 1, seconds).await;
        let mut ws_many = ws_load(edri_addr, connections, seconds).await;
        edri.shutdown().await.unwrap();

        println!();
        println!(
            "| workload ({connections} connections, {seconds} s each) | requests/s | p50 | p99 | vs plain axum |"
        );
        println!("|---|---:|---:|---:|---:|");
        println!(
            "| plain axum handler, REST greet | {:.0} (runs: {:.0}, {:.0}) | {} | {} | 1.00 |",
            axum_rate,
            axum_first.per_second(),
            axum_second.per_second(),
            micros(axum_first.percentile(0.5)),
            micros(axum_first.percentile(0.99)),
        );
        println!(
            "| edri API, REST greet | {:.0} | {} | {} | {:.2} |",
            edri_rest.per_second(),
            micros(edri_rest.percentile(0.5)),
            micros(edri_rest.percentile(0.99)),
            edri_rest.per_second() / axum_rate,
        );
        println!(
            "| edri API, WebSocket greet, 1 client | {:.0} | {} | {} | |",
            ws_one.per_second(),
            micros(ws_one.percentile(0.5)),
            micros(ws_one.percentile(0.99)),
        );
        println!(
            "| edri API, WebSocket greet, {connections} clients | {:.0} | {} | {} | |",
            ws_many.per_second(),
            micros(ws_many.percentile(0.5)),
            micros(ws_many.percentile(0.99)),
        );
    });
}
