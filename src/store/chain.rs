//! The event chain's tables: each entry's link, each item's chain head,
//! each day's leaves and signed roots.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::upsert::excluded;
use rand::RngCore;

use crate::db::schema::{chain_leaves, chain_roots, event_voids, events, item_chains};
use crate::db::DbConn;
use crate::domain::chain::{self, EntryError, EventContent, Hash, VoidContent, GENESIS};
use crate::store::events::{Event, EventVoid};

#[derive(Debug, Clone, Queryable, Insertable, AsChangeset)]
#[diesel(table_name = item_chains)]
pub struct ItemChain {
    pub item_id: i64,
    pub length: i64,
    pub head: Vec<u8>,
    pub salt: Option<Vec<u8>>,
}

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = chain_leaves)]
pub struct Leaf {
    pub day: NaiveDate,
    pub item_id: i64,
    pub seq: i64,
    pub link: Vec<u8>,
}

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = chain_roots)]
pub struct Root {
    pub day: NaiveDate,
    pub root: Vec<u8>,
    pub leaves: i64,
    pub signature: Vec<u8>,
    pub public_key: Vec<u8>,
    pub sealed_at: NaiveDateTime,
}

/// A chain's head as 32 bytes (a stored head of another length is a broken row).
pub fn hash_of(bytes: &[u8]) -> Option<Hash> {
    bytes.try_into().ok()
}

pub fn event_content(event: &Event) -> EventContent<'_> {
    EventContent {
        public_id: &event.public_id,
        item_id: event.item_id,
        carrier_org_id: &event.carrier_org_id,
        client_event_id: &event.client_event_id,
        event_type: event.event_type.as_str(),
        occurred_at: event.occurred_at,
        occurred_offset_min: event.occurred_offset_min,
        received_at: event.received_at,
        office_code: &event.office_code,
        office_name: event.office_name.as_deref(),
        office_type: event.office_type.map(|t| t.as_str()),
        operator_id: event.operator_id.as_deref(),
        device_id: event.device_id.as_deref(),
        details: &event.details,
        created_by: &event.created_by,
    }
}

pub fn void_content<'a>(event: &'a Event, void: &'a EventVoid) -> VoidContent<'a> {
    VoidContent {
        event_public_id: &event.public_id,
        reason: void.reason.as_str(),
        note: void.note.as_deref(),
        voided_by: &void.voided_by,
        voided_at: void.voided_at,
    }
}

/// The chains of these items, by item id; an item with none yet starts one
/// (with a fresh salt). Call with the items locked (the caller's refresh
/// locks them on PostgreSQL; SQLite has one writer).
fn chains_of(conn: &mut DbConn, item_ids: &[i64]) -> QueryResult<HashMap<i64, ItemChain>> {
    let mut found: HashMap<i64, ItemChain> = HashMap::with_capacity(item_ids.len());
    for part in item_ids.chunks(1000) {
        found.extend(item_chains::table.filter(item_chains::item_id.eq_any(part)).load::<ItemChain>(conn)?.into_iter().map(|c| (c.item_id, c)));
    }
    for &item_id in item_ids {
        found.entry(item_id).or_insert_with(|| {
            let mut salt = vec![0u8; 16];
            rand::thread_rng().fill_bytes(&mut salt);
            ItemChain { item_id, length: 0, head: GENESIS.to_vec(), salt: Some(salt) }
        });
    }
    Ok(found)
}

/// An entry to append: a new event, or the void of one.
pub enum Entry<'a> {
    Event(&'a Event),
    Void(&'a Event, &'a EventVoid),
}

fn storage_error(what: String) -> diesel::result::Error {
    diesel::result::Error::SerializationError(what.into())
}

