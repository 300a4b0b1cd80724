//! The candidates' lookups, with no token: one item by its number, or one's
//! whole dossier of a season, opened by a second factor only the candidate
//! knows. The answer holds only what a candidate needs; a wrong factor and
//! an unknown number look the same; every miss counts as a wrong guess.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::QueryResult;

use super::Error;
use crate::db::DbConn;
use crate::domain::{fields, s10, FieldErrors, ItemKind, ItemStatus};
use crate::store;
use crate::store::items::PublicFacts;

/// Where the wrong guesses of one subject are counted. The counts are shared
/// by every replica, so they live in the database the lookup reads.
pub trait GuessBook {
    /// `Err(seconds)` when the guesser must wait before trying this subject again.
    fn admit(&self, conn: &mut DbConn) -> QueryResult<Result<(), u64>>;
    /// Counts one wrong guess.
    fn wrong(&self, conn: &mut DbConn) -> QueryResult<()>;
}

/// Look up one item, as asked.
pub struct ItemLookup {
    pub tracking_number: String,
    /// One of the two factors, not both.
    pub candidate_number: Option<String>,
    /// `YYYY-MM-DD`.
    pub date_of_birth: Option<String>,
}

/// Look up the items of one candidate's season, as asked.
pub struct DossierLookup {
    pub candidate_number: String,
    /// `YYYY-MM-DD`.
    pub date_of_birth: String,
    pub season: String,
}

/// The second factor that opens one item.
#[derive(Debug, Clone)]
pub enum SecondFactor {
    CandidateNumber(String),
    DateOfBirth(NaiveDate),
}

/// A checked item lookup.
#[derive(Debug, Clone)]
pub struct ItemQuery {
    pub tracking_number: String,
    pub factor: SecondFactor,
}

impl ItemQuery {
    /// What its guesses are counted against.
    pub fn subject(&self) -> String {
        format!("item:{}", self.tracking_number)
    }
}

/// A checked dossier lookup.
#[derive(Debug, Clone)]
pub struct DossierQuery {
    pub candidate_number: String,
    pub date_of_birth: NaiveDate,
    pub season: String,
}

impl DossierQuery {
    /// What its guesses are counted against.
    pub fn subject(&self) -> String {
        format!("dossier:{}:{}", self.season, self.candidate_number)
    }
}

/// The outcome of a lookup that was allowed to guess.
#[derive(Debug)]
pub enum Lookup<T> {
    Found(T),
    /// Nothing matches (counted as a wrong guess).
    NoMatch,
    /// Too many wrong guesses: wait this many seconds.
    Throttled(u64),
}

/// Where and when the item was last scanned.
#[derive(Debug, Clone)]
pub struct LastScan {
    pub at: DateTime<Utc>,
    /// The office's name, or its code.
    pub place: String,
}

/// What a candidate is told about one item: nothing else.
#[derive(Debug, Clone)]
pub struct PublicItem {
    pub tracking_number: String,
    pub kind: ItemKind,
    pub status: ItemStatus,
    pub last_scan: Option<LastScan>,
    /// The day (in Vietnam) it should arrive by.
    pub expected_by: Option<NaiveDate>,
    pub has_open_case: bool,
    /// The replacement's number, if this item was lost and replaced.
    pub replaced_by: Option<String>,
    /// The recipient's name, masked.
    pub recipient_name: String,
    /// The open area incident (flood, storm...) that delays it, if any.
    pub delayed_by: Option<crate::domain::incidents::IncidentKind>,
    /// The receiving institution holds the dossier's electronic pre-advice.
    pub pre_advice_acknowledged: bool,
}

fn date_of_birth(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| "must be a date as YYYY-MM-DD".to_string())
}

/// Checks an item lookup before anything is read or counted.
pub fn check_item(lookup: ItemLookup) -> Result<ItemQuery, Error> {
    let mut errors = FieldErrors::default();
    let number = errors.check("tracking_number", s10::normalize(&lookup.tracking_number).map_err(|e| e.to_string()));
    let candidate_number = errors.check("candidate_number", lookup.candidate_number.as_deref().map(fields::candidate_number).transpose());
    let dob = errors.check("date_of_birth", lookup.date_of_birth.as_deref().map(date_of_birth).transpose());
    let factor = match (candidate_number, dob) {
        (Some(None), Some(None)) => {
            errors.push("candidate_number", "give your candidate number or your date of birth");
            None
        }
        // Either factor alone opens the item, so one request naming both would test two secrets.
        (Some(Some(_)), Some(Some(_))) => {
            errors.push("date_of_birth", "give your candidate number or your date of birth, not both");
            None
        }
        (Some(Some(number)), Some(None)) => Some(SecondFactor::CandidateNumber(number)),
        (Some(None), Some(Some(dob))) => Some(SecondFactor::DateOfBirth(dob)),
        _ => None,
    };
    match (number, factor, errors.is_empty()) {
        (Some(tracking_number), Some(factor), true) => Ok(ItemQuery { tracking_number, factor }),
        _ => Err(Error::Invalid(errors.0)),
    }
}

