//! Notifications: written to the outbox in the transaction of the change
//! that causes them, sent later by the dispatcher. Nothing here talks to
//! the network.

pub mod dispatch;
pub mod egress;
pub mod templates;

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use diesel::QueryResult;
use serde_json::json;

use crate::db::DbConn;
use crate::domain::cases::{self, CaseKind, CaseOutcome, Severity, TOP_LEVEL};
use crate::store::digests::NewDigestEntry;
use crate::domain::ItemStatus;
use crate::store::cases::Case;
use crate::store::contacts::ContactPoint;
use crate::store::items::Item;
use crate::store::outbox::{NewMessage, Webhook};
use crate::store::{self};
use crate::store::incidents::Incident;
pub use templates::IncidentNews;
use templates::{CandidateNews, CaseFacts, CaseNews, IncidentFacts, Lang};

/// Webhook topics.
pub const TOPICS: &[&str] = &["item.status_changed", "case.opened", "case.escalated", "case.resolved", "case.directed", "incident.changed"];

fn message(channel: &str, target: &str, topic: &str, subject: Option<String>, body: String, now: DateTime<Utc>) -> NewMessage {
    NewMessage {
        channel: channel.into(),
        target: target.into(),
        topic: topic.into(),
        subject,
        body,
        status: "pending".into(),
        attempts: 0,
        next_attempt_at: now.naive_utc(),
        created_at: now.naive_utc(),
    }
}

/// One webhook message per subscription of these organizations that wants the topic.
/// The webhooks of some organizations, read once for a batch of changes.
pub struct Hooks(Vec<Webhook>);

impl Hooks {
    pub fn load(conn: &mut DbConn, organization_ids: &[String]) -> QueryResult<Hooks> {
        store::outbox::webhooks_of(conn, organization_ids).map(Hooks)
    }
}

fn webhooks(conn: &mut DbConn, hooks: &Hooks, orgs: &[String], topic: &str, data: serde_json::Value, now: DateTime<Utc>) -> QueryResult<()> {
    store::outbox::enqueue_all(conn, &webhook_messages(hooks, orgs, topic, &data, now))
}

fn webhook_messages(hooks: &Hooks, orgs: &[String], topic: &str, data: &serde_json::Value, now: DateTime<Utc>) -> Vec<NewMessage> {
    hooks
        .0
        .iter()
        .filter(|h| orgs.contains(&h.organization_id) && h.wants(topic))
        .map(|hook| {
            let payload = json!({"type": topic, "occurred_at": now.to_rfc3339(), "data": data});
            message("webhook", &hook.id, topic, None, payload.to_string(), now)
        })
        .collect()
}

/// The organizations told about a case at its level: the carrier and the
/// organization the item is addressed to (a school or university waiting
/// for it); from level 2 the sender's department too (at once for a loss,
/// which the sender must replace, and for tampering); at the top the
/// overseer, or the organization it directed the case to.
fn case_audience(case: &Case, item: &Item) -> Vec<String> {
    let mut orgs = vec![item.carrier_org_id.clone()];
    orgs.extend(item.recipient_org_id.clone());
    let sender_at_once = matches!(case.kind, CaseKind::Lost | CaseKind::Tampering);
    if case.level >= 2 || sender_at_once {
        orgs.push(item.sender_org_id.clone());
    }
    if case.level >= TOP_LEVEL || case.owner_org_id != item.carrier_org_id {
        orgs.push(case.owner_org_id.clone());
    }
    orgs.sort();
    orgs.dedup();
    orgs
}

/// What case news needs to know about the organizations and items of some
/// cases (contacts, webhooks, kept places, open incidents), read once for all
/// of them.
pub struct CaseNewsContext {
    contacts: Vec<ContactPoint>,
    hooks: Hooks,
    places_kept: HashSet<i64>,
    open_incidents: HashSet<i64>,
}

impl CaseNewsContext {
    pub fn load(conn: &mut DbConn, cases: &[(&Case, &Item)]) -> QueryResult<CaseNewsContext> {
        let mut orgs: Vec<String> = cases.iter().flat_map(|(case, item)| case_audience(case, item)).collect();
        orgs.sort();
        orgs.dedup();
        let item_ids: Vec<i64> = cases.iter().map(|(_, item)| item.id).collect();
        let grouped = cases.iter().any(|(case, _)| case.incident_id.is_some());
        Ok(CaseNewsContext {
            contacts: store::contacts::for_orgs(conn, &orgs)?,
            hooks: Hooks::load(conn, &orgs)?,
            places_kept: store::pre_advices::acknowledged_among(conn, &item_ids)?,
            open_incidents: if grouped { store::incidents::open_ids(conn)?.into_iter().collect() } else { HashSet::new() },
        })
    }
}

/// Messages and digest lines gathered for a batch of changes, written
/// together by `flush`.
#[derive(Default)]
pub struct Outgoing {
    messages: Vec<NewMessage>,
    digest_lines: Vec<NewDigestEntry>,
}

