//! When a job runs: its first run, and after each run the next one, on tokio's clock.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::job::{Job, When};
use super::MissedRuns;

/// Further than any schedule needs; a time beyond what `Instant` holds is clamped to this far
/// ahead (tokio's own timers do the same).
const FAR: Duration = Duration::from_secs(30 * 365 * 24 * 3600);

/// `at + by`, clamped instead of overflowing.
pub(crate) fn later(at: Instant, by: Duration) -> Instant {
    at.checked_add(by)
        .or_else(|| at.checked_add(FAR))
        // `at` is near now, so `at + FAR` fits; were it not, running early beats panicking.
        .unwrap_or(at)
}

/// Maps tokio's clock onto the wall clock, from one reading of both taken when the scheduler
/// starts. Cron and wall-clock times follow tokio's clock from there: a paused test clock
/// drives them, and a later jump of the wall clock is not followed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    wall: SystemTime,
    instant: Instant,
}

impl Clock {
    /// Reads both clocks now.
    pub(crate) fn start() -> Self {
        Self {
            wall: SystemTime::now(),
            instant: Instant::now(),
        }
    }

    /// The wall-clock time at `at`.
    pub(crate) fn wall(&self, at: Instant) -> SystemTime {
        let wall = if at >= self.instant {
            self.wall.checked_add(at - self.instant)
        } else {
            self.wall.checked_sub(self.instant - at)
        };
        // Out of `SystemTime`'s range only for absurd instants, centuries away.
        wall.unwrap_or(self.wall)
    }

    /// The moment on tokio's clock of the wall-clock time `wall`.
    pub(crate) fn instant(&self, wall: SystemTime) -> Instant {
        match wall.duration_since(self.wall) {
            Ok(ahead) => later(self.instant, ahead),
            // Before `Instant` can count back is long past: run at once.
            Err(behind) => self
                .instant
                .checked_sub(behind.duration())
                .unwrap_or(self.instant),
        }
    }
}

/// When a job runs first, taken at `now`; `None` when its cron expression never matches.
pub(crate) fn first_run(job: &Job, clock: &Clock, now: Instant) -> Option<Instant> {
    let from = match job.first {
        None => now,
        Some(When::Instant(at)) => at,
        Some(When::Wall(at)) => clock.instant(at),
        Some(When::After(delay)) => later(now, delay),
    };
    let Some(rule) = &job.cron else {
        return Some(from);
    };
    let wall = clock.wall(from);
    // Cron times are whole seconds: a start on a whole second may be one (`at` exactly
    // 03:00:00); otherwise, and for "now", the first match comes strictly after it.
    let inclusive = job.first.is_some()
        && wall
            .duration_since(SystemTime::UNIX_EPOCH)
            .is_ok_and(|since| since.subsec_nanos() == 0);
    rule.next(wall, inclusive, job.local_time)
        .ok()
        .map(|next| clock.instant(next))
}

/// What one run of a job, due at `due` and taken at `now`, amounts to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Runs {
    /// How many times to send the event now: 1, or every missed run with `MissedRuns::Burst`.
    pub(crate) times: u64,
    /// When it runs next; `None` when it is done.
    pub(crate) next: Option<Instant>,
}

/// Runs a job due at `due <= now`: how many times to send it now, and when next.
pub(crate) fn after_run(job: &Job, due: Instant, now: Instant, clock: &Clock) -> Runs {
    let burst = job.missed == MissedRuns::Burst;
    if let Some(period) = job.every {
        // Runs due in [due, now]; the next is the first of the schedule after now.
        let passed = now.saturating_duration_since(due).as_nanos() / period.as_nanos().max(1) + 1;
        let ahead = period.as_nanos().saturating_mul(passed);
        let next = later(
            due,
            Duration::from_nanos(u64::try_from(ahead).unwrap_or(u64::MAX)),
        );
        let times = if burst {
            u64::try_from(passed).unwrap_or(u64::MAX)
        } else {
            1
        };
        return Runs {
            times,
            next: Some(next),
        };
    }
    let Some(rule) = &job.cron else {
        return Runs {
            times: 1,
            next: None,
        };
    };
    let wall_now = clock.wall(now);
    let next_after = |wall| rule.next(wall, false, job.local_time).ok();
    let mut times = 1;
    let next = if burst {
        // Walk the missed times one by one, counting them.
        let mut next = next_after(clock.wall(due));
        while let Some(at) = next.filter(|at| *at <= wall_now) {
            times += 1;
            next = next_after(at);
        }
        next
    } else {
        next_after(wall_now)
    };
    Runs {
        times,
        next: next.map(|at| clock.instant(at)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::test::Ping;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn a_repeating_job_counts_its_missed_runs() {
        let clock = Clock::start();
        let due = clock.instant(clock.wall(Instant::now()));
        let every = Job::new(Ping {}).every(secs(10));
        // On time: one run, the next one period later.
        assert_eq!(
            after_run(&every, due, due, &clock),
            Runs {
                times: 1,
                next: Some(due + secs(10))
            }
        );
        // 95 s late: nine more runs were due; the next stays on the schedule.
        assert_eq!(
            after_run(&every, due, due + secs(95), &clock),
            Runs {
                times: 1,
                next: Some(due + secs(100))
            }
        );
        let burst = every.missed(MissedRuns::Burst);
        assert_eq!(after_run(&burst, due, due + secs(95), &clock).times, 10);
        // Exactly on a later run's time: that run is among those due now.
        assert_eq!(
            after_run(&burst, due, due + secs(20), &clock),
            Runs {
                times: 3,
                next: Some(due + secs(30))
            }
        );
    }

    #[test]
    fn a_one_shot_job_ends() {
        let clock = Clock::start();
        let now = Instant::now();
        let runs = after_run(&Job::new(Ping {}), now, now + secs(5), &clock);
        assert_eq!(
            runs,
            Runs {
                times: 1,
                next: None
            }
        );
    }

    #[test]
    fn the_clock_maps_both_ways() {
        let clock = Clock::start();
        let now = Instant::now();
        let wall = clock.wall(now + secs(3600));
        assert_eq!(clock.instant(wall), now + secs(3600));
        assert!(clock.instant(SystemTime::UNIX_EPOCH) <= now);
        assert!(later(now, Duration::MAX) > now + secs(3600));
    }
}
