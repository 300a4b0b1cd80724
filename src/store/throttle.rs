//! Counters for the public throttles, shared by every replica through the
//! database. Each row is one bucket (scope, key and time window in its name)
//! and is dropped once its window is over.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::upsert::excluded;

use crate::db::schema::throttle_counters::dsl::*;
use crate::db::DbConn;

/// One increment: the bucket, how many hits to add, and when the bucket may go.
pub struct Increment {
    pub bucket: String,
    pub hits: i64,
    pub expires_at: i64,
}

/// Adds the increments and returns each bucket's total across all replicas.
pub fn add(conn: &mut DbConn, increments: &[Increment]) -> QueryResult<HashMap<String, i64>> {
    let mut totals = HashMap::with_capacity(increments.len());
    // Buckets are sorted so that concurrent flushes on PostgreSQL take row
    // locks in one order and cannot deadlock each other.
    let mut sorted: Vec<&Increment> = increments.iter().collect();
    sorted.sort_by(|a, b| a.bucket.cmp(&b.bucket));
    let rows: Vec<_> = sorted.iter().map(|i| (bucket.eq(&i.bucket), hits.eq(i.hits), expires_at.eq(i.expires_at))).collect();
    conn.write_transaction(|conn| {
        match conn {
            // SQLite has no round trips to save; one cached statement per row.
            DbConn::Sqlite(c) => {
                for row in &rows {
                    let total: (String, i64) = diesel::insert_into(throttle_counters)
                        .values(*row)
                        .on_conflict(bucket)
                        .do_update()
                        .set(hits.eq(hits + excluded(hits)))
                        .returning((bucket, hits))
                        .get_result(c)?;
                    totals.insert(total.0, total.1);
                }
            }
            DbConn::Postgresql(c) => {
                for part in rows.chunks(1000) {
                    let part_totals: Vec<(String, i64)> = diesel::insert_into(throttle_counters)
                        .values(part.to_vec())
                        .on_conflict(bucket)
                        .do_update()
                        .set(hits.eq(hits + excluded(hits)))
                        .returning((bucket, hits))
                        .get_results(c)?;
                    totals.extend(part_totals);
                }
            }
        }
        Ok(totals)
    })
}

/// The current totals of two buckets; a missing bucket has no hits. Two
/// fixed equalities rather than `IN (...)`, so that diesel caches the
/// prepared statement: this runs on every public lookup.
pub fn totals_of_two(conn: &mut DbConn, first: &str, second: &str) -> QueryResult<HashMap<String, i64>> {
    let found: Vec<(String, i64)> = throttle_counters.filter(bucket.eq(first).or(bucket.eq(second))).select((bucket, hits)).load(conn)?;
    Ok(found.into_iter().collect())
}

/// The current total of one bucket; a missing bucket has no hits.
pub fn total_of(conn: &mut DbConn, name: &str) -> QueryResult<i64> {
    Ok(throttle_counters.filter(bucket.eq(name)).select(hits).first(conn).optional()?.unwrap_or(0))
}

/// Removes the buckets whose window is over; returns how many went.
pub fn purge_expired(conn: &mut DbConn, now_unix: i64) -> QueryResult<usize> {
    diesel::delete(throttle_counters.filter(expires_at.lt(now_unix))).execute(conn)
}
