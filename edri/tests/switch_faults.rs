//! The switch's guarantee under faults, with the switch as a real child process: SIGKILL and
//! restart (once for longer than 20 s), connections cut mid-frame, a frozen switch, an outage
//! past the session timeout (an exact, reported loss), and a request answered across a restart.

mod common;

use std::time::Duration;

use common::switch::{scratch_dir, CuttingProxy, SwitchProcess};
use common::Gate;
use edri::prelude::*;
use edri::switch::Gap;
use tokio::sync::mpsc;
use tokio::task::block_in_place;

#[event(notification, shared)]
pub struct Numbered {
    pub n: u64,
}

#[event(request, shared)]
pub struct Square {
    pub value: u64,
    #[response]
    pub squared: u64,
}

/// Squares, but only once the test lets it through.
#[event(request, shared)]
pub struct HeldSquare {
    pub value: u64,
    #[response]
    pub squared: u64,
}

/// Router B's manager: passes on each number it gets, and squares.
pub struct Collector {
    numbers: mpsc::UnboundedSender<u64>,
    gate: Gate,
}

#[manager]
impl Collector {
    #[solve(req)]
    async fn numbered(&mut self, event: Numbered) {
        let _ = self.numbers.send(event.n);
    }

    #[solve(req)]
    async fn square(&mut self, event: Square) -> SquareResponse {
        SquareResponse {
            squared: event.value * event.value,
        }
    }

    #[solve(req)]
    async fn held_square(&mut self, event: HeldSquare) -> HeldSquareResponse {
        self.gate.pass().await;
        HeldSquareResponse {
            squared: event.value * event.value,
        }
    }
}

/// Router B, which subscribes to the shared events, and what its manager receives.
struct Receiving {
    edri: Handle,
    numbers: mpsc::UnboundedReceiver<u64>,
    gate: Gate,
}

impl Receiving {
    async fn start(switch: &str, configure: impl FnOnce(Edri) -> Edri) -> Receiving {
        let (numbers, received) = mpsc::unbounded_channel();
        let gate = Gate::default();
        let edri = configure(Edri::new())
            .connect_switch(switch)
            .router_id("b")
            .manager(Collector {
                numbers,
                gate: gate.clone(),
            })
            .start()
            .await
            .unwrap();
        Receiving {
            edri,
            numbers: received,
            gate,
        }
    }

    /// The next number B's manager got; fails the test if none comes within a minute (the
    /// longest outage here is 20 s).
    async fn next(&mut self) -> u64 {
        tokio::time::timeout(Duration::from_secs(60), self.numbers.recv())
            .await
            .expect("router B received nothing for a minute")
            .expect("router B stopped")
    }

    /// Takes `first..=last`, failing on the first number out of place.
    async fn expect(&mut self, first: u64, last: u64) {
        for expected in first..=last {
            assert_eq!(self.next().await, expected, "router B: out of order");
        }
    }
}

/// Router A, which sends, once it knows B subscribes.
async fn sender(switch: &str, configure: impl FnOnce(Edri) -> Edri) -> Handle {
    let edri = configure(Edri::new())
        .connect_switch(switch)
        .router_id("a")
        .start()
        .await
        .unwrap();
    edri.remote_subscriber::<Numbered>().await;
    edri
}

fn send_numbers(a: &Handle, numbers: std::ops::RangeInclusive<u64>) -> tokio::task::JoinHandle<()> {
    let a = a.clone();
    tokio::spawn(async move {
        for n in numbers {
            a.notify(Numbered { n }).await.unwrap();
        }
    })
}

