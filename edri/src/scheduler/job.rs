//! [`Job`]: an event and when to send it. Building one never fails; the scheduler checks it
//! when it takes it (or [`Job::check`] does, earlier).

use std::any::{Any, TypeId};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Local, TimeZone, Utc};
use croner::parser::{CronParser, Seconds};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::JobError;
use crate::event::Registry;
use crate::{Event, EventKind};

/// When a job runs first: the argument of [`Job::at`].
///
/// Converts from `tokio::time::Instant`, `std::time::Instant`, `std::time::SystemTime` and
/// chrono's `DateTime` in any time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum When {
    /// A moment on tokio's clock, the one a test pauses and advances.
    Instant(tokio::time::Instant),
    /// A wall-clock time.
    Wall(SystemTime),
    /// This long after the scheduler takes the job: when it starts, for the jobs given to
    /// [`start_scheduler`](crate::Edri::start_scheduler), or when it handles the
    /// [`Set`](super::Set) or [`Update`](super::Update).
    After(Duration),
}

impl From<tokio::time::Instant> for When {
    fn from(instant: tokio::time::Instant) -> Self {
        When::Instant(instant)
    }
}

impl From<std::time::Instant> for When {
    fn from(instant: std::time::Instant) -> Self {
        When::Instant(tokio::time::Instant::from_std(instant))
    }
}

impl From<SystemTime> for When {
    fn from(time: SystemTime) -> Self {
        When::Wall(time)
    }
}

impl<Tz: TimeZone> From<DateTime<Tz>> for When {
    fn from(time: DateTime<Tz>) -> Self {
        When::Wall(SystemTime::from(time))
    }
}

/// What a repeating job does about the runs it missed while the scheduler could not run it
/// (the machine slept, the process was stopped, the runtime was busy).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(crate = "serde")]
pub enum MissedRuns {
    /// Run once for all the missed runs, then go on at the next time of the schedule.
    #[default]
    Once,
    /// Run once per missed run, back to back, then go on at the next time of the schedule.
    Burst,
}

/// Encodes a job's event, captured with the event's type by [`Job::new`].
type Encode = fn(&(dyn Any + Send + Sync)) -> Result<Vec<u8>, crate::wire::WireError>;

fn encode<E: Event>(event: &(dyn Any + Send + Sync)) -> Result<Vec<u8>, crate::wire::WireError> {
    // `Job::new::<E>` pairs this function with an `E`, so the downcast always succeeds; an
    // error (not a panic) keeps a broken pairing visible without taking the process down.
    match event.downcast_ref::<E>() {
        Some(event) => crate::wire::encode(event),
        None => Err(crate::wire::refused()),
    }
}

/// How a job's event serializes: encoded on demand, or the bytes it was decoded from.
#[derive(Clone)]
enum Encoded {
    OnDemand(Encode),
    Bytes(Arc<[u8]>),
}

/// A job's event, type-erased: what the router needs to send it, again and again.
#[derive(Clone)]
pub(crate) struct ErasedEvent {
    /// Re-sent as it is on every run; each receiver clones it.
    pub(crate) value: Arc<dyn Any + Send + Sync>,
    pub(crate) type_id: TypeId,
    pub(crate) name: &'static str,
    pub(crate) kind: EventKind,
    encoded: Encoded,
}

impl ErasedEvent {
    fn bytes(&self) -> Result<Vec<u8>, crate::wire::WireError> {
        match &self.encoded {
            Encoded::OnDemand(encode) => encode(&*self.value),
            Encoded::Bytes(bytes) => Ok(bytes.to_vec()),
        }
    }
}

/// Why a cron expression that parses is still refused.
pub(crate) const NEVER: &str = "no time from now on matches it";

/// A cron expression and what the parser made of it.
#[derive(Clone)]
pub(crate) struct CronRule {
    pub(crate) text: String,
    parsed: Result<croner::Cron, String>,
}

impl CronRule {
    fn parse(text: String) -> Self {
        // Seconds optional: both the classic 5 fields and 6 (seconds first) are accepted.
        let parsed = CronParser::builder()
            .seconds(Seconds::Optional)
            .build()
            .parse(&text)
            .map_err(|error| error.to_string());
        Self { text, parsed }
    }

    /// The first time the expression matches after `wall` (at `wall` too when `inclusive`),
    /// in UTC or in the machine's time zone.
    pub(crate) fn next(
        &self,
        wall: SystemTime,
        inclusive: bool,
        local: bool,
    ) -> Result<SystemTime, String> {
        let cron = self.parsed.as_ref().map_err(Clone::clone)?;
        let found = if local {
            cron.find_next_occurrence(&DateTime::<Local>::from(wall), inclusive)
                .map(SystemTime::from)
        } else {
            cron.find_next_occurrence(&DateTime::<Utc>::from(wall), inclusive)
                .map(SystemTime::from)
        };
        found.map_err(|error| error.to_string())
    }
}

