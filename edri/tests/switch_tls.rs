//! The switch over TLS (rustls): `edri-switch --tls-cert --tls-key`, routers with
//! `.switch_tls(ca)`. Events cross; a router that does not speak TLS, or does not trust the
//! switch's certificate, is refused with a logged reason on both sides.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::switch::{free_port, scratch_dir};
use common::App;
use edri::prelude::*;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
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

/// A CA, and a certificate for `127.0.0.1` signed by it; returns (CA, chain, key) paths.
fn certificates(dir: &Path, name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let paths = (
        dir.join(format!("{name}-ca.pem")),
        dir.join(format!("{name}-chain.pem")),
        dir.join(format!("{name}-key.pem")),
    );
    std::fs::write(&paths.0, ca.pem()).unwrap();
    std::fs::write(&paths.1, leaf.pem()).unwrap();
    std::fs::write(&paths.2, key.serialize_pem()).unwrap();
    paths
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_cross_a_tls_switch_and_wrong_clients_are_refused() {
    let dir = scratch_dir("switch-tls");
    let (ca, chain, key) = certificates(&dir, "switch");
    let (other_ca, _, _) = certificates(&dir, "other");
    let addr = format!("127.0.0.1:{}", free_port());
    let log = dir.join("switch.log");
    let mut switch = App::spawn(
        Command::new(env!("CARGO_BIN_EXE_edri-switch"))
            .args(["--listen", &addr, "--tls-cert"])
            .arg(&chain)
            .arg("--tls-key")
            .arg(&key)
            .env("EDRI_SWITCH_TOKEN", TOKEN)
            .stderr(std::fs::File::create(&log).unwrap()),
    );
    switch.line_containing("listening on", Duration::from_secs(20));

    let (numbers, mut received) = mpsc::unbounded_channel();
    let b = Edri::new()
        .connect_switch(&addr)
        .switch_token(TOKEN)
        .switch_tls(&ca)
        .router_id("b")
        .manager(Collector { numbers })
        .start()
        .await
        .unwrap();
    let a = Edri::new()
        .connect_switch(&addr)
        .switch_token(TOKEN)
        .switch_tls(&ca)
        .router_id("a")
        .start()
        .await
        .unwrap();
    a.remote_subscriber::<Numbered>().await;
    for n in 1..=1_000 {
        a.notify(Numbered { n }).await.unwrap();
    }
    for expected in 1..=1_000 {
        assert_eq!(received.recv().await.unwrap(), expected);
    }
    assert!(a.switch_report().unwrap().switch.ends_with("(TLS)"));

    // Plain TCP to a TLS switch, and TLS that trusts another CA: neither gets in.
    let plain = Edri::new()
        .connect_switch(&addr)
        .switch_token(TOKEN)
        .router_id("plain")
        .start()
        .await
        .unwrap();
    let distrustful = Edri::new()
        .connect_switch(&addr)
        .switch_token(TOKEN)
        .switch_tls(&other_ca)
        .router_id("distrustful")
        .start()
        .await
        .unwrap();
    // The switch logs one refusal for each (and nothing else it would refuse arrives).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let logged = std::fs::read_to_string(&log).unwrap();
        if logged.matches("TLS handshake failed").count() >= 2 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{logged}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for refused in [&plain, &distrustful] {
        assert!(!refused.switch_report().unwrap().connected);
    }
    for edri in [a, b, plain, distrustful] {
        edri.shutdown().await.unwrap();
    }
}

#[test]
fn a_half_tls_configuration_is_a_usage_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_edri-switch"))
        .args(["--tls-cert", "chain.pem"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--tls-key"), "{stderr}");
}

#[test]
fn a_missing_certificate_fails_startup_naming_the_file() {
    let output = Command::new(env!("CARGO_BIN_EXE_edri-switch"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            "/nonexistent/chain.pem",
        ])
        .args(["--tls-key", "/nonexistent/key.pem"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/nonexistent/chain.pem"), "{stderr}");
}
