use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types;

use crate::db::schema::items;
use crate::db::DbConn;
use crate::domain::cases::Rule;
use crate::domain::{ItemKind, ItemStatus, Priority};

#[derive(Debug, Clone, Queryable, Identifiable)]
#[diesel(table_name = items)]
pub struct Item {
    pub id: i64,
    pub public_id: String,
    pub tracking_number: String,
    pub season: String,
    pub kind: ItemKind,
    pub priority: Priority,
    pub status: ItemStatus,
    pub sender_org_id: String,
    pub carrier_org_id: String,
    pub origin_province: String,
    pub recipient_kind: String,
    pub recipient_org_id: Option<String>,
    pub recipient_attention: Option<String>,
    pub candidate_number: Option<String>,
    pub candidate_name: Option<String>,
    pub candidate_dob: Option<NaiveDate>,
    pub candidate_phone: Option<String>,
    pub candidate_email: Option<String>,
    pub dest_province: String,
    pub dest_ward: String,
    pub dest_address: String,
    pub seal_number: Option<String>,
    pub must_arrive_by: Option<NaiveDateTime>,
    pub reference: Option<String>,
    pub content_hash: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub last_event_id: Option<i64>,
    pub last_event_at: Option<NaiveDateTime>,
    pub last_office_code: Option<String>,
    pub has_anomaly: bool,
    pub accepted_at: Option<NaiveDateTime>,
    pub due_at: Option<NaiveDateTime>,
    pub replaces_item_id: Option<i64>,
    pub replaced_by_item_id: Option<i64>,
    /// Sealed: a seal check at every handover, never in the public lookup.
    pub confidential: bool,
    /// Added to the effective deadline by an incident's extension.
    pub due_extension_minutes: i32,
    /// A dossier the candidate sends; `sender_org_id` registered it on their behalf.
    pub sent_by_candidate: bool,
    /// The public lookup's answer, kept on the item (see `PublicFacts`):
    /// where the last scan was made (the office's name, else its code).
    pub last_place: Option<String>,
    /// The scan behind a held, failed-attempt or delivered status.
    pub notice_details: Option<String>,
    pub notice_place: Option<String>,
    pub notice_at: Option<NaiveDateTime>,
    /// The kind of the newest open area incident it is linked to.
    pub open_incident_kind: Option<crate::domain::incidents::IncidentKind>,
    pub pre_advice_acknowledged: bool,
    pub replaced_by_number: Option<String>,
    /// The rest of what its live events have made of it (`domain::events::Fold`).
    pub folded_through: Option<NaiveDateTime>,
    pub failed_attempts: i32,
    pub last_handover_type: Option<crate::domain::events::EventType>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = items)]
pub struct NewItem {
    pub public_id: String,
    pub tracking_number: String,
    pub season: String,
    pub kind: ItemKind,
    pub priority: Priority,
    pub status: ItemStatus,
    pub sender_org_id: String,
    pub carrier_org_id: String,
    pub origin_province: String,
    pub recipient_kind: String,
    pub recipient_org_id: Option<String>,
    pub recipient_attention: Option<String>,
    pub candidate_number: Option<String>,
    pub candidate_name: Option<String>,
    pub candidate_dob: Option<NaiveDate>,
    pub candidate_phone: Option<String>,
    pub candidate_email: Option<String>,
    pub dest_province: String,
    pub dest_ward: String,
    pub dest_address: String,
    pub seal_number: Option<String>,
    pub must_arrive_by: Option<NaiveDateTime>,
    pub reference: Option<String>,
    pub content_hash: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Before acceptance the deadline is the sender's must-arrive-by time.
    pub due_at: Option<NaiveDateTime>,
    pub confidential: bool,
    pub sent_by_candidate: bool,
}

/// Which items a caller may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemScope {
    All,
    /// Items the organization sent or receives.
    SenderOrRecipient(String),
    /// Items assigned to the carrier.
    Carrier(String),
    /// Items leaving from or going to the province.
    Province(String),
    /// A provincial Department of Education: what it sends or receives, and
    /// every item leaving from or going to its province.
    OwnOrProvince(String, String),
}

