use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{items, pre_advices};
use crate::db::DbConn;
use crate::store::items::Item;

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = pre_advices)]
pub struct PreAdvice {
    pub item_id: i64,
    pub recipient_org_id: String,
    pub candidate_number: String,
    pub candidate_name: String,
    pub programme: String,
    /// SHA-256 of the dossier's documents, lower-case hex.
    pub document_digest: String,
    pub submitted_by: String,
    pub submitted_at: NaiveDateTime,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<NaiveDateTime>,
}

pub fn find(conn: &mut DbConn, item_id: i64) -> QueryResult<Option<PreAdvice>> {
    pre_advices::table.find(item_id).first(conn).optional()
}

/// Stores a pre-advice, replacing one not yet acknowledged.
pub fn save(conn: &mut DbConn, advice: &PreAdvice) -> QueryResult<()> {
    diesel::delete(pre_advices::table.find(advice.item_id)).filter(pre_advices::acknowledged_at.is_null()).execute(conn)?;
    diesel::insert_into(pre_advices::table).values(advice).execute(conn)?;
    super::items::refresh_public_flags(conn, &[advice.item_id])
}

/// Marks it acknowledged if it was not; `false` when it already was.
pub fn acknowledge(conn: &mut DbConn, item_id: i64, by: &str, at: NaiveDateTime) -> QueryResult<bool> {
    let changed = diesel::update(pre_advices::table.find(item_id))
        .filter(pre_advices::acknowledged_at.is_null())
        .set((pre_advices::acknowledged_by.eq(Some(by)), pre_advices::acknowledged_at.eq(Some(at))))
        .execute(conn)?;
    if changed == 1 {
        super::items::refresh_public_flags(conn, &[item_id])?;
    }
    Ok(changed == 1)
}

/// The pre-advices addressed to an organization (all with `None`: admins), with
/// their items, oldest first; `acknowledged` filters when given.
pub fn addressed_to(conn: &mut DbConn, recipient_org_id: Option<&str>, acknowledged: Option<bool>, limit: i64) -> QueryResult<Vec<(PreAdvice, Item)>> {
    let mut query = pre_advices::table.inner_join(items::table).select((pre_advices::all_columns, items::all_columns)).into_boxed();
    if let Some(org) = recipient_org_id {
        query = query.filter(pre_advices::recipient_org_id.eq(org));
    }
    match acknowledged {
        Some(true) => query = query.filter(pre_advices::acknowledged_at.is_not_null()),
        Some(false) => query = query.filter(pre_advices::acknowledged_at.is_null()),
        None => {}
    }
    query.order(pre_advices::submitted_at.asc()).limit(limit).load(conn)
}

/// Whether the item's pre-advice has been acknowledged by its institution.
pub fn acknowledged(conn: &mut DbConn, item_id: i64) -> QueryResult<bool> {
    Ok(find(conn, item_id)?.is_some_and(|a| a.acknowledged_at.is_some()))
}

/// Those of these items whose recipient acknowledged the pre-advice.
pub fn acknowledged_among(conn: &mut DbConn, item_ids: &[i64]) -> QueryResult<std::collections::HashSet<i64>> {
    let mut found = std::collections::HashSet::new();
    for part in item_ids.chunks(1000) {
        let ids: Vec<i64> =
            pre_advices::table.filter(pre_advices::item_id.eq_any(part)).filter(pre_advices::acknowledged_at.is_not_null()).select(pre_advices::item_id).load(conn)?;
        found.extend(ids);
    }
    Ok(found)
}
