//! The retention purge's writes: every place a candidate's personal values
//! are kept, emptied for a set of items, keeping what statistics need
//! (kinds, statuses, times, province and ward).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use rand::RngCore;

use crate::db::schema::{case_entries, cases, events, item_chains, items, outbox, pre_advices, season_purges};
use crate::db::DbConn;
use crate::domain::chain::{committed_details, PERSONAL_DETAILS};

/// What one purge removed.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct Purged {
    pub items: usize,
    pub events: usize,
    pub case_notes: usize,
    pub case_plans: usize,
    pub pre_advices: usize,
    pub messages: usize,
}

impl std::ops::AddAssign for Purged {
    fn add_assign(&mut self, o: Purged) {
        self.items += o.items;
        self.events += o.events;
        self.case_notes += o.case_notes;
        self.case_plans += o.case_plans;
        self.pre_advices += o.pre_advices;
        self.messages += o.messages;
    }
}

/// A season's items with anything personal left, by id, after `after`.
pub fn items_to_purge(conn: &mut DbConn, season: &str, after: i64, limit: i64) -> QueryResult<Vec<i64>> {
    items::table
        .select(items::id)
        .filter(items::season.eq(season))
        .filter(items::id.gt(after))
        .filter(items::content_hash.ne(PURGED))
        .order(items::id)
        .limit(limit)
        .load(conn)
}

/// What a purged row's content hash becomes: the original was an unsalted
/// hash over personal values.
pub const PURGED: &str = "purged";

/// Removes the personal values of these items everywhere they are kept.
/// Call inside a write transaction.
pub fn purge_items(conn: &mut DbConn, item_ids: &[i64]) -> QueryResult<Purged> {
    let mut purged = Purged::default();
    let emails: Vec<String> = items::table.filter(items::id.eq_any(item_ids)).filter(items::candidate_email.is_not_null()).select(items::candidate_email.assume_not_null()).load(conn)?;

    // A recipient's name on a delivery becomes its salted digest: the event
    // chain committed to that digest, so it still verifies.
    let salts: Vec<(i64, Option<Vec<u8>>)> = item_chains::table.filter(item_chains::item_id.eq_any(item_ids)).select((item_chains::item_id, item_chains::salt)).load(conn)?;
    let salts: std::collections::HashMap<i64, Vec<u8>> = salts.into_iter().filter_map(|(id, salt)| salt.map(|s| (id, s))).collect();
    for (field, _) in PERSONAL_DETAILS {
        let rows: Vec<(i64, i64, String)> = events::table
            .filter(events::item_id.eq_any(item_ids))
            .filter(events::details.like(format!("%\"{field}\"%")))
            .select((events::id, events::item_id, events::details))
            .load(conn)?;
        for (id, item_id, details) in rows {
            let salt = salts.get(&item_id).cloned().unwrap_or_else(|| {
                // An event outside any chain (recorded before the chain began):
                // a throwaway salt makes its digest unguessable all the same.
                let mut salt = vec![0u8; 16];
                rand::thread_rng().fill_bytes(&mut salt);
                salt
            });
            let committed = committed_details(&details, Some(&salt)).unwrap_or_else(|_| "{}".to_string());
            purged.events += diesel::update(events::table.find(id)).set((events::details.eq(committed), events::content_hash.eq(PURGED))).execute(conn)?;
        }
    }
    // The public answer kept on the items holds a copy of the notice scan's details.
    super::items::rederive_public_places(conn, item_ids)?;
    super::chain::forget_salt(conn, item_ids)?;

    purged.items = diesel::update(items::table.filter(items::id.eq_any(item_ids)))
        .set((
            items::candidate_number.eq(None::<String>),
            items::candidate_name.eq(None::<String>),
            items::candidate_dob.eq(None::<chrono::NaiveDate>),
            items::candidate_phone.eq(None::<String>),
            items::candidate_email.eq(None::<String>),
            items::recipient_attention.eq(None::<String>),
            items::reference.eq(None::<String>),
            items::content_hash.eq(PURGED),
        ))
        .execute(conn)?;
    // An institution's address is not personal; a candidate's is.
    diesel::update(items::table.filter(items::id.eq_any(item_ids)).filter(items::recipient_kind.eq("candidate"))).set(items::dest_address.eq("")).execute(conn)?;

    let case_ids: Vec<i64> = cases::table.filter(cases::item_id.eq_any(item_ids)).select(cases::id).load(conn)?;
    for part in case_ids.chunks(1000) {
        purged.case_notes +=
            diesel::update(case_entries::table.filter(case_entries::case_id.eq_any(part)).filter(case_entries::note.is_not_null())).set(case_entries::note.eq(None::<String>)).execute(conn)?;
        purged.case_plans += diesel::update(cases::table.filter(cases::id.eq_any(part)).filter(cases::plan.is_not_null())).set(cases::plan.eq(None::<String>)).execute(conn)?;
    }
    purged.pre_advices = diesel::update(pre_advices::table.filter(pre_advices::item_id.eq_any(item_ids)))
        .set((pre_advices::candidate_number.eq(""), pre_advices::candidate_name.eq("")))
        .execute(conn)?;
    // Messages to candidates name them only by address: the message stays counted, its address and text go.
    for part in emails.chunks(1000) {
        purged.messages += diesel::update(outbox::table.filter(outbox::target.eq_any(part)))
            .set((outbox::target.eq(""), outbox::subject.eq(None::<String>), outbox::body.eq(""), outbox::last_error.eq(None::<String>)))
            .execute(conn)?;
    }
    Ok(purged)
}

/// When the season was purged, if it was.
pub fn purged_at(conn: &mut DbConn, season: &str) -> QueryResult<Option<NaiveDateTime>> {
    season_purges::table.find(season).select(season_purges::purged_at).first(conn).optional()
}

pub fn record_purge(conn: &mut DbConn, season: &str, at: NaiveDateTime, by: &str, count: i64) -> QueryResult<usize> {
    let row = (season_purges::season_code.eq(season), season_purges::purged_at.eq(at), season_purges::purged_by.eq(by), season_purges::items.eq(count));
    match conn {
        DbConn::Sqlite(c) => diesel::insert_into(season_purges::table).values(row).on_conflict_do_nothing().execute(c),
        DbConn::Postgresql(c) => diesel::insert_into(season_purges::table).values(row).on_conflict_do_nothing().execute(c),
    }
}
