//! Aggregates for the reports: pure functions over item facts.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::cases::settled;
use super::{ItemKind, ItemStatus, Priority};

/// What a report needs to know of one item.
#[derive(Debug, Clone)]
pub struct ItemFact {
    pub kind: ItemKind,
    pub status: ItemStatus,
    pub priority: Priority,
    /// Carrier organization code.
    pub carrier: String,
    pub accepted_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    /// For a delivered item, when it was delivered.
    pub last_event_at: Option<DateTime<Utc>>,
    pub registered_at: DateTime<Utc>,
}

/// What happened on one day (in Vietnam) of the report's period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DayCount {
    pub day: chrono::NaiveDate,
    pub registered: u64,
    pub delivered: u64,
}

/// Count of items of one kind in one status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct KindStatusCount {
    pub kind: ItemKind,
    pub status: ItemStatus,
    pub count: u64,
}

/// Delivery performance of one group (a priority or a carrier).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Performance {
    /// The priority, or the carrier's code.
    pub group: String,
    pub items: u64,
    pub delivered: u64,
    /// Delivered by the effective deadline (or with none).
    pub delivered_on_time: u64,
    /// Delivered on time out of everything whose deadline has come: the
    /// delivered, and the items past due and not delivered (they count as
    /// late). Percent with one decimal; null while nothing is due.
    pub on_time_percent: Option<f64>,
    /// Median hours from acceptance to delivery.
    pub median_delivery_hours: Option<f64>,
    /// Not settled and past the deadline now.
    pub overdue: u64,
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn performance(group: String, facts: &[&ItemFact], now: DateTime<Utc>) -> Performance {
    let delivered: Vec<&&ItemFact> = facts.iter().filter(|f| f.status == ItemStatus::Delivered).collect();
    let on_time = delivered.iter().filter(|f| match (f.due_at, f.last_event_at) {
        (Some(due), Some(at)) => at <= due,
        _ => true,
    });
    let mut hours: Vec<f64> = delivered
        .iter()
        .filter_map(|f| Some((f.last_event_at? - f.accepted_at?).num_seconds() as f64 / 3600.0))
        .collect();
    hours.sort_by(|a, b| a.total_cmp(b));
    let median = match hours.len() {
        0 => None,
        n if n % 2 == 1 => Some(hours[n / 2]),
        n => Some((hours[n / 2 - 1] + hours[n / 2]) / 2.0),
    };
    let overdue = facts
        .iter()
        .filter(|f| !settled(f.status) && f.due_at.is_some_and(|due| due < now))
        .count() as u64;
    let delivered_on_time = on_time.count() as u64;
    let judged = delivered.len() as u64 + overdue;
    Performance {
        group,
        items: facts.len() as u64,
        delivered: delivered.len() as u64,
        delivered_on_time,
        on_time_percent: (judged > 0).then(|| round1(100.0 * delivered_on_time as f64 / judged as f64)),
        median_delivery_hours: median.map(round1),
        overdue,
    }
}

/// The numbers of a summary report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Totals {
    pub items: u64,
    pub overdue: u64,
    pub by_kind_and_status: Vec<KindStatusCount>,
    pub by_priority: Vec<Performance>,
    pub by_carrier: Vec<Performance>,
    /// Items registered and delivered per day (Vietnam), oldest first.
    pub by_day: Vec<DayCount>,
}

pub fn totals(facts: &[ItemFact], now: DateTime<Utc>) -> Totals {
    // Keyed by the wire texts, so that the report lists them alphabetically.
    let mut by_kind_status: BTreeMap<(&str, &str), KindStatusCount> = BTreeMap::new();
    for f in facts {
        by_kind_status
            .entry((f.kind.as_str(), f.status.as_str()))
            .or_insert(KindStatusCount { kind: f.kind, status: f.status, count: 0 })
            .count += 1;
    }
    let group = |key: &dyn Fn(&ItemFact) -> String| {
        let mut groups: BTreeMap<String, Vec<&ItemFact>> = BTreeMap::new();
        for f in facts {
            groups.entry(key(f)).or_default().push(f);
        }
        groups.into_iter().map(|(k, members)| performance(k, &members, now)).collect::<Vec<_>>()
    };
    let all: Vec<&ItemFact> = facts.iter().collect();
    Totals {
        items: facts.len() as u64,
        overdue: performance(String::new(), &all, now).overdue,
        by_kind_and_status: by_kind_status.into_values().collect(),
        by_priority: group(&|f| f.priority.as_str().to_string()),
        by_carrier: group(&|f| f.carrier.clone()),
        by_day: by_day(facts),
    }
}

