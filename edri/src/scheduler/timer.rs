//! The timer task: sleeps until the first job is due, sends what is due, and sleeps again.

use std::sync::Arc;

use tokio::time::Instant;

use super::timeline::Run;
use super::Shared;
use crate::answer::first_answer_erased;
use crate::router::Entry;
use crate::EventKind;

/// How many due jobs the timer takes per turn, so the table's lock is held briefly even when
/// thousands of jobs fall due at once.
const BATCH: usize = 256;

/// Runs until aborted (when the scheduler stops). One sleep at a time, until the first due
/// job, whatever the number of jobs: an idle scheduler does not wake up.
pub(crate) async fn run(shared: Arc<Shared>, entry: Entry) {
    loop {
        let (runs, next) = {
            let mut table = shared.lock();
            let runs = table.take_due(Instant::now(), &shared.clock, BATCH);
            (runs, table.next_due())
        };
        for run in runs {
            fire(&entry, run).await;
        }
        // A job that falls due before `next` and arrives from now on leaves a permit in
        // `wake` (`notify_one`), so this wait ends at once instead of missing it.
        match next {
            Some(next) => tokio::select! {
                () = tokio::time::sleep_until(next) => {}
                () = shared.wake.notified() => {}
            },
            None => shared.wake.notified().await,
        }
    }
}

/// Sends a due job's event. A request's answer is awaited by a task of its own and discarded;
/// a failure is logged.
async fn fire(entry: &Entry, run: Run) {
    let event = &run.event;
    for _ in 0..run.times {
        tracing::debug!(
            job = &*run.job,
            event = event.name,
            "running a scheduled job"
        );
        match event.kind {
            EventKind::Notification => {
                entry
                    .notify_erased(event.type_id, event.name, event.value.clone())
                    .await;
            }
            EventKind::Request => {
                let answers = entry
                    .request_erased(event.type_id, event.name, event.value.clone())
                    .await;
                let timeout = entry.router().config.request_timeout;
                let deadlines = entry.router().deadlines.clone();
                let (job, name) = (run.job.clone(), event.name);
                tokio::spawn(async move {
                    if let Err(failure) =
                        first_answer_erased(name, answers, &deadlines, timeout).await
                    {
                        tracing::warn!(
                            job = &*job,
                            event = name,
                            %failure,
                            "a scheduled request failed (its answer is discarded)"
                        );
                    }
                });
            }
        }
    }
}
