//! `cargo bench --bench api`: edri's API broker against plain axum, each server in a process of
//! its own, driven by one load generator in the bench process.
//!
//! Servers under test, each a child process (this same executable re-run with
//! `BENCH_API_SERVE=<kind>`, which prints its port on stdout and serves on a 2-worker tokio
//! runtime until its stdin closes):
//!
//! - `edri`: an edri system whose `Greeter` manager solves
//!   `#[event(request, rest = "GET /greet/{name}")] Greet`, serving the API: the REST route and,
//!   at `/`, the WebSocket command `greet`;
//! - `axum`: a plain axum handler answering `GET /greet/{name}` with the same JSON;
//! - `axum-ws`: a plain axum WebSocket (axum's `ws`, which is tokio-tungstenite, as edri's is)
//!   that parses each text frame as a JSON object and answers the frame with `response` added,
//!   the shape edri answers a command with (docs/api.md, "Commands").
//!
//! Why separate processes: with server and generator in one runtime, the generator's work and
//! the server's were mixed on the same two workers, and the server's CPU could not be told from
//! the generator's. Now each server's CPU time per request is read from `/proc/<pid>/stat`
//! (utime + stime) at the start and the end of the measured window, which is the figure that
//! does not depend on how the two cores are shared: the requests per second do (server and
//! generator still share the machine's 2 cores).
//!
//! The load generator is a minimal HTTP/1.1 keep-alive client (like `wrk`): each connection sends
//! `GET /greet/bench`, reads the whole answer, and sends again. WebSocket clients send
//! `{"command": "greet", "name": "bench"}` frames one after another and wait for each answer.
//! Every window opens its connections, warms up for 0.5 s, then measures for
//! `BENCH_API_SECONDS`. The systems are interleaved (edri, axum, edri, axum, ...; the order of
//! each pair flips every repetition) and the table gives medians over the repetitions.
//!
//! Sizes: `BENCH_API_SECONDS` (default 5 per window), `BENCH_API_CONNECTIONS` (16),
//! `BENCH_API_REPETITIONS` (3).

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
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

/// Set in a child's environment to make this executable serve instead of measure.
const SERVE_ENV: &str = "BENCH_API_SERVE";
/// The line a serving child prints on stdout once it listens, followed by its port.
const PORT_LINE: &str = "bench-api-port ";
/// The WebSocket command frame both WebSocket servers get.
const WS_FRAME: &str = r#"{"command": "greet", "name": "bench"}"#;
/// How long each window's connections warm up before the measurement starts.
const WARM_UP: Duration = Duration::from_millis(500);

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn main() {
    match std::env::var(SERVE_ENV) {
        Ok(kind) => serve(&kind),
        Err(_) => bench(),
    }
}

// ------------------------------------------------------------------------------------------
// The servers (child processes)
// ------------------------------------------------------------------------------------------

/// Child mode: starts the server `kind` on a 2-worker runtime, prints its port, and serves until
/// stdin reaches its end, which happens when the parent closes its end of the pipe or dies,
/// however it dies (the parent also kills the child; this is the second line of defence).
fn serve(kind: &str) {
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("the server's tokio runtime");
    runtime.block_on(async {
        // Keeps edri's system alive while serving.
        let mut _edri = None;
        let addr = match kind {
            "edri" => {
                let edri = Edri::new()
                    .manager(Greeter)
                    .start_api("127.0.0.1:0")
                    .start()
                    .await
                    .expect("edri starts with its API");
                let addr = edri.api_addr().expect("edri's API address");
                _edri = Some(edri);
                addr
            }
            "axum" => serve_axum(rest_router()).await,
            "axum-ws" => serve_axum(ws_router()).await,
            other => panic!("{SERVE_ENV}={other}: expected edri, axum or axum-ws"),
        };
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{PORT_LINE}{}", addr.port()).expect("stdout");
        stdout.flush().expect("stdout");
        drop(stdout);
        std::future::pending::<()>().await
    });
}

