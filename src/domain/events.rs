//! Scan events and the status they imply.
//!
//! An item's status is a pure function of its (non-voided) events, taken in
//! the order they happened, never the order they arrived: a late event that
//! happened earlier cannot move the status backwards. Once an item is
//! delivered or returned, later events do not change the outcome; they are
//! flagged as anomalies for a person to look at.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ItemStatus;

string_enum! {
    /// What a scan says happened, with its UPU EMSEVT code:
    /// accepted: EMA; arrived_office: EMB (outward exchange), EMD (inward
    /// exchange), EMJ (transit); departed_office: EMC, EMF, EMK likewise;
    /// arrived_delivery_office: EMG; out_for_delivery: EDG; delivery_failed:
    /// EMH; delivered: EMI; held_at_office: EDH; returned_to_sender,
    /// seal_checked, damaged, misrouted, lost_declared: no UPU code.
    EventType {
        /// Posting / acceptance at the counter (UPU EMA).
        Accepted => "accepted",
        /// Arrival at an office: EMB outward exchange, EMD inward exchange, EMJ transit (default).
        ArrivedOffice => "arrived_office",
        /// Departure from an office: EMC outward exchange, EMF inward exchange, EMK transit (default).
        DepartedOffice => "departed_office",
        /// Arrival at the delivery office (EMG).
        ArrivedDeliveryOffice => "arrived_delivery_office",
        /// Out for delivery with the postman (EDG).
        OutForDelivery => "out_for_delivery",
        /// Unsuccessful delivery attempt, with reason and action taken (EMH).
        DeliveryFailed => "delivery_failed",
        /// Final delivery, with who received it (EMI).
        Delivered => "delivered",
        /// Held at an office awaiting pickup (EDH).
        HeldAtOffice => "held_at_office",
        /// On its way back to the sender.
        ReturnedToSender => "returned_to_sender",
        /// Seal inspected: number seen and whether intact.
        SealChecked => "seal_checked",
        /// Found damaged.
        Damaged => "damaged",
        /// Scanned at an office that is not on its way.
        Misrouted => "misrouted",
        /// Declared lost by the carrier.
        LostDeclared => "lost_declared",
    }
}

string_enum! {
    /// Kind of office, which selects the UPU code of arrival and departure scans.
    OfficeType {
        OutwardExchange => "outward_exchange",
        InwardExchange => "inward_exchange",
        Transit => "transit",
    }
}

string_enum! {
    /// Why a delivery attempt failed (UPU EMH non-delivery reason).
    NonDeliveryReason {
        RecipientAbsent => "recipient_absent",
        AddressIncorrect => "address_incorrect",
        AddressNotFound => "address_not_found",
        RecipientRefused => "recipient_refused",
        RecipientMoved => "recipient_moved",
        IdentityNotVerified => "identity_not_verified",
        ForceMajeure => "force_majeure",
        Other => "other",
    }
}

string_enum! {
    /// What the carrier did after a failed attempt (UPU EMH action).
    NonDeliveryAction {
        RetryNextRound => "retry_next_round",
        HeldAtOffice => "held_at_office",
        ContactRecipient => "contact_recipient",
        ContactSender => "contact_sender",
        ReturnToSender => "return_to_sender",
    }
}

string_enum! {
    /// How the recipient's identity was checked at delivery.
    IdentityCheck {
        /// Căn cước công dân (citizen identity card).
        CitizenIdCard => "citizen_id_card",
        Passport => "passport",
        /// The candidate's exam card (thẻ dự thi).
        CandidateCard => "candidate_card",
        /// A family member with the candidate's authorization.
        AuthorizedRelative => "authorized_relative",
        /// Received by an organization under its stamp.
        OrganizationStamp => "organization_stamp",
        SignatureOnly => "signature_only",
    }
}

string_enum! {
    /// Why a recorded event is declared void (GS1 EPCIS error declaration).
    VoidReason {
        /// The scan never happened.
        DidNotOccur => "did_not_occur",
        /// It happened, but with wrong data; a corrected event should follow.
        IncorrectData => "incorrect_data",
    }
}