impl Outgoing {
    pub fn flush(self, conn: &mut DbConn) -> QueryResult<()> {
        store::outbox::enqueue_all(conn, &self.messages)?;
        store::digests::add_all(conn, &self.digest_lines)
    }
}

/// E-mails to the matching contact points and webhooks about a case.
pub fn case_changed(conn: &mut DbConn, case: &Case, item: &Item, news: CaseNews, now: DateTime<Utc>) -> QueryResult<()> {
    let context = CaseNewsContext::load(conn, &[(case, item)])?;
    let mut out = Outgoing::default();
    case_news(&context, case, item, news, now, &mut out);
    out.flush(conn)
}

/// What `case_changed` writes, gathered into `out`; `context` must have been
/// loaded for this case.
pub fn case_news(context: &CaseNewsContext, case: &Case, item: &Item, news: CaseNews, now: DateTime<Utc>, out: &mut Outgoing) {
    let audience = case_audience(case, item);
    let vietnam = |t: DateTime<Utc>| t.with_timezone(&chrono_tz::Asia::Ho_Chi_Minh).format("%H:%M %d/%m/%Y").to_string();
    let deadline = cases::protected_deadline(item.must_arrive_by.map(|t| t.and_utc()), item.due_at.map(|t| t.and_utc()));
    let facts = CaseFacts {
        kind: case.kind,
        level: case.level,
        tracking_number: &item.tracking_number,
        item_kind: item.kind,
        response_due: vietnam(case.response_due_at.and_utc()),
        deadline: deadline.map(|d| (vietnam(d), cases::minutes_left(d, now))),
        outcome: case.outcome.map(CaseOutcome::as_str),
        case_id: &case.public_id,
        place_kept: context.places_kept.contains(&item.id),
    };
    let topic = match news {
        CaseNews::Opened => "case.opened",
        CaseNews::Escalated => "case.escalated",
        CaseNews::Resolved => "case.resolved",
        CaseNews::Directed { .. } => "case.directed",
    };
    // A case grouped under an open incident is told through the incident's
    // mails (one per incident and update), not one mail per item.
    let grouped = case.incident_id.is_some_and(|id| context.open_incidents.contains(&id));
    // Critical news never waits for a digest: tampering, a loss, the top
    // level, the committee's direction.
    let critical = case.severity == Severity::Critical
        || case.kind == CaseKind::Lost
        || case.level >= TOP_LEVEL
        || matches!(news, CaseNews::Directed { .. });
    for contact in context.contacts.iter().filter(|c| audience.contains(&c.organization_id)) {
        let Some(email) = contact.email.as_deref() else { continue };
        if grouped || !contact.answers_for(case.kind, case.level) {
            continue;
        }
        let lang = Lang::parse(&contact.lang);
        if contact.digest_minutes > 0 && !critical {
            let line = templates::digest_line(news, &facts, lang);
            out.digest_lines.push(NewDigestEntry {
                contact_id: contact.id.clone(),
                email: email.to_string(),
                lang: contact.lang.clone(),
                line,
                created_at: now.naive_utc(),
            });
        } else {
            let (subject, body) = templates::case_email(news, &facts, lang);
            out.messages.push(message("email", email, topic, Some(subject), body, now));
        }
    }
    let data = json!({
        "case_id": case.public_id, "kind": case.kind, "severity": case.severity, "level": case.level,
        "state": case.state, "outcome": case.outcome, "tracking_number": item.tracking_number,
        "season": item.season, "item_status": item.status,
    });
    out.messages.extend(webhook_messages(&context.hooks, &audience, topic, &data, now));
}

/// Webhooks about a new status, and the candidate's e-mail when it is news to them.
/// The organizations that follow an item: its carrier, sender and recipient.
pub fn following_orgs(item: &Item) -> Vec<String> {
    let mut orgs = vec![item.carrier_org_id.clone(), item.sender_org_id.clone()];
    orgs.extend(item.recipient_org_id.clone());
    orgs
}

/// `hooks` must hold those of the item's carrier, sender and recipient organization.
pub fn item_status_changed(conn: &mut DbConn, hooks: &Hooks, item: &Item, previous: ItemStatus, now: DateTime<Utc>) -> QueryResult<()> {
    let orgs = following_orgs(item);
    let data = json!({
        "tracking_number": item.tracking_number, "season": item.season, "status": item.status,
        "previous_status": previous, "last_event_at": item.last_event_at.map(|t| t.and_utc().to_rfc3339()),
        "last_office_code": item.last_office_code,
    });
    webhooks(conn, hooks, &orgs, "item.status_changed", data, now)?;
    match item.status {
        ItemStatus::Delivered => candidate(conn, item, CandidateNews::Delivered, now),
        ItemStatus::Lost => candidate(conn, item, CandidateNews::Lost, now),
        _ => Ok(()),
    }
}

