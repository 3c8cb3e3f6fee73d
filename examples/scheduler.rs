//! The scheduler: jobs given at start, a job a manager creates and cancels, and a cron job.
//!
//! Run it with `cargo run --example scheduler`. It runs for about a second of real time, prints
//! what happens and exits with code 0. What it shows:
//! 1. `start_scheduler` with a repeating job (`heartbeat`, every 200 ms, a notification that
//!    `Monitor` counts), a one-shot job (`welcome`, 300 ms after the start) and a cron job
//!    (`nightly-backup`, every day at 03:00 UTC);
//! 2. a manager (`FeedPoller`) that creates its own named job in `after_start` with
//!    `scheduler::Set`, counts its runs and cancels it with `scheduler::Cancel` after 3;
//! 3. `scheduler::List`: every pending job with its next run, before and after.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use edri::prelude::*;
use edri::scheduler::{self, Job, JobInfo};

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

/// Sent by the `heartbeat` job every 200 ms.
#[event(notification)]
pub struct Heartbeat {}

/// Sent once by the `welcome` job.
#[event(notification)]
pub struct Welcome {
    pub text: String,
}

/// Sent by the `nightly-backup` cron job (at 03:00 UTC: not while this example runs).
#[event(notification)]
pub struct Backup {}

/// Sent by the `poll-feed` job that `FeedPoller` creates.
#[event(notification)]
pub struct PollFeed {}

/// Sent by `Monitor` for each heartbeat it counted.
#[event(notification)]
pub struct Counted {
    pub beats: u32,
}

/// Sent by `FeedPoller` once it has cancelled its job.
#[event(notification)]
pub struct PollingStopped {
    pub runs: u32,
}

/// Asks `Monitor` how many heartbeats it counted.
#[event(request)]
pub struct Beats {
    #[response]
    pub count: u32,
}

/// Asks `FeedPoller` whether it is ready (answered after its `after_start`).
#[event(request)]
pub struct Ready {}

// ---------------------------------------------------------------------------------------------
// Managers
// ---------------------------------------------------------------------------------------------

/// Counts heartbeats, and prints the one-shot welcome.
#[derive(Default)]
pub struct Monitor {
    beats: u32,
}

#[manager]
impl Monitor {
    #[solve(req)]
    async fn heartbeat(&mut self, _event: Heartbeat, ctx: &Context) {
        self.beats += 1;
        println!("  [monitor] heartbeat #{}", self.beats);
        ctx.notify(Counted { beats: self.beats }).await;
    }

    #[solve(req)]
    async fn welcome(&mut self, event: Welcome) {
        println!("  [monitor] one-shot job: {}", event.text);
    }

    #[solve(req)]
    async fn beats(&mut self, _event: Beats) -> BeatsResponse {
        BeatsResponse { count: self.beats }
    }
}

/// The name of the job `FeedPoller` creates, so it can cancel it.
const POLL_JOB: &str = "poll-feed";

/// Polls a feed every 100 ms, three times, through a job of its own.
#[derive(Default)]
pub struct FeedPoller {
    runs: u32,
    stopped: bool,
}

#[manager]
impl FeedPoller {
    /// Creates the job here, named, so this manager can cancel it later.
    async fn after_start(&mut self, ctx: &Context) {
        let job = Job::new(PollFeed {})
            .every(Duration::from_millis(100))
            .named(POLL_JOB);
        match ctx.ask(scheduler::Set { job }).await {
            Ok(answer) => println!("  [poller] created the job `{}`", answer.name),
            Err(failure) => println!("  [poller] cannot create its job: {failure}"),
        }
    }

    #[solve(req)]
    async fn poll(&mut self, _event: PollFeed, ctx: &Context) -> Result<(), Failure> {
        if self.stopped {
            return Ok(()); // a run that was already on its way when the job was cancelled
        }
        self.runs += 1;
        println!("  [poller] polling the feed (run {})", self.runs);
        if self.runs == 3 {
            self.stopped = true;
            ctx.ask(scheduler::Cancel {
                name: POLL_JOB.into(),
            })
            .await?;
            println!("  [poller] cancelled `{POLL_JOB}` after {} runs", self.runs);
            ctx.notify(PollingStopped { runs: self.runs }).await;
        }
        Ok(())
    }

