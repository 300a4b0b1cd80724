//! Attempts per key within a sliding window, timed by the injected clock so
//! that tests move time instead of sleeping.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use chrono::{DateTime, Utc};

/// Past this many keys, keys with nothing left in the window are dropped, so
/// that made-up client ids or addresses cannot grow the map for ever.
const PRUNE_ABOVE_KEYS: usize = 10_000;

/// At most `limit` attempts per key in any `window`; each key keeps only the
/// times of its attempts still inside the window (at most `limit` of them).
pub struct AttemptLimiter<K> {
    limit: usize,
    window: chrono::Duration,
    attempts: Mutex<HashMap<K, VecDeque<DateTime<Utc>>>>,
    /// The size at which the map is pruned next: twice what a prune left, so
    /// that keys still inside their window (many addresses at once) cost an
    /// amortised constant, not a scan of the whole map on every attempt.
    prune_at: AtomicUsize,
}

impl<K: Hash + Eq> AttemptLimiter<K> {
    pub fn new(limit: u32, window: std::time::Duration) -> Self {
        AttemptLimiter {
            limit: limit.max(1) as usize,
            window: chrono::Duration::from_std(window).unwrap_or(chrono::Duration::days(1)),
            attempts: Mutex::new(HashMap::new()),
            prune_at: AtomicUsize::new(PRUNE_ABOVE_KEYS),
        }
    }

    /// Whole seconds until `key` may try again, if it has used up the window.
    pub fn blocked_for(&self, key: &K, now: DateTime<Utc>) -> Option<u64> {
        let mut attempts = self.attempts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let times = attempts.get_mut(key)?;
        self.forget_expired(times, now);
        self.wait(times, now)
    }

    /// Counts an attempt by `key`.
    pub fn record(&self, key: K, now: DateTime<Utc>) {
        let _ = self.record_unless_blocked(key, now);
    }

    /// Counts an attempt by `key` unless it has used up the window; then the
    /// whole seconds until it may try again.
    pub fn record_unless_blocked(&self, key: K, now: DateTime<Utc>) -> Result<(), u64> {
        let mut attempts = self.attempts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if attempts.len() > self.prune_at.load(Ordering::Relaxed) {
            let oldest_kept = now - self.window;
            attempts.retain(|_, times| times.back().is_some_and(|last| *last > oldest_kept));
            self.prune_at.store(PRUNE_ABOVE_KEYS.max(attempts.len() * 2), Ordering::Relaxed);
        }
        let times = attempts.entry(key).or_default();
        self.forget_expired(times, now);
        if let Some(seconds) = self.wait(times, now) {
            return Err(seconds);
        }
        times.push_back(now);
        Ok(())
    }

    fn forget_expired(&self, times: &mut VecDeque<DateTime<Utc>>, now: DateTime<Utc>) {
        while times.front().is_some_and(|first| *first <= now - self.window) {
            times.pop_front();
        }
    }

    fn wait(&self, times: &VecDeque<DateTime<Utc>>, now: DateTime<Utc>) -> Option<u64> {
        if times.len() < self.limit {
            return None;
        }
        let free_at = *times.front()? + self.window;
        let millis = (free_at - now).num_milliseconds().max(1) as u64;
        Some(millis.div_ceil(1000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    /// The limiter keeps no clock of its own; any fixed instant will do.
    fn start() -> DateTime<Utc> {
        DateTime::from_timestamp(1_780_000_000, 0).unwrap()
    }

    #[test]
    fn the_window_slides_and_keys_are_separate() {
        let limiter = AttemptLimiter::new(2, std::time::Duration::from_secs(60));
        let start = start();
        assert_eq!(limiter.record_unless_blocked("a", start), Ok(()));
        assert_eq!(limiter.record_unless_blocked("a", start + Duration::seconds(30)), Ok(()));
        assert_eq!(limiter.record_unless_blocked("a", start + Duration::seconds(40)), Err(20));
        assert_eq!(limiter.blocked_for(&"b", start + Duration::seconds(40)), None);
        assert_eq!(limiter.blocked_for(&"a", start + Duration::milliseconds(59_500)), Some(1), "rounded up, never 0");
        assert_eq!(limiter.record_unless_blocked("a", start + Duration::seconds(60)), Ok(()), "the first attempt has left the window");
        assert_eq!(limiter.blocked_for(&"a", start + Duration::seconds(60)), Some(30));
    }

    #[test]
    fn idle_keys_are_dropped_once_there_are_many() {
        let limiter = AttemptLimiter::new(1, std::time::Duration::from_secs(60));
        let start = start();
        for n in 0..=PRUNE_ABOVE_KEYS {
            limiter.record(n, start);
        }
        limiter.record(usize::MAX, start + Duration::seconds(61));
        assert_eq!(limiter.attempts.lock().unwrap().len(), 1);
    }

    #[test]
    fn many_live_keys_are_scanned_rarely_not_on_every_attempt() {
        let limiter = AttemptLimiter::new(5, std::time::Duration::from_secs(60));
        let start = start();
        for n in 0..=PRUNE_ABOVE_KEYS {
            limiter.record(n, start);
        }
        // The next attempt finds the map over the mark: every key is still
        // inside its window, so the prune keeps them all and waits until the
        // map has doubled before it looks again.
        limiter.record(usize::MAX, start);
        assert_eq!(limiter.prune_at.load(Ordering::Relaxed), 2 * (PRUNE_ABOVE_KEYS + 1));
        limiter.record(usize::MAX - 1, start);
        assert_eq!(limiter.prune_at.load(Ordering::Relaxed), 2 * (PRUNE_ABOVE_KEYS + 1), "no second scan one attempt later");
        assert_eq!(limiter.attempts.lock().unwrap().len(), PRUNE_ABOVE_KEYS + 3);
    }
}
