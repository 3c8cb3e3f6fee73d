//! A notification nobody subscribes to is kept for a bounded window and delivered to the first
//! manager that subscribes within it.

use std::time::Duration;

use edri::prelude::*;
use tokio::sync::mpsc;

#[event(notification)]
pub struct Early {
    pub n: u32,
}

/// Marks the end of what a test sends, so it can tell "not delivered" from "not yet".
#[event(notification)]
pub struct Marker {}

pub struct Late {
    seen: mpsc::UnboundedSender<Option<u32>>,
}

#[manager]
impl Late {
    #[solve(req)]
    async fn early(&mut self, event: Early) {
        let _ = self.seen.send(Some(event.n));
    }

    #[solve(req)]
    async fn marker(&mut self, _event: Marker) {
        let _ = self.seen.send(None);
    }
}

/// What `Late` received before the marker. Bounded: a marker that never comes fails the test
/// instead of stalling it (on a paused clock, as soon as nothing else is left to run).
async fn received_until_marker(seen: &mut mpsc::UnboundedReceiver<Option<u32>>) -> Vec<u32> {
    let mut got = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(5), seen.recv()).await {
            Ok(Some(Some(n))) => got.push(n),
            Ok(Some(None)) => return got,
            Ok(None) => panic!("`Late` stopped before the marker, after {got:?}"),
            Err(_) => panic!("no marker within 5 s, after {got:?}"),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_late_subscriber_within_the_window_gets_the_kept_notifications_in_order() {
    let edri = Edri::new()
        .cache_timeout(Duration::from_secs(30))
        .start()
        .await
        .unwrap();
    for n in 1..=3 {
        edri.notify(Early { n }).await.unwrap();
    }
    tokio::time::advance(Duration::from_secs(29)).await;

    let (seen, mut received) = mpsc::unbounded_channel();
    edri.add_manager(Late { seen }).await.unwrap();
    edri.notify(Early { n: 4 }).await.unwrap();
    edri.notify(Marker {}).await.unwrap();
    assert_eq!(received_until_marker(&mut received).await, [1, 2, 3, 4]);
    edri.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_late_subscriber_outside_the_window_gets_nothing_old() {
    let edri = Edri::new()
        .cache_timeout(Duration::from_secs(30))
        .start()
        .await
        .unwrap();
    edri.notify(Early { n: 1 }).await.unwrap();
    tokio::time::advance(Duration::from_secs(31)).await;

    let (seen, mut received) = mpsc::unbounded_channel();
    edri.add_manager(Late { seen }).await.unwrap();
    edri.notify(Marker {}).await.unwrap();
    assert_eq!(received_until_marker(&mut received).await, [] as [u32; 0]);
    edri.shutdown().await.unwrap();
}

#[tokio::test]
async fn only_the_first_subscriber_gets_kept_notifications() {
    let edri = Edri::new().start().await.unwrap();
    edri.notify(Early { n: 7 }).await.unwrap();
    let mut first = edri.subscribe::<Early>();
    let (seen, mut received) = mpsc::unbounded_channel();
    edri.add_manager(Late { seen }).await.unwrap();
    edri.notify(Marker {}).await.unwrap();

    assert_eq!(first.recv().await.unwrap().n, 7);
    assert_eq!(received_until_marker(&mut received).await, [] as [u32; 0]);
    edri.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_cache_is_bounded_and_drops_the_oldest() {
    let edri = Edri::new().cache_size(2).start().await.unwrap();
    for n in 1..=5 {
        edri.notify(Early { n }).await.unwrap();
    }
    let (seen, mut received) = mpsc::unbounded_channel();
    edri.add_manager(Late { seen }).await.unwrap();
    edri.notify(Marker {}).await.unwrap();
    assert_eq!(received_until_marker(&mut received).await, [4, 5]);
    edri.shutdown().await.unwrap();
}
