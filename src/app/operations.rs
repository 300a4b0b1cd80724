//! What an operator watches that lives in the database: the cases still
//! waiting for someone, by kind and level, and the notifications waiting to
//! go out. Read at scrape time, so every replica reports the same figures.

use chrono::{DateTime, Utc};

use super::Error;
use crate::db::DbConn;
use crate::domain::cases::CaseKind;
use crate::store;

/// The channels the outbox sends through.
pub const CHANNELS: [&str; 2] = ["email", "webhook"];

#[derive(Debug, Clone, PartialEq)]
pub struct ChannelBacklog {
    pub channel: String,
    pub pending: i64,
    /// How long the oldest waiting message has waited, in seconds (0 when none waits).
    pub oldest_pending_secs: i64,
    pub failed: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Every kind at levels 1 to 3, zero included, so that a figure that
    /// falls to nothing is reported as 0 rather than kept at its last value.
    pub active_cases: Vec<(CaseKind, i32, i64)>,
    /// Every channel, zero included.
    pub outbox: Vec<ChannelBacklog>,
}

pub fn snapshot(conn: &mut DbConn, now: DateTime<Utc>) -> Result<Snapshot, Error> {
    let counted = store::cases::count_active_by_kind_and_level(conn)?;
    let mut active_cases: Vec<(CaseKind, i32, i64)> = CaseKind::ALL.iter().flat_map(|kind| (1..=3).map(move |level| (*kind, level, 0))).collect();
    for (kind, level, count) in counted {
        match active_cases.iter_mut().find(|(k, l, _)| *k == kind && *l == level) {
            Some(entry) => entry.2 = count,
            None => active_cases.push((kind, level, count)),
        }
    }
    let backlog = store::outbox::backlog(conn)?;
    let mut outbox: Vec<ChannelBacklog> = CHANNELS
        .iter()
        .map(|channel| ChannelBacklog { channel: channel.to_string(), pending: 0, oldest_pending_secs: 0, failed: 0 })
        .collect();
    for entry in backlog {
        let oldest_pending_secs = entry.oldest_pending_at.map_or(0, |at| (now.naive_utc() - at).num_seconds().max(0));
        let line = ChannelBacklog { channel: entry.channel.clone(), pending: entry.pending, oldest_pending_secs, failed: entry.failed };
        match outbox.iter_mut().find(|b| b.channel == entry.channel) {
            Some(known) => *known = line,
            None => outbox.push(line),
        }
    }
    Ok(Snapshot { active_cases, outbox })
}
