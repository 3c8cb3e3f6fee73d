//! Two routers joined by a switch: a `producer` sends temperature readings and asks for their
//! average; a `consumer` on the other router takes the readings and answers the question.
//!
//! All three parts in one process, ending by itself:
//!
//! ```text
//! cargo run --example two_nodes
//! ```
//!
//! Or one part per terminal, as on three machines (the switch listens on 127.0.0.1:8899, or
//! on `EDRI_SWITCH_HOST`:`EDRI_SWITCH_PORT`, and serves its status on the next port up):
//!
//! ```text
//! cargo run --example two_nodes -- switch      # 1st terminal; Ctrl-C stops it
//! cargo run --example two_nodes -- consumer    # 2nd terminal; Ctrl-C stops it
//! cargo run --example two_nodes -- producer    # 3rd terminal; sends, asks, and exits
//! curl http://127.0.0.1:8900/status            # what the switch sees
//! ```
//!
//! Set the same `EDRI_SWITCH_TOKEN` (32 bytes or more) in every terminal to authenticate the
//! routers and their frames. See `docs/switch.md`.

use std::time::Duration;

use edri::prelude::*;
use edri::switch::{Secret, Switch};
use edri::StopSignal;

/// A reading, sent to every router whose managers subscribe to it (`shared`).
#[event(notification, shared)]
pub struct Reading {
    pub sensor: String,
    pub celsius: f64,
}

/// A question solved on whichever router has a solver for it; the answer comes back.
#[event(request, shared)]
pub struct Average {
    pub sensor: String,
    #[response]
    pub celsius: f64,
    #[response]
    pub readings: u64,
    #[response]
    pub solved_on: String,
}

/// Lives on the consumer router.
#[derive(Default)]
pub struct Thermometer {
    sum: f64,
    count: u64,
}

#[manager]
impl Thermometer {
    #[solve(req)]
    async fn reading(&mut self, event: Reading) {
        println!("[consumer] {} reads {:.1} °C", event.sensor, event.celsius);
        self.sum += event.celsius;
        self.count += 1;
    }

    #[solve(req)]
    async fn average(&mut self, event: Average) -> Result<AverageResponse, Failure> {
        if self.count == 0 {
            return Err(Failure::not_found(format!(
                "no reading of {}",
                event.sensor
            )));
        }
        println!("[consumer] averaging {} readings", self.count);
        Ok(AverageResponse {
            celsius: self.sum / self.count as f64,
            readings: self.count,
            solved_on: "consumer".into(),
        })
    }
}

/// Where the switch listens in the three-terminal mode.
fn switch_addr() -> String {
    let host = std::env::var("EDRI_SWITCH_HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port = std::env::var("EDRI_SWITCH_PORT").unwrap_or_else(|_| "8899".into());
    format!("{host}:{port}")
}

/// A switch on `listen`, authenticated when `EDRI_SWITCH_TOKEN` is set.
fn switch(listen: &str) -> edri::Result<Switch> {
    let mut switch = Switch::new(listen);
    if let Ok(token) = std::env::var("EDRI_SWITCH_TOKEN") {
        switch = switch.secret(Secret::new(token).map_err(edri::switch::SwitchError::from)?);
    }
    Ok(switch)
}

/// A router joining the switch at `addr` under the id `id`.
fn router(addr: &str, id: &str) -> Edri {
    Edri::new().connect_switch(addr).router_id(id)
}

/// The consumer's router: it subscribes to `Reading` and solves `Average`.
async fn start_consumer(addr: &str) -> edri::Result<Handle> {
    router(addr, "consumer")
        .manager(Thermometer::default())
        .start()
        .await
}

/// The producer: waits until the consumer demands its events, sends, asks, and stops.
async fn produce(addr: &str) -> edri::Result<()> {
    let producer = router(addr, "producer").start().await?;
    println!("[producer] waiting for a router that subscribes to readings");
    producer.remote_subscriber::<Reading>().await;
    producer.remote_subscriber::<Average>().await;
    for (sensor, celsius) in [("kitchen", 21.5), ("kitchen", 22.0), ("kitchen", 22.9)] {
        let sensor = sensor.to_owned();
        println!("[producer] sends {sensor} {celsius:.1} °C");
        producer.notify(Reading { sensor, celsius }).await?;
    }
    // The question follows the readings in the same stream: once it is answered, the
    // consumer has every reading.
    let sensor = "kitchen".to_owned();
    let average = producer.ask(Average { sensor }).await?;
    println!(
        "[producer] average {:.2} °C over {} readings, solved on {}",
        average.celsius, average.readings, average.solved_on
    );
    if let Some(report) = producer.switch_report() {
        println!(
            "[producer] switch report: sent {}, resent {}, lost {}",
            report.sent, report.resent, report.lost
        );
    }
    // Waits (up to the shutdown timeout) for the consumer to acknowledge what it is owed.
    producer.shutdown().await
}

/// All three in one process: the switch on a free port, then both routers.
async fn all_in_one() -> edri::Result<()> {
    let switch = switch("127.0.0.1:0")?.start().await?;
    let addr = switch.addr().to_string();
    println!("[switch] listening on {addr}");
    let consumer = start_consumer(&addr).await?;
    let produced = tokio::time::timeout(Duration::from_secs(30), produce(&addr)).await;
    consumer.shutdown().await?;
    switch.shutdown().await;
    match produced {
        Ok(produced) => produced?,
        Err(_) => return Err(std::io::Error::other("the producer did not finish in 30 s").into()),
    }
    println!("[main] stopped cleanly");
    Ok(())
}

/// Runs until Ctrl-C (or SIGTERM).
async fn until_stopped(what: &str, stop: StopSignal) {
    println!("[{what}] running; stop it with Ctrl-C");
    stop.recv().await;
}

#[tokio::main]
async fn main() -> edri::Result<()> {
    // Warnings by default; `RUST_LOG=edri=info` shows connections, demands and resends.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();

    let addr = switch_addr();
    match std::env::args().nth(1).as_deref() {
        None => all_in_one().await,
        Some("switch") => {
            // Listening first: a Ctrl-C while it starts still stops it cleanly.
            let stop = StopSignal::listen()?;
            // The status page on the next port: `curl http://127.0.0.1:8900/status`.
            let (host, port) = addr.rsplit_once(':').unwrap_or(("127.0.0.1", "8899"));
            let port: u16 = port.parse().unwrap_or(8899);
            let switch = switch(&addr)?
                .status(format!("{host}:{}", port.wrapping_add(1)))
                .start()
                .await?;
            println!("[switch] listening on {}", switch.addr());
            if let Some(status) = switch.status_addr() {
                println!("[switch] status at http://{status}/status");
            }
            until_stopped("switch", stop).await;
            switch.shutdown().await;
            Ok(())
        }
        Some("consumer") => {
            let stop = StopSignal::listen()?;
            let consumer = start_consumer(&addr).await?;
            until_stopped("consumer", stop).await;
            consumer.shutdown().await
        }
        Some("producer") => produce(&addr).await,
        Some(other) => {
            eprintln!("unknown part `{other}`: expected switch, consumer or producer");
            std::process::exit(2);
        }
    }
}
