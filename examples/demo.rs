//! The edri demo: a tiny file service made of five managers, with edri's built-in store and
//! scheduler.
//!
//! Run it with `cargo run --example demo`; add `RUST_LOG=edri=debug` to see every hop the
//! runtime makes. It prints a tour of what happens, then serves its API on 127.0.0.1:8080
//! (`EDRI_HOST` and `EDRI_PORT` change that) until Ctrl-C or SIGTERM, and exits with code 0:
//!
//! ```sh
//! curl http://127.0.0.1:8080/greet/world
//! curl -X POST http://127.0.0.1:8080/files -H 'content-type: application/json' \
//!      -d '{"folder": "/docs", "name": "notes.txt", "size": 12}'
//! ```
//!
//! `EDRI_DEMO_EXIT=1` makes it exit after the tour instead of serving.
//!
//! What it shows:
//! 1. a notification (`FileUploaded`) fanned out to three managers;
//! 2. a manager (`Indexer`) that `ctx.send`s a request (`Checksum`) and gets the answer in its
//!    `#[solve(res)]` solver;
//! 3. `gather`: every solver of a request answers (used here as a barrier);
//! 4. requests answered to the caller (`ask`), with data or with a `Failure`; `Storage` counts
//!    the uploads of each folder in the key-value store (`store::Increment`) and `ListFiles`
//!    reads the count back;
//! 5. a priority manager (`Backup`): an alarm overtakes the jobs already waiting;
//! 6. the scheduler: a nightly backup declared as a cron job at start, and a `stats` job added
//!    at run time (`Job::new(..).every(..)`), whose runs `Stats` answers by reading the store;
//! 7. a health report of every manager, the built-in ones included;
//! 8. the API: `GET /greet/{name}` and `POST /files` over REST, the same as WebSocket commands
//!    (`greet`, `upload`) at `ws://127.0.0.1:8080/`, and `FileUploaded` pushed to WebSocket clients
//!    that registered for it (`{"command": "register", "event": "file-uploaded"}`); the pages at
//!    `/edri/docs`, `/edri/health` and `/edri/topology`;
//! 9. a clean shutdown that runs each manager's `before_stop`.

use std::collections::BTreeMap;
use std::time::Duration;

use edri::events::test::Ping;
use edri::prelude::*;
use edri::scheduler::{self, Job};
use edri::store;
use edri::StopSignal;

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

/// Announces that a file was uploaded. Every subscriber gets it; nobody answers. `ws`: WebSocket
/// clients may register for it (and send it).
#[event(notification, ws)]
pub struct FileUploaded {
    pub folder: String,
    pub name: String,
    pub size: u64,
}

/// Asks for the names of the files in a folder, and how many uploads it had. `#[response]`
/// fields move into the generated `ListFilesResponse`.
#[event(request)]
pub struct ListFiles {
    pub folder: String,
    #[response]
    pub files: Vec<String>,
    #[response]
    pub uploads: i64,
}

/// Asks for the checksum of a stored file.
#[event(request)]
pub struct Checksum {
    pub name: String,
    #[response]
    pub sum: u32,
}

/// Announces that a file was indexed (sent by `Indexer` once its checksum came back).
#[event(notification)]
pub struct Indexed {
    pub name: String,
    pub sum: u32,
}

/// A backup job for the priority manager.
#[event(notification)]
pub struct BackupJob {
    pub name: String,
}

/// Announces that a backup job started.
#[event(notification)]
pub struct BackupStarted {
    pub name: String,
}

/// The disk is almost full: handled before any waiting backup job.
#[event(notification)]
pub struct DiskAlarm {
    pub free_mb: u64,
}

/// Asks the backup manager what it did, in order.
#[event(request)]
pub struct BackupReport {
    #[response]
    pub ran: Vec<String>,
}

/// Sent by the scheduler's `stats` job: time to print the statistics.
#[event(notification)]
pub struct StatsTick {}

/// Sent by `Stats` once it has printed the statistics.
#[event(notification)]
pub struct StatsPrinted {
    pub run: u32,
}

/// Greets someone: `GET /greet/{name}` over REST, command `greet` over WebSocket.
#[event(request, rest = "GET /greet/{name}")]
pub struct Greet {
    /// Who to greet.
    pub name: String,
    #[response]
    pub message: String,
}

/// Uploads a file (its name and size, in this demo): `POST /files`, or command `upload`.
#[event(request, rest = "POST /files")]
pub struct Upload {
    /// The folder, as in `/docs`.
    pub folder: String,
    /// The file's name.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    #[response]
    pub accepted: String,
}

// ---------------------------------------------------------------------------------------------
// Managers
// ---------------------------------------------------------------------------------------------

