//! `edri-switch`: joins edri routers on several machines.
//!
//! ```text
//! edri-switch --listen 127.0.0.1:8899 --status 127.0.0.1:8898
//! EDRI_SWITCH_TOKEN=... edri-switch --listen 0.0.0.0:8899
//! EDRI_SWITCH_TOKEN=... edri-switch --listen 0.0.0.0:8899 --tls-cert chain.pem --tls-key key.pem
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use edri::switch::{Secret, Switch};

/// Relays shared events between edri routers, with nothing lost or doubled.
#[derive(Debug, Parser)]
#[command(name = "edri-switch", version)]
struct Args {
    /// Where routers connect. Without a secret, only a loopback address is accepted.
    #[arg(long, env = "EDRI_SWITCH_LISTEN", default_value = "127.0.0.1:8899")]
    listen: String,
    /// Serve `GET /status` (JSON) on this address.
    #[arg(long, env = "EDRI_SWITCH_STATUS")]
    status: Option<String>,
    /// A file of secrets, one per line (blank and `#` lines skipped): routers must know one.
    /// Wins over EDRI_SWITCH_TOKEN.
    #[arg(long, env = "EDRI_SWITCH_TOKEN_FILE")]
    token_file: Option<PathBuf>,
    /// Serve TLS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, env = "EDRI_SWITCH_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM) for --tls-cert.
    #[arg(long, env = "EDRI_SWITCH_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// The largest frame body accepted, in bytes.
    #[arg(long, default_value_t = edri::switch::DEFAULT_MAX_FRAME)]
    max_frame: usize,
}

fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("edri-switch: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut switch = Switch::new(&args.listen).max_frame(args.max_frame);
    let secrets = match (&args.token_file, std::env::var("EDRI_SWITCH_TOKEN")) {
        (Some(path), _) => Secret::from_file(path)?,
        (None, Ok(token)) if !token.is_empty() => vec![Secret::new(token.into_bytes())?],
        _ => Vec::new(),
    };
    for secret in secrets {
        switch = switch.secret(secret);
    }
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        switch = switch.tls(cert, key);
    }
    if let Some(status) = &args.status {
        switch = switch.status(status);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let running = switch.start().await?;
        println!("edri-switch listening on {}", running.addr());
        if let Some(status) = running.status_addr() {
            println!("edri-switch status on http://{status}/status");
        }
        let stop = edri::StopSignal::listen()?;
        stop.recv().await;
        running.shutdown().await;
        Ok(())
    })
}