impl ItemScope {
    /// Whether an item is inside this scope (the same rule as the queries).
    pub fn includes(&self, item: &Item) -> bool {
        match self {
            ItemScope::All => true,
            ItemScope::SenderOrRecipient(org) => item.sender_org_id == *org || item.recipient_org_id.as_ref() == Some(org),
            ItemScope::Carrier(org) => item.carrier_org_id == *org,
            ItemScope::Province(p) => item.dest_province == *p || item.origin_province == *p,
            ItemScope::OwnOrProvince(org, p) => {
                item.sender_org_id == *org || item.recipient_org_id.as_ref() == Some(org) || item.dest_province == *p || item.origin_province == *p
            }
        }
    }
}

/// Optional filters of the item list; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct ItemFilter {
    pub kind: Option<ItemKind>,
    pub priority: Option<Priority>,
    pub status: Option<ItemStatus>,
    pub carrier_org_id: Option<String>,
    pub sender_org_id: Option<String>,
    pub dest_province: Option<String>,
    pub season: Option<String>,
    pub created_since: Option<NaiveDateTime>,
    pub updated_since: Option<NaiveDateTime>,
    /// `Some(now)`: only items past their deadline at `now` and not settled.
    pub overdue_at: Option<NaiveDateTime>,
    pub has_open_case: Option<bool>,
    pub recipient_org_id: Option<String>,
    pub dest_ward: Option<String>,
    pub candidate_number: Option<String>,
}

/// What registering an item did.
#[derive(Debug)]
pub enum Registered {
    Created(Item),
    /// The same item was registered before with the same content.
    Replayed(Item),
    /// The number is taken this season by an item with different content.
    Conflict(Item),
}

impl Registered {
    /// A second registration of a stored item: a replay when the content is the same.
    fn again(existing: Item, new: &NewItem) -> Self {
        if existing.content_hash == new.content_hash {
            Registered::Replayed(existing)
        } else {
            Registered::Conflict(existing)
        }
    }
}

/// Registers one item, idempotently on (season, tracking number). Call it
/// inside a write transaction so the check and the insert are atomic.
pub fn register(conn: &mut DbConn, new: &NewItem) -> QueryResult<Registered> {
    if let Some(existing) = find_in_season(conn, &new.tracking_number, &new.season)? {
        return Ok(Registered::again(existing, new));
    }
    // In a savepoint: on PostgreSQL a concurrent registration of the same
    // number can win between the check and the insert; the unique index
    // then refuses ours without aborting the caller's transaction.
    let inserted = conn.transaction(|conn| diesel::insert_into(items::table).values(new).execute(conn));
    match inserted {
        Ok(_) => {}
        Err(e) if super::is_unique_violation(&e) => {
            let existing = find_in_season(conn, &new.tracking_number, &new.season)?.ok_or(e)?;
            return Ok(Registered::again(existing, new));
        }
        Err(e) => return Err(e),
    }
    let created = items::table.filter(items::public_id.eq(&new.public_id)).first(conn)?;
    Ok(Registered::Created(created))
}

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Item> {
    items::table.find(id).first(conn)
}

pub fn tracking_numbers(conn: &mut DbConn, ids: &[i64]) -> QueryResult<std::collections::HashMap<i64, String>> {
    let rows: Vec<(i64, String)> = items::table.filter(items::id.eq_any(ids)).select((items::id, items::tracking_number)).load(conn)?;
    Ok(rows.into_iter().collect())
}

