use diesel::prelude::*;

use crate::db::schema::priority_rules;
use crate::db::DbConn;
use crate::domain::cases::Rule;
use crate::domain::Priority;

type Row = (String, i32, i32, i32, i32, i32, i32);

fn rule(row: Row) -> Rule {
    let (priority, same, other, stall, ack, loss, margin) = row;
    Rule {
        priority: Priority::parse(&priority).unwrap_or(Priority::Standard),
        transit_hours_same_province: same,
        transit_hours_other_province: other,
        stall_hours: stall,
        ack_hours: ack,
        suspected_loss_hours: loss,
        at_risk_margin_hours: margin,
    }
}

/// The rules of every priority (the defaults where a row is missing).
pub fn all(conn: &mut DbConn) -> QueryResult<Vec<Rule>> {
    let rows: Vec<Row> = priority_rules::table.load(conn)?;
    let stored: Vec<Rule> = rows.into_iter().map(rule).collect();
    Ok(Priority::ALL
        .iter()
        .map(|p| stored.iter().find(|r| r.priority == *p).cloned().unwrap_or_else(|| Rule::default_for(*p)))
        .collect())
}

pub fn for_priority(conn: &mut DbConn, priority: Priority) -> QueryResult<Rule> {
    let row: Option<Row> = priority_rules::table.find(priority.as_str()).first(conn).optional()?;
    Ok(row.map(rule).unwrap_or_else(|| Rule::default_for(priority)))
}

pub fn update(conn: &mut DbConn, r: &Rule) -> QueryResult<()> {
    diesel::update(priority_rules::table.find(r.priority.as_str()))
        .set((
            priority_rules::transit_hours_same_province.eq(r.transit_hours_same_province),
            priority_rules::transit_hours_other_province.eq(r.transit_hours_other_province),
            priority_rules::stall_hours.eq(r.stall_hours),
            priority_rules::ack_hours.eq(r.ack_hours),
            priority_rules::suspected_loss_hours.eq(r.suspected_loss_hours),
            priority_rules::at_risk_margin_hours.eq(r.at_risk_margin_hours),
        ))
        .execute(conn)
        .map(|_| ())
}