/// Checks a dossier lookup before anything is read or counted.
pub fn check_dossier(lookup: DossierLookup) -> Result<DossierQuery, Error> {
    let mut errors = FieldErrors::default();
    let candidate_number = errors.check("candidate_number", fields::candidate_number(&lookup.candidate_number));
    let dob = errors.check("date_of_birth", date_of_birth(&lookup.date_of_birth));
    let season = errors.check("season", fields::season(&lookup.season));
    match (candidate_number, dob, season, errors.is_empty()) {
        (Some(candidate_number), Some(date_of_birth), Some(season), true) => Ok(DossierQuery { candidate_number, date_of_birth, season }),
        _ => Err(Error::Invalid(errors.0)),
    }
}

/// The item the number and the factor open, if any and if the guesser may still guess.
pub fn find_item(conn: &mut DbConn, guesses: &dyn GuessBook, query: &ItemQuery) -> Result<Lookup<PublicItem>, Error> {
    if let Err(wait) = guesses.admit(conn)? {
        return Ok(Lookup::Throttled(wait));
    }
    let matching = store::items::public_by_number(conn, &query.tracking_number)?.into_iter().find(|item| match &query.factor {
        SecondFactor::CandidateNumber(number) => item.candidate_number.as_ref() == Some(number),
        SecondFactor::DateOfBirth(dob) => item.candidate_dob == Some(*dob),
    });
    match matching {
        Some(item) => Ok(Lookup::Found(public_item(item)?)),
        None => {
            guesses.wrong(conn)?;
            Ok(Lookup::NoMatch)
        }
    }
}

/// The items of the candidate's season, if the guesser may still guess.
pub fn find_dossier(conn: &mut DbConn, guesses: &dyn GuessBook, query: &DossierQuery) -> Result<Lookup<Vec<PublicItem>>, Error> {
    if let Err(wait) = guesses.admit(conn)? {
        return Ok(Lookup::Throttled(wait));
    }
    let items = store::items::public_by_candidate(conn, &query.candidate_number, query.date_of_birth, &query.season)?;
    let items = items.into_iter().map(public_item).collect::<Result<Vec<_>, _>>()?;
    if items.is_empty() {
        guesses.wrong(conn)?;
        return Ok(Lookup::NoMatch);
    }
    Ok(Lookup::Found(items))
}

fn public_item(item: PublicFacts) -> Result<PublicItem, Error> {
    let (kind, status) = (item.kind, item.status);
    Ok(PublicItem {
        tracking_number: item.tracking_number,
        kind,
        status,
        last_scan: item.last_event_at.zip(item.last_place).map(|(at, place)| LastScan { at: at.and_utc(), place }),
        expected_by: item.due_at.map(|t| t.and_utc().with_timezone(&chrono_tz::Asia::Ho_Chi_Minh).date_naive()),
        has_open_case: item.has_open_case,
        replaced_by: item.replaced_by,
        recipient_name: mask_name(item.candidate_name.as_deref().unwrap_or("")),
        delayed_by: item.incident_kind,
        pre_advice_acknowledged: item.pre_advice_acknowledged,
    })
}

/// `Nguyễn Văn An` → `Ng*** V** A*`: enough to recognise, not to read.
pub fn mask_name(name: &str) -> String {
    let words: Vec<&str> = name.split_whitespace().collect();
    let last = words.len().saturating_sub(1);
    words
        .iter()
        .enumerate()
        .map(|(i, word)| {
            let keep = if i == 0 && words.len() > 1 { 2 } else { 1 };
            let start: String = word.chars().take(keep).collect();
            let stars = if i == 0 && words.len() > 1 { "***" } else if i == last { "*" } else { "**" };
            format!("{start}{stars}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_masked() {
        assert_eq!(mask_name("Nguyễn Văn An"), "Ng*** V** A*");
        assert_eq!(mask_name("Trần Thị Bích Ngọc"), "Tr*** T** B** N*");
        assert_eq!(mask_name("Lan"), "L*");
        assert_eq!(mask_name(""), "");
    }
}