/// Recomputes the parts of the public answer kept on these items that come
/// from other tables: the open incident, the
/// acknowledged pre-advice and the replacement's number. Call it in the
/// transaction that changed them.
pub fn refresh_public_flags(conn: &mut DbConn, item_ids: &[i64]) -> QueryResult<()> {
    const SET: &str = "UPDATE items SET \
        open_incident_kind = (SELECT n.kind FROM incident_items ii JOIN incidents n ON n.id = ii.incident_id \
          WHERE ii.item_id = items.id AND n.state = 'open' ORDER BY n.id DESC LIMIT 1), \
        pre_advice_acknowledged = EXISTS (SELECT 1 FROM pre_advices pa WHERE pa.item_id = items.id AND pa.acknowledged_at IS NOT NULL), \
        replaced_by_number = (SELECT r.tracking_number FROM items r WHERE r.id = items.replaced_by_item_id)";
    let mut ids = item_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    for part in ids.chunks(500) {
        // Integers from our own rows, written into the statement: no user text.
        let list = part.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
        let sql = match conn {
            // Rows locked in id order, as the scan writer locks them, so that
            // the two cannot deadlock on PostgreSQL.
            DbConn::Postgresql(_) => format!("{SET} WHERE id IN (SELECT id FROM items WHERE id IN ({list}) ORDER BY id FOR NO KEY UPDATE)"),
            DbConn::Sqlite(_) => format!("{SET} WHERE id IN ({list})"),
        };
        diesel::sql_query(sql).execute(conn)?;
    }
    Ok(())
}

/// Sets the last scan's place and the notice scan of the items with ids in
/// `low..=high` from their events, as the status derivation would: for rows
/// written in bulk (the benchmark's generator), not by the API.
pub fn derive_public_places(conn: &mut DbConn, low: i64, high: i64) -> QueryResult<()> {
    derive_public_places_where(conn, &format!("id BETWEEN {low} AND {high}"))
}

/// The same for some items whose events were rewritten (a season's purge).
pub fn rederive_public_places(conn: &mut DbConn, item_ids: &[i64]) -> QueryResult<()> {
    for part in item_ids.chunks(500) {
        let list = part.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
        derive_public_places_where(conn, &format!("id IN ({list})"))?;
    }
    Ok(())
}

/// `which` is built from integers only, never from user text.
fn derive_public_places_where(conn: &mut DbConn, which: &str) -> QueryResult<()> {
    diesel::sql_query(format!(
        "UPDATE items SET last_place = (SELECT COALESCE(e.office_name, e.office_code) FROM events e WHERE e.id = items.last_event_id) WHERE {which}"
    ))
    .execute(conn)?;
    diesel::sql_query(format!(
        "UPDATE items SET (notice_details, notice_place, notice_at) = \
          (SELECT x.details, COALESCE(x.office_name, x.office_code), x.occurred_at FROM events x \
            WHERE x.item_id = items.id AND x.event_type = items.status \
              AND NOT EXISTS (SELECT 1 FROM event_voids v WHERE v.event_id = x.id) \
            ORDER BY x.occurred_at DESC, x.id DESC LIMIT 1) \
         WHERE {which} AND status IN ('held_at_office', 'delivery_failed', 'delivered')"
    ))
    .execute(conn)?;
    Ok(())
}

/// Links a lost item and its replacement both ways.
pub fn link_replacement(conn: &mut DbConn, lost_id: i64, replacement_id: i64, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(items::table.find(lost_id)).set((items::replaced_by_item_id.eq(replacement_id), items::updated_at.eq(now))).execute(conn)?;
    diesel::update(items::table.find(replacement_id)).set(items::replaces_item_id.eq(lost_id)).execute(conn)?;
    refresh_public_flags(conn, &[lost_id])
}