/// A scheduled event: what to send, when first, how often, and under which name.
///
/// Build one with [`Job::new`] (once, now) or [`Job::cron`], then chain [`at`](Job::at) or
/// [`after`](Job::after), [`every`](Job::every), [`named`](Job::named),
/// [`missed`](Job::missed) and [`local_time`](Job::local_time). The chain never fails: a
/// problem (a bad cron expression, a zero period) is reported when the scheduler takes the job,
/// or by [`check`](Job::check).
///
/// The event is a notification (sent to every subscriber) or a request (sent to every solver;
/// the answer is discarded and a failure logged at warn level). A job serializes, so it can
/// travel in a [`Set`](super::Set) event: its event as its wire name and postcard bytes.
///
/// ```
/// use std::time::Duration;
/// use edri::events::test::Ping;
/// use edri::scheduler::{Job, MissedRuns};
///
/// let job = Job::new(Ping {})
///     .after(Duration::from_secs(60))
///     .every(Duration::from_secs(3600))
///     .missed(MissedRuns::Burst)
///     .named("hourly-ping");
/// assert_eq!(job.name(), Some("hourly-ping"));
/// assert!(job.check().is_ok());
///
/// let nightly = Job::cron("0 3 * * *", Ping {}).named("backup");
/// assert!(nightly.check().is_ok());
/// ```
#[derive(Clone)]
pub struct Job {
    pub(crate) event: ErasedEvent,
    pub(crate) first: Option<When>,
    pub(crate) every: Option<Duration>,
    pub(crate) cron: Option<CronRule>,
    pub(crate) local_time: bool,
    pub(crate) missed: MissedRuns,
    pub(crate) name: Option<String>,
}

impl Job {
    /// A job that sends `event` once, as soon as the scheduler takes it.
    pub fn new<E: Event>(event: E) -> Self {
        Self {
            event: ErasedEvent {
                value: Arc::new(event),
                type_id: TypeId::of::<E>(),
                name: E::NAME,
                kind: E::KIND,
                encoded: Encoded::OnDemand(encode::<E>),
            },
            first: None,
            every: None,
            cron: None,
            local_time: false,
            missed: MissedRuns::Once,
            name: None,
        }
    }

    /// A job that sends `event` at every time the cron expression matches, in UTC (see
    /// [`local_time`](Job::local_time)). Five fields (`minute hour day month weekday`) or six
    /// (seconds first).
    pub fn cron<E: Event>(expression: impl Into<String>, event: E) -> Self {
        Self {
            cron: Some(CronRule::parse(expression.into())),
            ..Self::new(event)
        }
    }

    /// Runs first at `when` (a time in the past runs at once). On a cron job: not before
    /// `when`, at the first time the expression matches from then on.
    pub fn at(mut self, when: impl Into<When>) -> Self {
        self.first = Some(when.into());
        self
    }

    /// Runs first this long after the scheduler takes the job.
    pub fn after(mut self, delay: Duration) -> Self {
        self.first = Some(When::After(delay));
        self
    }

    /// Repeats every `period` after the first run. Zero is an error; so is `every` on a cron
    /// job, whose expression already says when it repeats.
    pub fn every(mut self, period: Duration) -> Self {
        self.every = Some(period);
        self
    }

    /// Names the job, so that [`Update`](super::Update) and [`Cancel`](super::Cancel) can
    /// find it. Unnamed jobs get a generated name (`job-1`, `job-2`, ...).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// What to do about runs missed while the scheduler could not run the job:
    /// [`MissedRuns::Once`] (the default) or [`MissedRuns::Burst`].
    pub fn missed(mut self, policy: MissedRuns) -> Self {
        self.missed = policy;
        self
    }

    /// Reads the cron expression in the machine's time zone instead of UTC. Only for cron jobs.
    pub fn local_time(mut self) -> Self {
        self.local_time = true;
        self
    }

