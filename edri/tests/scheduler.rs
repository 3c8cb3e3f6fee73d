//! The scheduler on tokio's paused clock: one-shot, repeating, request and cron jobs, jobs added,
//! updated and cancelled at run time, missed runs, and the errors of invalid jobs.
//!
//! Every job here sends a `Tick { n }`; a test subscribes to `Tick` and reads them in the order
//! the scheduler sent them. To show that nothing happened up to a time, a test adds a marker job
//! (`Tick { n: MARK }`) due then, and reads the ticks that came before the marker: the timer
//! sends due jobs in order of their due time, so this needs no guess about how long to wait.

use std::time::{Duration, SystemTime};

use edri::prelude::*;
use edri::scheduler::{self, Job, JobError, MissedRuns};
use edri::Subscription;
use tokio::time::Instant;

#[event(notification)]
pub struct Tick {
    pub n: u32,
}

/// A scheduled request: its solver says it ran with a `Tick`.
#[event(request)]
pub struct Beat {
    pub n: u32,
}

/// The `n` of marker ticks.
const MARK: u32 = 0;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A marker job, due `after` the scheduler starts (or gets it).
fn mark(after: Duration) -> Job {
    Job::new(Tick { n: MARK }).after(after)
}

/// The next tick and when it arrived, counted from `t0`. Bounded, so a tick that never comes
/// fails the test instead of letting the paused clock run on forever.
async fn next_tick(ticks: &mut Subscription<Tick>, t0: Instant) -> (u32, Duration) {
    let tick = tokio::time::timeout(secs(7 * 24 * 3600), ticks.recv())
        .await
        .expect("no tick within a week")
        .expect("edri is running");
    (tick.n, t0.elapsed())
}

/// The ticks before the next marker.
async fn until_mark(ticks: &mut Subscription<Tick>, t0: Instant) -> Vec<(u32, Duration)> {
    let mut seen = Vec::new();
    loop {
        let tick = next_tick(ticks, t0).await;
        if tick.0 == MARK {
            return seen;
        }
        seen.push(tick);
    }
}

/// Solves `Beat`: says so with a `Tick`, and fails for odd numbers (the job goes on).
pub struct Heart;

#[manager]
impl Heart {
    #[solve(req)]
    async fn beat(&mut self, event: Beat, ctx: &Context) -> Result<(), Failure> {
        ctx.notify(Tick { n: event.n }).await;
        if event.n % 2 == 1 {
            return Err(Failure::internal("odd beat"));
        }
        Ok(())
    }
}

/// Plans its job where the seed recommends: in `after_start`.
pub struct Planner;

#[manager]
impl Planner {
    async fn after_start(&mut self, ctx: &Context) {
        let job = Job::new(Tick { n: 7 })
            .after(secs(5))
            .every(secs(5))
            .named("planned");
        let answer = ctx.ask(scheduler::Set { job }).await;
        assert_eq!(answer.map(|answer| answer.name), Ok("planned".to_owned()));
    }
}

#[tokio::test(start_paused = true)]
async fn a_one_shot_job_runs_once_at_its_time() -> edri::Result<()> {
    let t0 = Instant::now();
    let edri = Edri::new()
        .start_scheduler([
            Job::new(Tick { n: 1 }).at(t0 + secs(10)),
            mark(secs(9)),
            mark(secs(11)),
            mark(secs(1000)),
        ])
        .start()
        .await?;
    let mut ticks = edri.subscribe::<Tick>();
    assert_eq!(until_mark(&mut ticks, t0).await, []);
    assert_eq!(until_mark(&mut ticks, t0).await, [(1, secs(10))]);
    assert_eq!(until_mark(&mut ticks, t0).await, []);
    // It ran, so it is gone.
    assert_eq!(edri.ask(scheduler::List {}).await?.jobs, []);
    edri.shutdown().await
}