/// What the public lookup shows of an item, read in one statement: the item's
/// own columns, the place of its last scan, its replacement's number and
/// whether a case is open.
#[derive(Debug, PartialEq, QueryableByName)]
pub struct PublicFacts {
    #[diesel(sql_type = sql_types::BigInt)]
    pub item_id: i64,
    #[diesel(sql_type = sql_types::Text)]
    pub tracking_number: String,
    #[diesel(sql_type = sql_types::Text)]
    pub kind: ItemKind,
    #[diesel(sql_type = sql_types::Text)]
    pub status: ItemStatus,
    #[diesel(sql_type = sql_types::Nullable<sql_types::Text>)]
    pub candidate_number: Option<String>,
    #[diesel(sql_type = sql_types::Nullable<sql_types::Date>)]
    pub candidate_dob: Option<NaiveDate>,
    #[diesel(sql_type = sql_types::Nullable<sql_types::Text>)]
    pub candidate_name: Option<String>,
    #[diesel(sql_type = sql_types::Nullable<sql_types::Timestamp>)]
    pub last_event_at: Option<NaiveDateTime>,
    #[diesel(sql_type = sql_types::Nullable<sql_types::Timestamp>)]
    pub due_at: Option<NaiveDateTime>,
    #[diesel(sql_type = sql_types::Nullable<sql_types::Text>)]
    pub last_place: Option<String>,
    #[diesel(sql_type = sql_types::Nullable<sql_types::Text>)]
    pub replaced_by: Option<String>,
    #[diesel(sql_type = sql_types::Bool)]
    pub has_open_case: bool,
    /// The kind of the open area incident the item is delayed by, if any.
    #[diesel(sql_type = sql_types::Nullable<sql_types::Text>)]
    pub incident_kind: Option<crate::domain::incidents::IncidentKind>,
    /// The receiving institution has acknowledged the dossier's electronic pre-advice.
    #[diesel(sql_type = sql_types::Bool)]
    pub pre_advice_acknowledged: bool,
    #[diesel(sql_type = sql_types::Text)]
    pub carrier_name: String,
    #[diesel(sql_type = sql_types::Text)]
    pub sender_name: String,
    #[diesel(sql_type = sql_types::Text)]
    pub carrier_org_id: String,
    #[diesel(sql_type = sql_types::Text)]
    pub sender_org_id: String,
    /// A candidate's report was ever made about it.
    #[diesel(sql_type = sql_types::Bool)]
    pub has_reports: bool,
    /// The details of the scan behind a held, failed-attempt or delivered status.
    #[diesel(sql_type = sql_types::Nullable<sql_types::Text>)]
    pub notice_details: Option<String>,
    #[diesel(sql_type = sql_types::Nullable<sql_types::Text>)]
    pub notice_place: Option<String>,
    #[diesel(sql_type = sql_types::Nullable<sql_types::Timestamp>)]
    pub notice_at: Option<NaiveDateTime>,
}

/// Written once as SQL both backends read: the lookup is the hottest read
/// there is. It reads one item row, which holds the answer (kept current by
/// what changes it), the two organizations' names by their keys and two
/// probes of the cases' indexes (cheaper than keeping case flags on the item,
/// which every case change would rewrite). A
/// finished item shows no delaying incident; only dossiers carry a pre-advice.
const PUBLIC_FACTS: &str = "SELECT i.id AS item_id, i.tracking_number, i.kind, i.status, i.candidate_number, i.candidate_dob, i.candidate_name, \
     i.last_event_at, i.due_at, i.last_place, i.replaced_by_number AS replaced_by, \
     co.name AS carrier_name, so.name AS sender_name, i.carrier_org_id, i.sender_org_id, \
     EXISTS (SELECT 1 FROM cases c WHERE c.item_id = i.id AND c.state IN ('open', 'acknowledged')) AS has_open_case, \
     EXISTS (SELECT 1 FROM cases c WHERE c.item_id = i.id AND c.kind = 'recipient_report') AS has_reports, \
     CASE WHEN i.status IN ('delivered', 'returned') THEN NULL ELSE i.open_incident_kind END AS incident_kind, \
     CASE WHEN i.kind IN ('application_dossier', 'preference_change_dossier', 'enrollment_dossier') THEN i.pre_advice_acknowledged ELSE FALSE END \
      AS pre_advice_acknowledged, \
     i.notice_details, i.notice_place, i.notice_at \
     FROM items i JOIN organizations co ON co.id = i.carrier_org_id JOIN organizations so ON so.id = i.sender_org_id";

