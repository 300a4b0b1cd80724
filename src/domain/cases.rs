//! Escalation rules: deadlines, detection, the case ladder and lifecycle.
//! Pure functions of an item's state and the time; the sweeper and the
//! event ingest call them.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::events::{custody_gap, custody_order, is_handover, EventFact, EventType, Fold};
use super::{ItemStatus, Priority};

string_enum! {
    /// Why a case was opened.
    CaseKind {
        /// Not delivered by the effective deadline.
        Overdue => "overdue",
        /// No scan for longer than the priority allows while in the network.
        Stalled => "stalled",
        /// Still no scan long after becoming overdue.
        SuspectedLoss => "suspected_loss",
        /// The must-arrive-by date is near and the item is not at its delivery office.
        DeadlineAtRisk => "deadline_at_risk",
        /// A seal found broken or not the registered one.
        Tampering => "tampering",
        Misrouted => "misrouted",
        Damaged => "damaged",
        /// A second failed delivery attempt.
        RepeatedFailure => "repeated_failure",
        /// The carrier declared the item lost: the sender must issue a replacement.
        Lost => "lost",
        /// Registered but not accepted by its carrier within the priority's acceptance window.
        NotAccepted => "not_accepted",
        /// The candidate (or a parent) reported from the lookup page: not
        /// received, or a question. Answered by resolving it with a note.
        RecipientReport => "recipient_report",
    }
}

string_enum! {
    /// How serious a case is.
    Severity {
        Low => "low",
        Medium => "medium",
        High => "high",
        Critical => "critical",
    }
}

string_enum! {
    /// Where a case is in its lifecycle.
    CaseState {
        Open => "open",
        Acknowledged => "acknowledged",
        Resolved => "resolved",
        Closed => "closed",
    }
}

string_enum! {
    /// How a case ended.
    CaseOutcome {
        FoundAndDelivered => "found_and_delivered",
        Returned => "returned",
        Replaced => "replaced",
        DeclaredLost => "declared_lost",
        /// The carrier accepted the item after all (settles `not_accepted`).
        Accepted => "accepted",
        /// An incident's extension moved the deadline the case protected.
        DeadlineExtended => "deadline_extended",
        /// A candidate's report was answered (the resolution's note is the answer they see).
        Answered => "answered",
    }
}

string_enum! {
    /// Something done to a case; each lands on its timeline.
    CaseAction {
        Opened => "opened",
        Escalated => "escalated",
        Acknowledged => "acknowledged",
        Commented => "commented",
        Resolved => "resolved",
        Closed => "closed",
        ReplacementRequested => "replacement_requested",
        /// The steering committee told an organization what to do, and by when.
        Directed => "directed",
    }
}

/// The states of a case still waiting for someone.
pub const ACTIVE_STATES: &[CaseState] = &[CaseState::Open, CaseState::Acknowledged];

/// Whether an item's end (delivered, returned, declared lost, replaced)
/// settles its active case of `kind` with that `outcome`. Everything about
/// the item's journey settles; a tampering case never does (a broken seal is
/// a security incident someone must see through), nor a damage case while
/// the damaged paper is what arrived; a declaration of loss leaves the
/// `lost` case it opens.
pub fn settled_by(kind: CaseKind, outcome: CaseOutcome) -> bool {
    use CaseOutcome::*;
    match kind {
        // Nor a candidate's report: "not received" on a delivered item is the very question.
        CaseKind::Tampering | CaseKind::RecipientReport => false,
        CaseKind::NotAccepted => true,
        CaseKind::Damaged => outcome == Replaced,
        CaseKind::Lost => outcome != DeclaredLost,
        _ => true,
    }
}

/// The outcome an item's new status gives its other cases, if it ends its journey.
pub fn outcome_of(status: ItemStatus) -> Option<CaseOutcome> {
    match status {
        ItemStatus::Delivered => Some(CaseOutcome::FoundAndDelivered),
        ItemStatus::Returned => Some(CaseOutcome::Returned),
        ItemStatus::Lost => Some(CaseOutcome::DeclaredLost),
        _ => None,
    }
}

