//! A candidate (or a parent) asks or reports from the lookup page: "I have
//! not received it", or a question. Opened by the same two factors as the
//! lookup, answered as a `recipient_report` case of the item's carrier that
//! its sender follows; the answer shows on the next lookup.

use chrono::{DateTime, Duration, Utc};

use super::{GuessBook, ItemQuery, Lookup};
use crate::app::Error;
use crate::db::DbConn;
use crate::domain::cases::{CaseAction, CaseKind};
use crate::domain::{fields, FieldErrors};
use crate::escalation;
use crate::store;

/// What the candidate tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    /// "Tôi chưa nhận được": shown as delivered, or long overdue, and not in hand.
    NotReceived,
    Question,
}

impl ReportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::NotReceived => "not_received",
            ReportKind::Question => "question",
        }
    }
}

/// A report as sent.
#[derive(Debug, Clone)]
pub struct MakeReport {
    pub kind: ReportKind,
    pub message: String,
    /// A phone number to call back, if the candidate wants a call.
    pub callback_phone: Option<String>,
}

/// A checked report.
#[derive(Debug, Clone)]
pub struct CheckedReport {
    kind: ReportKind,
    note: String,
}

/// The candidate's receipt.
#[derive(Debug, Clone)]
pub struct Reported {
    pub reference: String,
    pub received_at: DateTime<Utc>,
}

/// Messages one item's reports may carry per day: enough for a worried
/// parent, too few to flood the carrier.
pub const REPORTS_PER_ITEM_PER_DAY: i64 = 5;
/// Who the case timeline names for a candidate's words.
const CANDIDATE: &str = "candidate";

/// The short reference a candidate reads out on the phone: the end of the
/// case's id, which the staff's case list shows in full.
pub fn reference_of(case_public_id: &str) -> String {
    let tail: String = case_public_id
        .chars()
        .filter(|c| *c != '-')
        .collect::<Vec<_>>()
        .iter()
        .rev()
        .take(8)
        .rev()
        .collect();
    format!("PA-{}", tail.to_uppercase())
}

/// Checks a report before anything is read or counted.
pub fn check(report: MakeReport) -> Result<CheckedReport, Error> {
    let mut errors = FieldErrors::default();
    let message = errors.check(
        "message",
        fields::optional_text(Some(&report.message), 1000),
    );
    let phone = errors.check(
        "callback_phone",
        report
            .callback_phone
            .as_deref()
            .filter(|p| !p.trim().is_empty())
            .map(fields::phone)
            .transpose(),
    );
    let message = message.flatten();
    if report.kind == ReportKind::Question && message.is_none() && errors.is_empty() {
        errors.push("message", "is required for a question");
    }
    let (Some(phone), true) = (phone, errors.is_empty()) else {
        return Err(Error::Invalid(errors.0));
    };
    let mut note = match report.kind {
        ReportKind::NotReceived => "Thí sinh báo chưa nhận được bưu gửi.".to_string(),
        ReportKind::Question => "Thí sinh hỏi:".to_string(),
    };
    if let Some(message) = message {
        note = format!("{note} {message}");
    }
    if let Some(phone) = phone {
        note = format!("{note} (Số gọi lại: {phone})");
    }
    Ok(CheckedReport {
        kind: report.kind,
        note,
    })
}

/// Opens the item's report case (or adds to the one still open) when the
/// number and the factor match; `Throttled` too when the item has had its
/// day's reports.
pub fn report(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    guesses: &dyn GuessBook,
    query: &ItemQuery,
    report: CheckedReport,
) -> Result<Lookup<Reported>, Error> {
    if let Err(wait) = guesses.admit(conn)? {
        return Ok(Lookup::Throttled(wait));
    }
    let matching = super::opened_by(conn, query)?;
    let Some(found) = matching else {
        guesses.wrong(conn)?;
        return Ok(Lookup::NoMatch);
    };
    conn.write_transaction(|conn| {
        let item = store::items::find(conn, found.item_id)?;
        let today = store::cases::entries_by_since(
            conn,
            item.id,
            CANDIDATE,
            (now - Duration::days(1)).naive_utc(),
        )?;
        if today >= REPORTS_PER_ITEM_PER_DAY {
            return Ok(Lookup::Throttled(3600));
        }
        let open = store::cases::active_for_item(conn, item.id)?
            .into_iter()
            .find(|c| c.kind == CaseKind::RecipientReport);
        let case = match open {
            Some(case) => case,
            None => match escalation::open_case(conn, &item, CaseKind::RecipientReport, None, now)?
            {
                Some(case) => case,
                None => {
                    return Err(Error::Conflict {
                        detail: "the report changed meanwhile; send it again".into(),
                        existing_id: None,
                    })
                }
            },
        };
        store::cases::add_entry(
            conn,
            &case,
            CaseAction::Commented,
            CANDIDATE,
            Some(&report.note),
            now.naive_utc(),
        )?;
        tracing::info!(case = %case.public_id, kind = report.kind.as_str(), "candidate report");
        Ok(Lookup::Found(Reported {
            reference: reference_of(&case.public_id),
            received_at: now,
        }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// A report's text is whatever a stranger types: never a panic.
        #[test]
        fn any_report_text_is_checked_without_panicking(message in "\\PC{0,1200}", phone in "\\PC{0,40}", id in "\\PC{0,60}") {
            let _ = check(MakeReport { kind: ReportKind::Question, message: message.clone(), callback_phone: Some(phone) });
            let _ = check(MakeReport { kind: ReportKind::NotReceived, message, callback_phone: None });
            let _ = reference_of(&id);
        }
    }

    #[test]
    fn references_are_short_and_stable() {
        assert_eq!(
            reference_of("0192f0a4-7b3c-7d10-9e2f-4a5b6c7d8e9f"),
            "PA-6C7D8E9F"
        );
        assert_eq!(reference_of(""), "PA-");
    }

    #[test]
    fn a_question_needs_words_and_a_phone_must_be_one() {
        let ask = |kind, message: &str, phone: Option<&str>| {
            check(MakeReport {
                kind,
                message: message.into(),
                callback_phone: phone.map(str::to_string),
            })
        };
        assert!(ask(ReportKind::NotReceived, "", None).is_ok());
        assert!(
            matches!(ask(ReportKind::Question, "  ", None), Err(Error::Invalid(e)) if e[0].field == "message")
        );
        assert!(
            matches!(ask(ReportKind::NotReceived, "", Some("12")), Err(Error::Invalid(e)) if e[0].field == "callback_phone")
        );
        let long = "ư".repeat(1001);
        assert!(
            matches!(ask(ReportKind::Question, &long, None), Err(Error::Invalid(e)) if e[0].field == "message")
        );
        let ok = ask(ReportKind::Question, "Khi nào phát?", Some("0912 345 678")).unwrap();
        assert_eq!(
            ok.note,
            "Thí sinh hỏi: Khi nào phát? (Số gọi lại: 0912345678)"
        );
    }
}