/// The same facts derived from the tables they come from: what the columns
/// `PUBLIC_FACTS` reads must always equal (see `public_drift`).
const PUBLIC_FACTS_DERIVED: &str = "SELECT i.id AS item_id, i.tracking_number, i.kind, i.status, i.candidate_number, i.candidate_dob, i.candidate_name, \
     i.last_event_at, i.due_at, COALESCE(e.office_name, e.office_code) AS last_place, r.tracking_number AS replaced_by, \
     co.name AS carrier_name, so.name AS sender_name, i.carrier_org_id, i.sender_org_id, \
     EXISTS (SELECT 1 FROM cases c WHERE c.item_id = i.id AND c.state IN ('open', 'acknowledged')) AS has_open_case, \
     EXISTS (SELECT 1 FROM cases c WHERE c.item_id = i.id AND c.kind = 'recipient_report') AS has_reports, \
     CASE WHEN i.status IN ('delivered', 'returned') THEN NULL ELSE \
      (SELECT n.kind FROM incident_items ii JOIN incidents n ON n.id = ii.incident_id \
       WHERE ii.item_id = i.id AND n.state = 'open' ORDER BY n.id DESC LIMIT 1) END AS incident_kind, \
     CASE WHEN i.kind IN ('application_dossier', 'preference_change_dossier', 'enrollment_dossier') THEN \
      EXISTS (SELECT 1 FROM pre_advices pa WHERE pa.item_id = i.id AND pa.acknowledged_at IS NOT NULL) ELSE FALSE END \
      AS pre_advice_acknowledged, \
     h.details AS notice_details, COALESCE(h.office_name, h.office_code) AS notice_place, h.occurred_at AS notice_at \
     FROM items i LEFT JOIN events e ON e.id = i.last_event_id LEFT JOIN items r ON r.id = i.replaced_by_item_id \
     JOIN organizations co ON co.id = i.carrier_org_id JOIN organizations so ON so.id = i.sender_org_id \
     LEFT JOIN events h ON i.status IN ('held_at_office', 'delivery_failed', 'delivered') AND h.id = \
      (SELECT x.id FROM events x WHERE x.item_id = i.id AND x.event_type = i.status \
       AND NOT EXISTS (SELECT 1 FROM event_voids v WHERE v.event_id = x.id) ORDER BY x.occurred_at DESC, x.id DESC LIMIT 1)";

/// The lookup statements as types of their own, so that diesel caches their
/// prepared statements (it never caches `sql_query`, and preparing this
/// join took a seventh of a lookup's time).
mod public_queries {
    use chrono::NaiveDate;
    use diesel::backend::Backend;
    use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
    use diesel::serialize::ToSql;
    use diesel::sql_types::{Date, HasSqlType, Text, Untyped};
    use diesel::{QueryResult, RunQueryDsl};

    use super::PUBLIC_FACTS;

    /// Every item with a number, newest first.
    pub struct ByNumber<'a>(pub &'a str);
    /// A candidate's items of a season, oldest first.
    pub struct ByCandidate<'a>(pub &'a str, pub NaiveDate, pub &'a str);

    impl<DB> QueryFragment<DB> for ByNumber<'_>
    where
        DB: Backend + HasSqlType<Text>,
        str: ToSql<Text, DB>,
    {
        fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
            out.push_sql(PUBLIC_FACTS);
            // Confidential items (exam papers) are never shown to the public.
            out.push_sql(" WHERE NOT i.confidential AND i.tracking_number = ");
            out.push_bind_param::<Text, _>(self.0)?;
            out.push_sql(" ORDER BY i.id DESC");
            Ok(())
        }
    }

    impl<DB> QueryFragment<DB> for ByCandidate<'_>
    where
        DB: Backend + HasSqlType<Text> + HasSqlType<Date>,
        str: ToSql<Text, DB>,
        NaiveDate: ToSql<Date, DB>,
    {
        fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
            out.push_sql(PUBLIC_FACTS);
            out.push_sql(" WHERE NOT i.confidential AND i.candidate_number = ");
            out.push_bind_param::<Text, _>(self.0)?;
            out.push_sql(" AND i.candidate_dob = ");
            out.push_bind_param::<Date, _>(&self.1)?;
            out.push_sql(" AND i.season = ");
            out.push_bind_param::<Text, _>(self.2)?;
            out.push_sql(" ORDER BY i.id ASC");
            Ok(())
        }
    }

    macro_rules! static_query {
        ($name:ident) => {
            impl QueryId for $name<'_> {
                type QueryId = $name<'static>;
                const HAS_STATIC_QUERY_ID: bool = true;
            }
            impl Query for $name<'_> {
                type SqlType = Untyped;
            }
            impl<Conn> RunQueryDsl<Conn> for $name<'_> {}
        };
    }
    static_query!(ByNumber);
    static_query!(ByCandidate);
}