/// Highest level: the provincial overseer (DIC and steering committee).
pub const TOP_LEVEL: i32 = 3;

/// The timing rules of one priority (an admin may change them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"priority": "urgent", "transit_hours_same_province": 24, "transit_hours_other_province": 48,
    "stall_hours": 12, "ack_hours": 2, "suspected_loss_hours": 72, "at_risk_margin_hours": 24, "accept_hours": 4}))]
pub struct Rule {
    pub priority: Priority,
    /// Longest time from registration to the carrier's acceptance scan.
    pub accept_hours: i32,
    /// Hours from acceptance to delivery within one province.
    pub transit_hours_same_province: i32,
    /// Hours from acceptance to delivery between provinces.
    pub transit_hours_other_province: i32,
    /// Longest time without a scan while in the network.
    pub stall_hours: i32,
    /// Time a case may wait for acknowledgement before it rises a level.
    pub ack_hours: i32,
    /// Time without a scan after the deadline before loss is suspected.
    pub suspected_loss_hours: i32,
    /// How close to the must-arrive-by time an item not yet at its delivery office is at risk.
    pub at_risk_margin_hours: i32,
}

impl Rule {
    /// The defaults of the provincial plans.
    pub fn default_for(priority: Priority) -> Rule {
        let (same, other, stall, ack, accept) = match priority {
            Priority::Urgent => (24, 48, 12, 2, 4),
            Priority::Priority => (48, 72, 24, 4, 12),
            Priority::Standard => (72, 120, 48, 8, 24),
        };
        Rule {
            priority,
            accept_hours: accept,
            transit_hours_same_province: same,
            transit_hours_other_province: other,
            stall_hours: stall,
            ack_hours: ack,
            suspected_loss_hours: 72,
            at_risk_margin_hours: 24,
        }
    }

    /// Every number positive and the longer route no shorter.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        let fields = [
            ("transit_hours_same_province", self.transit_hours_same_province),
            ("transit_hours_other_province", self.transit_hours_other_province),
            ("stall_hours", self.stall_hours),
            ("ack_hours", self.ack_hours),
            ("suspected_loss_hours", self.suspected_loss_hours),
            ("at_risk_margin_hours", self.at_risk_margin_hours),
            ("accept_hours", self.accept_hours),
        ];
        for (name, value) in fields {
            if !(1..=24 * 60).contains(&value) {
                return Err((name, "must be from 1 to 1440 hours".into()));
            }
        }
        if self.transit_hours_other_province < self.transit_hours_same_province {
            return Err(("transit_hours_other_province", "must not be shorter than within one province".into()));
        }
        Ok(())
    }
}

/// The rule of a priority among those stored (`rules`), or its default
/// when none is stored.
pub fn rule_for(rules: &[Rule], priority: Priority) -> Rule {
    rules.iter().find(|r| r.priority == priority).cloned().unwrap_or_else(|| Rule::default_for(priority))
}

