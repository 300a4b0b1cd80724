//! The timing rules per priority: transit times, stall limits, response times.

use crate::app::{Actor, Error};
use crate::db::DbConn;
use crate::domain::cases::Rule;
use crate::domain::{Priority, Role};
use crate::store;

/// New timing for one priority, in hours.
pub struct RuleChange {
    pub transit_hours_same_province: i32,
    pub transit_hours_other_province: i32,
    pub stall_hours: i32,
    pub ack_hours: i32,
    pub suspected_loss_hours: i32,
    pub at_risk_margin_hours: i32,
}

/// The rules of every priority.
pub fn list_rules(conn: &mut DbConn) -> Result<Vec<Rule>, Error> {
    Ok(store::rules::all(conn)?)
}

/// Changes the timing of one priority (admins). Items' deadlines follow at their next scan.
pub fn update_rule(conn: &mut DbConn, actor: &Actor, priority: &str, change: RuleChange) -> Result<Rule, Error> {
    actor.require(&[Role::Admin])?;
    let priority: Priority = priority.parse().map_err(|reason: String| Error::field("priority", reason))?;
    let rule = Rule {
        priority,
        transit_hours_same_province: change.transit_hours_same_province,
        transit_hours_other_province: change.transit_hours_other_province,
        stall_hours: change.stall_hours,
        ack_hours: change.ack_hours,
        suspected_loss_hours: change.suspected_loss_hours,
        at_risk_margin_hours: change.at_risk_margin_hours,
    };
    rule.check().map_err(|(field, reason)| Error::field(field, reason))?;
    store::rules::update(conn, &rule)?;
    Ok(rule)
}