/// Every item with this number (numbers recur across seasons), newest first.
pub fn public_by_number(conn: &mut DbConn, tracking_number: &str) -> QueryResult<Vec<PublicFacts>> {
    public_queries::ByNumber(tracking_number).load(conn)
}

/// Where the public answer kept on items differs from the same facts derived
/// from the tables they come from, one line per item that differs (empty
/// when they agree). Reads every item: for tests and checks, not requests.
pub fn public_drift(conn: &mut DbConn) -> QueryResult<Vec<String>> {
    let order = " WHERE NOT i.confidential ORDER BY i.id";
    let kept: Vec<PublicFacts> = diesel::sql_query(format!("{PUBLIC_FACTS}{order}")).load(conn)?;
    let derived: Vec<PublicFacts> = diesel::sql_query(format!("{PUBLIC_FACTS_DERIVED}{order}")).load(conn)?;
    let derived: std::collections::HashMap<i64, PublicFacts> = derived.into_iter().map(|f| (f.item_id, f)).collect();
    Ok(kept
        .into_iter()
        .filter(|f| derived.get(&f.item_id) != Some(f))
        .map(|f| format!("kept {f:?}\nderived {:?}", derived.get(&f.item_id)))
        .collect())
}

/// A candidate's items of a season, oldest first.
pub fn public_by_candidate(conn: &mut DbConn, candidate_number: &str, date_of_birth: NaiveDate, season: &str) -> QueryResult<Vec<PublicFacts>> {
    public_queries::ByCandidate(candidate_number, date_of_birth, season).load(conn)
}

pub fn find_in_season(conn: &mut DbConn, tracking_number: &str, season: &str) -> QueryResult<Option<Item>> {
    items::table
        .filter(items::tracking_number.eq(tracking_number))
        .filter(items::season.eq(season))
        .first(conn)
        .optional()
}

type BoxedItems<'a> = items::BoxedQuery<'a, <DbConn as diesel::Connection>::Backend>;

/// Narrows a boxed query over `items` (alone or joined) to a caller's
/// scope: the one place that rule is written as SQL. A macro, because each
/// query's boxed type differs.
macro_rules! within_scope {
    ($query:expr, $scope:expr) => {
        match $scope {
            ItemScope::All => $query,
            ItemScope::SenderOrRecipient(org) => $query.filter(items::sender_org_id.eq(org).or(items::recipient_org_id.eq(org))),
            ItemScope::Carrier(org) => $query.filter(items::carrier_org_id.eq(org)),
            ItemScope::Province(p) => $query.filter(items::dest_province.eq(p).or(items::origin_province.eq(p))),
            ItemScope::OwnOrProvince(org, p) => $query.filter(
                items::sender_org_id
                    .eq(org)
                    .or(items::recipient_org_id.eq(org))
                    .or(items::dest_province.eq(p))
                    .or(items::origin_province.eq(p)),
            ),
        }
    };
}
pub(crate) use within_scope;

fn scoped(scope: &ItemScope) -> BoxedItems<'_> {
    within_scope!(items::table.into_boxed(), scope)
}

/// The caller's newest item with this number (numbers are recycled across
/// seasons), or the one of the given season.
pub fn find_visible(
    conn: &mut DbConn,
    scope: &ItemScope,
    tracking_number: &str,
    season: Option<&str>,
) -> QueryResult<Option<Item>> {
    let mut query = scoped(scope).filter(items::tracking_number.eq(tracking_number));
    if let Some(season) = season {
        query = query.filter(items::season.eq(season));
    }
    query.order(items::id.desc()).first(conn).optional()
}

