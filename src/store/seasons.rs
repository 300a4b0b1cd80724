use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::{season_deadlines, seasons};
use crate::db::{DbConn, TextList};
use crate::domain::ItemKind;

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = seasons)]
pub struct SeasonRow {
    pub code: String,
    pub name: String,
    pub exam_days: TextList<NaiveDate>,
    pub result_day: Option<NaiveDate>,
    pub closes_on: NaiveDate,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A season with its default deadlines per item kind.
#[derive(Debug, Clone)]
pub struct Season {
    pub row: SeasonRow,
    pub deadlines: Vec<(ItemKind, NaiveDateTime)>,
}

impl Season {
    pub fn deadline_for(&self, kind: ItemKind) -> Option<NaiveDateTime> {
        self.deadlines.iter().find(|(k, _)| *k == kind).map(|(_, at)| *at)
    }
}

fn with_deadlines(conn: &mut DbConn, rows: Vec<SeasonRow>) -> QueryResult<Vec<Season>> {
    let codes: Vec<&String> = rows.iter().map(|r| &r.code).collect();
    let all: Vec<(String, ItemKind, NaiveDateTime)> = season_deadlines::table
        .filter(season_deadlines::season_code.eq_any(codes))
        .order((season_deadlines::season_code.asc(), season_deadlines::kind.asc()))
        .load(conn)?;
    let mut by_season: HashMap<String, Vec<(ItemKind, NaiveDateTime)>> = HashMap::new();
    for (code, kind, at) in all {
        by_season.entry(code).or_default().push((kind, at));
    }
    Ok(rows.into_iter().map(|row| Season { deadlines: by_season.remove(&row.code).unwrap_or_default(), row }).collect())
}

/// Every season, newest code first.
pub fn all(conn: &mut DbConn) -> QueryResult<Vec<Season>> {
    let rows = seasons::table.order(seasons::code.desc()).load(conn)?;
    with_deadlines(conn, rows)
}

pub fn find(conn: &mut DbConn, code: &str) -> QueryResult<Option<Season>> {
    let rows: Vec<SeasonRow> = seasons::table.filter(seasons::code.eq(code)).load(conn)?;
    Ok(with_deadlines(conn, rows)?.pop())
}

/// The seasons with these codes, by code.
pub fn by_codes(conn: &mut DbConn, codes: &[String]) -> QueryResult<HashMap<String, Season>> {
    let rows = seasons::table.filter(seasons::code.eq_any(codes)).load(conn)?;
    Ok(with_deadlines(conn, rows)?.into_iter().map(|s| (s.row.code.clone(), s)).collect())
}

/// Stores a season and its deadlines, replacing what was stored under its code.
pub fn save(conn: &mut DbConn, season: &Season) -> QueryResult<()> {
    let row = &season.row;
    diesel::delete(season_deadlines::table.filter(season_deadlines::season_code.eq(&row.code))).execute(conn)?;
    let updated = diesel::update(seasons::table.find(&row.code))
        .set((
            seasons::name.eq(&row.name),
            seasons::exam_days.eq(&row.exam_days),
            seasons::result_day.eq(row.result_day),
            seasons::closes_on.eq(row.closes_on),
            seasons::updated_at.eq(row.updated_at),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(seasons::table).values(row).execute(conn)?;
    }
    for (kind, at) in &season.deadlines {
        diesel::insert_into(season_deadlines::table)
            .values((season_deadlines::season_code.eq(&row.code), season_deadlines::kind.eq(*kind), season_deadlines::deadline.eq(*at)))
            .execute(conn)?;
    }
    Ok(())
}