/// Serves `app` on a free port of 127.0.0.1 with `axum::serve`.
async fn serve_axum(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("axum serves") });
    addr
}

/// The same answer edri gives to `GET /greet/{name}`, from a plain axum handler.
fn rest_router() -> axum::Router {
    use axum::extract::Path;
    axum::Router::new().route(
        "/greet/{name}",
        axum::routing::get(|Path(name): Path<String>| async move {
            axum::Json(serde_json::json!({
                "data": {"message": format!("Hello, {name}!")},
                "status": "OK",
            }))
        }),
    )
}

/// A plain WebSocket at `/` answering edri's `greet` command as edri does.
fn ws_router() -> axum::Router {
    use axum::extract::ws::WebSocketUpgrade;
    axum::Router::new().route(
        "/",
        axum::routing::get(|upgrade: WebSocketUpgrade| async move { upgrade.on_upgrade(ws_greet) }),
    )
}

/// One frame at a time: parse the text frame as a JSON object (as edri does, to read the
/// command and its parameters), and answer with the same object plus
/// `"response": {"data": {"message": "Hello, <name>!"}, "status": "OK"}`, serialized from the
/// same `serde_json::Map`, so the answer has edri's shape and size.
async fn ws_greet(mut socket: axum::extract::ws::WebSocket) {
    use axum::extract::ws::Message;
    use serde_json::{json, Map, Value};
    while let Some(Ok(message)) = socket.recv().await {
        let text = match message {
            Message::Text(text) => text,
            Message::Close(_) => break,
            _ => continue,
        };
        let Ok(mut frame) = serde_json::from_str::<Map<String, Value>>(text.as_str()) else {
            eprintln!("axum-ws: not a JSON object: {}", text.as_str());
            break;
        };
        let name = frame.get("name").and_then(Value::as_str).unwrap_or("");
        let response = json!({"data": {"message": format!("Hello, {name}!")}, "status": "OK"});
        frame.insert("response".to_owned(), response);
        let answer = serde_json::to_string(&frame).expect("a map serializes");
        if socket.send(Message::text(answer)).await.is_err() {
            break;
        }
    }
}

/// A running server child. Dropping it (at the end of the bench, or while a panic unwinds)
/// kills the child and reaps it.
struct Server {
    kind: &'static str,
    child: Child,
    addr: SocketAddr,
    /// Our end of the child's stdin: the child exits when it closes, even if we are killed.
    _stdin: ChildStdin,
}

impl Server {
    /// Re-runs this executable as the server `kind` and waits (up to 60 s) for its port.
    fn start(kind: &'static str) -> Server {
        let exe = std::env::current_exe().expect("the bench executable's path");
        let mut child = Command::new(exe)
            .env(SERVE_ENV, kind)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start the {kind} server: {error}"));
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        // Guard first, so that the child is killed even if it never reports its port.
        let mut server = Server {
            kind,
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            _stdin: stdin,
        };
        // A thread reads the child's stdout: the port line, then anything else the child prints
        // (passed on to stderr, so that the pipe never fills and blocks the child).
        let (port_sender, port_receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                match line.strip_prefix(PORT_LINE) {
                    Some(port) => {
                        let _ = port_sender.send(port.trim().parse::<u16>());
                    }
                    None => eprintln!("[{kind} server] {line}"),
                }
            }
        });
        let port = match port_receiver.recv_timeout(Duration::from_secs(60)) {
            Ok(Ok(port)) => port,
            Ok(Err(error)) => panic!("the {kind} server printed a bad port: {error}"),
            Err(_) => panic!(
                "the {kind} server exited or did not print its port within 60 s (status: {:?})",
                server.child.try_wait()
            ),
        };
        server.addr = SocketAddr::from(([127, 0, 0, 1], port));
        eprintln!(
            "{kind} server: pid {}, listening on {}",
            server.child.id(),
            server.addr
        );
        server
    }

    /// The child's CPU time so far, user + system, in clock ticks.
    fn cpu_ticks(&self) -> u64 {
        cpu_ticks(&format!("/proc/{}/stat", self.child.id()))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// utime + stime (fields 14 and 15 of `proc_pid_stat(5)`) in clock ticks. The command name
/// (field 2) is in parentheses and may hold spaces, so the fields are counted after its `)`.
fn cpu_ticks(path: &str) -> u64 {
    let stat = std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{path}: {error}"));
    let after_name = &stat[stat.rfind(')').expect("a command name in parentheses") + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // `fields[0]` is field 3 (the state), so field n is `fields[n - 3]`.
    let field = |n: usize| -> u64 {
        fields[n - 3]
            .parse()
            .unwrap_or_else(|error| panic!("{path}: field {n}: {error}"))
    };
    field(14) + field(15)
}

/// Clock ticks per second, for `/proc/<pid>/stat`'s CPU times (100 on Linux in practice).
fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        eprintln!("sysconf(_SC_CLK_TCK) failed; assuming 100 ticks per second");
        100.0
    }
}

