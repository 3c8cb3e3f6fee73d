//! Logs a repeated event as a summary: at most one line per period, with the count since the
//! last line, so a flood of drops cannot flood the log.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts occurrences and says when to log them.
#[derive(Debug)]
pub(crate) struct LogThrottle {
    period: Duration,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    last: Option<Instant>,
    unlogged: u64,
}

impl LogThrottle {
    /// At most one line per `period`.
    pub(crate) fn new(period: Duration) -> Self {
        Self {
            period,
            state: Mutex::new(State {
                last: None,
                unlogged: 0,
            }),
        }
    }

    /// Counts one occurrence; `Some(count)` when a line is due, with the occurrences it covers
    /// (this one included). The first occurrence is logged at once.
    pub(crate) fn tick(&self) -> Option<u64> {
        let now = Instant::now();
        // Nothing panics while the lock is held, so a poisoned lock still holds valid counts.
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        state.unlogged += 1;
        if state
            .last
            .is_some_and(|last| now.duration_since(last) < self.period)
        {
            return None;
        }
        state.last = Some(now);
        Some(std::mem::take(&mut state.unlogged))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_is_logged_and_the_rest_are_summed_up() {
        let throttle = LogThrottle::new(Duration::from_secs(3600));
        assert_eq!(throttle.tick(), Some(1));
        for _ in 0..1000 {
            assert_eq!(throttle.tick(), None);
        }
        let fast = LogThrottle::new(Duration::ZERO);
        assert_eq!(fast.tick(), Some(1));
        assert_eq!(fast.tick(), Some(1));
    }
}
