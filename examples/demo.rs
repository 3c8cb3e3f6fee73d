//! The edri demo: a tiny file service made of four managers.
//!
//! Run it with `cargo run --example demo`; add `RUST_LOG=edri=debug` to see every hop the
//! runtime makes. It prints what happens, shuts down and exits with code 0.
//!
//! What it shows:
//! 1. a notification (`FileUploaded`) fanned out to three managers;
//! 2. a manager (`Indexer`) that `ctx.send`s a request (`Checksum`) and gets the answer in its
//!    `#[solve(res)]` solver;
//! 3. `gather`: every solver of a request answers (used here as a barrier);
//! 4. requests answered to the caller (`ask`), with data or with a `Failure`;
//! 5. a priority manager (`Backup`): an alarm overtakes the jobs already waiting;
//! 6. a clean shutdown that runs each manager's `before_stop`.

use std::collections::BTreeMap;
use std::time::Duration;

use edri::events::test::Ping;
use edri::prelude::*;

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

/// Announces that a file was uploaded. Every subscriber gets it; nobody answers.
#[event(notification)]
pub struct FileUploaded {
    pub folder: String,
    pub name: String,
    pub size: u64,
}

/// Asks for the names of the files in a folder. `#[response]` fields move into the generated
/// `ListFilesResponse`.
#[event(request)]
pub struct ListFiles {
    pub folder: String,
    #[response]
    pub files: Vec<String>,
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

// ---------------------------------------------------------------------------------------------
// Managers
// ---------------------------------------------------------------------------------------------

/// Keeps the files (their sizes, here) and answers questions about them.
#[derive(Default)]
pub struct Storage {
    folders: BTreeMap<String, BTreeMap<String, u64>>,
}

#[manager]
impl Storage {
    #[solve(req)]
    async fn uploaded(&mut self, event: FileUploaded) {
        println!(
            "  [storage] stored {}/{} ({} bytes)",
            event.folder, event.name, event.size
        );
        self.folders
            .entry(event.folder)
            .or_default()
            .insert(event.name, event.size);
    }

    /// Answers with data, or refuses with a `Failure` the requester receives.
    #[solve(req)]
    async fn list(&mut self, event: ListFiles) -> Result<ListFilesResponse, Failure> {
        match self.folders.get(&event.folder) {
            Some(files) => Ok(ListFilesResponse {
                files: files.keys().cloned().collect(),
            }),
            None => Err(Failure::not_found(format!(
                "no folder named `{}`",
                event.folder
            ))),
        }
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

// ---------------------------------------------------------------------------------------------
// The program
// ---------------------------------------------------------------------------------------------

#[tokio::main]
async fn main() -> edri::Result<()> {
    // Warnings by default; `RUST_LOG=edri=debug` also shows every solver call (a `solve` span,
    // printed when it closes) and every manager start and stop.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .init();

    println!("edri demo: a tiny file service\n");
    let edri = Edri::new()
        .manager(Storage::default())
        .manager(Auditor::default())
        .manager(Indexer)
        .manager(Backup::default())
        .start()
        .await?;
    println!(
        "started; FileUploaded goes to: {}\n",
        edri.subscribers::<FileUploaded>().join(", ")
    );

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
    println!("[main] /docs holds {:?}", listing.files);
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

    // Shutdown: every manager finishes its queue and runs `before_stop`.
    println!("4. shutdown");
    edri.shutdown().await?;
    println!("[main] stopped cleanly");
    Ok(())
}