    #[solve(req)]
    async fn ready(&mut self, _event: Ready) {}
}

// ---------------------------------------------------------------------------------------------
// The program
// ---------------------------------------------------------------------------------------------

/// Prints `title`, then the pending jobs, the next to run first. One `println!`, so the
/// managers' lines cannot slip in between.
fn print_jobs(title: &str, jobs: &[JobInfo]) {
    let mut text = format!("[main] {title}:");
    for job in jobs {
        let repeats = if job.repeats { "repeats" } else { "once" };
        text.push_str(&format!(
            "\n  {:<15} sends {:<10} {repeats:<8} next run in {} (at {})",
            job.name,
            job.event,
            human(job.next_run_in),
            wall_clock(job.next_run_in)
        ));
    }
    println!("{text}");
}

/// A duration for people: `150 ms`, `4 h 07 min 12 s`.
fn human(duration: Duration) -> String {
    let secs = duration.as_secs();
    if secs == 0 {
        return format!("{} ms", duration.as_millis());
    }
    let (hours, minutes, seconds) = (secs / 3600, secs / 60 % 60, secs % 60);
    if hours > 0 {
        format!("{hours} h {minutes:02} min {seconds:02} s")
    } else if minutes > 0 {
        format!("{minutes} min {seconds:02} s")
    } else {
        format!("{seconds} s")
    }
}

/// The UTC time of day `delay` from now, as `HH:MM:SS UTC`.
fn wall_clock(delay: Duration) -> String {
    let at = SystemTime::now() + delay;
    // The clock is after 1970 on any machine this runs on; if not, say so rather than panic.
    let Ok(since_epoch) = at.duration_since(UNIX_EPOCH) else {
        return "before 1970?".to_owned();
    };
    // Rounded to the second: `next_run_in` was measured a moment before `now()`.
    let secs = (since_epoch + Duration::from_millis(500)).as_secs() % 86_400;
    format!(
        "{:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[tokio::main]
async fn main() -> edri::Result<()> {
    println!("edri scheduler example\n");
    let edri = Edri::new()
        .start_scheduler([
            Job::new(Heartbeat {})
                .every(Duration::from_millis(200))
                .named("heartbeat"),
            Job::new(Welcome {
                text: "welcome, 300 ms after the start".into(),
            })
            .after(Duration::from_millis(300))
            .named("welcome"),
            Job::cron("0 3 * * *", Backup {}).named("nightly-backup"),
        ])
        .manager(Monitor::default())
        .manager(FeedPoller::default())
        .start()
        .await?;
    // Notifications sent while nobody subscribes are kept for the first subscriber, so these
    // subscriptions miss none of them, even those sent before `subscribe`.
    let mut stopped = edri.subscribe::<PollingStopped>();
    let mut counted = edri.subscribe::<Counted>();

    // `FeedPoller` answers after its `after_start`, so its job is set by then.
    edri.ask(Ready {}).await?;
    print_jobs(
        "the scheduler's jobs",
        &edri.ask(scheduler::List {}).await?.jobs,
    );

    // The poller stops its own job after 3 runs (about 200 ms).
    if let Some(event) = stopped.recv().await {
        println!(
            "[main] {POLL_JOB} ran {} times, then was cancelled",
            event.runs
        );
    }
    drop(stopped);

    // Five heartbeats: at 0, 200, 400, 600 and 800 ms.
    while let Some(event) = counted.recv().await {
        if event.beats == 5 {
            break;
        }
    }
    // Stop listening (a subscription nobody reads would hold the monitor up), and stop the job.
    drop(counted);
    edri.ask(scheduler::Cancel {
        name: "heartbeat".into(),
    })
    .await?;
    let beats = edri.ask(Beats {}).await?.count;
    println!("[main] cancelled the heartbeat; the monitor counted {beats} heartbeats");

    print_jobs("the jobs left", &edri.ask(scheduler::List {}).await?.jobs);

    edri.shutdown().await?;
    println!("[main] stopped");
    Ok(())
}
