//! The candidates' lookups, with no token: one item by its number, or one's
//! whole dossier of a season, opened by a second factor only the candidate
//! knows. The answer holds only what a candidate needs; a wrong factor and
//! an unknown number look the same; every miss counts as a wrong guess.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::QueryResult;

use super::Error;
use crate::db::DbConn;
use crate::domain::cases::{CaseAction, CaseKind, CaseState};
use crate::domain::events::{NonDeliveryAction, NonDeliveryReason};
use crate::domain::{fields, s10, FieldErrors, ItemKind, ItemStatus};
use crate::store;
use crate::db::replica::Connections;
use crate::store::items::PublicFacts;

pub mod guidance;
pub mod help;
pub mod report;

pub use guidance::HoldingOffice;

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

/// A help line the candidates' page shows (a contact point marked public).
#[derive(Debug, Clone)]
pub struct HelpLine {
    /// Whose line: the item's carrier or its sender.
    pub role: HelpRole,
    pub organization: String,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelpRole {
    Carrier,
    Sender,
}

/// Where a candidate's report stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportState {
    Received,
    /// The carrier took it on and said when it expects to settle it.
    InProgress,
    Answered,
}

/// A report the candidate made about the item, and its answer.
#[derive(Debug, Clone)]
pub struct ReportStatus {
    pub reference: String,
    pub received_at: DateTime<Utc>,
    pub state: ReportState,
    pub expected_at: Option<DateTime<Utc>>,
    pub answer: Option<String>,
    pub answered_at: Option<DateTime<Utc>>,
}

/// What a candidate is told about one item: nothing else.
#[derive(Debug, Clone)]
pub struct PublicItem {
    pub tracking_number: String,
    pub kind: ItemKind,
    pub status: ItemStatus,
    pub last_scan: Option<LastScan>,
    /// The day (in Vietnam) it should arrive by; none once its journey is over.
    pub expected_by: Option<NaiveDate>,
    pub has_open_case: bool,
    /// The kinds of its open cases.
    pub open_cases: Vec<CaseKind>,
    /// The replacement's number, if this item was lost and replaced.
    pub replaced_by: Option<String>,
    /// The recipient's name, masked.
    pub recipient_name: String,
    /// The open area incident (flood, storm...) that delays it, if any.
    pub delayed_by: Option<crate::domain::incidents::IncidentKind>,
    /// The receiving institution holds the dossier's electronic pre-advice.
    pub pre_advice_acknowledged: bool,
    /// The carrier's and the sender's names.
    pub carrier: String,
    pub sender: String,
    pub delivered_at: Option<DateTime<Utc>>,
    /// The last failed attempt: when, why and what the carrier did next.
    pub last_attempt: Option<(DateTime<Utc>, NonDeliveryReason, NonDeliveryAction)>,
    /// Where it waits for collection.
    pub held: Option<HoldingOffice>,
    pub help: Vec<HelpLine>,
    pub reports: Vec<ReportStatus>,
}

fn date_of_birth(text: &str) -> Result<NaiveDate, String> {
    fields::date(text)
}

