//! The read audit: appended in groups by the audit writer, read by admins
//! and overseers.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::read_audit;
use crate::db::{DbConn, TextList};
use crate::domain::exposure::PersonalField;
use crate::domain::{ReadAction, Role};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = read_audit)]
pub struct AuditEntry {
    pub id: i64,
    pub at: NaiveDateTime,
    pub client_id: String,
    pub org_id: String,
    pub role: Role,
    pub address: Option<String>,
    pub action: ReadAction,
    pub tracking_numbers: Option<String>,
    pub query: Option<String>,
    pub item_count: i64,
    pub fields: TextList<PersonalField>,
    pub provinces: String,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = read_audit)]
pub struct NewAuditEntry {
    pub at: NaiveDateTime,
    pub client_id: String,
    pub org_id: String,
    pub role: Role,
    pub address: Option<String>,
    pub action: ReadAction,
    pub tracking_numbers: Option<String>,
    pub query: Option<String>,
    pub item_count: i64,
    pub fields: TextList<PersonalField>,
    pub provinces: String,
}

/// Appends entries. Call inside a write transaction.
pub fn append(conn: &mut DbConn, entries: &[NewAuditEntry]) -> QueryResult<usize> {
    match conn {
        // One cached statement per row: SQLite has no round trips to save.
        DbConn::Sqlite(c) => {
            for entry in entries {
                diesel::insert_into(read_audit::table).values(entry).execute(c)?;
            }
            Ok(entries.len())
        }
        DbConn::Postgresql(c) => {
            let mut stored = 0;
            for part in entries.chunks(1000) {
                stored += diesel::insert_into(read_audit::table).values(part).execute(c)?;
            }
            Ok(stored)
        }
    }
}

/// Which entries to read.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only reads of items going to this province (an overseer's scope).
    pub province: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub before: Option<NaiveDateTime>,
    pub client_id: Option<String>,
    pub org_id: Option<String>,
    pub action: Option<ReadAction>,
    pub tracking_number: Option<String>,
}

/// Entries matching `filter`, newest first, below `before_id`.
pub fn list(conn: &mut DbConn, filter: &AuditFilter, before_id: Option<i64>, limit: i64) -> QueryResult<Vec<AuditEntry>> {
    let mut query = read_audit::table.select(AuditEntry::as_select()).order(read_audit::id.desc()).limit(limit).into_boxed();
    if let Some(province) = &filter.province {
        query = query.filter(read_audit::provinces.like(format!("%,{},%", escape_like(province))).escape('\\'));
    }
    if let Some(from) = filter.from {
        query = query.filter(read_audit::at.ge(from));
    }
    if let Some(before) = filter.before {
        query = query.filter(read_audit::at.lt(before));
    }
    if let Some(client) = &filter.client_id {
        query = query.filter(read_audit::client_id.eq(client.clone()));
    }
    if let Some(org) = &filter.org_id {
        query = query.filter(read_audit::org_id.eq(org.clone()));
    }
    if let Some(action) = filter.action {
        query = query.filter(read_audit::action.eq(action));
    }
    if let Some(number) = &filter.tracking_number {
        query = query.filter(read_audit::tracking_numbers.like(format!("%{}%", escape_like(number))).escape('\\'));
    }
    if let Some(id) = before_id {
        query = query.filter(read_audit::id.lt(id));
    }
    query.load(conn)
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}
