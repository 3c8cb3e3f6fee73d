//! Health: who answers [`HealthCheck`], who is silent, and whose queue stays nearly full.
//!
//! Every manager answers [`HealthCheck`] (the runtime does it, or the manager's own solver).
//! The system sends one to each manager every period (`EDRI_HEALTH_CHECK_TIMEOUT`, 10 s), never
//! more than one at a time per manager and never waiting on a full queue. A manager whose last
//! answer is older than half of `limit + 1` periods (`EDRI_HEALTH_CHECK_FAILURE_LIMIT`, 3) turns
//! WARNING; older than `limit + 1` periods, ERROR. A queue found at 80 % of its capacity or more
//! at two checks in a row marks the manager as a slow consumer (WARNING).
//!
//! [`Handle::health`](crate::Handle::health) checks every manager now and returns a
//! [`HealthReport`], with what the router [`Dropped`] since the system started.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::events::router::{Health, HealthCheck, HealthStatus};
use crate::mailbox::{Delivery, Mailbox, Refused};
use crate::router::Router;
use crate::Event;

/// The health of every manager, as [`Handle::health`](crate::Handle::health) reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(crate = "serde")]
#[non_exhaustive]
pub struct HealthReport {
    /// The worst status of all components (OK when there are none).
    pub status: HealthStatus,
    /// One entry per manager, in start order.
    pub components: Vec<ComponentHealth>,
    /// What the router let go of since the system started.
    pub dropped: Dropped,
    /// The connection to the switch, when the router joined one: peers, counters and every
    /// gap.
    pub switch: Option<crate::switch::SwitchReport>,
}

impl HealthReport {
    /// The entry of the manager named `name`.
    pub fn component(&self, name: &str) -> Option<&ComponentHealth> {
        self.components
            .iter()
            .find(|component| component.name == name)
    }

    /// Sets [`dropped`](Self::dropped) to the router's counts as of now.
    pub(crate) fn count_dropped(&mut self, router: &Router) {
        self.dropped = Dropped::of(router);
    }
}

/// What the router let go of since the system started, counted as it happens (and logged, at
/// most one summary per period). Drops do not change a status: they are reported, not judged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(crate = "serde")]
#[non_exhaustive]
pub struct Dropped {
    /// Notifications nobody subscribed to, dropped from the cache kept for late subscribers:
    /// pushed out of it when full (`EDRI_CACHE_SIZE`), found older than its window
    /// (`EDRI_CACHE_TIMEOUT`) with no subscriber come, or not kept at all with the cache off.
    pub unrouted: u64,
    /// Deliveries refused because the receiving manager had stopped (a request among them
    /// fails with `Unavailable` for its requester).
    pub undeliverable: u64,
}

impl Dropped {
    /// The router's counts as of now.
    pub(crate) fn of(router: &Router) -> Self {
        use std::sync::atomic::Ordering::Relaxed;
        Self {
            unrouted: router.stats.unrouted_dropped.load(Relaxed),
            undeliverable: router.stats.undeliverable.load(Relaxed),
        }
    }

    /// Both counts together.
    pub fn total(&self) -> u64 {
        self.unrouted + self.undeliverable
    }
}

/// The health of one manager.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(crate = "serde")]
#[non_exhaustive]
pub struct ComponentHealth {
    /// The manager's name.
    pub name: String,
    /// The worst of: its own answer's status, its silence, and being a slow consumer.
    pub status: HealthStatus,
    /// Why the status is not OK.
    pub reason: Option<String>,
    /// Whether its queue stayed at 80 % of its capacity or more at two checks in a row.
    pub slow_consumer: bool,
    /// How long since its last answer (since it started, if it never answered); in seconds in
    /// JSON.
    #[serde(serialize_with = "seconds")]
    pub silent_for: Duration,
    /// How long its last answer took to come back; in seconds in JSON.
    #[serde(serialize_with = "optional_seconds")]
    pub round_trip: Option<Duration>,
    /// Its last answer.
    pub last_answer: Option<Health>,
}

fn seconds<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(duration.as_secs_f64())
}