impl EventType {
    /// The UPU EMSEVT code carriers already scan, where one exists.
    pub fn upu_code(self, office_type: Option<OfficeType>) -> Option<&'static str> {
        use EventType::*;
        use OfficeType::*;
        Some(match (self, office_type.unwrap_or(Transit)) {
            (Accepted, _) => "EMA",
            (ArrivedOffice, OutwardExchange) => "EMB",
            (DepartedOffice, OutwardExchange) => "EMC",
            (ArrivedOffice, InwardExchange) => "EMD",
            (DepartedOffice, InwardExchange) => "EMF",
            (ArrivedOffice, Transit) => "EMJ",
            (DepartedOffice, Transit) => "EMK",
            (ArrivedDeliveryOffice, _) => "EMG",
            (DeliveryFailed, _) => "EMH",
            (Delivered, _) => "EMI",
            (OutForDelivery, _) => "EDG",
            (HeldAtOffice, _) => "EDH",
            _ => return None,
        })
    }

    /// Order of progress, to sort events that happened at the same instant.
    fn stage(self) -> u8 {
        use EventType::*;
        match self {
            Accepted => 0,
            ArrivedOffice | SealChecked => 1,
            DepartedOffice => 2,
            Misrouted | Damaged => 3,
            ArrivedDeliveryOffice => 4,
            OutForDelivery => 5,
            DeliveryFailed => 6,
            HeldAtOffice => 7,
            LostDeclared => 8,
            ReturnedToSender => 9,
            Delivered => 10,
        }
    }
}

/// What the derivation needs to know about one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFact {
    pub id: i64,
    pub event_type: EventType,
    pub occurred_at: NaiveDateTime,
    /// A stable tie-breaker independent of arrival order (the client event id).
    pub tie_key: String,
    /// The seal was found sound, or the event read no seal.
    pub seal_ok: bool,
    /// The event read the seal: a `seal_checked` scan, or a handover that
    /// carried a seal reading (`seal`).
    pub seal_checked: bool,
    pub voided: bool,
}

/// Whether an event read a seal and found it sound: intact, and not a number
/// other than the registered one (`matches_registered` is absent when no
/// number was registered). A `seal_checked` scan holds the reading in its
/// own fields, any other scan in its `seal` object. `details` is the event's
/// stored JSON. `(read, sound)`; an event that read no seal is sound.
pub fn seal_reading(event_type: EventType, details: &str) -> (bool, bool) {
    // Every event of an item is read again at each scan: parse only what may hold a reading.
    if event_type != EventType::SealChecked && !details.contains("\"seal\"") {
        return (false, true);
    }
    let details: serde_json::Value = serde_json::from_str(details).unwrap_or_default();
    let reading = if event_type == EventType::SealChecked { &details } else { &details["seal"] };
    if event_type != EventType::SealChecked && !reading.is_object() {
        return (false, true);
    }
    (true, reading["intact"] == true && reading["matches_registered"] != false)
}

/// Scans where the item changes hands or places: a sealed item's chain of
/// custody, each of which must read its seal.
pub fn is_handover(event_type: EventType) -> bool {
    use EventType::*;
    matches!(event_type, Accepted | ArrivedOffice | DepartedOffice | ArrivedDeliveryOffice | OutForDelivery | Delivered)
}

/// Why a new handover breaks a sealed item's chain of custody, if it does:
/// the chain starts with an acceptance, an arrival follows a departure, and
/// nothing departs twice without arriving in between. `previous` is the
/// item's live handover just before it, in the order they happened.
pub fn custody_gap(previous: Option<EventType>, this: EventType) -> Option<&'static str> {
    use EventType::*;
    let Some(previous) = previous else {
        return (this != Accepted).then_some("the chain of custody does not start with an acceptance scan");
    };
    match (previous, this) {
        (p, ArrivedOffice | ArrivedDeliveryOffice) if p != DepartedOffice => Some("an arrival without a departure scan before it"),
        (DepartedOffice, DepartedOffice) => Some("two departures without an arrival between them"),
        _ => None,
    }
}

/// Why an event is flagged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Anomaly {
    /// Happened after the item was delivered or returned; the outcome stands.
    AfterFinalState,
    /// A scan after the item was declared lost: it has turned up.
    AfterLost,
}

/// The state an item's events imply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Derived {
    pub status: ItemStatus,
    /// The event that set the current status (none before the first scan).
    pub last_event: Option<i64>,
    /// Flagged events and why.
    pub anomalies: Vec<(i64, Anomaly)>,
}

