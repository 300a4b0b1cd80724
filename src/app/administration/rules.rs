//! The timing rules per priority: transit times, stall limits, response times.

use crate::app::{Actor, Error};
use crate::db::DbConn;
use crate::domain::cases::Rule;
use crate::domain::{ItemKind, Priority, Role};
use crate::store;

/// New timing for one priority, in hours.
pub struct RuleChange {
    pub transit_hours_same_province: i32,
    pub transit_hours_other_province: i32,
    pub stall_hours: i32,
    pub ack_hours: i32,
    pub suspected_loss_hours: i32,
    pub at_risk_margin_hours: i32,
    /// `None` keeps the current acceptance window.
    pub accept_hours: Option<i32>,
}

/// The rules of every priority.
pub fn list_rules(conn: &mut DbConn) -> Result<Vec<Rule>, Error> {
    Ok(store::rules::all(conn)?)
}

/// Changes the timing of one priority (admins). Items' deadlines follow at their next scan.
pub fn update_rule(conn: &mut DbConn, actor: &Actor, priority: &str, change: RuleChange) -> Result<Rule, Error> {
    actor.require(&[Role::Admin])?;
    let priority: Priority = priority.parse().map_err(|reason: String| Error::field("priority", reason))?;
    let current = store::rules::for_priority(conn, priority)?;
    let rule = Rule {
        priority,
        accept_hours: change.accept_hours.unwrap_or(current.accept_hours),
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

/// The priority each item kind gets when its sender names none.
pub fn list_kind_priorities(conn: &mut DbConn) -> Result<Vec<(ItemKind, Priority)>, Error> {
    let stored = store::rules::kind_priorities(conn)?;
    Ok(ItemKind::ALL.iter().map(|kind| (*kind, stored.get(kind).copied().unwrap_or(Priority::Standard))).collect())
}

/// Changes the default priority of one item kind (admins); items already
/// registered keep theirs.
pub fn set_kind_priority(conn: &mut DbConn, actor: &Actor, kind: &str, priority: Priority) -> Result<(ItemKind, Priority), Error> {
    actor.require(&[Role::Admin])?;
    let kind: ItemKind = kind.parse().map_err(|reason: String| Error::field("kind", reason))?;
    store::rules::set_default_priority(conn, kind, priority)?;
    Ok((kind, priority))
}
