//! A panicking solver: its requester gets `Failure(Internal)` with the panic message, the
//! manager keeps serving, other managers are untouched, and the panic is counted.

use std::time::Duration;

use edri::prelude::*;

#[event(request)]
pub struct Explode {
    pub how: String,
}

#[event(request)]
pub struct ExplodeLater {}

#[event(request)]
pub struct Count {
    #[response]
    pub count: u32,
}

#[event(notification)]
pub struct ExplodeQuietly {}

#[derive(Default)]
pub struct Fragile {
    served: u32,
}

#[manager]
impl Fragile {
    #[solve(req)]
    async fn explode(&mut self, event: Explode) -> Result<(), Failure> {
        panic!("boom: {}", event.how);
    }

    #[solve(req)]
    async fn explode_later(&mut self, _event: ExplodeLater, reply: Responder<ExplodeLater>) {
        let _keep = reply;
        tokio::task::yield_now().await;
        panic!("boom while holding a responder");
    }

    #[solve(req)]
    fn explode_quietly(&mut self, _event: ExplodeQuietly) {
        panic!("boom in a notification");
    }

    #[solve(req)]
    async fn count(&mut self, _event: Count) -> CountResponse {
        self.served += 1;
        CountResponse { count: self.served }
    }
}

#[event(request)]
pub struct Healthy {}

#[derive(Default)]
pub struct Bystander;

#[manager]
impl Bystander {
    #[solve(req)]
    async fn healthy(&mut self, _event: Healthy) {}
}

/// Far longer than the failure of a panic takes: a request still unanswered by then was lost,
/// and fails the test (with `Timeout`, not `Internal`) within seconds instead of stalling it.
const LOST_AFTER: Duration = Duration::from_secs(5);

#[tokio::test]
async fn a_panic_fails_the_request_and_the_manager_keeps_serving() {
    let edri = Edri::new()
        .manager(Fragile::default())
        .manager(Bystander)
        .start()
        .await
        .unwrap();

    let failure = edri
        .ask_timeout(Explode { how: "loud".into() }, LOST_AFTER)
        .await
        .unwrap_err();
    assert_eq!(failure.status(), Status::Internal, "{failure}");
    assert_eq!(
        failure.message(),
        "the solver of `explode` panicked: boom: loud"
    );

    let failure = edri
        .ask_timeout(ExplodeLater {}, LOST_AFTER)
        .await
        .unwrap_err();
    assert_eq!(failure.status(), Status::Internal, "{failure}");
    assert_eq!(
        failure.message(),
        "the solver of `explode-later` panicked: boom while holding a responder"
    );

    edri.notify(ExplodeQuietly {}).await.unwrap();

    // Same manager, same state: it kept serving after three panics.
    assert_eq!(edri.ask(Count {}).await.unwrap().count, 1);
    assert_eq!(edri.ask(Count {}).await.unwrap().count, 2);
    edri.ask(Healthy {}).await.unwrap();

    let stats = edri.stats();
    let fragile = stats.iter().find(|s| s.name == "Fragile").unwrap();
    assert_eq!(fragile.panics, 3);
    assert_eq!(fragile.failed, 3);
    assert_eq!(fragile.processed, 5);
    let bystander = stats.iter().find(|s| s.name == "Bystander").unwrap();
    assert_eq!(
        (bystander.panics, bystander.failed, bystander.processed),
        (0, 0, 1)
    );
    edri.shutdown().await.unwrap();
}