/// Every item with any of these numbers, in every season. Callers apply the
/// scope (`ItemScope::includes`): given a scope and a long list of numbers,
/// SQLite's planner may walk the scope's index (a third of all items for a
/// carrier) instead of looking each number up.
pub fn with_numbers(conn: &mut DbConn, tracking_numbers: &[&str]) -> QueryResult<Vec<Item>> {
    let mut found = Vec::with_capacity(tracking_numbers.len());
    for part in tracking_numbers.chunks(1000) {
        found.extend(items::table.filter(items::tracking_number.eq_any(part)).load::<Item>(conn)?);
    }
    Ok(found)
}

/// A scope as one query per column it names, each alone one indexed
/// (column, id) range. "Sender or recipient" as one query makes PostgreSQL
/// combine both indexes into a bitmap and sort every match for each chunk:
/// at 1 M items a department's export re-sorted its 28,000 items of the
/// season for every thousand it wrote.
fn scope_branches(scope: &ItemScope) -> Vec<BoxedItems<'_>> {
    let all = || items::table.into_boxed();
    match scope {
        ItemScope::All => vec![all()],
        ItemScope::SenderOrRecipient(org) => {
            vec![all().filter(items::sender_org_id.eq(org)), all().filter(items::recipient_org_id.eq(org))]
        }
        ItemScope::Carrier(org) => vec![all().filter(items::carrier_org_id.eq(org))],
        ItemScope::Province(p) => vec![all().filter(items::dest_province.eq(p)), all().filter(items::origin_province.eq(p))],
        ItemScope::OwnOrProvince(org, p) => vec![
            all().filter(items::sender_org_id.eq(org)),
            all().filter(items::recipient_org_id.eq(org)),
            all().filter(items::dest_province.eq(p)),
            all().filter(items::origin_province.eq(p)),
        ],
    }
}

