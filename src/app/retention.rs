//! Retention: a season's candidates' personal data is kept until a number
//! of days after the season's last deadline, then purged, by the daily pass
//! or by `exampost purge`. What statistics need stays (kinds, statuses,
//! times, province, ward); the event chain still verifies, because it
//! committed to salted digests of personal values, never to the values.

use chrono::{Duration, NaiveDate};
use serde::Serialize;

use crate::app::{Actor, Error};
use crate::clock::Clock;
use crate::db::{DbConn, TextList};
use crate::domain::exposure::Exposure;
use crate::domain::{fields, ReadAction, Role};
use crate::store::audit::NewAuditEntry;
use crate::store::retention::Purged;
use crate::store::seasons::Season;
use crate::store::{self};

/// Items purged per transaction: short write locks while the service runs.
const CHUNK: i64 = 500;

#[derive(Debug, Clone)]
pub struct PurgeSeason {
    pub season: String,
    /// Count what would be purged, change nothing.
    pub dry_run: bool,
    /// Purge before the retention period is over.
    pub force: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct PurgeReport {
    pub season: String,
    /// The day the season's personal data may go: its last deadline plus the retention days.
    pub due_on: NaiveDate,
    pub dry_run: bool,
    /// Items with personal data left (a dry run), or purged.
    pub items: i64,
    /// The rows each place had emptied.
    pub removed: Purged,
}

/// The day a season's personal data may be purged.
pub fn due_on(season: &Season, retention_days: u32) -> NaiveDate {
    let last_deadline = season.deadlines.iter().map(|(_, at)| crate::app::chain::day_of(at.and_utc())).max();
    let last = last_deadline.map_or(season.row.closes_on, |d| d.max(season.row.closes_on));
    last + Duration::days(i64::from(retention_days))
}

/// Purges one season's personal data (admins; the CLI and the daily pass).
/// Refuses before the season's due day unless forced; a second purge finds
/// nothing left and changes nothing.
pub fn purge(conn: &mut DbConn, clock: &dyn Clock, actor: &Actor, command: &PurgeSeason, retention_days: u32) -> Result<PurgeReport, Error> {
    actor.require(&[Role::Admin])?;
    let code = fields::season(&command.season).map_err(|r| Error::field("season", r))?;
    let season = store::seasons::find(conn, &code)?.ok_or_else(|| Error::field("season", format!("no season {code}")))?;
    let due = due_on(&season, retention_days);
    let today = crate::app::chain::day_of(clock.now());
    if today < due && !command.force {
        return Err(Error::field("season", format!("is kept until {due} ({retention_days} days after its last deadline); purge earlier only with force")));
    }
    let mut report = PurgeReport { season: code.clone(), due_on: due, dry_run: command.dry_run, items: 0, removed: Purged::default() };
    if command.dry_run {
        let mut after = 0;
        loop {
            let ids = store::retention::items_to_purge(conn, &code, after, 10_000)?;
            let Some(&last) = ids.last() else { break };
            report.items += ids.len() as i64;
            after = last;
        }
        return Ok(report);
    }
    loop {
        let done = conn.write_transaction(|conn| {
            let ids = store::retention::items_to_purge(conn, &code, 0, CHUNK)?;
            Ok::<_, Error>((ids.len(), store::retention::purge_items(conn, &ids)?))
        })?;
        report.items += done.0 as i64;
        report.removed += done.1;
        if done.0 == 0 {
            break;
        }
    }
    let now = store::stored_time(clock.now());
    let entry = NewAuditEntry {
        at: now,
        client_id: actor.client_id.clone(),
        org_id: actor.org_id.clone(),
        role: actor.role,
        address: None,
        action: ReadAction::Purge,
        tracking_numbers: None,
        query: Some(format!("season={code}")),
        item_count: report.items,
        fields: TextList::new(Exposure::ALL.fields()),
        provinces: ",".into(),
    };
    conn.write_transaction(|conn| {
        store::retention::record_purge(conn, &code, now, &actor.client_id, report.items)?;
        store::audit::append(conn, &[entry])
    })?;
    tracing::info!(season = %code, items = report.items, "personal data purged");
    Ok(report)
}

/// The daily pass: purges every season whose retention period is over and
/// that was not purged yet. One season failing does not stop the others.
pub fn purge_due(conn: &mut DbConn, clock: &dyn Clock, retention_days: u32) -> Result<Vec<PurgeReport>, Error> {
    let system = Actor::operator("system:retention");
    let today = crate::app::chain::day_of(clock.now());
    let mut done = Vec::new();
    for season in store::seasons::all(conn)? {
        if due_on(&season, retention_days) > today || store::retention::purged_at(conn, &season.row.code)?.is_some() {
            continue;
        }
        let command = PurgeSeason { season: season.row.code.clone(), dry_run: false, force: false };
        match purge(conn, clock, &system, &command, retention_days) {
            Ok(report) => done.push(report),
            Err(e) => tracing::error!(season = %season.row.code, error = %e, "the retention purge failed; the next pass retries"),
        }
    }
    Ok(done)
}