#[tokio::test(start_paused = true)]
async fn a_job_due_in_the_past_runs_at_once() -> edri::Result<()> {
    let t0 = Instant::now();
    let edri = Edri::new()
        .start_scheduler([
            Job::new(Tick { n: 1 }).at(SystemTime::now() - secs(3600)),
            Job::new(Tick { n: 2 }),
        ])
        .start()
        .await?;
    let mut ticks = edri.subscribe::<Tick>();
    assert_eq!(next_tick(&mut ticks, t0).await, (1, Duration::ZERO));
    assert_eq!(next_tick(&mut ticks, t0).await, (2, Duration::ZERO));
    edri.shutdown().await
}

#[tokio::test(start_paused = true)]
async fn a_repeating_job_runs_every_period() -> edri::Result<()> {
    let t0 = Instant::now();
    let edri = Edri::new()
        .start_scheduler([
            Job::new(Tick { n: 1 }).after(secs(10)).every(secs(10)),
            mark(secs(55)),
        ])
        .start()
        .await?;
    let mut ticks = edri.subscribe::<Tick>();
    let expected: Vec<_> = (1..=5).map(|k| (1, secs(10 * k))).collect();
    assert_eq!(until_mark(&mut ticks, t0).await, expected);
    edri.shutdown().await
}

#[tokio::test(start_paused = true)]
async fn a_request_job_reaches_its_solver_and_goes_on_when_it_fails() -> edri::Result<()> {
    let t0 = Instant::now();
    let edri = Edri::new()
        .start_scheduler([
            Job::new(Beat { n: 4 }).after(secs(5)).every(secs(5)),
            // Its solver fails: the failure is logged, the job keeps its schedule.
            Job::new(Beat { n: 3 }).after(secs(6)).every(secs(5)),
        ])
        .manager(Heart)
        .start()
        .await?;
    let mut ticks = edri.subscribe::<Tick>();
    assert_eq!(next_tick(&mut ticks, t0).await, (4, secs(5)));
    assert_eq!(next_tick(&mut ticks, t0).await, (3, secs(6)));
    assert_eq!(next_tick(&mut ticks, t0).await, (4, secs(10)));
    assert_eq!(next_tick(&mut ticks, t0).await, (3, secs(11)));
    edri.shutdown().await
}

#[tokio::test(start_paused = true)]
async fn a_daily_cron_job_runs_at_its_hour() -> edri::Result<()> {
    // The next whole hour (UTC), or the one after when it is only seconds away, so that the
    // markers one second either side of it stay on their side.
    let wall = SystemTime::now();
    let since_epoch = wall.duration_since(SystemTime::UNIX_EPOCH).unwrap();
    let mut boundary = (since_epoch.as_secs() / 3600 + 1) * 3600;
    if boundary - since_epoch.as_secs() < 10 {
        boundary += 3600;
    }
    let hour = boundary / 3600 % 24;
    let until = Duration::from_secs(boundary) - since_epoch;
    let expression = format!("0 {hour} * * *");

    let t0 = Instant::now();
    let edri = Edri::new()
        .start_scheduler([
            Job::cron(expression.as_str(), Tick { n: 1 }).named("daily"),
            mark(until - secs(1)),
            mark(until + secs(1)),
        ])
        .start()
        .await?;
    let mut ticks = edri.subscribe::<Tick>();
    assert_eq!(until_mark(&mut ticks, t0).await, [], "{expression}");
    let ran = until_mark(&mut ticks, t0).await;
    assert_eq!(ran.len(), 1, "{expression}: {ran:?}");
    // Next: the same hour tomorrow.
    let jobs = edri.ask(scheduler::List {}).await?.jobs;
    assert_eq!(jobs.len(), 1);
    assert!(jobs[0].repeats);
    let next = jobs[0].next_run_in;
    assert!(
        next > secs(24 * 3600 - 3) && next < secs(24 * 3600),
        "{expression}: next run in {next:?}"
    );
    edri.shutdown().await
}

