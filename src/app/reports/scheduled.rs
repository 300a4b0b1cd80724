//! The steering report by e-mail: every morning at the configured time
//! (Vietnam) to each contact that takes it, exactly once a day however many
//! processes run the schedule; and at once, when a committee asks.

use chrono::{NaiveTime, Timelike};

use super::{printable, steering, ReportQuery};
use crate::app::{Actor, Error};
use crate::clock::Clock;
use crate::db::DbConn;
use crate::domain::{province, OrgKind, Role};
use crate::store::contacts::ContactPoint;
use crate::store::{self, stored_time};

/// 07:00 in Vietnam: before the committee's morning meeting.
pub const DEFAULT_REPORT_TIME: (u32, u32) = (7, 0);

/// The report as the contact's organization sees it (its scope), for the current season.
fn write_report(conn: &mut DbConn, clock: &dyn Clock, contact: &ContactPoint) -> Result<bool, Error> {
    let (Some(email), Some(org)) = (contact.email.as_deref(), store::organizations::find(conn, &contact.organization_id)?) else {
        return Ok(false);
    };
    let role = match org.kind {
        OrgKind::Carrier => Role::Carrier,
        OrgKind::Education => Role::Education,
        OrgKind::Overseer => Role::Overseer,
    };
    let reader = Actor { client_id: format!("report:{}", contact.id), org_id: org.id.clone(), role, province: org.province.clone(), reads_province: org.reads_province };
    let query = ReportQuery { season: None, from: None, to: None, province: None, sender: None, carrier: None, format: None };
    let report = steering(conn, clock, &reader, &query)?;
    let local = clock.now().with_timezone(&chrono_tz::Asia::Ho_Chi_Minh);
    let place = province::resolve(&org.province).map(|p| p.name).unwrap_or("");
    let subject = format!("[ExamPost] Báo cáo tình hình bưu gửi thi cử ngày {} – {place}", local.format("%d/%m/%Y"));
    crate::notify::report_mail(conn, email, &subject, printable::html(&report), clock.now())?;
    Ok(true)
}

/// Once the day's report time has passed (Vietnam), sends each subscriber
/// its report for today unless it already went; the number sent. Each in a
/// transaction of its own: the day's delivery row and the mail commit together.
pub fn send_due(conn: &mut DbConn, clock: &dyn Clock, at: NaiveTime) -> Result<usize, Error> {
    let local = clock.now().with_timezone(&chrono_tz::Asia::Ho_Chi_Minh);
    if local.time().with_nanosecond(0).unwrap_or(local.time()) < at {
        return Ok(0);
    }
    let today = local.date_naive();
    let mut sent = 0;
    for contact in store::contacts::report_subscribers(conn)? {
        let result = conn.write_transaction(|conn| -> Result<bool, Error> {
            if !store::contacts::record_report_sent(conn, &contact.id, today, stored_time(clock.now()))? {
                return Ok(false);
            }
            write_report(conn, clock, &contact)
        });
        match result {
            Ok(true) => sent += 1,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, contact = %contact.id, "the daily report could not be written; the next pass retries"),
        }
    }
    Ok(sent)
}

/// Sends the report now (ad hoc) to the subscribers of the actor's province
/// (admins: all); the day's scheduled report still goes out. The number sent.
pub fn send_now(conn: &mut DbConn, clock: &dyn Clock, actor: &Actor) -> Result<usize, Error> {
    let committee = actor.role == Role::Overseer || (actor.role == Role::Education && actor.reads_province);
    if !(committee || actor.role == Role::Admin) {
        return Err(Error::Forbidden("only the steering committee, the Department of Education or an admin sends the report".into()));
    }
    conn.write_transaction(|conn| {
        let mut sent = 0;
        for contact in store::contacts::report_subscribers(conn)? {
            let in_scope = actor.role == Role::Admin
                || store::organizations::find(conn, &contact.organization_id)?.is_some_and(|o| o.province == actor.province);
            if in_scope && write_report(conn, clock, &contact)? {
                sent += 1;
            }
        }
        Ok(sent)
    })
}