/// The effective deadline: the earlier of the transit time from acceptance
/// and the sender's must-arrive-by time (either may be missing).
pub fn due_at(
    accepted_at: Option<DateTime<Utc>>,
    must_arrive_by: Option<DateTime<Utc>>,
    rule: &Rule,
    same_province: bool,
) -> Option<DateTime<Utc>> {
    let hours = if same_province { rule.transit_hours_same_province } else { rule.transit_hours_other_province };
    let by_transit = accepted_at.map(|t| t + Duration::hours(hours.into()));
    match (by_transit, must_arrive_by) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Statuses in which an item is still on its way.
pub fn in_network(status: ItemStatus) -> bool {
    use ItemStatus::*;
    matches!(status, Accepted | InTransit | AtDeliveryOffice | OutForDelivery | DeliveryFailed)
}

/// Statuses after which no delay can arise.
pub fn settled(status: ItemStatus) -> bool {
    matches!(status, ItemStatus::Delivered | ItemStatus::Returned | ItemStatus::Lost)
}

/// What the time-based rules look at.
#[derive(Debug, Clone)]
pub struct Watch {
    pub status: ItemStatus,
    pub registered_at: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
    pub last_event_at: Option<DateTime<Utc>>,
    pub must_arrive_by: Option<DateTime<Utc>>,
}

/// The time-based case kinds an item calls for at `now`.
pub fn time_rules(item: &Watch, rule: &Rule, now: DateTime<Utc>) -> Vec<CaseKind> {
    let mut kinds = Vec::new();
    if settled(item.status) {
        return kinds;
    }
    if item.status == ItemStatus::Registered && now - item.registered_at > Duration::hours(rule.accept_hours.into()) {
        kinds.push(CaseKind::NotAccepted);
    }
    if let Some(due) = item.due_at.filter(|due| *due < now) {
        kinds.push(CaseKind::Overdue);
        let silent_since_due = item.last_event_at.is_none_or(|last| last <= due);
        if silent_since_due && now >= due + Duration::hours(rule.suspected_loss_hours.into()) {
            kinds.push(CaseKind::SuspectedLoss);
        }
    }
    if in_network(item.status) {
        if let Some(last) = item.last_event_at {
            if now - last > Duration::hours(rule.stall_hours.into()) {
                kinds.push(CaseKind::Stalled);
            }
        }
    }
    let before_delivery_office = matches!(item.status, ItemStatus::Registered | ItemStatus::Accepted | ItemStatus::InTransit | ItemStatus::Exception);
    if let Some(by) = item.must_arrive_by {
        if before_delivery_office && by > now && by - now < Duration::hours(rule.at_risk_margin_hours.into()) {
            kinds.push(CaseKind::DeadlineAtRisk);
        }
    }
    kinds
}

/// A case that a newly recorded event calls for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    pub kind: CaseKind,
    pub event_id: i64,
    /// What was found, for the case's timeline, when the kind does not say it all.
    pub reason: Option<&'static str>,
}

/// The events the case rules read when new ones are recorded: the item's
/// whole history, or, when the new events all happened after the others,
/// the item's fold before them and the new events in the order they happened.
#[derive(Debug, Clone)]
pub enum History {
    Whole(Vec<EventFact>),
    After { before: Fold, new: Vec<EventFact> },
}

/// Cases that newly recorded events call for at once: a broken or foreign
/// seal, misrouting, damage, a declared loss, a second failed attempt; for
/// a sealed (confidential) item also a handover that did not read the seal
/// or breaks the chain of custody. One per kind.
pub fn event_cases(history: &History, new_ids: &[i64], sealed: bool) -> Vec<Trigger> {
    // The events to read in custody order, the handover before the first of
    // them, and the failed attempts before them.
    let (events, mut previous_handover, failed_before) = match history {
        History::Whole(all) => {
            let mut live: Vec<&EventFact> = all.iter().filter(|e| !e.voided).collect();
            live.sort_by(|a, b| custody_order(a, b));
            (live, None, 0)
        }
        History::After { before, new } => {
            (new.iter().filter(|e| !e.voided).collect(), before.last_handover, usize::try_from(before.failed_attempts).unwrap_or(0))
        }
    };
    let failed_attempts = failed_before + events.iter().filter(|e| e.event_type == EventType::DeliveryFailed).count();
    let mut found: Vec<Trigger> = Vec::new();
    for event in events {
        if new_ids.contains(&event.id) {
            consider(&mut found, event, previous_handover, failed_attempts, sealed);
        }
        if is_handover(event.event_type) {
            previous_handover = Some(event.event_type);
        }
    }
    found
}