fn status_after(event: &EventFact) -> Option<ItemStatus> {
    use EventType::*;
    Some(match event.event_type {
        Accepted => ItemStatus::Accepted,
        ArrivedOffice | DepartedOffice => ItemStatus::InTransit,
        ArrivedDeliveryOffice => ItemStatus::AtDeliveryOffice,
        OutForDelivery => ItemStatus::OutForDelivery,
        DeliveryFailed => ItemStatus::DeliveryFailed,
        HeldAtOffice => ItemStatus::HeldAtOffice,
        Delivered => ItemStatus::Delivered,
        ReturnedToSender => ItemStatus::Returned,
        Damaged | Misrouted => ItemStatus::Exception,
        SealChecked if !event.seal_ok => ItemStatus::Exception,
        // An intact seal is a check, not a move.
        SealChecked => return None,
        LostDeclared => ItemStatus::Lost,
    })
}

/// Sorts events into the order they happened (ties: stage, then tie key).
pub fn in_occurred_order(events: &mut [EventFact]) {
    events.sort_by(occurred_order);
}

/// Derives an item's status from its events, in any order given.
pub fn derive(events: &[EventFact]) -> Derived {
    let mut ordered: Vec<&EventFact> = events.iter().filter(|e| !e.voided).collect();
    ordered.sort_by(|a, b| occurred_order(a, b));
    let mut derived = Derived { status: ItemStatus::Registered, last_event: None, anomalies: Vec::new() };
    for event in ordered {
        derived.apply(event);
    }
    derived
}

fn occurred_order(a: &EventFact, b: &EventFact) -> std::cmp::Ordering {
    (a.occurred_at, a.event_type.stage(), &a.tie_key, a.id).cmp(&(b.occurred_at, b.event_type.stage(), &b.tie_key, b.id))
}

impl Derived {
    /// The state after one more event, later than every event before it.
    fn apply(&mut self, event: &EventFact) {
        if matches!(self.status, ItemStatus::Delivered | ItemStatus::Returned) {
            self.anomalies.push((event.id, Anomaly::AfterFinalState));
            return;
        }
        let Some(next) = status_after(event) else { return };
        if self.status == ItemStatus::Lost {
            self.anomalies.push((event.id, Anomaly::AfterLost));
        }
        self.status = next;
        self.last_event = Some(event.id);
    }
}

/// Whether a status is told with the scan that set it (the office, the
/// hours, the failed attempt's reason, who signed).
pub fn has_notice(status: ItemStatus) -> bool {
    matches!(status, ItemStatus::HeldAtOffice | ItemStatus::DeliveryFailed | ItemStatus::Delivered)
}

/// What an item's live events have made of it, kept on the item row: events
/// that happened after all of them are applied on top ([`Fold::then`])
/// without reading the others; anything else (an event that happened
/// earlier, a void) folds the whole history again ([`Fold::of`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fold {
    pub status: ItemStatus,
    /// The event that set the status.
    pub last_event: Option<i64>,
    pub has_anomaly: bool,
    /// When the first acceptance scan happened.
    pub accepted_at: Option<NaiveDateTime>,
    /// When the latest live event happened.
    pub through: Option<NaiveDateTime>,
    /// Live failed delivery attempts.
    pub failed_attempts: i32,
    /// The latest live handover (a sealed item's chain of custody goes on from it).
    pub last_handover: Option<EventType>,
    /// The scan behind a held, failed-attempt or delivered status: the latest live scan of that type.
    pub notice: Option<i64>,
}

impl Fold {
    /// The fold of an item's whole history, in any order given.
    pub fn of(events: &[EventFact]) -> Fold {
        Fold::of_flagging(events).0
    }