/// The API's front desk: greets, and turns uploads into `FileUploaded` notifications.
#[derive(Default)]
pub struct FrontDesk;

#[manager]
impl FrontDesk {
    #[solve(req)]
    async fn greet(&mut self, event: Greet) -> GreetResponse {
        GreetResponse {
            message: format!("Hello, {}!", event.name),
        }
    }

    #[solve(req)]
    async fn upload(&mut self, event: Upload, ctx: &Context) -> Result<UploadResponse, Failure> {
        if event.name.is_empty() || event.name.contains('/') {
            return Err(Failure::bad_request(format!(
                "`{}` is not a file name",
                event.name
            )));
        }
        let accepted = format!("{}/{}", event.folder.trim_end_matches('/'), event.name);
        println!("  [front desk] upload of {accepted} ({} bytes)", event.size);
        ctx.notify(FileUploaded {
            folder: event.folder,
            name: event.name,
            size: event.size,
        })
        .await;
        Ok(UploadResponse { accepted })
    }
}

/// The store key counting the uploads to `folder`.
fn uploads_key(folder: &str) -> String {
    format!("uploads:{folder}")
}

/// Keeps the files (their sizes, here) and answers questions about them.
#[derive(Default)]
pub struct Storage {
    folders: BTreeMap<String, BTreeMap<String, u64>>,
}

#[manager]
impl Storage {
    /// Stores the file and counts the upload in the key-value store, where any manager (or a
    /// worker process) can read it.
    #[solve(req)]
    async fn uploaded(&mut self, event: FileUploaded, ctx: &Context) -> Result<(), Failure> {
        let count = ctx
            .ask(store::Increment::new(uploads_key(&event.folder), 1))
            .await?;
        println!(
            "  [storage] stored {}/{} ({} bytes), upload #{} to {}",
            event.folder, event.name, event.size, count.value, event.folder
        );
        self.folders
            .entry(event.folder)
            .or_default()
            .insert(event.name, event.size);
        Ok(())
    }

    /// Answers with data, or refuses with a `Failure` the requester receives.
    #[solve(req)]
    async fn list(
        &mut self,
        event: ListFiles,
        ctx: &Context,
    ) -> Result<ListFilesResponse, Failure> {
        let Some(files) = self.folders.get(&event.folder) else {
            return Err(Failure::not_found(format!(
                "no folder named `{}`",
                event.folder
            )));
        };
        let files = files.keys().cloned().collect();
        let uploads = ctx.ask(store::Get::new(uploads_key(&event.folder))).await?;
        Ok(ListFilesResponse {
            files,
            uploads: uploads.decode()?.unwrap_or(0),
        })
    }

    #[solve(req)]
    async fn checksum(&mut self, event: Checksum) -> Result<ChecksumResponse, Failure> {
        let size = self
            .folders
            .values()
            .find_map(|files| files.get(&event.name))
            .ok_or_else(|| Failure::not_found(format!("no file named `{}`", event.name)))?;
        // Not a real checksum: this storage keeps no contents.
        let sum = event.name.bytes().fold(*size as u32, |sum, byte| {
            sum.rotate_left(5) ^ u32::from(byte)
        });
        println!("  [storage] computed the checksum of {}", event.name);
        Ok(ChecksumResponse { sum })
    }

    /// A request answered by its status alone: returning `()` answers "OK".
    #[solve(req)]
    async fn ping(&mut self, _event: Ping) {}
}

/// Writes an audit line for each upload.
#[derive(Default)]
pub struct Auditor {
    seen: u64,
}

#[manager]
impl Auditor {
    #[solve(req)]
    async fn uploaded(&mut self, event: FileUploaded) {
        self.seen += 1;
        println!("  [auditor] audit #{}: upload of {}", self.seen, event.name);
    }

    #[solve(req)]
    async fn ping(&mut self, _event: Ping) {}

    async fn before_stop(&mut self) {
        println!("  [auditor] stopping after {} audited uploads", self.seen);
    }
}

/// Indexes each upload: it needs the file's checksum, which `Storage` computes.
#[derive(Default)]
pub struct Indexer;

#[manager]
impl Indexer {
    #[solve(req)]
    async fn uploaded(&mut self, event: FileUploaded, ctx: &Context) {
        println!(
            "  [indexer] {} uploaded: sending Checksum (the answer comes to #[solve(res)])",
            event.name
        );
        // `send` returns at once; the answer arrives later at `checksummed` below, while this
        // manager keeps serving other events.
        ctx.send(Checksum { name: event.name }).await;
    }