    /// The job's name, if it was given one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The wire name of the event the job sends.
    pub fn event_name(&self) -> &'static str {
        self.event.name
    }

    /// Reports what the scheduler would refuse in this job: a cron expression that does not
    /// parse or never matches, a zero period, contradicting builder calls.
    pub fn check(&self) -> Result<(), JobError> {
        self.validate(&self.label(None))
    }

    /// Whether the job runs more than once.
    pub(crate) fn repeats(&self) -> bool {
        self.every.is_some() || self.cron.is_some()
    }

    /// How error messages name the job: by name, by its position in `start_scheduler`'s list
    /// (counted from 1), or by its event.
    pub(crate) fn label(&self, position: Option<usize>) -> String {
        match (&self.name, position) {
            (Some(name), _) => format!("job `{name}`"),
            (None, Some(position)) => format!("job #{position} (`{}`)", self.event.name),
            (None, None) => format!("unnamed job (`{}`)", self.event.name),
        }
    }

    pub(crate) fn validate(&self, label: &str) -> Result<(), JobError> {
        let job = || label.to_owned();
        if let Some(rule) = &self.cron {
            if let Some(period) = self.every {
                return Err(JobError::Conflict {
                    job: job(),
                    reason: format!(
                        "`every({period:?})` on the cron job `{}`: the expression already says when it repeats",
                        rule.text
                    ),
                });
            }
            let reason = match &rule.parsed {
                Err(reason) => Some(reason.clone()),
                // Parses, but may match no date at all (February 30th).
                Ok(_) => rule
                    .next(SystemTime::now(), false, self.local_time)
                    .err()
                    .map(|error| format!("{NEVER} ({error})")),
            };
            if let Some(reason) = reason {
                return Err(JobError::Cron {
                    job: job(),
                    expression: rule.text.clone(),
                    reason,
                });
            }
        } else if self.local_time {
            return Err(JobError::Conflict {
                job: job(),
                reason: "`local_time()` applies to cron jobs only (`Job::cron`)".to_owned(),
            });
        }
        if self.every == Some(Duration::ZERO) {
            return Err(JobError::ZeroPeriod { job: job() });
        }
        Ok(())
    }
}

impl fmt::Debug for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Job")
            .field("event", &self.event.name)
            .field("name", &self.name)
            .field("first", &self.first)
            .field("every", &self.every)
            .field("cron", &self.cron.as_ref().map(|rule| &rule.text))
            .field("local_time", &self.local_time)
            .field("missed", &self.missed)
            .finish()
    }
}

/// The first run of a job on the wire: a moment on tokio's clock means nothing to another
/// process, so it travels as the delay left until it.
#[derive(Serialize, Deserialize)]
#[serde(crate = "serde")]
enum FirstRun {
    After(Duration),
    At(SystemTime),
}

/// A job on the wire.
#[derive(Serialize, Deserialize)]
#[serde(crate = "serde")]
struct WireJob {
    /// The event's wire name, to find its decoder in the registry.
    event: String,
    /// The event, postcard-encoded.
    bytes: Vec<u8>,
    first: Option<FirstRun>,
    every: Option<Duration>,
    cron: Option<String>,
    local_time: bool,
    missed: MissedRuns,
    name: Option<String>,
}

impl Serialize for Job {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let bytes = self.event.bytes().map_err(|error| {
            serde::ser::Error::custom(format!(
                "cannot encode the event `{}` of a job: {error}",
                self.event.name
            ))
        })?;
        let first = self.first.map(|when| match when {
            When::Instant(at) => {
                FirstRun::After(at.saturating_duration_since(tokio::time::Instant::now()))
            }
            When::After(delay) => FirstRun::After(delay),
            When::Wall(at) => FirstRun::At(at),
        });
        WireJob {
            event: self.event.name.to_owned(),
            bytes,
            first,
            every: self.every,
            cron: self.cron.as_ref().map(|rule| rule.text.clone()),
            local_time: self.local_time,
            missed: self.missed,
            name: self.name.clone(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Job {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;

        let wire = WireJob::deserialize(deserializer)?;
        let registry = Registry::get().map_err(|error| {
            D::Error::custom(format!(
                "cannot decode the event `{}` of a job: {error}",
                wire.event
            ))
        })?;
        let info = registry.by_name(&wire.event).ok_or_else(|| {
            D::Error::custom(format!(
                "the event `{}` of a job is not a registered event",
                wire.event
            ))
        })?;
        let value = (info.decode)(&wire.bytes).map_err(|error| {
            D::Error::custom(format!(
                "cannot decode the event `{}` of a job: {error}",
                info.name
            ))
        })?;
        Ok(Job {
            event: ErasedEvent {
                value,
                type_id: (info.type_id)(),
                name: info.name,
                kind: info.kind,
                encoded: Encoded::Bytes(wire.bytes.into()),
            },
            first: wire.first.map(|first| match first {
                FirstRun::After(delay) => When::After(delay),
                FirstRun::At(at) => When::Wall(at),
            }),
            every: wire.every,
            cron: wire.cron.map(CronRule::parse),
            local_time: wire.local_time,
            missed: wire.missed,
            name: wire.name,
        })
    }
}
