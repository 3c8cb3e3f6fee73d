//! A router with a spool, SIGKILLed mid-stream and started again: what its spool held reaches
//! the other router exactly once, in order. Router A runs in a child process (this test binary
//! again, with `EDRI_TEST_SPOOL_APP` set); router B and the switch are real too.

mod common;

use std::process::Command;
use std::time::Duration;

use common::switch::{scratch_dir, SwitchProcess};
use common::App;
use edri::prelude::*;
use tokio::sync::mpsc;

#[event(notification, shared)]
pub struct Numbered {
    pub n: u64,
}

/// The number router A sends last, after it came back.
const LAST: u64 = u64::MAX;

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

/// Router A, in the child process. Its first run sends 1, 2, 3, ... and prints `kept N` when
/// the spool holds everything up to N; its second run sends only `LAST`, after whatever the
/// spool brought back.
#[test]
fn spool_app() {
    let Ok(mode) = std::env::var("EDRI_TEST_SPOOL_APP") else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let a = Edri::new()
            .connect_switch(std::env::var("EDRI_TEST_SWITCH").unwrap())
            .router_id("a")
            .switch_spool(std::env::var("EDRI_TEST_SPOOL").unwrap())
            .start()
            .await
            .unwrap();
        if mode == "again" {
            let report = a.switch_report().unwrap();
            let owed: usize = report.peers.iter().map(|peer| peer.unacknowledged).sum();
            println!("restored {owed}");
        }
        a.remote_subscriber::<Numbered>().await;
        if mode == "again" {
            a.notify(Numbered { n: LAST }).await.unwrap();
            println!("sent last");
            a.shutdown().await.unwrap();
            return;
        }
        for n in 1.. {
            a.notify(Numbered { n }).await.unwrap();
            if n % 500 == 0 {
                // Numbers are B's stream's sequence numbers here: `next_seq - 1` is the last
                // one the spool has committed.
                let report = a.switch_report().unwrap();
                let to_b = report.peers.iter().find(|peer| peer.router == "b").unwrap();
                println!("kept {}", to_b.next_seq - 1);
            }
        }
    });
}

fn router_a(switch: &str, spool: &std::path::Path, mode: &str) -> App {
    App::spawn(
        Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "spool_app", "--nocapture", "--test-threads=1"])
            .env("EDRI_TEST_SPOOL_APP", mode)
            .env("EDRI_TEST_SWITCH", switch)
            .env("EDRI_TEST_SPOOL", spool),
    )
}

/// The number in a `kept N` line.
fn kept(line: &str) -> u64 {
    let (_, number) = line.split_once("kept ").unwrap();
    number.trim().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_router_killed_mid_stream_delivers_what_its_spool_kept_exactly_once() {
    let dir = scratch_dir("switch-spool");
    let switch = SwitchProcess::start(&dir, None);
    let (numbers, mut received) = mpsc::unbounded_channel();
    let b = Edri::new()
        .connect_switch(switch.addr())
        .router_id("b")
        .manager(Collector { numbers })
        .start()
        .await
        .unwrap();
    let spool = dir.join("a.spool");

    let mut a = router_a(&switch.addr(), &spool, "first");
    let mut promised = 0;
    while promised < 20_000 {
        promised = kept(&a.line_containing("kept ", Duration::from_secs(60)));
    }
    // With the switch frozen, B acknowledges nothing more: what A spools now is owed when
    // it dies, and some of it may reach B twice (the frozen switch holds a copy).
    switch.freeze();
    let frozen_at = promised;
    while promised < frozen_at + 2_000 {
        promised = kept(&a.line_containing("kept ", Duration::from_secs(60)));
    }
    a.kill();
    a.wait();
    switch.thaw();
    // Lines it printed before it died count too.
    for line in a.rest(Duration::from_secs(10)) {
        if line.contains("kept ") {
            promised = promised.max(kept(&line));
        }
    }

    let mut again = router_a(&switch.addr(), &spool, "again");
    let restored: usize = again
        .line_containing("restored ", Duration::from_secs(20))
        .split_once("restored ")
        .unwrap()
        .1
        .trim()
        .parse()
        .unwrap();
    assert!(restored >= 2_000, "the spool brought back only {restored}");
    let mut expected = 1;
    loop {
        let n = tokio::time::timeout(Duration::from_secs(60), received.recv())
            .await
            .expect("router B received nothing for a minute")
            .unwrap();
        if n == LAST {
            break;
        }
        assert_eq!(n, expected, "router B: out of order or twice");
        expected += 1;
    }
    let delivered = expected - 1;
    assert!(
        delivered >= promised,
        "router A's spool kept up to {promised}, but B got only up to {delivered}"
    );
    again.line_containing("sent last", Duration::from_secs(10));
    assert_eq!(again.wait().code(), Some(0));

    let report = b.switch_report().unwrap();
    assert_eq!(report.lost, 0, "{report:#?}");
    b.shutdown().await.unwrap();
    assert_eq!(received.try_recv().ok(), None, "a number arrived twice");
}