/// Checks an item lookup before anything is read or counted.
pub fn check_item(lookup: ItemLookup) -> Result<ItemQuery, Error> {
    let mut errors = FieldErrors::default();
    let number = if lookup.tracking_number.trim().is_empty() {
        errors.push("tracking_number", "is required");
        None
    } else {
        errors.check("tracking_number", s10::normalize(&lookup.tracking_number).map_err(|e| e.to_string()))
    };
    // A form sends the factor it did not use as an empty field: that is no factor.
    let given = |text: &Option<String>| text.as_deref().filter(|t| !t.trim().is_empty()).map(str::to_string);
    let candidate_number = errors.check("candidate_number", given(&lookup.candidate_number).as_deref().map(fields::candidate_number).transpose());
    let dob = errors.check("date_of_birth", given(&lookup.date_of_birth).as_deref().map(date_of_birth).transpose());
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
///
/// The guesses are booked on the primary; the item may be read from a
/// replica (a few seconds behind at most, see `db::replica`).
pub fn find_item(conns: &mut Connections, guesses: &dyn GuessBook, query: &ItemQuery) -> Result<Lookup<PublicItem>, Error> {
    if let Err(wait) = guesses.admit(conns.primary())? {
        return Ok(Lookup::Throttled(wait));
    }
    match opened_by(conns.reads(), query)? {
        Some(item) => Ok(Lookup::Found(public_item(conns.reads(), item)?)),
        None => {
            guesses.wrong(conns.primary())?;
            Ok(Lookup::NoMatch)
        }
    }
}

/// The item the number and the second factor open, if any (numbers recur across seasons: the newest that matches).
fn opened_by(conn: &mut DbConn, query: &ItemQuery) -> QueryResult<Option<PublicFacts>> {
    Ok(store::items::public_by_number(conn, &query.tracking_number)?.into_iter().find(|item| match &query.factor {
        SecondFactor::CandidateNumber(number) => item.candidate_number.as_ref() == Some(number),
        SecondFactor::DateOfBirth(dob) => item.candidate_dob == Some(*dob),
    }))
}

/// The items of the candidate's season, if the guesser may still guess.
pub fn find_dossier(conns: &mut Connections, guesses: &dyn GuessBook, query: &DossierQuery) -> Result<Lookup<Vec<PublicItem>>, Error> {
    if let Err(wait) = guesses.admit(conns.primary())? {
        return Ok(Lookup::Throttled(wait));
    }
    let reads = conns.reads();
    let items = store::items::public_by_candidate(reads, &query.candidate_number, query.date_of_birth, &query.season)?;
    let items = items.into_iter().map(|item| public_item(reads, item)).collect::<Result<Vec<_>, _>>()?;
    if items.is_empty() {
        guesses.wrong(conns.primary())?;
        return Ok(Lookup::NoMatch);
    }
    Ok(Lookup::Found(items))
}

fn public_item(conn: &mut DbConn, item: PublicFacts) -> Result<PublicItem, Error> {
    let (kind, status) = (item.kind, item.status);
    let open_cases = if item.has_open_case {
        store::cases::active_for_item(conn, item.item_id)?
            .into_iter()
            .map(|c| c.kind)
            .collect()
    } else {
        Vec::new()
    };
    let reports = if item.has_reports {
        reports_of(conn, item.item_id)?
    } else {
        Vec::new()
    };
    let help = help_lines(conn, &item)?;
    let notice: serde_json::Value = item
        .notice_details
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or_default();
    let notice_at = item.notice_at.map(|t| t.and_utc());
    let text = |key: &str| notice[key].as_str().map(str::to_string);
    let last_attempt = match (status, notice_at) {
        (ItemStatus::DeliveryFailed, Some(at)) => {
            let reason = text("reason")
                .and_then(|r| NonDeliveryReason::parse(&r))
                .unwrap_or(NonDeliveryReason::Other);
            let action = text("action")
                .and_then(|a| NonDeliveryAction::parse(&a))
                .unwrap_or(NonDeliveryAction::RetryNextRound);
            Some((at, reason, action))
        }
        _ => None,
    };
    let held = (status == ItemStatus::HeldAtOffice).then(|| HoldingOffice {
        place: item
            .notice_place
            .clone()
            .or_else(|| item.last_place.clone())
            .unwrap_or_default(),
        address: text("office_address"),
        opening_hours: text("opening_hours"),
        hold_until: text("hold_until").and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()),
    });
    let finished = guidance::is_final(status, item.replaced_by.is_some());
    Ok(PublicItem {
        tracking_number: item.tracking_number,
        kind,
        status,
        last_scan: item
            .last_event_at
            .zip(item.last_place)
            .map(|(at, place)| LastScan {
                at: at.and_utc(),
                place,
            }),
        expected_by: item.due_at.filter(|_| !finished).map(|t| {
            t.and_utc()
                .with_timezone(&chrono_tz::Asia::Ho_Chi_Minh)
                .date_naive()
        }),
        has_open_case: item.has_open_case,
        open_cases,
        replaced_by: item.replaced_by,
        recipient_name: mask_name(item.candidate_name.as_deref().unwrap_or("")),
        delayed_by: item.incident_kind,
        pre_advice_acknowledged: item.pre_advice_acknowledged,
        carrier: item.carrier_name,
        sender: item.sender_name,
        delivered_at: notice_at.filter(|_| status == ItemStatus::Delivered),
        last_attempt,
        held,
        help,
        reports,
    })
}

/// The public help lines of the item's carrier and sender, carrier first.
fn help_lines(conn: &mut DbConn, item: &PublicFacts) -> Result<Vec<HelpLine>, Error> {
    let contacts = help::public_contacts(conn, &[item.carrier_org_id.as_str(), item.sender_org_id.as_str()])?;
    let mut lines: Vec<HelpLine> = contacts
        .into_iter()
        .map(|c| {
            let carrier = c.organization_id == item.carrier_org_id;
            HelpLine {
                role: if carrier {
                    HelpRole::Carrier
                } else {
                    HelpRole::Sender
                },
                organization: if carrier {
                    item.carrier_name.clone()
                } else {
                    item.sender_name.clone()
                },
                name: c.name,
                phone: c.phone,
                email: c.email,
            }
        })
        .collect();
    lines.sort_by_key(|l| l.role != HelpRole::Carrier);
    Ok(lines)
}

/// The candidate's reports about the item, newest first, with their answers.
fn reports_of(conn: &mut DbConn, item_id: i64) -> Result<Vec<ReportStatus>, Error> {
    let mut out = Vec::new();
    for case in store::cases::of_kind_for_item(conn, item_id, CaseKind::RecipientReport)? {
        let answer = if matches!(case.state, CaseState::Resolved | CaseState::Closed) {
            store::cases::entries(conn, case.id)?
                .into_iter()
                .rev()
                .find(|e| e.action == CaseAction::Resolved)
        } else {
            None
        };
        let state = match (case.state, &answer) {
            (_, Some(_)) => ReportState::Answered,
            (CaseState::Acknowledged, None) => ReportState::InProgress,
            _ => ReportState::Received,
        };
        out.push(ReportStatus {
            reference: report::reference_of(&case.public_id),
            received_at: case.opened_at.and_utc(),
            state,
            expected_at: case
                .expected_at
                .map(|t| t.and_utc())
                .filter(|_| state == ReportState::InProgress),
            answered_at: answer.as_ref().map(|e| e.at.and_utc()),
            answer: answer.and_then(|e| e.note),
        });
    }
    Ok(out)
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