/// Appends entries to their items' chains, in the order given (the order
/// they were recorded), and notes each item's new head as `day`'s leaf.
/// Call inside the write transaction that stored the entries.
pub fn append(conn: &mut DbConn, entries: &[Entry], day: NaiveDate) -> QueryResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut item_ids: Vec<i64> = entries.iter().map(|e| match e {
        Entry::Event(event) | Entry::Void(event, _) => event.item_id,
    }).collect();
    item_ids.sort_unstable();
    item_ids.dedup();
    let mut chains = chains_of(conn, &item_ids)?;
    let mut event_links: Vec<(i64, i64, Vec<u8>)> = Vec::new();
    for entry in entries {
        let (item_id, event_id) = match entry {
            Entry::Event(event) | Entry::Void(event, _) => (event.item_id, event.id),
        };
        let chain = chains.get_mut(&item_id).ok_or_else(|| storage_error(format!("no chain for item {item_id}")))?;
        let head = hash_of(&chain.head).ok_or_else(|| storage_error(format!("item {item_id} has a broken chain head")))?;
        let entry_hash = match entry {
            Entry::Event(event) => chain::event_entry(&event_content(event), chain.salt.as_deref())
                .map_err(|e: EntryError| storage_error(format!("event {} cannot be chained: {e:?}", event.public_id)))?,
            Entry::Void(event, void) => chain::void_entry(&void_content(event, void)),
        };
        let link = chain::link(&head, &entry_hash);
        chain.length += 1;
        chain.head = link.to_vec();
        match entry {
            Entry::Event(_) => event_links.push((event_id, chain.length, link.to_vec())),
            Entry::Void(..) => {
                diesel::update(event_voids::table.find(event_id))
                    .set((event_voids::chain_seq.eq(chain.length), event_voids::chain_link.eq(link.to_vec())))
                    .execute(conn)?;
            }
        }
    }
    let heads: Vec<&ItemChain> = item_ids.iter().map(|id| &chains[id]).collect();
    let leaves: Vec<Leaf> = heads.iter().map(|c| Leaf { day, item_id: c.item_id, seq: c.length, link: c.head.clone() }).collect();
    store_links(conn, &event_links)?;
    store_heads(conn, &heads, &leaves)
}

/// Sets the events' chain places and links.
fn store_links(conn: &mut DbConn, links: &[(i64, i64, Vec<u8>)]) -> QueryResult<()> {
    match conn {
        // One cached statement per row: SQLite has no round trips to save.
        DbConn::Sqlite(c) => {
            for (id, seq, link) in links {
                diesel::update(events::table.find(id)).set((events::chain_seq.eq(seq), events::chain_link.eq(link))).execute(c)?;
            }
        }
        // One statement per thousand rows.
        DbConn::Postgresql(c) => {
            use diesel::sql_types::{Array, BigInt, Binary};
            for part in links.chunks(1000) {
                let ids: Vec<i64> = part.iter().map(|l| l.0).collect();
                let seqs: Vec<i64> = part.iter().map(|l| l.1).collect();
                let hashes: Vec<Vec<u8>> = part.iter().map(|l| l.2.clone()).collect();
                diesel::sql_query(
                    "UPDATE events SET chain_seq = v.seq, chain_link = v.link \
                     FROM unnest($1, $2, $3) AS v(id, seq, link) WHERE events.id = v.id",
                )
                .bind::<Array<BigInt>, _>(ids)
                .bind::<Array<BigInt>, _>(seqs)
                .bind::<Array<Binary>, _>(hashes)
                .execute(c)?;
            }
        }
    }
    Ok(())
}

/// Stores the items' new chain heads and the day's leaves.
fn store_heads(conn: &mut DbConn, heads: &[&ItemChain], leaves: &[Leaf]) -> QueryResult<()> {
    macro_rules! upsert {
        ($c:expr, $heads:expr, $leaves:expr) => {{
            diesel::insert_into(item_chains::table)
                .values($heads)
                .on_conflict(item_chains::item_id)
                .do_update()
                .set((item_chains::length.eq(excluded(item_chains::length)), item_chains::head.eq(excluded(item_chains::head))))
                .execute($c)?;
            diesel::insert_into(chain_leaves::table)
                .values($leaves)
                .on_conflict((chain_leaves::day, chain_leaves::item_id))
                .do_update()
                .set((chain_leaves::seq.eq(excluded(chain_leaves::seq)), chain_leaves::link.eq(excluded(chain_leaves::link))))
                .execute($c)?;
        }};
    }
    match conn {
        DbConn::Sqlite(c) => {
            for (head, leaf) in heads.iter().zip(leaves) {
                upsert!(c, *head, leaf);
            }
        }
        DbConn::Postgresql(c) => {
            for (heads, leaves) in heads.chunks(1000).zip(leaves.chunks(1000)) {
                let heads: Vec<ItemChain> = heads.iter().map(|h| (*h).clone()).collect();
                upsert!(c, &heads, leaves);
            }
        }
    }
    Ok(())
}

