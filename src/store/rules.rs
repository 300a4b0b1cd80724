use std::collections::HashMap;

use diesel::prelude::*;

use crate::db::schema::{kind_priorities, priority_rules};
use crate::db::DbConn;
use crate::domain::cases::Rule;
use crate::domain::{ItemKind, Priority};

#[derive(Queryable)]
#[diesel(table_name = priority_rules)]
struct RuleRow {
    priority: Priority,
    transit_hours_same_province: i32,
    transit_hours_other_province: i32,
    stall_hours: i32,
    ack_hours: i32,
    suspected_loss_hours: i32,
    at_risk_margin_hours: i32,
    accept_hours: i32,
}

impl From<RuleRow> for Rule {
    fn from(row: RuleRow) -> Rule {
        Rule {
            priority: row.priority,
            accept_hours: row.accept_hours,
            transit_hours_same_province: row.transit_hours_same_province,
            transit_hours_other_province: row.transit_hours_other_province,
            stall_hours: row.stall_hours,
            ack_hours: row.ack_hours,
            suspected_loss_hours: row.suspected_loss_hours,
            at_risk_margin_hours: row.at_risk_margin_hours,
        }
    }
}

/// The rules of every priority (the defaults where a row is missing).
pub fn all(conn: &mut DbConn) -> QueryResult<Vec<Rule>> {
    let stored: Vec<Rule> = priority_rules::table.load::<RuleRow>(conn)?.into_iter().map(Rule::from).collect();
    Ok(Priority::ALL
        .iter()
        .map(|p| stored.iter().find(|r| r.priority == *p).cloned().unwrap_or_else(|| Rule::default_for(*p)))
        .collect())
}

pub fn for_priority(conn: &mut DbConn, priority: Priority) -> QueryResult<Rule> {
    let row: Option<RuleRow> = priority_rules::table.find(priority).first(conn).optional()?;
    Ok(row.map(Rule::from).unwrap_or_else(|| Rule::default_for(priority)))
}

pub fn update(conn: &mut DbConn, r: &Rule) -> QueryResult<()> {
    diesel::update(priority_rules::table.find(r.priority))
        .set((
            priority_rules::transit_hours_same_province.eq(r.transit_hours_same_province),
            priority_rules::transit_hours_other_province.eq(r.transit_hours_other_province),
            priority_rules::stall_hours.eq(r.stall_hours),
            priority_rules::ack_hours.eq(r.ack_hours),
            priority_rules::suspected_loss_hours.eq(r.suspected_loss_hours),
            priority_rules::at_risk_margin_hours.eq(r.at_risk_margin_hours),
            priority_rules::accept_hours.eq(r.accept_hours),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The priority an item of each kind gets when its sender names none
/// (`standard` for a kind without a row).
pub fn kind_priorities(conn: &mut DbConn) -> QueryResult<HashMap<ItemKind, Priority>> {
    let rows: Vec<(ItemKind, Priority)> = kind_priorities::table.load(conn)?;
    Ok(rows.into_iter().collect())
}

/// Sets the default priority of a kind.
pub fn set_default_priority(conn: &mut DbConn, kind: ItemKind, priority: Priority) -> QueryResult<()> {
    let updated = diesel::update(kind_priorities::table.find(kind)).set(kind_priorities::priority.eq(priority)).execute(conn)?;
    if updated == 0 {
        diesel::insert_into(kind_priorities::table).values((kind_priorities::kind.eq(kind), kind_priorities::priority.eq(priority))).execute(conn)?;
    }
    Ok(())
}