    /// [`Fold::of`], and the events it flags.
    pub fn of_flagging(events: &[EventFact]) -> (Fold, Vec<(i64, Anomaly)>) {
        let derived = derive(events);
        let live: Vec<&EventFact> = events.iter().filter(|e| !e.voided).collect();
        let notice = has_notice(derived.status)
            .then(|| live.iter().filter(|e| e.event_type.as_str() == derived.status.as_str()).max_by_key(|e| (e.occurred_at, e.id)))
            .flatten();
        let fold = Fold {
            status: derived.status,
            last_event: derived.last_event,
            has_anomaly: !derived.anomalies.is_empty(),
            accepted_at: live.iter().filter(|e| e.event_type == EventType::Accepted).map(|e| e.occurred_at).min(),
            through: live.iter().map(|e| e.occurred_at).max(),
            failed_attempts: live.iter().filter(|e| e.event_type == EventType::DeliveryFailed).count().try_into().unwrap_or(i32::MAX),
            last_handover: live.iter().filter(|e| is_handover(e.event_type)).max_by(|a, b| custody_order(a, b)).map(|e| e.event_type),
            notice: notice.map(|e| e.id),
        };
        (fold, derived.anomalies)
    }

    /// The fold after `new`, when each of them happened after everything
    /// folded so far and after the one before it; `None` when they do not
    /// (the whole history must be folded again).
    pub fn then(&self, new: &[EventFact]) -> Option<Fold> {
        self.then_flagging(new).map(|(fold, _)| fold)
    }

    /// [`Fold::then`], and which of the new events it flags (an event
    /// folded before keeps its flag: a later event never changes it).
    pub fn then_flagging(&self, new: &[EventFact]) -> Option<(Fold, Vec<(i64, Anomaly)>)> {
        let mut through = self.through;
        for event in new {
            if event.voided || through.is_some_and(|t| event.occurred_at <= t) {
                return None;
            }
            through = Some(event.occurred_at);
        }
        let mut derived = Derived { status: self.status, last_event: self.last_event, anomalies: Vec::new() };
        for event in new {
            derived.apply(event);
        }
        let newest_of_status = new.iter().rev().find(|e| e.event_type.as_str() == derived.status.as_str());
        let notice = match newest_of_status {
            _ if !has_notice(derived.status) => None,
            Some(event) => Some(event.id),
            None if derived.status == self.status => self.notice,
            None => None,
        };
        let failed = new.iter().filter(|e| e.event_type == EventType::DeliveryFailed).count();
        let fold = Fold {
            status: derived.status,
            last_event: derived.last_event,
            has_anomaly: self.has_anomaly || !derived.anomalies.is_empty(),
            accepted_at: self.accepted_at.or_else(|| new.iter().find(|e| e.event_type == EventType::Accepted).map(|e| e.occurred_at)),
            through,
            failed_attempts: self.failed_attempts.saturating_add(failed.try_into().unwrap_or(i32::MAX)),
            last_handover: new.iter().rev().find(|e| is_handover(e.event_type)).map(|e| e.event_type).or(self.last_handover),
            notice,
        };
        Some((fold, derived.anomalies))
    }
}