// ------------------------------------------------------------------------------------------
// The load generator
// ------------------------------------------------------------------------------------------

/// Reads one HTTP/1.1 response with a Content-Length body into `buffer` (head and body);
/// returns its status code and where the body starts.
async fn read_response(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> (u16, usize) {
    buffer.clear();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await.expect("read from the server");
        assert!(n > 0, "the server closed the connection");
        buffer.extend_from_slice(&chunk[..n]);
        let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = std::str::from_utf8(&buffer[..end]).expect("an ASCII response head");
        let length: usize = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().expect("a numeric content-length"))
            })
            .expect("a content-length");
        let status = head[9..12].parse().expect("a status code");
        while buffer.len() < end + 4 + length {
            let n = stream.read(&mut chunk).await.expect("read from the server");
            assert!(n > 0, "the server closed the connection");
            buffer.extend_from_slice(&chunk[..n]);
        }
        return (status, end + 4);
    }
}

fn http_request(addr: SocketAddr) -> Vec<u8> {
    format!("GET /greet/bench HTTP/1.1\r\nHost: {addr}\r\n\r\n").into_bytes()
}

/// Which workload a window runs.
#[derive(Clone, Copy)]
enum Workload {
    /// Keep-alive `GET /greet/bench`.
    Rest,
    /// WebSocket `greet` commands.
    Ws,
}

/// A client connection's work, to spawn: the latencies of its measured requests.
type ClientFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Vec<Duration>> + Send>>;

