use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::digest_entries;
use crate::db::DbConn;

#[derive(Debug, Clone, Queryable)]
pub struct DigestEntry {
    pub id: i64,
    pub contact_id: String,
    pub email: String,
    pub lang: String,
    pub line: String,
    pub created_at: NaiveDateTime,
    pub flushed_at: Option<NaiveDateTime>,
    pub digest_key: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = digest_entries)]
pub struct NewDigestEntry {
    pub contact_id: String,
    pub email: String,
    pub lang: String,
    pub line: String,
    pub created_at: NaiveDateTime,
}

/// Waiting news in multi-row statements (per backend, as `outbox::enqueue_all`).
pub fn add_all(conn: &mut DbConn, entries: &[NewDigestEntry]) -> QueryResult<()> {
    for part in entries.chunks(500) {
        match conn {
            DbConn::Sqlite(c) => diesel::insert_into(digest_entries::table).values(part.to_vec()).execute(c)?,
            DbConn::Postgresql(c) => diesel::insert_into(digest_entries::table).values(part.to_vec()).execute(c)?,
        };
    }
    Ok(())
}

/// Contacts with news waiting, and when their oldest waiting news came.
pub fn waiting(conn: &mut DbConn) -> QueryResult<Vec<(String, NaiveDateTime)>> {
    let rows: Vec<(String, Option<NaiveDateTime>)> = digest_entries::table
        .filter(digest_entries::flushed_at.is_null())
        .group_by(digest_entries::contact_id)
        .select((digest_entries::contact_id, diesel::dsl::min(digest_entries::created_at)))
        .load(conn)?;
    Ok(rows.into_iter().filter_map(|(contact, oldest)| oldest.map(|t| (contact, t))).collect())
}

/// Claims a contact's waiting news under `key` and returns them, oldest
/// first. A row another process claimed first is not claimed again: the
/// update re-checks `flushed_at` (on PostgreSQL it waits for the other
/// transaction and then finds the row taken), so each news goes out once.
pub fn claim(conn: &mut DbConn, contact_id: &str, key: &str, now: NaiveDateTime) -> QueryResult<Vec<DigestEntry>> {
    diesel::update(digest_entries::table.filter(digest_entries::contact_id.eq(contact_id)).filter(digest_entries::flushed_at.is_null()))
        .set((digest_entries::flushed_at.eq(Some(now)), digest_entries::digest_key.eq(Some(key))))
        .execute(conn)?;
    digest_entries::table.filter(digest_entries::digest_key.eq(key)).order(digest_entries::id.asc()).load(conn)
}
