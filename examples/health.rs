//! Health: a manager reporting its own status, and a stuck manager going WARNING, then ERROR,
//! then recovering.
//!
//! Run it with `cargo run --example health`. It prints `edri.health()` reports, exits with code 0
//! in about a second, and logs each status change on stderr (edri's `tracing` output). What it
//! shows:
//! 1. `Mailer` answers `HealthCheck` itself: it starts from `ctx.health()` (what the runtime
//!    would answer) and turns it WARNING while mails wait for the mail server;
//! 2. `Indexer` gets stuck on purpose: its solver awaits a release that does not come, so its
//!    loop holds and it answers no health check. With a 100 ms health period and a failure limit
//!    of 3, it turns WARNING after 2 silent periods and ERROR after 4;
//! 3. once released, it answers the check waiting in its queue and is OK again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use edri::events::router::{Health, HealthCheck, HealthStatus};
use edri::health::HealthReport;
use edri::prelude::*;
use tokio::sync::Notify;

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

/// A mail to send; `Mailer` keeps it while the mail server is down.
#[event(notification)]
pub struct QueueMail {
    pub to: String,
}

/// The mail server is back: `Mailer` sends what waits.
#[event(request)]
pub struct MailServerUp {
    #[response]
    pub sent: usize,
}

/// Asks `Indexer` to rebuild its index; it gets stuck doing so.
#[event(notification)]
pub struct Reindex {}

/// Sent by `Indexer` when it starts the rebuild, so `main` knows it is stuck from then on.
#[event(notification)]
pub struct Reindexing {}

// ---------------------------------------------------------------------------------------------
// Managers
// ---------------------------------------------------------------------------------------------

/// Sends mails; warns in its own health while mails wait.
#[derive(Default)]
pub struct Mailer {
    outbox: Vec<String>,
}

#[manager]
impl Mailer {
    #[solve(req)]
    async fn queue(&mut self, event: QueueMail) {
        self.outbox.push(event.to);
    }

    #[solve(req)]
    async fn server_up(&mut self, _event: MailServerUp) -> MailServerUpResponse {
        let sent = self.outbox.len();
        self.outbox.clear();
        MailServerUpResponse { sent }
    }

    /// Its own answer to health checks: the runtime's, with what only the mailer knows.
    #[solve(req)]
    async fn health_check(&mut self, _check: HealthCheck, ctx: &Context) -> Health {
        let health = ctx.health();
        match self.outbox.len() {
            0 => health,
            waiting => health.with_status(
                HealthStatus::Warning,
                format!("{waiting} mails wait for the mail server"),
            ),
        }
    }
}

/// Rebuilds an index; its rebuild waits for `release`, holding the manager's loop meanwhile.
pub struct Indexer {
    release: Arc<Notify>,
}

#[manager]
impl Indexer {
    #[solve(req)]
    async fn reindex(&mut self, _event: Reindex, ctx: &Context) {
        ctx.notify(Reindexing {}).await;
        // Stands for a solver awaiting something that does not come (a lock, a dead peer):
        // nothing else in this manager's queue, health checks included, runs meanwhile.
        self.release.notified().await;
    }
}

// ---------------------------------------------------------------------------------------------
// The program
// ---------------------------------------------------------------------------------------------

/// Prints a report: the overall status, then one line per manager.
fn print_report(title: &str, report: &HealthReport) {
    println!("[main] {title}: {}", report.status);
    for component in &report.components {
        let reason = component
            .reason
            .as_deref()
            .map_or_else(String::new, |reason| format!(" ({reason})"));
        println!("  {}: {}{reason}", component.name, component.status);
    }
}

/// The status of `name` in `report`.
fn status_of(report: &HealthReport, name: &str) -> Option<HealthStatus> {
    report.component(name).map(|component| component.status)
}

#[tokio::main]
async fn main() -> edri::Result<()> {
    // Status changes are logged (WARNING at warn, ERROR at error, back to OK at info).
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("edri=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(false)
        .init();

    println!("edri health example\n");
    let release = Arc::new(Notify::new());
    let edri = Edri::new()
        .manager(Mailer::default())
        .manager(Indexer {
            release: release.clone(),
        })
        .health_period(Duration::from_millis(100))
        .health_failure_limit(3)
        .start()
        .await?;
    print_report("at the start", &edri.health().await);
    println!();

    println!("1. A manager's own health");
    for to in ["ada@example.com", "alan@example.com", "grace@example.com"] {
        edri.notify(QueueMail { to: to.into() }).await?;
    }
    print_report("3 mails queued, the mail server down", &edri.health().await);
    let sent = edri.ask(MailServerUp {}).await?.sent;
    print_report(
        &format!("the mail server is back, {sent} mails sent"),
        &edri.health().await,
    );
    println!();

    println!("2. A stuck manager");
    let mut reindexing = edri.subscribe::<Reindexing>();
    edri.notify(Reindex {}).await?;
    reindexing.recv().await;
    drop(reindexing);
    let stuck = Instant::now();
    println!("[main] Indexer is stuck in its solver");
    // Each `health()` call waits one period (100 ms) for the silent manager's answer; report
    // every change of its status until it is ERROR. The bound only keeps a broken runtime from
    // looping for ever.
    let mut last = Some(HealthStatus::Ok);
    for _ in 0..50 {
        let report = edri.health().await;
        let status = status_of(&report, "Indexer");
        if status != last {
            let title = format!("stuck for {} ms", stuck.elapsed().as_millis());
            print_report(&title, &report);
            last = status;
        }
        if status == Some(HealthStatus::Error) {
            break;
        }
    }
    println!();

    println!("3. Released, it recovers");
    release.notify_one();
    let report = edri.health().await;
    print_report("released", &report);

    edri.shutdown().await?;
    println!("[main] stopped");
    let recovered = status_of(&report, "Indexer") == Some(HealthStatus::Ok);
    if last != Some(HealthStatus::Error) || !recovered {
        return Err(edri::Failure::internal("the Indexer did not go ERROR, then OK").into());
    }
    Ok(())
}
