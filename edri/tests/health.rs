//! Health: every manager answers `HealthCheck`; silence turns WARNING then ERROR; a nearly full
//! queue marks a slow consumer; a manager's own solver can adjust its status.

mod common;

use std::time::Duration;

use common::Gate;
use edri::events::router::{Health, HealthCheck, HealthStatus};
use edri::prelude::*;

#[event(notification)]
pub struct Block {}

#[event(notification)]
pub struct Work {}

#[event(request)]
pub struct Explode {}

/// Blocks on `Block` until the test opens its gate.
pub struct Sleepy {
    gate: Gate,
}

#[manager(capacity = 10)]
impl Sleepy {
    #[solve(req)]
    async fn block(&mut self, _event: Block) {
        self.gate.pass().await;
    }

    #[solve(req)]
    async fn work(&mut self, _event: Work) {}
}

#[derive(Default)]
pub struct Lively;

#[manager]
impl Lively {
    #[solve(req)]
    async fn explode(&mut self, _event: Explode) {
        panic!("boom");
    }
}

/// Reports WARNING through its own `HealthCheck` solver.
pub struct Picky;

#[manager]
impl Picky {
    #[solve(req)]
    async fn health_check(&mut self, _check: HealthCheck, ctx: &Context) -> Health {
        ctx.health()
            .with_status(HealthStatus::Warning, "the disk is nearly full")
    }
}

const PERIOD: Duration = Duration::from_secs(10);