/// The order the chain of custody is read in.
pub fn custody_order(a: &EventFact, b: &EventFact) -> std::cmp::Ordering {
    (a.occurred_at, &a.tie_key).cmp(&(b.occurred_at, &b.tie_key))
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_seal_is_sound_when_intact_and_not_foreign() {
        let ok = |t, d| seal_reading(t, d).1;
        assert!(ok(EventType::SealChecked, r#"{"intact":true,"matches_registered":true,"seal_number":"S1"}"#));
        assert!(ok(EventType::SealChecked, r#"{"intact":true,"matches_registered":null,"seal_number":"S1"}"#));
        assert!(!ok(EventType::SealChecked, r#"{"intact":false,"matches_registered":true}"#));
        assert!(!ok(EventType::SealChecked, r#"{"intact":true,"matches_registered":false}"#));
        assert!(!ok(EventType::SealChecked, "not json"), "an unreadable check is no proof of a sound seal");
        assert_eq!(seal_reading(EventType::Delivered, "not json"), (false, true));
        // A handover carries its reading in `seal`.
        assert_eq!(seal_reading(EventType::ArrivedOffice, r#"{"seal":{"intact":true,"matches_registered":true}}"#), (true, true));
        assert_eq!(seal_reading(EventType::ArrivedOffice, r#"{"seal":{"intact":true,"matches_registered":false}}"#), (true, false));
        assert_eq!(seal_reading(EventType::DepartedOffice, r#"{"office_type":null}"#), (false, true));
    }

    #[test]
    fn a_sealed_chain_alternates_departures_and_arrivals() {
        use EventType::*;
        let chain = |types: &[EventType]| -> Vec<EventFact> {
            types.iter().enumerate().map(|(i, t)| EventFact {
                id: i as i64, event_type: *t, occurred_at: at(i as i64), tie_key: format!("c{i}"), seal_ok: true, seal_checked: true, voided: false,
            }).collect()
        };
        let gaps = |types: &[EventType]| -> Vec<Option<&'static str>> {
            let facts = chain(types);
            (0..facts.len()).map(|i| custody_gap(i.checked_sub(1).map(|p| facts[p].event_type), facts[i].event_type)).collect()
        };
        assert!(gaps(&[Accepted, DepartedOffice, ArrivedOffice, DepartedOffice, ArrivedDeliveryOffice, OutForDelivery, Delivered]).iter().all(Option::is_none));
        assert!(gaps(&[Accepted, ArrivedOffice])[1].unwrap().contains("arrival"));
        assert!(gaps(&[Accepted, DepartedOffice, DepartedOffice])[2].is_some());
        assert!(gaps(&[DepartedOffice])[0].unwrap().contains("acceptance"));
    }

    use super::*;
    use proptest::prelude::*;

    fn at(minute: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_780_000_000 + minute * 60, 0).unwrap().naive_utc()
    }

    fn fact(id: i64, event_type: EventType, minute: i64) -> EventFact {
        EventFact { id, event_type, occurred_at: at(minute), tie_key: format!("c{id}"), seal_ok: true, seal_checked: false, voided: false }
    }

    fn status_of(events: &[EventFact]) -> ItemStatus {
        derive(events).status
    }

    #[test]
    fn no_events_is_registered() {
        assert_eq!(derive(&[]), Derived { status: ItemStatus::Registered, last_event: None, anomalies: vec![] });
    }

    #[test]
    fn every_event_type_sets_its_status() {
        use EventType::*;
        let cases = [
            (Accepted, ItemStatus::Accepted),
            (ArrivedOffice, ItemStatus::InTransit),
            (DepartedOffice, ItemStatus::InTransit),
            (ArrivedDeliveryOffice, ItemStatus::AtDeliveryOffice),
            (OutForDelivery, ItemStatus::OutForDelivery),
            (DeliveryFailed, ItemStatus::DeliveryFailed),
            (HeldAtOffice, ItemStatus::HeldAtOffice),
            (Delivered, ItemStatus::Delivered),
            (ReturnedToSender, ItemStatus::Returned),
            (Damaged, ItemStatus::Exception),
            (Misrouted, ItemStatus::Exception),
            (LostDeclared, ItemStatus::Lost),
        ];
        for (event_type, status) in cases {
            let events = [fact(1, Accepted, 0), fact(2, event_type, 10)];
            assert_eq!(status_of(&events), status, "{event_type}");
        }
    }

    #[test]
    fn seal_checks_move_nothing_unless_broken() {
        let intact = [fact(1, EventType::Accepted, 0), fact(2, EventType::SealChecked, 5)];
        assert_eq!(derive(&intact).status, ItemStatus::Accepted);
        assert_eq!(derive(&intact).last_event, Some(1));
        let mut broken = intact.clone();
        broken[1].seal_ok = false;
        assert_eq!(status_of(&broken), ItemStatus::Exception);
    }

    #[test]
    fn a_late_event_that_happened_earlier_does_not_move_status_back() {
        let events = [fact(1, EventType::ArrivedDeliveryOffice, 100), fact(2, EventType::DepartedOffice, 50)];
        let derived = derive(&events);
        assert_eq!(derived.status, ItemStatus::AtDeliveryOffice);
        assert_eq!(derived.last_event, Some(1));
        assert!(derived.anomalies.is_empty());
    }

    #[test]
    fn events_after_delivery_are_anomalies_and_keep_the_outcome() {
        let events = [fact(1, EventType::Accepted, 0), fact(2, EventType::Delivered, 10), fact(3, EventType::DepartedOffice, 20)];
        let derived = derive(&events);
        assert_eq!(derived.status, ItemStatus::Delivered);
        assert_eq!(derived.last_event, Some(2));
        assert_eq!(derived.anomalies, vec![(3, Anomaly::AfterFinalState)]);
    }

    #[test]
    fn a_lost_item_that_turns_up_moves_on_and_is_flagged() {
        let events = [fact(1, EventType::Accepted, 0), fact(2, EventType::LostDeclared, 10), fact(3, EventType::ArrivedDeliveryOffice, 20)];
        let derived = derive(&events);
        assert_eq!(derived.status, ItemStatus::AtDeliveryOffice);
        assert_eq!(derived.anomalies, vec![(3, Anomaly::AfterLost)]);
    }

    #[test]
    fn voided_events_are_ignored() {
        let mut events = vec![fact(1, EventType::Accepted, 0), fact(2, EventType::Delivered, 10)];
        events[1].voided = true;
        assert_eq!(derive(&events).status, ItemStatus::Accepted);
    }

    #[test]
    fn same_instant_events_order_by_progress() {
        let events = [fact(1, EventType::Delivered, 10), fact(2, EventType::OutForDelivery, 10)];
        let derived = derive(&events);
        assert_eq!(derived.status, ItemStatus::Delivered);
        assert!(derived.anomalies.is_empty());
    }

    #[test]
    fn upu_codes() {
        assert_eq!(EventType::Accepted.upu_code(None), Some("EMA"));
        assert_eq!(EventType::ArrivedOffice.upu_code(None), Some("EMJ"));
        assert_eq!(EventType::ArrivedOffice.upu_code(Some(OfficeType::OutwardExchange)), Some("EMB"));
        assert_eq!(EventType::DepartedOffice.upu_code(Some(OfficeType::InwardExchange)), Some("EMF"));
        assert_eq!(EventType::ArrivedDeliveryOffice.upu_code(None), Some("EMG"));
        assert_eq!(EventType::DeliveryFailed.upu_code(None), Some("EMH"));
        assert_eq!(EventType::Delivered.upu_code(None), Some("EMI"));
        assert_eq!(EventType::LostDeclared.upu_code(None), None);
    }

    fn any_event() -> impl Strategy<Value = (EventType, i64, bool, bool)> {
        (
            proptest::sample::select(EventType::ALL.to_vec()),
            0i64..50,
            proptest::bool::weighted(0.9),
            proptest::bool::weighted(0.1),
        )
    }

    proptest! {
        #[test]
        fn any_arrival_order_gives_the_same_result(
            events in proptest::collection::vec(any_event(), 0..12),
            seed in any::<u64>(),
        ) {
            let facts: Vec<EventFact> = events.iter().enumerate().map(|(i, (t, minute, seal_ok, voided))| EventFact {
                id: i as i64, event_type: *t, occurred_at: at(*minute), tie_key: format!("k{i}"), seal_ok: *seal_ok, seal_checked: false, voided: *voided,
            }).collect();
            let mut shuffled = facts.clone();
            // A deterministic shuffle from the seed.
            let mut state = seed;
            for i in (1..shuffled.len()).rev() {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                shuffled.swap(i, (state >> 33) as usize % (i + 1));
            }
            prop_assert_eq!(derive(&facts), derive(&shuffled));
        }

        /// Events that happened after everything folded, applied on top of
        /// the fold, give the fold of the whole history; any other new event
        /// is refused (the caller folds the whole history again).
        #[test]
        fn folding_on_top_gives_the_fold_of_the_whole_history(
            events in proptest::collection::vec(any_event(), 0..14),
            split in 0usize..14,
        ) {
            let facts: Vec<EventFact> = events.iter().enumerate().map(|(i, (t, minute, seal_ok, voided))| EventFact {
                id: i as i64, event_type: *t, occurred_at: at(*minute), tie_key: format!("k{i}"), seal_ok: *seal_ok, seal_checked: false, voided: *voided,
            }).collect();
            let split = split.min(facts.len());
            let (old, new) = facts.split_at(split);
            let mut new = new.to_vec();
            new.sort_by(occurred_order);
            let live_through = old.iter().filter(|e| !e.voided).map(|e| e.occurred_at).max();
            let on_top = new.iter().all(|e| !e.voided && live_through.is_none_or(|t| e.occurred_at > t))
                && new.windows(2).all(|w| w[0].occurred_at < w[1].occurred_at);
            match Fold::of(old).then(&new) {
                Some(fold) => {
                    prop_assert!(on_top);
                    prop_assert_eq!(fold, Fold::of(&facts));
                }
                None => prop_assert!(!on_top),
            }
        }
    }
}