/// A page of visible items, newest first, strictly older than `before_id`,
/// read as one query: for a page of fifty one bitmap over the scope's
/// indexes visits each heap page once (the overdue list of a province read
/// as two branches took three times as long, p50 20 → 77 ms at 1 M items).
pub fn list_visible(
    conn: &mut DbConn,
    scope: &ItemScope,
    filter: &ItemFilter,
    before_id: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<Item>> {
    list_branch(conn, scoped(scope), filter, before_id, limit)
}

/// A chunk of an export: the same items and order as [`list_visible`], read
/// as the newest `limit` of each branch of the scope, merged. An item in two
/// branches (sent and received by the caller) is listed once.
pub fn export_visible(
    conn: &mut DbConn,
    scope: &ItemScope,
    filter: &ItemFilter,
    before_id: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<Item>> {
    let mut branches = scope_branches(scope);
    if branches.len() == 1 {
        return list_branch(conn, branches.remove(0), filter, before_id, limit);
    }
    let mut found = Vec::new();
    for branch in branches {
        found.extend(list_branch(conn, branch, filter, before_id, limit)?);
    }
    found.sort_unstable_by(|a: &Item, b: &Item| b.id.cmp(&a.id));
    found.dedup_by_key(|item| item.id);
    found.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(found)
}

fn list_branch<'a>(
    conn: &mut DbConn,
    mut query: BoxedItems<'a>,
    filter: &'a ItemFilter,
    before_id: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<Item>> {
    if let Some(v) = &filter.kind {
        query = query.filter(items::kind.eq(v));
    }
    if let Some(v) = &filter.priority {
        query = query.filter(items::priority.eq(v));
    }
    if let Some(v) = &filter.status {
        query = query.filter(items::status.eq(v));
    }
    if let Some(v) = &filter.carrier_org_id {
        query = query.filter(items::carrier_org_id.eq(v));
    }
    if let Some(v) = &filter.sender_org_id {
        query = query.filter(items::sender_org_id.eq(v));
    }
    if let Some(v) = &filter.dest_province {
        query = query.filter(items::dest_province.eq(v));
    }
    if let Some(v) = &filter.season {
        query = query.filter(items::season.eq(v));
    }
    if let Some(v) = filter.created_since {
        query = query.filter(items::created_at.ge(v));
    }
    if let Some(v) = filter.updated_since {
        query = query.filter(items::updated_at.ge(v));
    }
    if let Some(now) = filter.overdue_at {
        // Named one by one (not "not settled"), so that an index on status can serve it.
        let unsettled: Vec<&str> = ItemStatus::ALL.iter().filter(|s| !crate::domain::cases::settled(**s)).map(|s| s.as_str()).collect();
        query = query.filter(items::due_at.lt(now)).filter(items::status.eq_any(unsettled));
    }
    if let Some(wanted) = filter.has_open_case {
        use crate::db::schema::cases;
        let open = diesel::dsl::exists(
            cases::table.filter(cases::item_id.eq(items::id)).filter(cases::state.eq_any(["open", "acknowledged"])),
        );
        query = if wanted { query.filter(open) } else { query.filter(diesel::dsl::not(open)) };
    }
    if let Some(v) = &filter.recipient_org_id {
        query = query.filter(items::recipient_org_id.eq(v));
    }
    if let Some(v) = &filter.dest_ward {
        query = query.filter(items::dest_ward.eq(v));
    }
    if let Some(v) = &filter.candidate_number {
        query = query.filter(items::candidate_number.eq(v));
    }
    if let Some(before) = before_id {
        query = query.filter(items::id.lt(before));
    }
    if filter.overdue_at.is_some() {
        // Overdue items are a few in a hundred: SQLite would otherwise walk the
        // province's items in id order to skip the sort, reading thousands
        // to find a page. `+id` is the same order without that shortcut, so
        // it reads the (province, status, deadline) index and sorts the few.
        return query.order(diesel::dsl::sql::<diesel::sql_types::BigInt>("+items.id DESC")).limit(limit).load(conn);
    }
    query.order(items::id.desc()).limit(limit).load(conn)
}

/// Items some time rule may apply to at `now`: not settled and past their
/// deadline, in the network without a recent scan, or with a must-arrive-by
/// time inside the risk margin. Each query walks a (status, time) index.
pub fn needing_attention(conn: &mut DbConn, rules: &[Rule], now: NaiveDateTime) -> QueryResult<Vec<Item>> {
    use crate::domain::cases::{in_network, settled};
    let open: Vec<&str> = ItemStatus::ALL.iter().filter(|s| !settled(**s)).map(|s| s.as_str()).collect();
    let moving: Vec<&str> = ItemStatus::ALL.iter().filter(|s| in_network(**s)).map(|s| s.as_str()).collect();
    let mut found: Vec<Item> = items::table.filter(items::status.eq_any(&open)).filter(items::due_at.lt(now)).load(conn)?;
    for rule in rules {
        let quiet_since = now - chrono::Duration::hours(rule.stall_hours.into());
        let stalled: Vec<Item> = items::table
            .filter(items::status.eq_any(&moving))
            .filter(items::priority.eq(rule.priority.as_str()))
            .filter(items::last_event_at.lt(quiet_since))
            .load(conn)?;
        found.extend(stalled);
        let horizon = now + chrono::Duration::hours(rule.at_risk_margin_hours.into());
        let at_risk: Vec<Item> = items::table
            .filter(items::status.eq_any(["registered", "accepted", "in_transit", "exception"]))
            .filter(items::priority.eq(rule.priority.as_str()))
            .filter(items::must_arrive_by.gt(now))
            .filter(items::must_arrive_by.lt(horizon))
            .load(conn)?;
        found.extend(at_risk);
        let waiting_since = now - chrono::Duration::hours(rule.accept_hours.into());
        let not_accepted: Vec<Item> = items::table
            .filter(items::status.eq(ItemStatus::Registered))
            .filter(items::priority.eq(rule.priority))
            .filter(items::created_at.lt(waiting_since))
            .load(conn)?;
        found.extend(not_accepted);
    }
    found.sort_by_key(|i| i.id);
    found.dedup_by_key(|i| i.id);
    Ok(found)
}