/// An e-mail to the candidate an item concerns, if they gave an address.
pub fn candidate(conn: &mut DbConn, item: &Item, news: CandidateNews, now: DateTime<Utc>) -> QueryResult<()> {
    let mut out = Outgoing::default();
    candidate_news(item, news, now, &mut out);
    out.flush(conn)
}

/// What `candidate` writes, gathered into `out`.
pub fn candidate_news(item: &Item, news: CandidateNews, now: DateTime<Utc>, out: &mut Outgoing) {
    if let Some(email) = item.candidate_email.as_deref() {
        let (subject, body) = templates::candidate_email(&news, item.kind, &item.tracking_number);
        out.messages.push(message("email", email, "candidate", Some(subject), body, now));
    }
}

/// One mail per contact of every organization an incident concerns (the
/// carriers, senders and recipients of its items, who declared it, and the
/// overseers of its provinces), and one webhook per subscription: per
/// incident and update, however many items it holds.
pub fn incident_changed(conn: &mut DbConn, incident: &Incident, items: &[Item], news: IncidentNews, now: DateTime<Utc>) -> QueryResult<()> {
    let mut orgs: Vec<String> = items.iter().flat_map(following_orgs).collect();
    orgs.push(incident.declared_by_org_id.clone());
    for province in incident.provinces.values() {
        orgs.extend(store::cases::overseer_of(conn, province)?);
    }
    orgs.sort();
    orgs.dedup();
    let vietnam = |t: chrono::NaiveDateTime| t.and_utc().with_timezone(&chrono_tz::Asia::Ho_Chi_Minh).format("%H:%M %d/%m/%Y").to_string();
    let area: Vec<String> = incident.provinces.values().iter().chain(incident.wards.values()).chain(incident.office_codes.values()).cloned().collect();
    let facts = IncidentFacts {
        kind: incident.kind,
        area: area.join(", "),
        window: format!("{} – {}", vietnam(incident.starts_at), vietnam(incident.ends_at)),
        description: &incident.description,
        items: items.len(),
        incident_id: &incident.public_id,
    };
    for contact in store::contacts::for_orgs(conn, &orgs)? {
        let Some(email) = contact.email.as_deref() else { continue };
        let (subject, body) = templates::incident_email(news, &facts, Lang::parse(&contact.lang));
        store::outbox::enqueue(conn, &message("email", email, "incident.changed", Some(subject), body, now))?;
    }
    let data = json!({
        "incident_id": incident.public_id, "kind": incident.kind, "state": incident.state, "news": news.as_str(),
        "provinces": incident.provinces.values(), "wards": incident.wards.values(), "office_codes": incident.office_codes.values(),
        "starts_at": incident.starts_at.and_utc().to_rfc3339(), "ends_at": incident.ends_at.and_utc().to_rfc3339(),
        "extension_minutes": incident.extension_minutes, "items": items.len(),
    });
    let hooks = Hooks::load(conn, &orgs)?;
    webhooks(conn, &hooks, &orgs, "incident.changed", data, now)
}

/// The contacts whose digest period is over at `now`: their oldest waiting
/// news is at least their period old.
pub fn digests_due(conn: &mut DbConn, now: DateTime<Utc>) -> QueryResult<Vec<String>> {
    let mut due = Vec::new();
    for (contact_id, oldest) in store::digests::waiting(conn)? {
        let period = match store::contacts::find(conn, &contact_id)? {
            Some(contact) => i64::from(contact.digest_minutes.max(0)),
            // The contact was removed: what waited for it goes out at once.
            None => 0,
        };
        if oldest.and_utc() + chrono::Duration::minutes(period) <= now {
            due.push(contact_id);
        }
    }
    Ok(due)
}

/// Claims a contact's waiting news and writes them as one digest mail;
/// `false` when another process claimed them first. Call it inside a write
/// transaction: the claim and the mail commit together.
pub fn write_digest(conn: &mut DbConn, contact_id: &str, now: DateTime<Utc>) -> QueryResult<bool> {
    let key = uuid::Uuid::now_v7().to_string();
    let entries = store::digests::claim(conn, contact_id, &key, now.naive_utc())?;
    let Some(first) = entries.first() else { return Ok(false) };
    let lines: Vec<&str> = entries.iter().map(|e| e.line.as_str()).collect();
    let (subject, body) = templates::digest_email(&lines, Lang::parse(&first.lang));
    store::outbox::enqueue(conn, &message("email", &first.email, "case.digest", Some(subject), body, now))?;
    Ok(true)
}

/// The steering report as an HTML e-mail (the dispatcher sends topic
/// `report.steering` as `text/html`).
pub fn report_mail(conn: &mut DbConn, email: &str, subject: &str, html: String, now: DateTime<Utc>) -> QueryResult<()> {
    store::outbox::enqueue(conn, &message("email", email, "report.steering", Some(subject.to_string()), html, now))
}