/// The case one new event calls for, if any and not found already:
/// `previous_handover` is the live handover just before it, `failed_attempts`
/// counts all the item's live failed attempts.
fn consider(found: &mut Vec<Trigger>, event: &EventFact, previous_handover: Option<EventType>, failed_attempts: usize, sealed: bool) {
    let (kind, reason) = match event.event_type {
        _ if !event.seal_ok => (CaseKind::Tampering, Some("the seal was found broken or not the registered one")),
        t if sealed && is_handover(t) && !event.seal_checked => (CaseKind::Tampering, Some("a handover of a sealed item without a seal check")),
        t if sealed && is_handover(t) => match custody_gap(previous_handover, t) {
            Some(gap) => (CaseKind::Tampering, Some(gap)),
            None => return,
        },
        EventType::Misrouted => (CaseKind::Misrouted, None),
        EventType::Damaged => (CaseKind::Damaged, None),
        EventType::LostDeclared => (CaseKind::Lost, None),
        EventType::DeliveryFailed if failed_attempts >= 2 => (CaseKind::RepeatedFailure, None),
        _ => return,
    };
    if !found.iter().any(|t| t.kind == kind) {
        found.push(Trigger { kind, event_id: event.id, reason });
    }
}

/// How serious a new case is.
pub fn severity(kind: CaseKind, priority: Priority) -> Severity {
    use CaseKind::*;
    match (kind, priority) {
        (Tampering, _) => Severity::Critical,
        (Lost | SuspectedLoss, _) => Severity::High,
        (Overdue | DeadlineAtRisk | Stalled | Misrouted | Damaged | RepeatedFailure | NotAccepted | RecipientReport, Priority::Urgent) => Severity::High,
        (Overdue | DeadlineAtRisk | Misrouted | Damaged | RepeatedFailure | NotAccepted | RecipientReport, _) => Severity::Medium,
        (Stalled, _) => Severity::Low,
    }
}

/// The deadline a case protects: the candidate's must-arrive-by time when
/// the sender gave one, else the item's effective due time.
pub fn protected_deadline(must_arrive_by: Option<DateTime<Utc>>, due_at: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    must_arrive_by.or(due_at)
}

/// How far a case's protected deadline is from `now`, in whole minutes
/// (negative once it has passed).
pub fn minutes_left(deadline: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    (deadline - now).num_minutes()
}

/// Each level may take at most this fraction of the time left before the
/// deadline, so that the top level is reached with (1 - 1/3)² = 4/9 of the
/// time that was left when the case opened.
pub const DEADLINE_SHARE: i32 = 3;

/// The shortest response time, however near the deadline: nobody can act in
/// less, and the sweep runs about once a minute.
pub const MIN_RESPONSE_MINUTES: i64 = 10;

/// The time a case at a new level has to be acknowledged: the rule's time
/// (one hour at most for a critical case), shortened to a third of the time
/// left while the deadline it protects is still ahead (never under
/// [`MIN_RESPONSE_MINUTES`]). Once the deadline has passed the rule's time applies.
pub fn response_due(opened: DateTime<Utc>, severity: Severity, rule: &Rule, deadline: Option<DateTime<Utc>>) -> DateTime<Utc> {
    let hours = if severity == Severity::Critical { 1.min(rule.ack_hours) } else { rule.ack_hours };
    let by_rule = Duration::hours(hours.into());
    let window = match deadline.filter(|d| *d > opened) {
        Some(deadline) => by_rule.min((deadline - opened) / DEADLINE_SHARE).max(Duration::minutes(MIN_RESPONSE_MINUTES)).min(by_rule),
        None => by_rule,
    };
    opened + window
}

/// Whether a case must rise a level: unacknowledged past its response
/// time, or acknowledged with a promised settling time that has passed.
pub fn must_rise(state: CaseState, level: i32, response_due_at: DateTime<Utc>, expected_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    let late = match state {
        CaseState::Open => now >= response_due_at,
        CaseState::Acknowledged => expected_at.is_some_and(|promised| now >= promised),
        CaseState::Resolved | CaseState::Closed => false,
    };
    late && level < TOP_LEVEL
}