/// Nothing was lost or refused on either side, and nothing more arrives.
async fn assert_clean(a: Handle, mut b: Receiving) {
    for report in [a.switch_report().unwrap(), b.edri.switch_report().unwrap()] {
        assert_eq!(report.lost, 0, "{report:#?}");
        assert_eq!(report.refused, 0, "{report:#?}");
        assert!(report.gaps.is_empty(), "{report:#?}");
    }
    a.shutdown().await.unwrap();
    b.edri.shutdown().await.unwrap();
    assert_eq!(b.numbers.try_recv().ok(), None, "a number arrived twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_cross_five_switch_kills_exactly_once_and_in_order() {
    const COUNT: u64 = 100_000;
    let mut switch = SwitchProcess::start(&scratch_dir("switch-kills"), None);
    let mut b = Receiving::start(&switch.addr(), |edri| edri).await;
    let a = sender(&switch.addr(), |edri| edri).await;
    let sending = send_numbers(&a, 1..=COUNT);

    let mut kills = 0;
    for expected in 1..=COUNT {
        assert_eq!(b.next().await, expected, "router B: out of order");
        // Kill it while A is still sending, at five points in the stream.
        if kills < 5 && expected == (kills + 1) * 15_000 {
            kills += 1;
            block_in_place(|| switch.kill());
            if kills == 3 {
                // The long outage: both routers keep trying; A's sends queue meanwhile.
                tokio::time::sleep(Duration::from_secs(20)).await;
            }
            block_in_place(|| switch.restart());
        }
    }
    assert_eq!(kills, 5);
    sending.await.unwrap();
    let resent = a.switch_report().unwrap().resent;
    assert!(resent > 0, "the kills cost nothing to resend: {resent}");
    assert_clean(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn connections_cut_mid_frame_again_and_again_lose_nothing() {
    const COUNT: u64 = 50_000;
    const CUTS: usize = 12;
    let switch = SwitchProcess::start(&scratch_dir("switch-cuts"), None);
    let proxy = CuttingProxy::start(switch.addr(), CUTS).await;
    let mut b = Receiving::start(&proxy.addr, |edri| edri).await;
    let a = sender(&proxy.addr, |edri| edri).await;
    let sending = send_numbers(&a, 1..=COUNT);
    b.expect(1, COUNT).await;
    sending.await.unwrap();
    // A and B connect through it at once, so one more may be cut than planned.
    let cut = proxy.cut.load(std::sync::atomic::Ordering::SeqCst);
    assert!(cut >= CUTS, "the proxy cut {cut} connections, not {CUTS}");
    assert_clean(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_switch_frozen_for_five_seconds_loses_nothing() {
    const COUNT: u64 = 20_000;
    let switch = SwitchProcess::start(&scratch_dir("switch-frozen"), None);
    let mut b = Receiving::start(&switch.addr(), |edri| edri).await;
    let a = sender(&switch.addr(), |edri| edri).await;
    let sending = send_numbers(&a, 1..=COUNT);
    b.expect(1, 5_000).await;
    switch.freeze();
    tokio::time::sleep(Duration::from_secs(5)).await;
    switch.thaw();
    b.expect(5_001, COUNT).await;
    sending.await.unwrap();
    assert_clean(a, b).await;
}

/// Waits until every router has acknowledged what `edri` sent it (no event announces that).
async fn until_acknowledged(edri: &Handle) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while edri
        .switch_report()
        .unwrap()
        .peers
        .iter()
        .any(|peer| peer.unacknowledged > 0)
    {
        assert!(tokio::time::Instant::now() < deadline, "not acknowledged");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_outage_past_the_session_timeout_is_a_loss_reported_exactly() {
    let timeout = |edri: Edri| edri.switch_session_timeout(Duration::from_secs(1));
    let mut switch = SwitchProcess::start(&scratch_dir("switch-timeout"), None);
    let mut b = Receiving::start(&switch.addr(), timeout).await;
    let a = sender(&switch.addr(), timeout).await;
    send_numbers(&a, 1..=10).await.unwrap();
    b.expect(1, 10).await;
    // B has them; once A knows it too, what A drops later is exactly what B never got.
    until_acknowledged(&a).await;

    block_in_place(|| switch.kill());
    // Queued for B while the switch is gone, and dropped when the session times out.
    send_numbers(&a, 11..=20).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while a.switch_report().unwrap().lost == 0 {
        assert!(tokio::time::Instant::now() < deadline, "no loss reported");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    block_in_place(|| switch.restart());
    a.remote_subscriber::<Numbered>().await;
    send_numbers(&a, 21..=30).await.unwrap();
    b.expect(21, 30).await;

    let gap = Gap {
        origin: "a".into(),
        destination: "b".into(),
        first: 11,
        last: 20,
        count: 10,
    };
    // The sender knows what it dropped; the receiver, what it never got.
    let sent = a.switch_report().unwrap();
    assert_eq!((sent.lost, &sent.gaps[..]), (10, &[gap.clone()][..]));
    let received = b.edri.switch_report().unwrap();
    assert_eq!((received.lost, &received.gaps[..]), (10, &[gap][..]));
    // And health shows it.
    let health = b.edri.health().await;
    assert_eq!(health.switch.unwrap().lost, 10);
    a.shutdown().await.unwrap();
    b.edri.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn requests_are_answered_across_a_switch_restart() {
    let mut switch = SwitchProcess::start(&scratch_dir("switch-requests"), None);
    let b = Receiving::start(&switch.addr(), |edri| edri).await;
    let a = sender(&switch.addr(), |edri| edri).await;
    a.remote_subscriber::<HeldSquare>().await;

    // Asked while the switch is down: the request waits in A's stream.
    block_in_place(|| switch.kill());
    let asking = {
        let a = a.clone();
        tokio::spawn(async move { a.ask(Square { value: 3 }).await })
    };
    block_in_place(|| switch.restart());
    assert_eq!(asking.await.unwrap().unwrap().squared, 9);

    // Answered while the switch is down: the answer waits in B's stream.
    let asking = {
        let a = a.clone();
        tokio::spawn(async move { a.ask(HeldSquare { value: 7 }).await })
    };
    b.gate.entered().await;
    block_in_place(|| switch.kill());
    b.gate.open();
    block_in_place(|| switch.restart());
    assert_eq!(asking.await.unwrap().unwrap().squared, 49);
    assert_clean(a, b).await;
}
