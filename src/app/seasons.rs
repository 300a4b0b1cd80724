//! Seasons as data: an admin declares each season's calendar (exam days,
//! result day, the last day it is open) and per item kind the deadline an
//! item takes when its sender gives none. Registration refuses an unknown
//! season; the candidates' page offers the open ones.

use chrono::{DateTime, NaiveDate, Utc};

use crate::app::{Actor, Error};
use crate::clock::Clock;
use crate::db::{DbConn, TextList};
use crate::domain::{fields, FieldErrors, ItemKind, Role};
use crate::store::seasons::{Season, SeasonRow};
use crate::store::{self, stored_time};

/// A season as an admin writes it. Texts are as sent: the service checks them.
#[derive(Debug, Clone, PartialEq)]
pub struct SeasonCommand {
    pub code: String,
    pub name: String,
    /// `YYYY-MM-DD` each.
    pub exam_days: Vec<String>,
    pub result_day: Option<String>,
    /// The last day the season is open (`YYYY-MM-DD`).
    pub closes_on: String,
    /// Per kind: a day (the end of it in Vietnam) or an RFC 3339 time.
    pub deadlines: Vec<(ItemKind, String)>,
}

fn check(command: &SeasonCommand, now: DateTime<Utc>) -> Result<Season, Error> {
    let mut errors = FieldErrors::default();
    let code = errors.check("code", fields::season(&command.code));
    let name = errors.check("name", fields::text(&command.name, 200));
    let mut exam_days = Vec::new();
    for day in &command.exam_days {
        if let Some(day) = errors.check("exam_days", fields::date(day)) {
            exam_days.push(day);
        }
    }
    exam_days.sort();
    exam_days.dedup();
    let result_day = errors.check("result_day", command.result_day.as_deref().map(fields::date).transpose());
    let closes_on = errors.check("closes_on", fields::date(&command.closes_on));
    if let (Some(closes), Some(last_exam)) = (closes_on, exam_days.last()) {
        if closes < *last_exam {
            errors.push("closes_on", "must not be before the last exam day");
        }
    }
    let mut deadlines = Vec::new();
    for (kind, text) in &command.deadlines {
        if deadlines.iter().any(|(k, _)| k == kind) {
            errors.push("deadlines", format!("{kind} is given twice"));
            continue;
        }
        // A season may be written after its deadlines have passed: no "in the future" here.
        match fields::deadline(text, DateTime::<Utc>::MIN_UTC) {
            Ok(at) => deadlines.push((*kind, stored_time(at))),
            Err(reason) => errors.push("deadlines", format!("{kind}: {reason}")),
        }
    }
    match (code, name, result_day, closes_on) {
        (Some(code), Some(name), Some(result_day), Some(closes_on)) if errors.is_empty() => {
            let at = stored_time(now);
            let row = SeasonRow { code, name, exam_days: TextList::new(exam_days), result_day, closes_on, created_at: at, updated_at: at };
            Ok(Season { row, deadlines })
        }
        _ => Err(Error::Invalid(errors.0)),
    }
}

/// Declares a new season (admins).
pub fn create(conn: &mut DbConn, clock: &dyn Clock, actor: &Actor, command: SeasonCommand) -> Result<Season, Error> {
    actor.require(&[Role::Admin])?;
    let season = check(&command, clock.now())?;
    conn.write_transaction(|conn| {
        if store::seasons::find(conn, &season.row.code)?.is_some() {
            return Err(Error::Conflict { detail: format!("season {} exists; change it with PUT", season.row.code), existing_id: Some(season.row.code.clone()) });
        }
        store::seasons::save(conn, &season)?;
        Ok(season)
    })
}

/// Replaces a season's calendar and deadlines (admins). Items already
/// registered keep their deadlines.
pub fn replace(conn: &mut DbConn, clock: &dyn Clock, actor: &Actor, code: &str, mut command: SeasonCommand) -> Result<Season, Error> {
    actor.require(&[Role::Admin])?;
    // The path names a season: a code that cannot be one names none.
    let code = fields::season(code).map_err(|_| Error::NotFound(format!("no season {code}")))?;
    command.code = code.clone();
    let mut season = check(&command, clock.now())?;
    conn.write_transaction(|conn| {
        let stored = store::seasons::find(conn, &season.row.code)?.ok_or_else(|| Error::NotFound(format!("no season {code}")))?;
        season.row.created_at = stored.row.created_at;
        store::seasons::save(conn, &season)?;
        Ok(season)
    })
}

/// Every season (any client: overseers and clerks read the calendar).
pub fn list(conn: &mut DbConn) -> Result<Vec<Season>, Error> {
    Ok(store::seasons::all(conn)?)
}

/// The seasons still open today (in Vietnam): what the candidates' page offers.
pub fn open(conn: &mut DbConn, clock: &dyn Clock) -> Result<Vec<Season>, Error> {
    let today: NaiveDate = clock.now().with_timezone(&chrono_tz::Asia::Ho_Chi_Minh).date_naive();
    Ok(store::seasons::all(conn)?.into_iter().filter(|s| s.row.closes_on >= today).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command() -> SeasonCommand {
        SeasonCommand {
            code: "2026-thpt".into(),
            name: "Kỳ thi tốt nghiệp THPT 2026".into(),
            exam_days: vec!["2026-06-12".into(), "2026-06-11".into()],
            result_day: Some("2026-07-16".into()),
            closes_on: "2026-09-30".into(),
            deadlines: vec![(ItemKind::AdmissionNotice, "2026-08-21".into())],
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Whatever an admin sends, the check answers; it never panics.
        #[test]
        fn checking_a_season_never_panics(code in ".{0,40}", name in "\\PC{0,300}", day in ".{0,30}", deadline in ".{0,40}") {
            let command = SeasonCommand {
                code, name, exam_days: vec![day.clone()], result_day: Some(day.clone()), closes_on: day,
                deadlines: vec![(ItemKind::ExamNotice, deadline)],
            };
            let _ = check(&command, Utc::now());
        }
    }

    #[test]
    fn a_season_is_checked_and_normalised() {
        let season = check(&command(), Utc::now()).unwrap();
        assert_eq!(season.row.code, "2026-THPT");
        assert_eq!(season.row.exam_days.to_string(), "2026-06-11,2026-06-12");
        assert!(season.deadline_for(ItemKind::AdmissionNotice).is_some());
        let mut bad = command();
        bad.closes_on = "2026-06-01".into();
        bad.deadlines.push((ItemKind::AdmissionNotice, "2026-08-22".into()));
        bad.exam_days.push("06/13/2026".into());
        let Err(Error::Invalid(errors)) = check(&bad, Utc::now()) else { panic!("accepted") };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["exam_days", "closes_on", "deadlines"]);
    }
}