/// An item's chain state.
pub fn of_item(conn: &mut DbConn, item_id: i64) -> QueryResult<Option<ItemChain>> {
    item_chains::table.find(item_id).first(conn).optional()
}

/// A day's leaves, in item order (the order the root folds them in).
pub fn leaves_of(conn: &mut DbConn, day: NaiveDate) -> QueryResult<Vec<Leaf>> {
    chain_leaves::table.filter(chain_leaves::day.eq(day)).order(chain_leaves::item_id).load(conn)
}

/// The days an item's chain grew on, oldest first.
pub fn days_of_item(conn: &mut DbConn, item_id: i64) -> QueryResult<Vec<Leaf>> {
    chain_leaves::table.filter(chain_leaves::item_id.eq(item_id)).order(chain_leaves::day).load(conn)
}

/// Days with leaves from `from` on (all when `None`) and before `before`, oldest first.
pub fn days_with_leaves(conn: &mut DbConn, from: Option<NaiveDate>, before: NaiveDate) -> QueryResult<Vec<NaiveDate>> {
    let mut query = chain_leaves::table.select(chain_leaves::day).filter(chain_leaves::day.lt(before)).distinct().order(chain_leaves::day).into_boxed();
    if let Some(from) = from {
        query = query.filter(chain_leaves::day.ge(from));
    }
    query.load(conn)
}

/// Stores a day's root unless another process already did (the same root).
pub fn insert_root(conn: &mut DbConn, root: &Root) -> QueryResult<usize> {
    match conn {
        DbConn::Sqlite(c) => diesel::insert_into(chain_roots::table).values(root).on_conflict_do_nothing().execute(c),
        DbConn::Postgresql(c) => diesel::insert_into(chain_roots::table).values(root).on_conflict_do_nothing().execute(c),
    }
}

pub fn latest_root_day(conn: &mut DbConn) -> QueryResult<Option<NaiveDate>> {
    chain_roots::table.select(diesel::dsl::max(chain_roots::day)).first(conn)
}

pub fn root_of(conn: &mut DbConn, day: NaiveDate) -> QueryResult<Option<Root>> {
    chain_roots::table.find(day).first(conn).optional()
}

/// Signed roots of days from `from` to `to` (inclusive), oldest first.
pub fn roots_between(conn: &mut DbConn, from: NaiveDate, to: NaiveDate) -> QueryResult<Vec<Root>> {
    chain_roots::table.filter(chain_roots::day.ge(from)).filter(chain_roots::day.le(to)).order(chain_roots::day).load(conn)
}

/// Items that have a chain, by id, after `after`, up to `limit`.
pub fn chained_items(conn: &mut DbConn, after: i64, limit: i64) -> QueryResult<Vec<i64>> {
    item_chains::table.select(item_chains::item_id).filter(item_chains::item_id.gt(after)).order(item_chains::item_id).limit(limit).load(conn)
}

/// Forgets an item's salt (the purge): its digests can no longer be checked against guesses.
pub fn forget_salt(conn: &mut DbConn, item_ids: &[i64]) -> QueryResult<usize> {
    let mut changed = 0;
    for part in item_ids.chunks(1000) {
        changed += diesel::update(item_chains::table.filter(item_chains::item_id.eq_any(part))).set(item_chains::salt.eq(None::<Vec<u8>>)).execute(conn)?;
    }
    Ok(changed)
}