    #[solve(res)]
    async fn checksummed(
        &mut self,
        event: Checksum,
        answer: Result<ChecksumResponse, Failure>,
        ctx: &Context,
    ) {
        match answer {
            Ok(response) => {
                println!(
                    "  [indexer] indexed {} (checksum {:08x})",
                    event.name, response.sum
                );
                ctx.notify(Indexed {
                    name: event.name,
                    sum: response.sum,
                })
                .await;
            }
            Err(failure) => println!("  [indexer] cannot index {}: {failure}", event.name),
        }
    }

    #[solve(req)]
    async fn ping(&mut self, _event: Ping) {}
}

/// Runs backups one at a time. Its queue is a priority queue: lower numbers run first, equal
/// numbers in arrival order.
#[derive(Default)]
pub struct Backup {
    ran: Vec<String>,
}

#[manager(queue = "priority", capacity = 64)]
impl Backup {
    #[solve(req, priority = 0)]
    async fn alarm(&mut self, event: DiskAlarm) {
        println!(
            "  [backup] ALARM: only {} MB free, cleaning up first",
            event.free_mb
        );
        self.ran.push("alarm".to_owned());
    }

    #[solve(req, priority = 5)]
    async fn job(&mut self, event: BackupJob, ctx: &Context) {
        ctx.notify(BackupStarted {
            name: event.name.clone(),
        })
        .await;
        println!("  [backup] backing up {} ...", event.name);
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.ran.push(event.name);
    }

    #[solve(req, priority = 9)]
    async fn report(&mut self, _event: BackupReport) -> BackupReportResponse {
        BackupReportResponse {
            ran: self.ran.clone(),
        }
    }
}

/// Prints statistics whenever the scheduler's `stats` job says so, from the store's counters.
#[derive(Default)]
pub struct Stats {
    runs: u32,
}

