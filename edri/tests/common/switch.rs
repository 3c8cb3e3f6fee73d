//! The switch as a real child process, and a TCP proxy that damages connections on purpose.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::App;

/// A free port on loopback, for a switch that must come back on the same address.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `edri-switch`, built from this crate, run on a fixed port so that it can be restarted.
pub struct SwitchProcess {
    port: u16,
    token: Option<String>,
    log: PathBuf,
    app: Option<App>,
    restarts: usize,
}

impl SwitchProcess {
    /// Starts it on a free port, logging to `dir/switch.log`; waits until it listens.
    pub fn start(dir: &Path, token: Option<&str>) -> SwitchProcess {
        let mut switch = SwitchProcess {
            port: free_port(),
            token: token.map(str::to_owned),
            log: dir.join("switch.log"),
            app: None,
            restarts: 0,
        };
        switch.launch();
        switch
    }

    fn launch(&mut self) {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_edri-switch"));
        command
            .args(["--listen", &self.addr()])
            .env("RUST_LOG", "info")
            .env_remove("EDRI_SWITCH_TOKEN")
            .stderr(log);
        if let Some(token) = &self.token {
            command.env("EDRI_SWITCH_TOKEN", token);
        }
        let mut app = App::spawn(&mut command);
        app.line_containing("listening on", Duration::from_secs(20));
        self.app = Some(app);
    }

    /// Where routers connect.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn pid(&self) -> i32 {
        self.app.as_ref().expect("the switch runs").id() as i32
    }

    /// SIGKILL: no goodbye to anyone. Returns once the process is gone.
    pub fn kill(&mut self) {
        let mut app = self.app.take().expect("the switch runs");
        app.kill();
        app.wait();
    }

    /// Starts it again on the same address.
    pub fn restart(&mut self) {
        self.restarts += 1;
        self.launch();
    }

    /// SIGSTOP: the process stays, its sockets stay open, and nothing moves.
    pub fn freeze(&self) {
        assert_eq!(unsafe { libc::kill(self.pid(), libc::SIGSTOP) }, 0);
    }

    /// SIGCONT.
    pub fn thaw(&self) {
        assert_eq!(unsafe { libc::kill(self.pid(), libc::SIGCONT) }, 0);
    }

    /// Everything it logged, over every run.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// A TCP proxy in front of the switch that cuts each connection after a few kilobytes,
/// in the middle of whatever it was forwarding, until it has cut `cuts` times.
pub struct CuttingProxy {
    pub addr: String,
    pub cut: Arc<AtomicUsize>,
}

impl CuttingProxy {
    pub async fn start(upstream: String, cuts: usize) -> CuttingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let cut = Arc::new(AtomicUsize::new(0));
        let counter = cut.clone();
        tokio::spawn(async move {
            let mut connection = 0usize;
            while let Ok((client, _)) = listener.accept().await {
                connection += 1;
                let Ok(server) = TcpStream::connect(&upstream).await else {
                    continue;
                };
                let budget = (connection < 1000 && counter.load(Ordering::SeqCst) < cuts)
                    // Odd sizes, so that the cut lands inside a frame.
                    .then_some(20_000 + (connection * 7_919) % 50_000);
                tokio::spawn(forward(client, server, budget, counter.clone()));
            }
        });
        CuttingProxy { addr, cut }
    }
}

/// Forwards both ways; with a budget, drops both sockets once that many bytes have passed,
/// after forwarding only part of the chunk that crossed it.
async fn forward(
    client: TcpStream,
    server: TcpStream,
    budget: Option<usize>,
    cut: Arc<AtomicUsize>,
) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let passed = Arc::new(AtomicUsize::new(0));
    let up = pipe(&mut client_read, &mut server_write, budget, &passed);
    let down = pipe(&mut server_read, &mut client_write, budget, &passed);
    let cut_here = tokio::select! {
        cut_here = up => cut_here,
        cut_here = down => cut_here,
    };
    if cut_here {
        cut.fetch_add(1, Ordering::SeqCst);
    }
}

/// Copies until the end or the budget; `true` when it cut.
async fn pipe(
    from: &mut tokio::net::tcp::OwnedReadHalf,
    to: &mut tokio::net::tcp::OwnedWriteHalf,
    budget: Option<usize>,
    passed: &AtomicUsize,
) -> bool {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return false,
            Ok(read) => read,
        };
        let before = passed.fetch_add(read, Ordering::SeqCst);
        if let Some(budget) = budget {
            if before + read > budget {
                let part = budget.saturating_sub(before).min(read / 2).max(1);
                let _ = to.write_all(&buffer[..part]).await;
                return true;
            }
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return false;
        }
    }
}

/// A fresh directory for one test's files (the switch log, a spool).
pub fn scratch_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("edri-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