/// One client connection: requests one after another until `until`; the latencies of those
/// that started at or after `warm_until`.
fn client(
    workload: Workload,
    addr: SocketAddr,
    warm_until: Instant,
    until: Instant,
) -> ClientFuture {
    match workload {
        Workload::Rest => Box::pin(async move {
            let request = http_request(addr);
            let mut stream = TcpStream::connect(addr).await.expect("connect");
            stream.set_nodelay(true).expect("TCP_NODELAY");
            let mut buffer = Vec::with_capacity(1024);
            let mut latencies = Vec::new();
            loop {
                let start = Instant::now();
                if start >= until {
                    break;
                }
                stream.write_all(&request).await.expect("write a request");
                assert_eq!(read_response(&mut stream, &mut buffer).await.0, 200);
                if start >= warm_until {
                    latencies.push(start.elapsed());
                }
            }
            latencies
        }),
        Workload::Ws => Box::pin(async move {
            let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/"))
                .await
                .expect("WebSocket handshake");
            let mut latencies = Vec::new();
            loop {
                let start = Instant::now();
                if start >= until {
                    break;
                }
                socket
                    .send(Message::text(WS_FRAME))
                    .await
                    .expect("send a frame");
                loop {
                    match socket.next().await.expect("an answer").expect("a frame") {
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
        }),
    }
}

/// Sleeps until `deadline`, but fails at once if a client panics before it (the server died,
/// or answered wrongly), rather than noticing only at the end of the window. A client that
/// finishes normally (its loop saw the end of the window a moment before tokio's timer, whose
/// resolution is a millisecond, woke us) has its latencies kept in `finished`.
async fn wait_until(
    tasks: &mut tokio::task::JoinSet<Vec<Duration>>,
    finished: &mut Vec<Duration>,
    deadline: Instant,
) {
    let sleep = tokio::time::sleep_until(deadline.into());
    tokio::pin!(sleep);
    loop {
        tokio::select! {
            _ = &mut sleep => return,
            Some(result) = tasks.join_next() => finished.extend(unwrap_client(result)),
        }
    }
}

/// A client's latencies, or its panic passed on.
fn unwrap_client(result: Result<Vec<Duration>, tokio::task::JoinError>) -> Vec<Duration> {
    match result {
        Ok(latencies) => latencies,
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        Err(error) => panic!("a client task failed: {error}"),
    }
}

/// One measured window against one server.
#[derive(Clone, Copy, Debug)]
struct Sample {
    per_second: f64,
    p50_us: f64,
    p99_us: f64,
    /// The server's CPU time (user + system) per request, in microseconds.
    server_cpu_us: f64,
    /// The load generator's (this process's) CPU time per request, in microseconds.
    client_cpu_us: f64,
}

/// `clients` connections run `workload` against `server`: connect and warm up for
/// [`WARM_UP`], then `seconds` measured. The CPU times of the server and of this process are
/// read when the measured window opens and when it closes.
async fn window(
    server: &Server,
    workload: Workload,
    clients: u64,
    seconds: u64,
    ticks_per_second: f64,
) -> Sample {
    let warm_until = Instant::now() + WARM_UP;
    let until = warm_until + Duration::from_secs(seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        tasks.spawn(client(workload, server.addr, warm_until, until));
    }
    let mut latencies = Vec::new();
    wait_until(&mut tasks, &mut latencies, warm_until).await;
    let server_before = server.cpu_ticks();
    let client_before = cpu_ticks("/proc/self/stat");
    wait_until(&mut tasks, &mut latencies, until).await;
    let server_after = server.cpu_ticks();
    let client_after = cpu_ticks("/proc/self/stat");
    while let Some(result) = tasks.join_next().await {
        latencies.extend(unwrap_client(result));
    }
    assert!(!latencies.is_empty(), "no request completed in the window");
    latencies.sort_unstable();
    let percentile =
        |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e6;
    let requests = latencies.len() as f64;
    let cpu_us = |ticks: u64| ticks as f64 / ticks_per_second * 1e6 / requests;
    Sample {
        per_second: requests / seconds as f64,
        p50_us: percentile(0.5),
        p99_us: percentile(0.99),
        server_cpu_us: cpu_us(server_after - server_before),
        client_cpu_us: cpu_us(client_after - client_before),
    }
}

// ------------------------------------------------------------------------------------------
// Checking that both servers of a pair answer alike
// ------------------------------------------------------------------------------------------

/// One REST answer: the whole response's size and its body.
async fn rest_once(addr: SocketAddr) -> (usize, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(&http_request(addr))
        .await
        .expect("write a request");
    let mut buffer = Vec::new();
    let (status, body) = read_response(&mut stream, &mut buffer).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&buffer));
    (buffer.len(), buffer[body..].to_vec())
}

/// One WebSocket answer to [`WS_FRAME`].
async fn ws_once(addr: SocketAddr) -> Vec<u8> {
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/"))
        .await
        .expect("WebSocket handshake");
    socket
        .send(Message::text(WS_FRAME))
        .await
        .expect("send a frame");
    loop {
        if let Message::Text(text) = socket.next().await.expect("an answer").expect("a frame") {
            return text.as_bytes().to_vec();
        }
    }
}

/// Compares two answers as JSON; a difference is reported loudly, since the comparison of the
/// two servers is only fair if they do the same work.
fn compare(what: &str, edri: &[u8], baseline: &[u8]) {
    let parse = |bytes: &[u8]| serde_json::from_slice::<serde_json::Value>(bytes).ok();
    eprintln!(
        "{what}: edri answers {} bytes: {}",
        edri.len(),
        String::from_utf8_lossy(edri)
    );
    eprintln!(
        "{what}: baseline answers {} bytes: {}",
        baseline.len(),
        String::from_utf8_lossy(baseline)
    );
    if parse(edri).is_none() || parse(edri) != parse(baseline) {
        eprintln!("WARNING: {what}: the two answers differ; the comparison is not like for like");
    }
}

// ------------------------------------------------------------------------------------------
// The bench
// ------------------------------------------------------------------------------------------

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// A row of the table: one server under one workload, with its samples over the repetitions.
struct Row {
    label: String,
    server: usize,
    workload: Workload,
    clients: u64,
    samples: Vec<Sample>,
}

impl Row {
    fn median(&self, field: impl Fn(&Sample) -> f64) -> f64 {
        median(self.samples.iter().map(field).collect())
    }
}

fn bench() {
    let seconds = env("BENCH_API_SECONDS", 5).max(1);
    let connections = env("BENCH_API_CONNECTIONS", 16).max(1);
    let repetitions = env("BENCH_API_REPETITIONS", 3).max(1) as usize;
    let ticks_per_second = clock_ticks_per_second();

    // Owned here, outside the runtime, so that they are dropped (and the children killed) when
    // `main` returns or unwinds.
    let servers = [
        Server::start("edri"),
        Server::start("axum"),
        Server::start("axum-ws"),
    ];
    let [edri, axum_rest, axum_ws] = [0, 1, 2];

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("the load generator's tokio runtime");
    let rows = runtime.block_on(async {
        let (edri_size, edri_body) = rest_once(servers[edri].addr).await;
        let (axum_size, axum_body) = rest_once(servers[axum_rest].addr).await;
        compare("REST greet body", &edri_body, &axum_body);
        eprintln!("REST greet, whole response (head + body): edri {edri_size} bytes, axum {axum_size} bytes");
        let edri_frame = ws_once(servers[edri].addr).await;
        let axum_frame = ws_once(servers[axum_ws].addr).await;
        compare("WebSocket greet frame", &edri_frame, &axum_frame);

        // Pairs of rows measured one after the other: edri first, then its baseline.
        let row = |label: String, server, workload, clients| Row {
            label,
            server,
            workload,
            clients,
            samples: Vec::new(),
        };
        let mut pairs = vec![
            [
                row("edri API, REST greet".into(), edri, Workload::Rest, connections),
                row("plain axum, REST greet".into(), axum_rest, Workload::Rest, connections),
            ],
            [
                row(format!("edri API, WebSocket greet, {connections} clients"), edri, Workload::Ws, connections),
                row(format!("axum + tungstenite WebSocket, {connections} clients"), axum_ws, Workload::Ws, connections),
            ],
        ];
        if connections > 1 {
            pairs.push([
                row("edri API, WebSocket greet, 1 client".into(), edri, Workload::Ws, 1),
                row("axum + tungstenite WebSocket, 1 client".into(), axum_ws, Workload::Ws, 1),
            ]);
        }
        eprintln!(
            "plan: {repetitions} repetitions of {} windows of {WARM_UP:?} warm-up + {seconds} s; \
             servers in child processes (2 tokio workers each), load generator here (2 workers); \
             CPU from /proc/<pid>/stat at {ticks_per_second} ticks/s",
            pairs.len() * 2
        );
        for repetition in 0..repetitions {
            for pair in &mut pairs {
                // Flip the order each repetition, so neither side always runs second.
                let order = if repetition % 2 == 0 { [0, 1] } else { [1, 0] };
                for index in order {
                    let row = &mut pair[index];
                    let server = &servers[row.server];
                    let sample =
                        window(server, row.workload, row.clients, seconds, ticks_per_second).await;
                    eprintln!(
                        "repetition {}/{repetitions}: {:>46} ({}): {:8.0}/s  p50 {:6.0} us  p99 {:6.0} us  \
                         server CPU {:5.1} us/req  generator CPU {:5.1} us/req",
                        repetition + 1,
                        row.label,
                        server.kind,
                        sample.per_second,
                        sample.p50_us,
                        sample.p99_us,
                        sample.server_cpu_us,
                        sample.client_cpu_us,
                    );
                    row.samples.push(sample);
                }
            }
        }
        pairs
    });
    drop(runtime);
    drop(servers);
    print_tables(&rows, connections, seconds, repetitions);
}

fn print_tables(pairs: &[[Row; 2]], connections: u64, seconds: u64, repetitions: usize) {
    println!();
    println!(
        "Each server in its own process; {connections} connections unless said; {seconds} s \
         per window after a 0.5 s warm-up; median of {repetitions} repetitions (requests/s: \
         lowest..highest). CPU per request: the process's user + system time over the window \
         (`/proc/<pid>/stat`) / requests."
    );
    println!();
    println!(
        "| server, workload | requests/s | p50 | p99 | server CPU per request | load generator CPU per request |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for row in pairs.iter().flatten() {
        let rates: Vec<f64> = row.samples.iter().map(|s| s.per_second).collect();
        let lowest = rates.iter().cloned().fold(f64::INFINITY, f64::min);
        let highest = rates.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        println!(
            "| {} | **{:.0}** ({lowest:.0}..{highest:.0}) | {:.0} us | {:.0} us | {:.1} us | {:.1} us |",
            row.label,
            row.median(|s| s.per_second),
            row.median(|s| s.p50_us),
            row.median(|s| s.p99_us),
            row.median(|s| s.server_cpu_us),
            row.median(|s| s.client_cpu_us),
        );
    }

    println!();
    println!("| edri / baseline, ratio of the medians | ratio | target | met |");
    println!("|---|---:|---:|---|");
    let ratio_line = |label: &str, ratio: f64, target: Option<(bool, f64)>| {
        let (target, met) = match target {
            Some((at_least, limit)) => {
                let met = if at_least {
                    ratio >= limit
                } else {
                    ratio <= limit
                };
                (
                    format!("{} {limit:.2}", if at_least { ">=" } else { "<=" }),
                    if met { "yes" } else { "**no**" },
                )
            }
            None => (String::new(), ""),
        };
        println!("| {label} | {ratio:.2} | {target} | {met} |");
    };
    let rate = |row: &Row| row.median(|s| s.per_second);
    let cpu = |row: &Row| row.median(|s| s.server_cpu_us);
    let [edri_rest, axum_rest] = &pairs[0];
    ratio_line(
        "REST greet, requests/s, edri / axum",
        rate(edri_rest) / rate(axum_rest),
        Some((true, 0.9)),
    );
    ratio_line(
        "REST greet, server CPU per request, edri / axum",
        cpu(edri_rest) / cpu(axum_rest),
        Some((false, 1.2)),
    );
    let [edri_ws, axum_ws] = &pairs[1];
    ratio_line(
        &format!("WebSocket greet, messages/s, {connections} clients, edri / axum-ws"),
        rate(edri_ws) / rate(axum_ws),
        Some((true, 0.9)),
    );
    ratio_line(
        &format!("WebSocket greet, server CPU per message, {connections} clients, edri / axum-ws"),
        cpu(edri_ws) / cpu(axum_ws),
        None,
    );
    if let Some([edri_one, axum_one]) = pairs.get(2) {
        ratio_line(
            "WebSocket greet, messages/s, 1 client, edri / axum-ws",
            rate(edri_one) / rate(axum_one),
            None,
        );
        ratio_line(
            "WebSocket greet, server CPU per message, 1 client, edri / axum-ws",
            cpu(edri_one) / cpu(axum_one),
            None,
        );
    }
}