#[tokio::test(start_paused = true)]
async fn a_six_field_cron_job_counts_seconds() -> edri::Result<()> {
    let t0 = Instant::now();
    let edri = Edri::new()
        .start_scheduler([Job::cron("*/10 * * * * *", Tick { n: 1 }), mark(secs(60))])
        .start()
        .await?;
    let mut ticks = edri.subscribe::<Tick>();
    let ran = until_mark(&mut ticks, t0).await;
    assert_eq!(ran.len(), 6, "{ran:?}");
    for pair in ran.windows(2) {
        assert_eq!(pair[1].1 - pair[0].1, secs(10), "{ran:?}");
    }
    edri.shutdown().await
}

#[tokio::test(start_paused = true)]
async fn set_answers_the_name_or_a_generated_one() -> edri::Result<()> {
    let t0 = Instant::now();
    let edri = Edri::new().start_scheduler([]).start().await?;
    let mut ticks = edri.subscribe::<Tick>();
    let set = |job| edri.ask(scheduler::Set { job });

    let named = set(Job::new(Tick { n: 1 }).after(secs(5)).named("backup")).await?;
    assert_eq!(named.name, "backup");
    let first = set(Job::new(Tick { n: 2 }).after(secs(10)).every(secs(10))).await?;
    let second = set(Job::new(Tick { n: 3 }).after(secs(20))).await?;
    assert!(first.name.starts_with("job-"), "{}", first.name);
    assert!(second.name.starts_with("job-"), "{}", second.name);
    assert_ne!(first.name, second.name);

    let jobs = edri.ask(scheduler::List {}).await?.jobs;
    let listed: Vec<_> = jobs
        .iter()
        .map(|job| {
            (
                job.name.as_str(),
                job.event.as_str(),
                job.next_run_in,
                job.repeats,
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("backup", "tick", secs(5), false),
            (first.name.as_str(), "tick", secs(10), true),
            (second.name.as_str(), "tick", secs(20), false),
        ]
    );

    assert_eq!(next_tick(&mut ticks, t0).await, (1, secs(5)));
    assert_eq!(next_tick(&mut ticks, t0).await, (2, secs(10)));
    edri.shutdown().await
}

#[tokio::test(start_paused = true)]
async fn a_name_in_use_is_a_conflict() -> edri::Result<()> {
    let edri = Edri::new()
        .start_scheduler([Job::new(Tick { n: 1 }).after(secs(60)).named("backup")])
        .start()
        .await?;
    let again = Job::new(Tick { n: 2 }).named("backup");
    let failure = edri.ask(scheduler::Set { job: again }).await.unwrap_err();
    assert_eq!(failure.status(), Status::Conflict);
    assert!(failure.message().contains("`backup`"), "{failure}");
    edri.shutdown().await?;

    // Given to start_scheduler, two jobs with one name fail the start.
    let error = Edri::new()
        .start_scheduler([
            Job::new(Tick { n: 1 }).named("twice"),
            Job::new(Tick { n: 2 }).named("twice"),
        ])
        .start()
        .await
        .unwrap_err();
    assert!(
        matches!(error, edri::Error::Job(JobError::DuplicateName { .. })),
        "{error}"
    );
    assert!(error.to_string().contains("`twice`"), "{error}");
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn cancel_stops_a_repeating_job() -> edri::Result<()> {
    let t0 = Instant::now();
    let edri = Edri::new()
        .start_scheduler([Job::new(Tick { n: 1 })
            .after(secs(10))
            .every(secs(10))
            .named("tick")])
        .start()
        .await?;
    let mut ticks = edri.subscribe::<Tick>();
    assert_eq!(next_tick(&mut ticks, t0).await, (1, secs(10)));

    edri.ask(scheduler::Cancel {
        name: "tick".into(),
    })
    .await?;
    edri.ask(scheduler::Set {
        job: mark(secs(100)),
    })
    .await?;
    assert_eq!(until_mark(&mut ticks, t0).await, []);
    assert_eq!(edri.ask(scheduler::List {}).await?.jobs, []);
    edri.shutdown().await
}

#[tokio::test(start_paused = true)]
async fn cancelling_an_unknown_job_is_not_found() -> edri::Result<()> {
    let edri = Edri::new().start_scheduler([]).start().await?;
    let failure = edri
        .ask(scheduler::Cancel {
            name: "nothing".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(failure.status(), Status::NotFound);
    assert!(failure.message().contains("`nothing`"), "{failure}");
    edri.shutdown().await
}

#[tokio::test(start_paused = true)]
async fn update_replaces_the_schedule() -> edri::Result<()> {
    let t0 = Instant::now();
    let edri = Edri::new()
        .start_scheduler([Job::new(Tick { n: 1 })
            .after(secs(10))
            .every(secs(10))
            .named("t")])
        .start()
        .await?;
    let mut ticks = edri.subscribe::<Tick>();
    assert_eq!(next_tick(&mut ticks, t0).await, (1, secs(10)));

    let faster = Job::new(Tick { n: 2 })
        .after(secs(3))
        .every(secs(3))
        .named("t");
    edri.ask(scheduler::Update { job: faster }).await?;
    for at in [13, 16, 19] {
        assert_eq!(next_tick(&mut ticks, t0).await, (2, secs(at)));
    }

    let unknown = Job::new(Tick { n: 3 }).named("unknown");
    let failure = edri
        .ask(scheduler::Update { job: unknown })
        .await
        .unwrap_err();
    assert_eq!(failure.status(), Status::NotFound);
    assert!(failure.message().contains("`unknown`"), "{failure}");

    let unnamed = Job::new(Tick { n: 3 });
    let failure = edri
        .ask(scheduler::Update { job: unnamed })
        .await
        .unwrap_err();
    assert_eq!(failure.status(), Status::BadRequest);
    edri.shutdown().await
}

/// Starts a job due every 10 s, jumps 100 s at once (ten runs missed), and returns the ticks up
/// to a marker at 105 s, then the next tick.
async fn after_a_pause(
    policy: MissedRuns,
) -> edri::Result<(Vec<(u32, Duration)>, (u32, Duration))> {
    let t0 = Instant::now();
    let edri = Edri::new()
        .start_scheduler([
            Job::new(Tick { n: 1 })
                .after(secs(10))
                .every(secs(10))
                .missed(policy),
            mark(secs(105)),
        ])
        .start()
        .await?;
    let mut ticks = edri.subscribe::<Tick>();
    tokio::time::advance(secs(100)).await;
    let caught_up = until_mark(&mut ticks, t0).await;
    let next = next_tick(&mut ticks, t0).await;
    edri.shutdown().await?;
    Ok((caught_up, next))
}

#[tokio::test(start_paused = true)]
async fn missed_runs_run_once_by_default() -> edri::Result<()> {
    let (caught_up, next) = after_a_pause(MissedRuns::Once).await?;
    assert_eq!(caught_up, [(1, secs(100))]);
    // Back on the schedule: 10 s, 20 s, ... 110 s.
    assert_eq!(next, (1, secs(110)));
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn missed_runs_can_run_as_a_burst() -> edri::Result<()> {
    let (caught_up, next) = after_a_pause(MissedRuns::Burst).await?;
    assert_eq!(caught_up, vec![(1, secs(100)); 10]);
    assert_eq!(next, (1, secs(110)));
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn jobs_set_in_after_start_run() -> edri::Result<()> {
    let t0 = Instant::now();
    let edri = Edri::new()
        .start_scheduler([])
        .manager(Planner)
        .start()
        .await?;
    let mut ticks = edri.subscribe::<Tick>();
    assert_eq!(next_tick(&mut ticks, t0).await, (7, secs(5)));
    assert_eq!(next_tick(&mut ticks, t0).await, (7, secs(10)));
    let jobs = edri.ask(scheduler::List {}).await?.jobs;
    assert_eq!(jobs[0].name, "planned");
    edri.shutdown().await
}

#[tokio::test(start_paused = true)]
async fn an_invalid_cron_expression_fails_the_start() {
    let error = Edri::new()
        .start_scheduler([
            Job::new(Tick { n: 1 }),
            Job::cron("0 3 * *x", Tick { n: 2 }),
        ])
        .start()
        .await
        .unwrap_err();
    assert!(
        matches!(error, edri::Error::Job(JobError::Cron { .. })),
        "{error}"
    );
    let message = error.to_string();
    assert!(message.contains("`0 3 * *x`"), "{message}");
    assert!(message.contains("job #2"), "{message}");
}

#[tokio::test(start_paused = true)]
async fn a_zero_period_fails_the_start() {
    let error = Edri::new()
        .start_scheduler([Job::new(Tick { n: 1 }).every(Duration::ZERO).named("fast")])
        .start()
        .await
        .unwrap_err();
    assert!(
        matches!(error, edri::Error::Job(JobError::ZeroPeriod { .. })),
        "{error}"
    );
    let message = error.to_string();
    assert!(message.contains("period 0s"), "{message}");
    assert!(message.contains("`fast`"), "{message}");
}

#[tokio::test(start_paused = true)]
async fn an_invalid_job_set_at_run_time_is_a_bad_request() -> edri::Result<()> {
    let edri = Edri::new().start_scheduler([]).start().await?;
    let cases = [
        (Job::cron("61 * * * *", Tick { n: 1 }), "`61 * * * *`"),
        // February 30th never comes.
        (Job::cron("0 0 30 2 *", Tick { n: 1 }), "`0 0 30 2 *`"),
        (Job::new(Tick { n: 1 }).every(Duration::ZERO), "period 0s"),
        (
            Job::cron("0 3 * * *", Tick { n: 1 }).every(secs(60)),
            "every(60s)",
        ),
        (Job::new(Tick { n: 1 }).local_time(), "local_time()"),
    ];
    for (job, culprit) in cases {
        let check = job.check().unwrap_err().to_string();
        assert!(check.contains(culprit), "{check}");
        let failure = edri.ask(scheduler::Set { job }).await.unwrap_err();
        assert_eq!(failure.status(), Status::BadRequest, "{failure}");
        assert_eq!(failure.message(), check);
    }
    assert!(Job::cron("0 3 * * *", Tick { n: 1 })
        .local_time()
        .check()
        .is_ok());
    assert_eq!(edri.ask(scheduler::List {}).await?.jobs, []);
    edri.shutdown().await
}

#[tokio::test(start_paused = true)]
async fn a_job_survives_a_postcard_round_trip() -> edri::Result<()> {
    let job = Job::new(Tick { n: 9 })
        .after(secs(5))
        .every(secs(5))
        .named("round-trip");
    let bytes = postcard::to_stdvec(&job).unwrap();
    let back: Job = postcard::from_bytes(&bytes).unwrap();
    assert_eq!(back.name(), Some("round-trip"));
    assert_eq!(back.event_name(), "tick");
    // A decoded job keeps its event's bytes, so it encodes again to the same bytes.
    assert_eq!(postcard::to_stdvec(&back).unwrap(), bytes);

    let cron = Job::cron("0 3 * * *", Beat { n: 2 }).local_time();
    let cron: Job = postcard::from_bytes(&postcard::to_stdvec(&cron).unwrap()).unwrap();
    assert!(cron.check().is_ok());

    let t0 = Instant::now();
    let edri = Edri::new().start_scheduler([]).start().await?;
    let mut ticks = edri.subscribe::<Tick>();
    assert_eq!(
        edri.ask(scheduler::Set { job: back }).await?.name,
        "round-trip"
    );
    assert_eq!(next_tick(&mut ticks, t0).await, (9, secs(5)));
    assert_eq!(next_tick(&mut ticks, t0).await, (9, secs(10)));
    edri.shutdown().await
}

#[test]
fn a_job_with_an_unknown_or_broken_event_does_not_decode() {
    let job = Job::new(Tick { n: 9 }).named("broken");
    let json = serde_json::to_value(&job).unwrap();

    let mut unknown = json.clone();
    unknown["event"] = "no-such-event".into();
    let error = serde_json::from_value::<Job>(unknown).unwrap_err();
    assert!(error.to_string().contains("`no-such-event`"), "{error}");

    let mut broken = json;
    broken["bytes"] = serde_json::json!([]);
    let error = serde_json::from_value::<Job>(broken).unwrap_err();
    assert!(error.to_string().contains("`tick`"), "{error}");
}