/// The state an action leads to, or why it is not allowed now.
pub fn transition(state: CaseState, action: CaseAction) -> Result<CaseState, String> {
    use CaseState as S;
    match (state, action) {
        (S::Open, CaseAction::Acknowledged) => Ok(S::Acknowledged),
        (S::Open | S::Acknowledged, CaseAction::Resolved) => Ok(S::Resolved),
        (S::Resolved, CaseAction::Closed) => Ok(S::Closed),
        // A new level has a new owner, who must acknowledge again.
        (S::Open | S::Acknowledged, CaseAction::Escalated | CaseAction::Directed) => Ok(S::Open),
        (S::Open | S::Acknowledged | S::Resolved, CaseAction::Commented | CaseAction::ReplacementRequested) => Ok(state),
        (s, a) => Err(format!("cannot {} a case that is {}", verb(a), s)),
    }
}

fn verb(action: CaseAction) -> &'static str {
    match action {
        CaseAction::Opened => "open",
        CaseAction::Escalated => "escalate",
        CaseAction::Acknowledged => "acknowledge",
        CaseAction::Commented => "comment on",
        CaseAction::Resolved => "resolve",
        CaseAction::Closed => "close",
        CaseAction::ReplacementRequested => "request a replacement for",
        CaseAction::Directed => "direct",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(hours: i64) -> DateTime<Utc> {
        "2026-07-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::hours(hours)
    }

    fn watch(status: ItemStatus, due: Option<i64>, last: Option<i64>, by: Option<i64>) -> Watch {
        Watch { status, registered_at: t(0), due_at: due.map(t), last_event_at: last.map(t), must_arrive_by: by.map(t) }
    }

    #[test]
    fn deadline_is_the_earlier_of_transit_and_must_arrive_by() {
        let urgent = Rule::default_for(Priority::Urgent);
        assert_eq!(due_at(Some(t(0)), None, &urgent, true), Some(t(24)));
        assert_eq!(due_at(Some(t(0)), None, &urgent, false), Some(t(48)));
        assert_eq!(due_at(Some(t(0)), Some(t(10)), &urgent, true), Some(t(10)));
        assert_eq!(due_at(None, Some(t(10)), &urgent, true), Some(t(10)));
        assert_eq!(due_at(None, None, &urgent, true), None);
        let standard = Rule::default_for(Priority::Standard);
        assert_eq!(due_at(Some(t(0)), Some(t(500)), &standard, false), Some(t(120)));
    }

    #[test]
    fn overdue_at_its_boundary() {
        let rule = Rule::default_for(Priority::Priority);
        let item = watch(ItemStatus::InTransit, Some(24), Some(23), None);
        assert!(!time_rules(&item, &rule, t(24)).contains(&CaseKind::Overdue));
        assert!(time_rules(&item, &rule, t(24) + Duration::seconds(1)).contains(&CaseKind::Overdue));
        let delivered = watch(ItemStatus::Delivered, Some(24), Some(30), None);
        assert!(time_rules(&delivered, &rule, t(100)).is_empty());
    }

    #[test]
    fn stalled_at_its_boundary_only_in_the_network() {
        let rule = Rule::default_for(Priority::Urgent); // 12 h
        let item = watch(ItemStatus::InTransit, None, Some(0), None);
        assert!(!time_rules(&item, &rule, t(12)).contains(&CaseKind::Stalled));
        assert!(time_rules(&item, &rule, t(12) + Duration::seconds(1)).contains(&CaseKind::Stalled));
        let held = watch(ItemStatus::HeldAtOffice, None, Some(0), None);
        assert!(!time_rules(&held, &rule, t(100)).contains(&CaseKind::Stalled));
    }

    #[test]
    fn suspected_loss_when_silent_long_after_the_deadline() {
        let rule = Rule::default_for(Priority::Standard); // 72 h after due
        let silent = watch(ItemStatus::InTransit, Some(10), Some(5), None);
        assert!(!time_rules(&silent, &rule, t(81)).contains(&CaseKind::SuspectedLoss));
        assert!(time_rules(&silent, &rule, t(82)).contains(&CaseKind::SuspectedLoss));
        let scanned_after_due = watch(ItemStatus::InTransit, Some(10), Some(11), None);
        assert!(!time_rules(&scanned_after_due, &rule, t(200)).contains(&CaseKind::SuspectedLoss));
    }

    #[test]
    fn deadline_at_risk_inside_the_margin_before_the_delivery_office() {
        let rule = Rule::default_for(Priority::Priority); // 24 h margin
        let item = watch(ItemStatus::InTransit, None, None, Some(48));
        assert!(!time_rules(&item, &rule, t(24)).contains(&CaseKind::DeadlineAtRisk));
        assert!(time_rules(&item, &rule, t(24) + Duration::seconds(1)).contains(&CaseKind::DeadlineAtRisk));
        let there = watch(ItemStatus::AtDeliveryOffice, None, None, Some(48));
        assert!(!time_rules(&there, &rule, t(40)).contains(&CaseKind::DeadlineAtRisk));
        assert!(!time_rules(&item, &rule, t(49)).contains(&CaseKind::DeadlineAtRisk), "past it is overdue, not at risk");
    }

    #[test]
    fn cases_rise_until_the_top_when_unacknowledged() {
        assert!(!must_rise(CaseState::Open, 1, t(2), None, t(1)));
        assert!(must_rise(CaseState::Open, 1, t(2), None, t(2)));
        assert!(must_rise(CaseState::Open, 2, t(2), None, t(3)));
        assert!(!must_rise(CaseState::Open, 3, t(2), None, t(3)));
        assert!(!must_rise(CaseState::Acknowledged, 1, t(2), None, t(3)), "acknowledged without a promise");
        assert!(!must_rise(CaseState::Resolved, 1, t(2), None, t(3)));
    }

    #[test]
    fn a_broken_promise_reopens_the_rise() {
        assert!(!must_rise(CaseState::Acknowledged, 1, t(2), Some(t(10)), t(10) - Duration::seconds(1)));
        assert!(must_rise(CaseState::Acknowledged, 1, t(2), Some(t(10)), t(10)));
        assert!(!must_rise(CaseState::Acknowledged, 3, t(2), Some(t(10)), t(11)), "the top is the top");
        assert_eq!(transition(CaseState::Acknowledged, CaseAction::Escalated), Ok(CaseState::Open));
    }

    #[test]
    fn response_times_shrink_as_the_deadline_nears() {
        let rule = Rule::default_for(Priority::Standard); // 8 h to acknowledge
        // Far from the deadline the rule's time applies.
        assert_eq!(response_due(t(0), Severity::Medium, &rule, Some(t(48))), t(8));
        // Exactly three rule-times left: still the rule.
        assert_eq!(response_due(t(0), Severity::Medium, &rule, Some(t(24))), t(8));
        // Less: a third of what is left.
        assert_eq!(response_due(t(0), Severity::Medium, &rule, Some(t(6))), t(2));
        // The worked example of the README: 6 h left at opening, level 3 with 2 h 40 min left.
        let level2 = response_due(t(0), Severity::Medium, &rule, Some(t(6)));
        let level3 = response_due(level2, Severity::Medium, &rule, Some(t(6)));
        assert_eq!(level3, t(3) + Duration::minutes(20));
        assert_eq!(t(6) - level3, Duration::minutes(160));
        // Never under the floor, even a minute before the deadline.
        assert_eq!(response_due(t(0), Severity::Medium, &rule, Some(t(0) + Duration::minutes(1))), t(0) + Duration::minutes(MIN_RESPONSE_MINUTES));
        // A deadline already passed protects nothing: the rule applies.
        assert_eq!(response_due(t(0), Severity::Medium, &rule, Some(t(-1))), t(8));
        assert_eq!(response_due(t(0), Severity::Medium, &rule, Some(t(0))), t(8));
        // Critical cases keep their one hour when that is shorter.
        assert_eq!(response_due(t(0), Severity::Critical, &rule, Some(t(48))), t(1));
        assert_eq!(response_due(t(0), Severity::Critical, &rule, Some(t(1))), t(0) + Duration::minutes(20));
    }

    #[test]
    fn an_item_not_accepted_in_its_window_calls_for_a_case() {
        let rule = Rule::default_for(Priority::Priority); // 12 h to accept
        let item = watch(ItemStatus::Registered, None, None, None);
        assert!(!time_rules(&item, &rule, t(12)).contains(&CaseKind::NotAccepted));
        assert!(time_rules(&item, &rule, t(12) + Duration::seconds(1)).contains(&CaseKind::NotAccepted));
        let accepted = watch(ItemStatus::Accepted, None, Some(1), None);
        assert!(!time_rules(&accepted, &rule, t(13)).contains(&CaseKind::NotAccepted));
        assert_eq!(severity(CaseKind::NotAccepted, Priority::Urgent), Severity::High);
    }

    #[test]
    fn an_items_end_settles_its_journey_cases_not_its_integrity_cases() {
        use CaseOutcome::*;
        for outcome in [FoundAndDelivered, Returned, DeclaredLost, Replaced] {
            assert!(settled_by(CaseKind::Stalled, outcome));
            assert!(settled_by(CaseKind::Overdue, outcome));
            assert!(!settled_by(CaseKind::Tampering, outcome));
        }
        assert!(!settled_by(CaseKind::Lost, DeclaredLost));
        assert!(settled_by(CaseKind::Lost, Replaced));
        assert!(settled_by(CaseKind::Damaged, Replaced));
        assert!(!settled_by(CaseKind::Damaged, FoundAndDelivered));
        assert_eq!(outcome_of(ItemStatus::Lost), Some(DeclaredLost));
        assert_eq!(outcome_of(ItemStatus::InTransit), None);
    }

    #[test]
    fn lifecycle() {
        use CaseAction::*;
        assert_eq!(transition(CaseState::Open, Acknowledged), Ok(CaseState::Acknowledged));
        assert_eq!(transition(CaseState::Acknowledged, Resolved), Ok(CaseState::Resolved));
        assert_eq!(transition(CaseState::Resolved, Closed), Ok(CaseState::Closed));
        assert!(transition(CaseState::Closed, Acknowledged).unwrap_err().contains("closed"));
        assert!(transition(CaseState::Open, Closed).is_err());
        assert!(transition(CaseState::Resolved, Escalated).is_err());
    }

    #[test]
    fn severities_and_response_times() {
        assert_eq!(severity(CaseKind::Tampering, Priority::Standard), Severity::Critical);
        assert_eq!(severity(CaseKind::Stalled, Priority::Standard), Severity::Low);
        assert_eq!(severity(CaseKind::Overdue, Priority::Urgent), Severity::High);
        let rule = Rule::default_for(Priority::Standard);
        assert_eq!(response_due(t(0), Severity::Medium, &rule, None), t(8));
        assert_eq!(response_due(t(0), Severity::Critical, &rule, None), t(1));
    }

    fn fact(id: i64, event_type: EventType, seal_ok: bool, seal_checked: bool) -> EventFact {
        EventFact { id, event_type, occurred_at: t(id).naive_utc(), tie_key: id.to_string(), seal_ok, seal_checked, voided: false }
    }

    fn kinds_of(triggers: Vec<Trigger>) -> Vec<(CaseKind, i64)> {
        triggers.into_iter().map(|t| (t.kind, t.event_id)).collect()
    }

    fn whole(events: &[EventFact]) -> History {
        History::Whole(events.to_vec())
    }

    proptest::proptest! {
        /// New events that happened after all the others call for the same
        /// cases whether the rules read the whole history or the fold before them.
        #[test]
        fn the_fold_before_new_events_calls_for_the_cases_the_whole_history_does(
            events in proptest::collection::vec((proptest::sample::select(EventType::ALL.to_vec()), proptest::bool::weighted(0.8), proptest::bool::weighted(0.7), proptest::bool::weighted(0.1)), 1..14),
            split in 0usize..14,
            sealed in proptest::bool::ANY,
        ) {
            // Distinct times in id order: the first `split` are old, the rest new.
            let facts: Vec<EventFact> = events.iter().enumerate().map(|(i, (event_type, seal_ok, seal_checked, voided))| {
                let id = i as i64 + 1;
                EventFact { voided: *voided && i < split, ..fact(id, *event_type, *seal_ok, *seal_checked) }
            }).collect();
            let split = split.min(facts.len());
            let (old, new) = facts.split_at(split);
            let new_ids: Vec<i64> = new.iter().map(|e| e.id).collect();
            let after = History::After { before: Fold::of(old), new: new.to_vec() };
            proptest::prop_assert_eq!(kinds_of(event_cases(&after, &new_ids, sealed)), kinds_of(event_cases(&whole(&facts), &new_ids, sealed)));
        }
    }

    #[test]
    fn cases_from_new_events() {
        let events = vec![
            fact(1, EventType::SealChecked, false, true),
            fact(2, EventType::DeliveryFailed, true, false),
            fact(3, EventType::DeliveryFailed, true, false),
            fact(4, EventType::Misrouted, true, false),
        ];
        assert_eq!(kinds_of(event_cases(&whole(&events), &[1], false)), vec![(CaseKind::Tampering, 1)]);
        assert_eq!(kinds_of(event_cases(&whole(&events), &[3, 4], false)), vec![(CaseKind::RepeatedFailure, 3), (CaseKind::Misrouted, 4)]);
        assert!(event_cases(&whole(&events[1..2]), &[2], false).is_empty(), "one failed attempt is no case");
        let mut voided = events.clone();
        voided[2].voided = true;
        assert!(event_cases(&whole(&voided), &[2], false).is_empty());
    }

    #[test]
    fn a_sealed_item_needs_a_seal_check_at_every_handover_and_an_unbroken_chain() {
        use EventType::*;
        let sealed_chain = vec![fact(1, Accepted, true, true), fact(2, DepartedOffice, true, true), fact(3, ArrivedOffice, true, true)];
        assert!(event_cases(&whole(&sealed_chain), &[1, 2, 3], true).is_empty());
        // The same scans without seal readings: fine for an ordinary item, tampering for a sealed one.
        let unread = vec![fact(1, Accepted, true, false), fact(2, DepartedOffice, true, true)];
        assert!(event_cases(&whole(&unread), &[1], false).is_empty());
        let found = event_cases(&whole(&unread), &[1], true);
        assert_eq!(kinds_of(found.clone()), vec![(CaseKind::Tampering, 1)]);
        assert!(found[0].reason.unwrap().contains("without a seal check"));
        // A broken seal read at a handover.
        let broken = vec![fact(1, Accepted, true, true), fact(2, DepartedOffice, false, true)];
        assert_eq!(kinds_of(event_cases(&whole(&broken), &[2], true)), vec![(CaseKind::Tampering, 2)]);
        // A gap: an arrival straight after the acceptance.
        let gap = vec![fact(1, Accepted, true, true), fact(2, ArrivedOffice, true, true)];
        let found = event_cases(&whole(&gap), &[2], true);
        assert!(found[0].reason.unwrap().contains("without a departure"), "{found:?}");
        // Non-handover scans need no reading.
        let held = vec![fact(1, Accepted, true, true), fact(2, HeldAtOffice, true, false)];
        assert!(event_cases(&whole(&held), &[2], true).is_empty());
    }

    #[test]
    fn a_stored_rule_wins_over_the_default() {
        let stored = Rule { ack_hours: 5, ..Rule::default_for(Priority::Urgent) };
        assert_eq!(rule_for(std::slice::from_ref(&stored), Priority::Urgent), stored);
        assert_eq!(rule_for(&[stored], Priority::Standard), Rule::default_for(Priority::Standard));
    }

    #[test]
    fn rules_are_checked() {
        assert!(Rule::default_for(Priority::Urgent).check().is_ok());
        let bad = Rule { transit_hours_other_province: 10, ..Rule::default_for(Priority::Urgent) };
        assert_eq!(bad.check().unwrap_err().0, "transit_hours_other_province");
        let zero = Rule { ack_hours: 0, ..Rule::default_for(Priority::Urgent) };
        assert_eq!(zero.check().unwrap_err().0, "ack_hours");
    }
}