fn by_day(facts: &[ItemFact]) -> Vec<DayCount> {
    let vietnam = |t: DateTime<Utc>| t.with_timezone(&chrono_tz::Asia::Ho_Chi_Minh).date_naive();
    let mut registered: BTreeMap<chrono::NaiveDate, u64> = BTreeMap::new();
    let mut delivered: BTreeMap<chrono::NaiveDate, u64> = BTreeMap::new();
    for f in facts {
        *registered.entry(vietnam(f.registered_at)).or_default() += 1;
        if let (ItemStatus::Delivered, Some(at)) = (f.status, f.last_event_at) {
            *delivered.entry(vietnam(at)).or_default() += 1;
        }
    }
    let mut all: Vec<chrono::NaiveDate> = registered.keys().chain(delivered.keys()).copied().collect();
    all.sort();
    all.dedup();
    all.into_iter()
        .map(|day| DayCount { day, registered: registered.get(&day).copied().unwrap_or(0), delivered: delivered.get(&day).copied().unwrap_or(0) })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn t(h: i64) -> DateTime<Utc> {
        "2026-07-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::hours(h)
    }

    fn fact(status: ItemStatus, priority: Priority, carrier: &str, accepted: Option<i64>, due: Option<i64>, last: Option<i64>) -> ItemFact {
        ItemFact {
            kind: ItemKind::ExamNotice,
            status,
            priority,
            carrier: carrier.into(),
            accepted_at: accepted.map(t),
            due_at: due.map(t),
            last_event_at: last.map(t),
            registered_at: t(-1),
        }
    }

    #[test]
    fn counts_rates_medians_and_overdue_by_hand() {
        let facts = vec![
            fact(ItemStatus::Delivered, Priority::Urgent, "VNPOST", Some(0), Some(24), Some(10)), // on time, 10 h
            fact(ItemStatus::Delivered, Priority::Urgent, "VNPOST", Some(0), Some(24), Some(30)), // late, 30 h
            fact(ItemStatus::Delivered, Priority::Urgent, "VTP", Some(0), Some(24), Some(20)),    // on time, 20 h
            fact(ItemStatus::InTransit, Priority::Urgent, "VTP", Some(0), Some(24), Some(5)),    // overdue at 48
            fact(ItemStatus::Lost, Priority::Standard, "VTP", Some(0), Some(24), Some(5)),        // settled: not overdue
            fact(ItemStatus::Registered, Priority::Standard, "VNPOST", None, None, None),
        ];
        let totals = totals(&facts, t(48));
        assert_eq!((totals.items, totals.overdue), (6, 1));
        let urgent = totals.by_priority.iter().find(|p| p.group == "urgent").unwrap();
        assert_eq!((urgent.items, urgent.delivered, urgent.delivered_on_time, urgent.overdue), (4, 3, 2, 1));
        // Two on time out of three delivered and one past due: 2 / 4.
        assert_eq!(urgent.on_time_percent, Some(50.0));
        assert_eq!(urgent.median_delivery_hours, Some(20.0));
        let vnpost = totals.by_carrier.iter().find(|p| p.group == "VNPOST").unwrap();
        assert_eq!((vnpost.delivered, vnpost.median_delivery_hours), (2, Some(20.0)));
        let standard = totals.by_priority.iter().find(|p| p.group == "standard").unwrap();
        assert_eq!((standard.on_time_percent, standard.median_delivery_hours), (None, None));
        assert_eq!(totals.by_kind_and_status.iter().map(|c| c.count).sum::<u64>(), 6);
        // Registered on 30 June (Vietnam: 07:00 on 30/06), delivered on 1 July.
        let registered: u64 = totals.by_day.iter().map(|d| d.registered).sum();
        let delivered: u64 = totals.by_day.iter().map(|d| d.delivered).sum();
        assert_eq!((registered, delivered), (6, 3));
    }

    #[test]
    fn past_due_undelivered_items_count_as_late() {
        // The report that said "on time 100%" beside "overdue 15/18": three delivered on time, fifteen past due.
        let mut facts = vec![fact(ItemStatus::Delivered, Priority::Urgent, "VNPOST", Some(0), Some(24), Some(10)); 3];
        facts.extend(vec![fact(ItemStatus::InTransit, Priority::Urgent, "VNPOST", Some(0), Some(24), Some(5)); 15]);
        let totals = totals(&facts, t(48));
        assert_eq!(totals.by_priority[0].on_time_percent, Some(16.7));
    }
}