fn optional_seconds<S: serde::Serializer>(
    duration: &Option<Duration>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match duration {
        Some(duration) => serializer.serialize_some(&duration.as_secs_f64()),
        None => serializer.serialize_none(),
    }
}

/// Where the system sends a manager its health checks.
pub(crate) struct Target {
    pub(crate) name: Arc<str>,
    pub(crate) mailbox: Mailbox,
    /// The solver index of the manager's `HealthCheck` solver (its own, or the built-in one).
    pub(crate) solver: u16,
    pub(crate) priority: i32,
    pub(crate) capacity: usize,
}

/// What the system remembers of each manager's health, shared with the tasks awaiting answers.
#[derive(Clone, Default)]
pub(crate) struct HealthBook {
    records: Arc<Mutex<HashMap<Arc<str>, Record>>>,
    /// Woken whenever an answer is recorded.
    answered: Arc<Notify>,
}

struct Record {
    /// When the manager started, or last answered.
    heard_at: Instant,
    last_answer: Option<Health>,
    round_trip: Option<Duration>,
    /// A check was sent and not answered yet; no other is sent meanwhile.
    outstanding: bool,
    /// Checks in a row that found the queue at 80 % of its capacity or more.
    crowded_checks: u32,
    /// The status last logged, so changes are logged once.
    logged: HealthStatus,
}

/// The thresholds, from the configuration.
#[derive(Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) period: Duration,
    pub(crate) failure_limit: usize,
}

impl Limits {
    fn error_after(self) -> Duration {
        self.period * (self.failure_limit as u32 + 1)
    }

    fn warning_after(self) -> Duration {
        self.error_after() / 2
    }
}

impl HealthBook {
    fn lock(&self) -> MutexGuard<'_, HashMap<Arc<str>, Record>> {
        // Nothing panics while the lock is held, so a poisoned lock still holds valid data.
        self.records
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Starts watching a manager that just started.
    pub(crate) fn register(&self, name: Arc<str>) {
        self.lock().insert(
            name,
            Record {
                heard_at: Instant::now(),
                last_answer: None,
                round_trip: None,
                outstanding: false,
                crowded_checks: 0,
                logged: HealthStatus::Ok,
            },
        );
    }

    /// Sends a check to each target that has none unanswered; a task records each answer.
    /// `sample` also counts crowded queues, once per period.
    pub(crate) fn check(&self, targets: &[Target], sample: bool) {
        let mut records = self.lock();
        for target in targets {
            let Some(record) = records.get_mut(&target.name) else {
                continue;
            };
            if sample {
                let crowded = target.mailbox.depth() * 5 >= target.capacity * 4;
                record.crowded_checks = if crowded {
                    record.crowded_checks + 1
                } else {
                    0
                };
            }
            if record.outstanding {
                continue;
            }
            let (sender, receiver) = crate::answer::channel();
            let delivery = Delivery {
                solver: target.solver,
                event_name: HealthCheck::NAME,
                event: crate::payload::Payload::new(HealthCheck {}),
                reply: Some(sender),
            };
            match target.mailbox.try_push(delivery, target.priority) {
                Ok(()) => {}
                // A full queue cannot take the check: the manager stays unheard from.
                Err(Refused::Full(_)) | Err(Refused::Closed) => continue,
            }
            record.outstanding = true;
            let book = self.clone();
            let name = target.name.clone();
            let sent = Instant::now();
            tokio::spawn(async move {
                let answer = receiver.await;
                if let Some(record) = book.lock().get_mut(&name) {
                    record.outstanding = false;
                    if let Ok(Ok(answer)) = answer {
                        if let Ok(health) = answer.downcast::<Health>() {
                            let now = Instant::now();
                            record.heard_at = now;
                            record.round_trip = Some(now - sent);
                            record.last_answer = Some(*health);
                        }
                    }
                }
                book.answered.notify_waiters();
            });
        }
    }

    /// Waits until every target has answered its check, or the deadline passes.
    pub(crate) async fn answers(&self, targets: &[Target], deadline: Instant) {
        loop {
            let answered = self.answered.notified();
            let mut answered = std::pin::pin!(answered);
            // Registered before looking, so an answer recorded in between still wakes us.
            answered.as_mut().enable();
            let waiting = {
                let records = self.lock();
                targets.iter().any(|target| {
                    records
                        .get(&target.name)
                        .is_some_and(|record| record.outstanding)
                })
            };
            if !waiting || tokio::time::timeout_at(deadline, answered).await.is_err() {
                return;
            }
        }
    }

