//! Reading the registry within the actor's scope.

use chrono::{DateTime, Utc};

use crate::app::{Actor, Error};
use crate::db::DbConn;
use crate::domain::{fields, province, s10, FieldErrors, ItemKind, ItemStatus, Priority};
use crate::store::items::{Item, ItemFilter};
use crate::store::{self};

/// The item with this number the actor can see: of `season`, or the newest.
/// Items outside the scope are not found, never forbidden.
pub fn find_item(conn: &mut DbConn, actor: &Actor, tracking_number: &str, season: Option<&str>) -> Result<Item, Error> {
    let number = s10::normalize(tracking_number).map_err(|e| Error::field("tracking_number", e.to_string()))?;
    let season = season.map(fields::season).transpose().map_err(|r| Error::field("season", r))?;
    store::items::find_visible(conn, &actor.item_scope(), &number, season.as_deref())?
        .ok_or_else(|| Error::NotFound(format!("no item {number} that you can see")))
}

/// The filters of an item list, as sent: organizations by code, times as
/// RFC 3339, flags as `true`/`false`.
#[derive(Debug, Clone, Default)]
pub struct ListItems {
    pub kind: Option<String>,
    pub priority: Option<String>,
    pub status: Option<String>,
    pub carrier: Option<String>,
    pub sender: Option<String>,
    pub province: Option<String>,
    pub season: Option<String>,
    pub created_since: Option<String>,
    pub updated_since: Option<String>,
    pub overdue: Option<String>,
    pub has_open_case: Option<String>,
    pub recipient: Option<String>,
    pub destination_ward: Option<String>,
    pub candidate_number: Option<String>,
    /// `json` or `csv`: checked with the filters so that every bad one is told at once.
    pub format: Option<String>,
}

/// Parses the list filters as of `now`, collecting every bad one.
pub fn item_filter(conn: &mut DbConn, now: DateTime<Utc>, params: &ListItems) -> Result<ItemFilter, Error> {
    let mut errors = FieldErrors::default();
    let mut org_id = |errors: &mut FieldErrors, name: &str, code: &Option<String>| -> Result<Option<String>, Error> {
        let Some(code) = code.as_ref().map(|c| c.trim().to_uppercase()) else { return Ok(None) };
        let found = store::organizations::find_by_code(conn, &code)?;
        Ok(errors.check(name, found.map(|o| o.id).ok_or_else(|| format!("no organization with code {code}"))))
    };
    let carrier_org_id = org_id(&mut errors, "carrier", &params.carrier)?;
    let sender_org_id = org_id(&mut errors, "sender", &params.sender)?;
    let recipient_org_id = org_id(&mut errors, "recipient", &params.recipient)?;
    let flag = |errors: &mut FieldErrors, name: &str, value: &Option<String>| {
        value.as_deref().and_then(|v| errors.check(name, v.parse::<bool>().map_err(|_| "must be true or false".to_string())))
    };
    let overdue = flag(&mut errors, "overdue", &params.overdue);
    let has_open_case = flag(&mut errors, "has_open_case", &params.has_open_case);
    if let Some(format) = &params.format {
        if !["json", "csv", "xlsx"].contains(&format.as_str()) {
            errors.push("format", "must be json, csv or xlsx");
        }
    }
    let since = |errors: &mut FieldErrors, name: &str, value: &Option<String>| {
        value.as_deref().and_then(|v| errors.check(name, fields::timestamp(v).map(|t| t.naive_utc())))
    };
    let filter = ItemFilter {
        kind: params.kind.as_deref().and_then(|v| errors.check("kind", v.parse::<ItemKind>())),
        priority: params.priority.as_deref().and_then(|v| errors.check("priority", v.parse::<Priority>())),
        status: params.status.as_deref().and_then(|v| errors.check("status", v.parse::<ItemStatus>())),
        carrier_org_id,
        sender_org_id,
        dest_province: params.province.as_deref().and_then(|p| {
            let found = province::resolve(p).map(|p| p.code.to_string());
            errors.check("province", found.ok_or_else(|| "is not one of Vietnam's 34 provinces".to_string()))
        }),
        season: params.season.as_deref().and_then(|s| errors.check("season", fields::season(s))),
        created_since: since(&mut errors, "created_since", &params.created_since),
        updated_since: since(&mut errors, "updated_since", &params.updated_since),
        overdue_at: overdue.filter(|o| *o).map(|_| now.naive_utc()),
        has_open_case,
        recipient_org_id,
        dest_ward: params.destination_ward.as_deref().and_then(|w| errors.check("destination_ward", fields::text(w, 200))),
        candidate_number: params.candidate_number.as_deref().and_then(|c| errors.check("candidate_number", fields::candidate_number(c))),
    };
    if errors.is_empty() {
        Ok(filter)
    } else {
        Err(Error::Invalid(errors.0))
    }
}

/// The actor's items matching `filter`, newest first: at most `limit`,
/// those before the item `before_id` when given.
pub fn list_items(conn: &mut DbConn, actor: &Actor, filter: &ItemFilter, before_id: Option<i64>, limit: i64) -> Result<Vec<Item>, Error> {
    Ok(store::items::list_visible(conn, &actor.item_scope(), filter, before_id, limit)?)
}

/// The next chunk of an export: as [`list_items`], read for long scans.
pub fn export_items(conn: &mut DbConn, actor: &Actor, filter: &ItemFilter, before_id: Option<i64>, limit: i64) -> Result<Vec<Item>, Error> {
    Ok(store::items::export_visible(conn, &actor.item_scope(), filter, before_id, limit)?)
}
