//! The notification outbox: rows written with the change that causes them,
//! leased by a dispatcher while sent, then marked sent or rescheduled.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{outbox, webhooks};
use crate::db::{DbConn, TextList};

#[derive(Debug, Clone, Queryable, Identifiable)]
#[diesel(table_name = outbox)]
pub struct Message {
    pub id: i64,
    pub channel: String,
    pub target: String,
    pub topic: String,
    pub subject: Option<String>,
    pub body: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub lease_owner: Option<String>,
    pub lease_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub last_status_code: Option<i32>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = outbox)]
pub struct NewMessage {
    pub channel: String,
    pub target: String,
    pub topic: String,
    pub subject: Option<String>,
    pub body: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

pub fn enqueue(conn: &mut DbConn, message: &NewMessage) -> QueryResult<()> {
    diesel::insert_into(outbox::table).values(message).execute(conn).map(|_| ())
}

/// Many messages in multi-row statements (written per backend: diesel's
/// MultiConnection has no batch insert).
pub fn enqueue_all(conn: &mut DbConn, messages: &[NewMessage]) -> QueryResult<()> {
    for part in messages.chunks(500) {
        match conn {
            DbConn::Sqlite(c) => diesel::insert_into(outbox::table).values(part.to_vec()).execute(c)?,
            DbConn::Postgresql(c) => diesel::insert_into(outbox::table).values(part.to_vec()).execute(c)?,
        };
    }
    Ok(())
}

/// Pending messages of these channels, due now, that nobody holds a live lease on.
pub fn due(conn: &mut DbConn, channels: &[&str], now: NaiveDateTime, limit: i64) -> QueryResult<Vec<Message>> {
    outbox::table
        .filter(outbox::status.eq("pending"))
        .filter(outbox::channel.eq_any(channels))
        .filter(outbox::next_attempt_at.le(now))
        .filter(outbox::lease_until.is_null().or(outbox::lease_until.lt(now)))
        .order(outbox::id.asc())
        .limit(limit)
        .load(conn)
}

/// Takes the lease on a message if it is still free: one process wins,
/// the others see 0 rows changed and leave it.
pub fn claim(conn: &mut DbConn, id: i64, owner: &str, now: NaiveDateTime, until: NaiveDateTime) -> QueryResult<bool> {
    let changed = diesel::update(outbox::table.find(id))
        .filter(outbox::status.eq("pending"))
        .filter(outbox::lease_until.is_null().or(outbox::lease_until.lt(now)))
        .set((outbox::lease_owner.eq(owner), outbox::lease_until.eq(until)))
        .execute(conn)?;
    Ok(changed == 1)
}

pub fn mark_sent(conn: &mut DbConn, id: i64, status_code: Option<i32>, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::status.eq("sent"),
            outbox::attempts.eq(outbox::attempts + 1),
            outbox::sent_at.eq(now),
            outbox::last_status_code.eq(status_code),
            outbox::last_error.eq(None::<String>),
            outbox::lease_owner.eq(None::<String>),
            outbox::lease_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Records a failed attempt: retried at `retry_at`, or given up (`failed`) when `None`.
pub fn mark_failed(conn: &mut DbConn, message: &Message, error: &str, status_code: Option<i32>, retry_at: Option<NaiveDateTime>) -> QueryResult<()> {
    diesel::update(outbox::table.find(message.id))
        .set((
            outbox::status.eq(if retry_at.is_some() { "pending" } else { "failed" }),
            outbox::attempts.eq(outbox::attempts + 1),
            outbox::next_attempt_at.eq(retry_at.unwrap_or(message.next_attempt_at)),
            outbox::last_error.eq(error),
            outbox::last_status_code.eq(status_code),
            outbox::lease_owner.eq(None::<String>),
            outbox::lease_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)
        .map(|_| ())
}

/// A webhook's delivery log, newest first.
pub fn deliveries(conn: &mut DbConn, webhook_id: &str, limit: i64) -> QueryResult<Vec<Message>> {
    outbox::table
        .filter(outbox::channel.eq("webhook"))
        .filter(outbox::target.eq(webhook_id))
        .order(outbox::id.desc())
        .limit(limit)
        .load(conn)
}

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = webhooks)]
pub struct Webhook {
    pub id: String,
    pub organization_id: String,
    pub url: String,
    pub secret: String,
    pub topics: TextList<String>,
    pub created_at: NaiveDateTime,
}

impl Webhook {
    pub fn wants(&self, topic: &str) -> bool {
        self.topics.values().iter().any(|t| t == topic)
    }
}

pub fn create_webhook(conn: &mut DbConn, hook: &Webhook) -> QueryResult<()> {
    diesel::insert_into(webhooks::table).values(hook).execute(conn).map(|_| ())
}

pub fn webhooks_of(conn: &mut DbConn, organization_ids: &[String]) -> QueryResult<Vec<Webhook>> {
    webhooks::table.filter(webhooks::organization_id.eq_any(organization_ids)).order(webhooks::created_at.asc()).load(conn)
}

pub fn find_webhook(conn: &mut DbConn, id: &str) -> QueryResult<Option<Webhook>> {
    webhooks::table.find(id).first(conn).optional()
}

pub fn delete_webhook(conn: &mut DbConn, id: &str) -> QueryResult<usize> {
    diesel::delete(webhooks::table.find(id)).execute(conn)
}

/// One channel's backlog: messages waiting, the oldest one's creation, messages given up on.
#[derive(Debug, Clone, PartialEq)]
pub struct Backlog {
    pub channel: String,
    pub pending: i64,
    pub oldest_pending_at: Option<NaiveDateTime>,
    pub failed: i64,
}

/// The outbox's backlog per channel.
pub fn backlog(conn: &mut DbConn) -> QueryResult<Vec<Backlog>> {
    let pending: Vec<(String, i64, Option<NaiveDateTime>)> = outbox::table
        .filter(outbox::status.eq("pending"))
        .group_by(outbox::channel)
        .select((outbox::channel, diesel::dsl::count_star(), diesel::dsl::min(outbox::created_at)))
        .load(conn)?;
    let failed: Vec<(String, i64)> = outbox::table
        .filter(outbox::status.eq("failed"))
        .group_by(outbox::channel)
        .select((outbox::channel, diesel::dsl::count_star()))
        .load(conn)?;
    let mut backlog: Vec<Backlog> = pending
        .into_iter()
        .map(|(channel, pending, oldest_pending_at)| Backlog { channel, pending, oldest_pending_at, failed: 0 })
        .collect();
    for (channel, count) in failed {
        match backlog.iter_mut().find(|b| b.channel == channel) {
            Some(entry) => entry.failed = count,
            None => backlog.push(Backlog { channel, pending: 0, oldest_pending_at: None, failed: count }),
        }
    }
    Ok(backlog)
}