    /// The report on `targets` as of now; logs each manager whose status changed.
    pub(crate) fn report(&self, targets: &[Target], limits: Limits) -> HealthReport {
        let now = Instant::now();
        let mut records = self.lock();
        let components: Vec<ComponentHealth> = targets
            .iter()
            .filter_map(|target| {
                let record = records.get_mut(&target.name)?;
                let component = evaluate(&target.name, record, now, limits);
                if component.status != record.logged {
                    log_change(&component, record.logged);
                    record.logged = component.status;
                }
                Some(component)
            })
            .collect();
        HealthReport {
            status: components
                .iter()
                .map(|component| component.status)
                .max()
                .unwrap_or(HealthStatus::Ok),
            components,
            // The book does not see the router: its caller fills this in.
            dropped: Dropped::default(),
            switch: None,
        }
    }
}

fn evaluate(name: &str, record: &Record, now: Instant, limits: Limits) -> ComponentHealth {
    let silent_for = now.saturating_duration_since(record.heard_at);
    let slow_consumer = record.crowded_checks >= 2;
    let mut status = HealthStatus::Ok;
    let mut reasons = Vec::new();
    if let Some(answer) = &record.last_answer {
        if answer.status > HealthStatus::Ok {
            status = answer.status;
            reasons.extend(answer.reason.clone());
        }
    }
    if slow_consumer {
        status = status.max(HealthStatus::Warning);
        reasons.push("slow consumer: its queue stayed nearly full".to_owned());
    }
    let silence = if silent_for > limits.error_after() {
        Some(HealthStatus::Error)
    } else if silent_for > limits.warning_after() {
        Some(HealthStatus::Warning)
    } else {
        None
    };
    if let Some(silence) = silence {
        status = status.max(silence);
        reasons.push(format!(
            "no answer to health checks for {:.1} s",
            silent_for.as_secs_f64()
        ));
    }
    ComponentHealth {
        name: name.to_owned(),
        status,
        reason: (!reasons.is_empty()).then(|| reasons.join("; ")),
        slow_consumer,
        silent_for,
        round_trip: record.round_trip,
        last_answer: record.last_answer.clone(),
    }
}

fn log_change(component: &ComponentHealth, before: HealthStatus) {
    let reason = component.reason.as_deref().unwrap_or("");
    match component.status {
        HealthStatus::Ok => tracing::info!(manager = %component.name, %before, "healthy again"),
        HealthStatus::Warning => {
            tracing::warn!(manager = %component.name, %before, reason, "health: WARNING")
        }
        HealthStatus::Error => {
            tracing::error!(manager = %component.name, %before, reason, "health: ERROR")
        }
    }
}

/// The answer of a manager without a `HealthCheck` solver of its own: the runtime's probe.
pub(crate) fn probe(
    name: &str,
    counters: &crate::stats::Counters,
    last: &Mutex<[u64; 3]>,
    queue: (usize, usize),
    workers: (usize, usize),
) -> Health {
    use std::sync::atomic::Ordering::Relaxed;
    let now = [
        counters.processed.load(Relaxed),
        counters.failed.load(Relaxed),
        counters.panics.load(Relaxed),
    ];
    let before = std::mem::replace(
        &mut *last.lock().unwrap_or_else(|poison| poison.into_inner()),
        now,
    );
    let panics = now[2] - before[2];
    let (status, reason) = if panics > 0 {
        (
            HealthStatus::Warning,
            Some(format!("{panics} panic(s) since the last check")),
        )
    } else {
        (HealthStatus::Ok, None)
    };
    Health {
        name: name.to_owned(),
        status,
        reason,
        queue_depth: queue.0,
        queue_capacity: queue.1,
        workers_running: workers.0,
        workers_pending: workers.1,
        processed: now[0] - before[0],
        failed: now[1] - before[1],
        panics,
    }
}