#[tokio::test(start_paused = true)]
async fn every_manager_answers_health_check_with_its_counts() {
    let gate = Gate::default();
    let edri = Edri::new()
        .manager(Sleepy { gate: gate.clone() })
        .manager(Lively)
        .start()
        .await
        .unwrap();
    for _ in 0..3 {
        edri.notify(Work {}).await.unwrap();
    }
    let mut answers: Vec<Health> = edri
        .gather(HealthCheck {}, Duration::from_secs(1))
        .await
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    answers.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(answers.len(), 2);
    assert_eq!(answers[0].name, "Lively");
    assert_eq!(answers[1].name, "Sleepy");
    assert_eq!(answers[1].processed, 3);
    assert_eq!(answers[1].queue_capacity, 10);
    assert_eq!(answers[1].status, HealthStatus::Ok);

    // Counts are since the previous check.
    let again = edri
        .gather(HealthCheck {}, Duration::from_secs(1))
        .await
        .unwrap();
    let sleepy = again
        .into_iter()
        .map(Result::unwrap)
        .find(|health| health.name == "Sleepy")
        .unwrap();
    assert_eq!(sleepy.processed, 0);
    edri.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_silent_manager_turns_warning_then_error_and_recovers() {
    let gate = Gate::default();
    let edri = Edri::new()
        .manager(Sleepy { gate: gate.clone() })
        .manager(Lively)
        .health_period(PERIOD)
        .health_failure_limit(3)
        .start()
        .await
        .unwrap();
    let report = edri.health().await;
    assert_eq!(report.status, HealthStatus::Ok, "{report:?}");

    edri.notify(Block {}).await.unwrap();
    gate.entered().await;

    // Limit 3: WARNING after 2 silent periods, ERROR after 4.
    tokio::time::sleep(PERIOD + PERIOD / 2).await;
    let report = edri.health().await;
    assert_eq!(report.component("Sleepy").unwrap().status, HealthStatus::Ok);

    tokio::time::sleep(PERIOD).await;
    let report = edri.health().await;
    let sleepy = report.component("Sleepy").unwrap();
    assert_eq!(sleepy.status, HealthStatus::Warning, "{report:?}");
    assert!(
        sleepy.reason.as_deref().unwrap().contains("no answer"),
        "{sleepy:?}"
    );
    assert_eq!(report.component("Lively").unwrap().status, HealthStatus::Ok);
    assert_eq!(report.status, HealthStatus::Warning);

    tokio::time::sleep(2 * PERIOD).await;
    let report = edri.health().await;
    assert_eq!(
        report.component("Sleepy").unwrap().status,
        HealthStatus::Error,
        "{report:?}"
    );
    assert_eq!(report.status, HealthStatus::Error);
    // In JSON (the API's /edri/health), durations are seconds.
    let json = serde_json::to_value(&report).unwrap();
    let sleepy = &json["components"][0];
    assert_eq!(sleepy["status"], "ERROR");
    assert!(sleepy["silent_for"].as_f64().unwrap() > 40.0, "{json}");

    // Once free, it answers the check that waited in its queue, and the next report is OK.
    gate.open();
    let report = edri.health().await;
    assert_eq!(
        report.component("Sleepy").unwrap().status,
        HealthStatus::Ok,
        "{report:?}"
    );
    edri.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_queue_that_stays_nearly_full_marks_a_slow_consumer() {
    let gate = Gate::default();
    let edri = Edri::new()
        .manager(Sleepy { gate: gate.clone() })
        .health_period(PERIOD)
        // Silence alone must not explain the warning.
        .health_failure_limit(100)
        .start()
        .await
        .unwrap();
    edri.notify(Block {}).await.unwrap();
    gate.entered().await;
    for _ in 0..8 {
        edri.notify(Work {}).await.unwrap();
    }
    // One crowded check is not enough.
    tokio::time::sleep(PERIOD + PERIOD / 2).await;
    let report = edri.health().await;
    assert!(!report.component("Sleepy").unwrap().slow_consumer);

    tokio::time::sleep(PERIOD).await;
    let report = edri.health().await;
    let sleepy = report.component("Sleepy").unwrap();
    assert!(sleepy.slow_consumer, "{sleepy:?}");
    assert_eq!(sleepy.status, HealthStatus::Warning);
    assert!(sleepy.reason.as_deref().unwrap().contains("slow consumer"));

    gate.open();
    edri.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_panic_since_the_last_check_is_a_warning() {
    let edri = Edri::new().manager(Lively).start().await.unwrap();
    let failure = edri.ask(Explode {}).await.unwrap_err();
    assert_eq!(failure.status(), Status::Internal);

    let report = edri.health().await;
    let lively = report.component("Lively").unwrap();
    assert_eq!(lively.status, HealthStatus::Warning, "{report:?}");
    let answer = lively.last_answer.as_ref().unwrap();
    assert_eq!(answer.panics, 1);
    assert!(lively.reason.as_deref().unwrap().contains("panic"));

    // The panic was reported once; the next check is clean.
    let report = edri.health().await;
    assert_eq!(report.component("Lively").unwrap().status, HealthStatus::Ok);
    edri.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_report_carries_the_routers_drop_counters() {
    let edri = Edri::new()
        .manager(Lively)
        .cache_size(0)
        .start()
        .await
        .unwrap();
    let report = edri.health().await;
    // Nothing was dropped yet: both counters are there, at zero, in Rust and in JSON.
    assert_eq!(report.dropped.total(), 0, "{report:?}");
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(
        json["dropped"],
        serde_json::json!({"unrouted": 0, "undeliverable": 0}),
        "{json}"
    );

    // `Work` has no subscriber, and with the cache off it is dropped at once.
    edri.notify(Work {}).await.unwrap();
    edri.notify(Work {}).await.unwrap();
    let report = edri.health().await;
    assert_eq!(report.dropped.unrouted, 2, "{report:?}");
    assert_eq!(report.dropped.undeliverable, 0, "{report:?}");
    assert_eq!(report.dropped.total(), 2);
    edri.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_manager_with_its_own_health_solver_answers_for_itself() {
    let edri = Edri::new().manager(Picky).start().await.unwrap();
    let report = edri.health().await;
    let picky = report.component("Picky").unwrap();
    assert_eq!(picky.status, HealthStatus::Warning);
    assert_eq!(picky.reason.as_deref(), Some("the disk is nearly full"));
    assert_eq!(picky.last_answer.as_ref().unwrap().name, "Picky");
    edri.shutdown().await.unwrap();
}
