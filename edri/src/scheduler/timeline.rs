//! The job table: jobs by name, and their due times in order, so that adding, cancelling and
//! taking the next due job each cost O(log n).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use tokio::time::Instant;

use super::job::{ErasedEvent, Job};
use super::schedule::{self, Clock};
use super::JobInfo;

/// A place in the timeline: the due time, then a sequence number that keeps jobs due at one
/// time in the order they were scheduled.
type Key = (Instant, u64);

struct Entry {
    job: Job,
    key: Key,
}

/// A job to send now, taken out of the table by [`Table::take_due`].
pub(crate) struct Run {
    pub(crate) job: Arc<str>,
    pub(crate) event: ErasedEvent,
    /// How many times in a row: more than once for missed runs under `MissedRuns::Burst`.
    pub(crate) times: u64,
}

#[derive(Default)]
pub(crate) struct Table {
    jobs: HashMap<Arc<str>, Entry>,
    timeline: BTreeMap<Key, Arc<str>>,
    sequence: u64,
    generated: u64,
}

impl Table {
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.jobs.contains_key(name)
    }

    /// A name no job has: `job-<n>`.
    pub(crate) fn generate_name(&mut self) -> Arc<str> {
        loop {
            self.generated += 1;
            let name = format!("job-{}", self.generated);
            if !self.jobs.contains_key(name.as_str()) {
                return name.into();
            }
        }
    }

    /// Adds a job, or replaces the one of that name; returns whether it is now the first due,
    /// so the timer must wake up earlier than it planned.
    pub(crate) fn insert(&mut self, name: Arc<str>, job: Job, due: Instant) -> bool {
        self.remove(&name);
        self.sequence += 1;
        let key = (due, self.sequence);
        self.timeline.insert(key, name.clone());
        self.jobs.insert(name, Entry { job, key });
        self.timeline.first_key_value().map(|(first, _)| *first) == Some(key)
    }

    pub(crate) fn remove(&mut self, name: &str) -> Option<Job> {
        let entry = self.jobs.remove(name)?;
        self.timeline.remove(&entry.key);
        Some(entry.job)
    }

    /// When the first job is due.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        self.timeline.first_key_value().map(|((due, _), _)| *due)
    }

    /// Takes up to `limit` jobs due at `now`, first due first, and puts the repeating ones
    /// back at their next time.
    pub(crate) fn take_due(&mut self, now: Instant, clock: &Clock, limit: usize) -> Vec<Run> {
        let mut runs = Vec::new();
        while runs.len() < limit {
            let Some(first) = self.timeline.first_entry() else {
                break;
            };
            let (due, _) = *first.key();
            if due > now {
                break;
            }
            let name = first.remove();
            // Every key in the timeline belongs to a job of the table (insert and remove keep
            // both in step); a stray key would simply be dropped here.
            let Some(entry) = self.jobs.get_mut(&name) else {
                continue;
            };
            let runs_now = schedule::after_run(&entry.job, due, now, clock);
            runs.push(Run {
                job: name.clone(),
                event: entry.job.event.clone(),
                times: runs_now.times,
            });
            match runs_now.next {
                Some(next) => {
                    self.sequence += 1;
                    entry.key = (next, self.sequence);
                    self.timeline.insert(entry.key, name);
                }
                None => {
                    if entry.job.repeats() {
                        tracing::warn!(
                            job = &*name,
                            "the cron expression matches no later time: the job ends"
                        );
                    }
                    self.jobs.remove(&name);
                }
            }
        }
        runs
    }

    /// Every pending job, the next to run first.
    pub(crate) fn list(&self, now: Instant) -> Vec<JobInfo> {
        self.timeline
            .iter()
            .filter_map(|((due, _), name)| {
                let entry = self.jobs.get(name)?;
                Some(JobInfo {
                    name: name.to_string(),
                    event: entry.job.event.name.to_owned(),
                    next_run_in: due.saturating_duration_since(now),
                    repeats: entry.job.repeats(),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::events::test::Ping;

    #[test]
    fn jobs_come_out_in_due_order_and_repeating_ones_go_back() {
        let clock = Clock::start();
        let now = Instant::now();
        let mut table = Table::default();
        let second = Duration::from_secs(1);
        assert!(table.insert("b".into(), Job::new(Ping {}), now + 2 * second));
        assert!(table.insert("a".into(), Job::new(Ping {}).every(second), now + second));
        assert!(!table.insert("c".into(), Job::new(Ping {}), now + 3 * second));
        assert_eq!(table.next_due(), Some(now + second));

        let names = |runs: Vec<Run>| {
            runs.iter()
                .map(|run| run.job.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(table.take_due(now + 2 * second, &clock, 10)),
            ["a", "b"]
        );
        // "a" repeats (next at 3 s, after "c", which was scheduled first); "b" is done.
        assert!(!table.contains("b"));
        assert_eq!(
            names(table.take_due(now + 3 * second, &clock, 10)),
            ["c", "a"]
        );
        assert!(table.remove("a").is_some());
        assert_eq!(table.next_due(), None);
    }

    #[test]
    fn generated_names_skip_taken_ones() {
        let mut table = Table::default();
        table.insert("job-1".into(), Job::new(Ping {}), Instant::now());
        assert_eq!(&*table.generate_name(), "job-2");
    }
}
