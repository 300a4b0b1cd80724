//! A PostgreSQL read replica for the reads that may be a little behind:
//! the public lookup, lists and reports. Writes, and reads that must see
//! them (an item after its scan), stay on the primary.
//!
//! How far behind the replica is gets measured, not assumed: once a second
//! the primary's WAL position is noted with the time, and the replica's
//! replayed position tells which of those notes it has not reached; the
//! oldest of them is how long the replica has been behind. Past the
//! allowed lag (or when the replica cannot be asked) reads go to the primary.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use diesel::{QueryableByName, RunQueryDsl};

use super::{DbConn, Pool, PooledConn};

/// The replica's pool and what is known of its lag.
#[derive(Clone)]
pub struct ReadReplica {
    pool: Pool,
    max_lag: Duration,
    watch: Arc<LagWatch>,
}

#[derive(Default)]
struct LagWatch {
    /// Milliseconds behind at the last check.
    lag_ms: AtomicU64,
    /// Whether the last check reached both databases.
    checked: AtomicBool,
    /// The primary's positions, oldest first, with when each was seen.
    marks: Mutex<VecDeque<(Instant, u64)>>,
}

/// What the last check found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lag {
    /// Behind by this much (zero when caught up).
    Behind(Duration),
    /// The replica or the primary could not be asked.
    Unknown,
}

#[derive(QueryableByName)]
struct Position {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    lsn: Option<String>,
}

/// A WAL position `X/Y` (hex halves) as one number.
pub fn parse_lsn(text: &str) -> Option<u64> {
    let (high, low) = text.trim().split_once('/')?;
    let (high, low) = (u64::from_str_radix(high, 16).ok()?, u64::from_str_radix(low, 16).ok()?);
    (high <= u64::from(u32::MAX) && low <= u64::from(u32::MAX)).then_some((high << 32) | low)
}

/// How long ago the primary was at the first position the replica has not
/// replayed; zero when it has replayed them all.
fn lag_from(marks: &VecDeque<(Instant, u64)>, replayed: u64, now: Instant) -> Duration {
    marks.iter().find(|(_, position)| *position > replayed).map_or(Duration::ZERO, |(seen, _)| now.saturating_duration_since(*seen))
}

impl ReadReplica {
    pub fn new(pool: Pool, max_lag: Duration) -> ReadReplica {
        ReadReplica { pool, max_lag, watch: Arc::default() }
    }

    pub fn lag(&self) -> Lag {
        if self.watch.checked.load(Ordering::Acquire) {
            Lag::Behind(Duration::from_millis(self.watch.lag_ms.load(Ordering::Acquire)))
        } else {
            Lag::Unknown
        }
    }

    /// A replica connection was found closed: check them all before their next use.
    pub fn distrust_connections(&self) {
        self.pool.distrust_connections();
    }

    /// A replica connection if the replica is close enough behind, else `None` (read the primary).
    pub fn connection(&self) -> Option<PooledConn> {
        match self.lag() {
            Lag::Behind(lag) if lag <= self.max_lag => self.pool.get_timeout(Duration::from_millis(500)).ok(),
            _ => None,
        }
    }

    /// One check: the primary's position noted, the replica's compared.
    /// Blocking; the server runs it once a second on the blocking pool.
    pub fn check(&self, primary: &Pool) {
        let now = Instant::now();
        let primary_at = primary.get().ok().and_then(|mut conn| position(&mut conn, "SELECT pg_current_wal_lsn()::text AS lsn"));
        // A server that is not in recovery is no replica: it has everything.
        let replayed = self.pool.get().ok().and_then(|mut conn| {
            position(&mut conn, "SELECT COALESCE(pg_last_wal_replay_lsn(), CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn() END)::text AS lsn")
        });
        let mut marks = self.watch.marks.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(at) = primary_at {
            if marks.back().is_none_or(|(_, last)| *last != at) {
                marks.push_back((now, at));
            }
        }
        // Bounded: one mark a second for as long as the replica is stuck or away.
        while marks.len() > 3600 {
            marks.pop_front();
        }
        let (Some(_), Some(replayed)) = (primary_at, replayed) else {
            self.watch.checked.store(false, Ordering::Release);
            return;
        };
        let lag = lag_from(&marks, replayed, now);
        while marks.front().is_some_and(|(_, position)| *position <= replayed) && marks.len() > 1 {
            marks.pop_front();
        }
        self.watch.lag_ms.store(u64::try_from(lag.as_millis()).unwrap_or(u64::MAX), Ordering::Release);
        self.watch.checked.store(true, Ordering::Release);
    }
}

/// The connections of one piece of work: the primary, and the replica when
/// it may be read. Writes, and reads that must see them, use `primary`.
pub struct Connections<'a> {
    primary: &'a mut DbConn,
    replica: Option<&'a mut DbConn>,
}

impl<'a> Connections<'a> {
    pub fn new(primary: &'a mut DbConn, replica: Option<&'a mut DbConn>) -> Self {
        Connections { primary, replica }
    }

    pub fn primary(&mut self) -> &mut DbConn {
        self.primary
    }

    /// The replica if it is close enough behind, else the primary.
    pub fn reads(&mut self) -> &mut DbConn {
        match self.replica.as_deref_mut() {
            Some(replica) => replica,
            None => self.primary,
        }
    }
}

fn position(conn: &mut DbConn, sql: &str) -> Option<u64> {
    let rows: Vec<Position> = diesel::sql_query(sql).load(conn).ok()?;
    rows.first().and_then(|row| row.lsn.as_deref()).and_then(parse_lsn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_parse_as_postgres_writes_them() {
        assert_eq!(parse_lsn("0/16B3748"), Some(0x16B3748));
        assert_eq!(parse_lsn("1/0"), Some(1 << 32));
        for bad in ["", "16B3748", "x/1", "1/2/3", "100000000/0"] {
            assert_eq!(parse_lsn(bad), None, "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_position_text_parses_or_not_without_panicking(text in "\\PC{0,24}") {
            let _ = parse_lsn(&text);
        }
    }

    #[test]
    fn lag_is_the_age_of_the_oldest_position_not_replayed() {
        let start = Instant::now();
        let marks: VecDeque<(Instant, u64)> = [(start, 100), (start + Duration::from_secs(1), 200), (start + Duration::from_secs(2), 300)].into();
        let now = start + Duration::from_secs(5);
        assert_eq!(lag_from(&marks, 300, now), Duration::ZERO);
        // It has what the primary had at 1 s, not what it had from 2 s on.
        assert_eq!(lag_from(&marks, 250, now), Duration::from_secs(3));
        assert_eq!(lag_from(&marks, 150, now), Duration::from_secs(4));
        assert_eq!(lag_from(&marks, 50, now), Duration::from_secs(5));
    }
}