#[manager]
impl Stats {
    #[solve(req)]
    async fn tick(&mut self, _event: StatsTick, ctx: &Context) -> Result<(), Failure> {
        self.runs += 1;
        let docs = ctx.ask(store::Get::new(uploads_key("/docs"))).await?;
        println!(
            "  [stats] run {}: /docs has had {} uploads (read from the store)",
            self.runs,
            docs.decode::<i64>()?.unwrap_or(0)
        );
        ctx.notify(StatsPrinted { run: self.runs }).await;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// The program
// ---------------------------------------------------------------------------------------------

/// A delay for people: `0.1 s`, `7 h 28 min`.
fn human(delay: Duration) -> String {
    let secs = delay.as_secs();
    if secs < 60 {
        return format!("{:.1} s", delay.as_secs_f64());
    }
    format!("{} h {:02} min", secs / 3600, secs / 60 % 60)
}

#[tokio::main]
async fn main() -> edri::Result<()> {
    // Warnings by default; `RUST_LOG=edri=debug` also shows every solver call (a `solve` span,
    // printed when it closes) and every manager start and stop. Logs go to stderr, so they
    // never mix with the tour on stdout.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .init();

    // Listening before anything starts: Ctrl-C or SIGTERM at any point stops the demo cleanly,
    // and a second one while it stops ends it at once.
    let stop = StopSignal::listen()?;
    println!("edri demo: a tiny file service\n");
    let nightly = Job::cron(
        "0 3 * * *",
        BackupJob {
            name: "nightly".into(),
        },
    )
    .named("nightly-backup");
    let edri = Edri::new()
        .start_store()
        .start_scheduler([nightly])
        .start_api_default()
        .manager(FrontDesk)
        .manager(Storage::default())
        .manager(Auditor::default())
        .manager(Indexer)
        .manager(Backup::default())
        .manager(Stats::default())
        .start()
        .await?;
    println!(
        "started; FileUploaded goes to: {}\n",
        edri.subscribers::<FileUploaded>().join(", ")
    );

    let stopped = stop.recv();
    tokio::pin!(stopped);
    let interrupted = tokio::select! {
        toured = tour(&edri) => {
            toured?;
            false
        }
        () = &mut stopped => true,
    };
    if interrupted {
        println!("\n[main] stop signal during the tour");
    } else {
        // The API: REST, WebSocket and the pages, until Ctrl-C or SIGTERM.
        println!("6. API");
        if std::env::var_os("EDRI_DEMO_EXIT").is_none() {
            // `start_api_default()` above started the API, so it has an address.
            let addr = edri.api_addr().expect("the API was started");
            println!("[main] serving on http://{addr} (Ctrl-C to stop); try:");
            println!("  curl http://{addr}/greet/world");
            println!(
                "  curl -X POST http://{addr}/files -H 'content-type: application/json' -d '{{\"folder\": \"/docs\", \"name\": \"notes.txt\", \"size\": 12}}'"
            );
            println!("  websocat ws://{addr}/   then send {{\"command\": \"greet\", \"name\": \"ws\", \"id\": 1}}");
            println!("                         or {{\"command\": \"register\", \"event\": \"file-uploaded\"}}");
            println!("  open http://{addr}/edri/docs, /edri/health or /edri/topology in a browser");
            stopped.await;
            println!();
        }
    }

    // Shutdown: every manager finishes its queue and runs `before_stop`.
    println!("7. shutdown");
    edri.shutdown().await?;
    println!("[main] stopped cleanly");
    Ok(())
}

/// Parts 1 to 5: each kind of event and each built-in manager at work.
async fn tour(edri: &Handle) -> edri::Result<()> {
    // One notification, three subscribers; the indexer asks the storage in turn.
    println!("1. fan-out: two uploads, each to storage, auditor and indexer");
    let mut indexed = edri.subscribe::<Indexed>();
    for (name, size) in [("report.pdf", 120_400), ("photo.png", 2_048_000)] {
        println!("[main] notify FileUploaded {{ name: {name:?} }}");
        edri.notify(FileUploaded {
            folder: "/docs".into(),
            name: name.into(),
            size,
        })
        .await?;
    }
    for _ in 0..2 {
        if let Some(event) = indexed.recv().await {
            println!("[main] heard Indexed {{ name: {:?} }}", event.name);
        }
    }
    drop(indexed);
    // Each manager answers Ping after the events already in its queue: a barrier.
    let answers = edri.gather(Ping {}, Duration::from_secs(1)).await?;
    let ok = answers.iter().filter(|answer| answer.is_ok()).count();
    println!(
        "[main] gather(Ping): {ok} of {} managers answered, so their queues are empty\n",
        answers.len()
    );

    // Requests answered to the caller.
    println!("2. ask: requests answered to whoever asked");
    let listing = edri
        .ask(ListFiles {
            folder: "/docs".into(),
        })
        .await?;
    println!(
        "[main] /docs holds {:?}, after {} uploads (counted in the store)",
        listing.files, listing.uploads
    );
    match edri
        .ask(ListFiles {
            folder: "/music".into(),
        })
        .await
    {
        Ok(listing) => println!("[main] /music holds {:?}", listing.files),
        Err(failure) => println!(
            "[main] /music: refused with {} (HTTP {}): {}",
            failure.status(),
            failure.status().http_code(),
            failure.message()
        ),
    }
    println!();

    // The priority queue: the alarm overtakes the jobs that wait.
    println!("3. priority: an alarm (priority 0) overtakes waiting jobs (priority 5)");
    let mut started = edri.subscribe::<BackupStarted>();
    println!("[main] notify BackupJob monday");
    edri.notify(BackupJob {
        name: "monday".into(),
    })
    .await?;
    // Wait until monday's job runs, so the next events queue up behind it.
    started.recv().await;
    for name in ["tuesday", "wednesday"] {
        println!("[main] notify BackupJob {name}");
        edri.notify(BackupJob { name: name.into() }).await?;
    }
    println!("[main] notify DiskAlarm");
    edri.notify(DiskAlarm { free_mb: 12 }).await?;
    drop(started);
    // Priority 9: answered once everything above has run.
    let report = edri.ask(BackupReport {}).await?;
    println!("[main] backup ran, in order: {}\n", report.ran.join(", "));

    // The scheduler: a job added at run time, cancelled after three runs.
    println!("4. scheduler: a `stats` job every 100 ms, next to the nightly backup (cron)");
    let mut printed = edri.subscribe::<StatsPrinted>();
    let stats = Job::new(StatsTick {})
        .every(Duration::from_millis(100))
        .named("stats");
    edri.ask(scheduler::Set { job: stats }).await?;
    for job in edri.ask(scheduler::List {}).await?.jobs {
        println!(
            "[main] job {}: sends {}, next run in {}",
            job.name,
            job.event,
            human(job.next_run_in)
        );
    }
    while let Some(event) = printed.recv().await {
        if event.run == 3 {
            break;
        }
    }
    edri.ask(scheduler::Cancel {
        name: "stats".into(),
    })
    .await?;
    drop(printed);
    println!("[main] cancelled the stats job after 3 runs\n");

    // Health: every manager answers `HealthCheck`, the built-in ones too.
    println!("5. health");
    let health = edri.health().await;
    println!("[main] health: {}", health.status);
    for component in &health.components {
        let processed = component
            .last_answer
            .as_ref()
            .map_or(0, |answer| answer.processed);
        println!(
            "  {}: {} ({processed} handled since the last check)",
            component.name, component.status
        );
    }
    println!();
    Ok(())
}
