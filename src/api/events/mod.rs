//! Scan events: ingest one or a batch (idempotent, any order), void a wrong
//! scan, read an item's timeline.

mod dto;
mod ingest;
mod queue;

pub use dto::*;

use std::collections::HashMap;

use actix_web::{get, post, web, HttpResponse};
use utoipa_actix_web::service_config::ServiceConfig;

use super::auth::Caller;
use super::batch::{check_size, name_rejected_entries, parse_entries, sent_tracking_numbers, BatchResponse, EntryResult, EntryStatus};
use super::extract::ValidJson;
use super::items::{scope_of, SeasonParam};
use super::pagination::{take_page, Listing, Page, PageParams};
use super::problem::{ApiError, Problem};
use super::AppState;
use crate::db::DbConn;
use crate::domain::events::{derive, in_occurred_order, Anomaly, EventType, OfficeType, VoidReason};
use crate::domain::{fields, s10, ItemStatus, Role};
use crate::store::events::{Event, EventVoid};
use crate::store::items::Item;
use crate::store::{self};
pub use ingest::{record_all, Outcome};
pub use queue::IngestQueue;

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(create_event).service(create_events_batch).service(void_event).service(list_item_events);
}

fn offset_text(minutes: i32) -> String {
    let sign = if minutes < 0 { '-' } else { '+' };
    let m = minutes.abs();
    format!("{sign}{:02}:{:02}", m / 60, m % 60)
}

fn event_view(event: &Event, void: Option<&EventVoid>, anomaly: Option<Anomaly>) -> EventView {
    let event_type = EventType::parse(&event.event_type).unwrap_or(EventType::Accepted);
    let office_type = event.office_type.as_deref().and_then(OfficeType::parse);
    EventView {
        id: event.public_id.clone(),
        client_event_id: event.client_event_id.clone(),
        event_type,
        upu_code: event_type.upu_code(office_type).map(str::to_string),
        occurred_at: event.occurred_at.and_utc(),
        occurred_offset: offset_text(event.occurred_offset_min),
        received_at: event.received_at.and_utc(),
        office_code: event.office_code.clone(),
        office_name: event.office_name.clone(),
        office_type,
        operator_id: event.operator_id.clone(),
        device_id: event.device_id.clone(),
        details: serde_json::from_str(&event.details).unwrap_or_default(),
        voided: void.map(|v| VoidView {
            reason: VoidReason::parse(&v.reason).unwrap_or(VoidReason::IncorrectData),
            note: v.note.clone(),
            voided_by: v.voided_by.clone(),
            voided_at: v.voided_at.and_utc(),
        }),
        anomaly,
    }
}

/// An item's whole timeline, in the order things happened, with void
/// markers and anomalies.
pub fn timeline(conn: &mut DbConn, item: &Item) -> Result<Vec<EventView>, ApiError> {
    let rows = store::events::for_item(conn, item.id)?;
    let mut facts: Vec<_> = rows.iter().filter_map(|(e, v)| store::events::fact(e, v.as_ref())).collect();
    let anomalies: HashMap<i64, Anomaly> = derive(&facts).anomalies.into_iter().collect();
    in_occurred_order(&mut facts);
    let by_id: HashMap<i64, &(Event, Option<EventVoid>)> = rows.iter().map(|row| (row.0.id, row)).collect();
    Ok(facts
        .iter()
        .map(|fact| {
            let (event, void) = by_id[&fact.id];
            event_view(event, void.as_ref(), anomalies.get(&fact.id).copied())
        })
        .collect())
}

/// One event as its item's timeline shows it now, with the item's status.
fn recorded_view(conn: &mut DbConn, event: &Event) -> Result<RecordedEventView, ApiError> {
    let item = store::items::find(conn, event.item_id)?;
    let view = timeline(conn, &item)?
        .into_iter()
        .find(|v| v.id == event.public_id)
        .ok_or_else(|| ApiError::internal("recorded event missing from its timeline"))?;
    let item_status = ItemStatus::parse(&item.status).ok_or_else(|| ApiError::internal("bad stored status"))?;
    Ok(RecordedEventView { event: view, item_status })
}

/// Record one scan of an item.
///
/// Idempotent on `client_event_id` (per carrier): a retry returns the
/// original event with 200; the same id with different content is 409.
/// Only the item's carrier may scan it. The item's status is derived from
/// all its events in the order they happened, so late and out-of-order
/// scans are safe.
#[utoipa::path(
    tag = "events",
    params(("tracking_number" = String, Path, description = "UPU S10 number"), SeasonParam),
    request_body = NewEventRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Recorded", body = RecordedEventView),
        (status = 200, description = "A retry of an event already recorded", body = RecordedEventView),
        (status = 403, description = "Not a carrier client", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such item assigned to your organization", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "client_event_id used for a different event", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (e.g. a time without offset)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/items/{tracking_number}/events")]
pub async fn create_event(
    state: web::Data<AppState>,
    caller: Caller,
    tracking_number: web::Path<String>,
    query: web::Query<SeasonParam>,
    ValidJson(request): ValidJson<NewEventRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Carrier, Role::Admin])?;
    let entry = BatchEventEntry { tracking_number: tracking_number.into_inner(), season: query.into_inner().season, event: request };
    let (created, event) = match state.scans.record(caller, entry).await? {
        Outcome::Created(event) => (true, event),
        Outcome::Replayed(event) => (false, event),
        Outcome::Rejected(problem) => return Err(ApiError::from_problem(problem)),
    };
    let view = state.db(move |conn| recorded_view(conn, &event)).await?;
    Ok(if created { HttpResponse::Created() } else { HttpResponse::Ok() }.json(view))
}

/// Record up to 1000 scans across items.
///
/// Each event is checked and stored on its own: a bad one is reported in
/// its result and never blocks the others. Order within the batch does not
/// matter; retries of recorded events come back as `duplicate`.
#[utoipa::path(
    tag = "events",
    request_body = EventBatchRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One result per event", body = BatchResponse),
        (status = 413, description = "More than 1000 events", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/events/batch")]
pub async fn create_events_batch(
    state: web::Data<AppState>,
    caller: Caller,
    ValidJson(batch): ValidJson<EventBatchRequest>,
) -> Result<web::Json<BatchResponse>, ApiError> {
    caller.require(&[Role::Carrier, Role::Admin])?;
    check_size(batch.events.len(), "events")?;
    let sent = sent_tracking_numbers(&batch.events);
    let entries = parse_entries::<BatchEventEntry>(batch.events);
    let now = state.clock.now();
    let outcomes = state.db(move |conn| record_all(conn, &caller, entries, now)).await?;
    let mut results: Vec<EntryResult> = outcomes
        .into_iter()
        .enumerate()
        .map(|(index, (outcome, tracking_number))| match outcome {
            Outcome::Created(e) => EntryResult { index, status: EntryStatus::Created, id: Some(e.public_id), tracking_number, error: None },
            Outcome::Replayed(e) => EntryResult { index, status: EntryStatus::Duplicate, id: Some(e.public_id), tracking_number, error: None },
            Outcome::Rejected(problem) => EntryResult::rejected(index, tracking_number, problem),
        })
        .collect();
    name_rejected_entries(&mut results, &sent);
    Ok(web::Json(BatchResponse::new(results)))
}

/// Declare a recorded event void (GS1 EPCIS error declaration).
///
/// The event stays in the history, marked void, and the item's status is
/// recomputed without it. Only the carrier that recorded it may void it.
#[utoipa::path(
    tag = "events",
    params(("id" = String, Path, description = "Event id")),
    request_body = VoidRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Voided", body = RecordedEventView),
        (status = 404, description = "No such event of your organization", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already void", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/events/{id}/void")]
pub async fn void_event(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    ValidJson(request): ValidJson<VoidRequest>,
) -> Result<web::Json<RecordedEventView>, ApiError> {
    caller.require(&[Role::Carrier, Role::Admin])?;
    let note = fields::optional_text(request.note.as_deref(), 500).map_err(|r| ApiError::field("note", r))?;
    let id = id.into_inner();
    let now = state.clock.now();
    let view = state
        .db(move |conn| {
            conn.write_transaction(|conn| {
                let not_found = || ApiError::NotFound(format!("no event {id} of your organization"));
                let (event, void) = store::events::find_by_public_id(conn, &id)?.ok_or_else(not_found)?;
                if caller.role != Role::Admin && event.carrier_org_id != caller.org_id {
                    return Err(not_found());
                }
                if void.is_some() {
                    return Err(ApiError::Conflict { detail: "the event is already void".into(), existing_id: Some(event.public_id) });
                }
                let declaration = EventVoid {
                    event_id: event.id,
                    reason: request.reason.as_str().into(),
                    note,
                    voided_by: caller.client_id.clone(),
                    voided_at: now.naive_utc(),
                };
                store::events::insert_void(conn, &declaration)?;
                let refreshed = store::events::refresh_item(conn, event.item_id)?;
                crate::escalation::after_refresh(conn, &refreshed.item, &refreshed.previous_status, now)?;
                recorded_view(conn, &event)
            })
        })
        .await?;
    Ok(web::Json(view))
}

/// Page through an item's timeline, in the order things happened.
#[utoipa::path(
    tag = "events",
    params(("tracking_number" = String, Path, description = "UPU S10 number"), EventPageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of events", body = Page<EventView>),
        (status = 404, description = "Unknown, or outside your scope", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/items/{tracking_number}/events")]
pub async fn list_item_events(
    state: web::Data<AppState>,
    caller: Caller,
    tracking_number: web::Path<String>,
    query: web::Query<EventPageParams>,
) -> Result<web::Json<Page<EventView>>, ApiError> {
    let number = s10::normalize(&tracking_number).map_err(|e| ApiError::field("tracking_number", e.to_string()))?;
    let params = query.into_inner();
    let season = params.season.as_deref().map(fields::season).transpose().map_err(|r| ApiError::field("season", r))?;
    let page = PageParams { limit: params.limit, cursor: params.cursor };
    let limit = page.limit()?;
    let after = page.position(Listing::Events)?;
    let scope = scope_of(&caller);
    let page = state
        .db(move |conn| {
            let item = store::items::find_visible(conn, &scope, &number, season.as_deref())?
                .ok_or_else(|| ApiError::NotFound(format!("no item {number} that you can see")))?;
            let mut events = timeline(conn, &item)?;
            if let Some(after) = after {
                let position = events.iter().position(|e| e.id == after).ok_or_else(|| ApiError::field("cursor", "is not a cursor this API returned"))?;
                events.drain(..=position);
            }
            events.truncate(limit as usize + 1);
            let (items, next_cursor) = take_page(events, limit, Listing::Events, |e| e.id.clone());
            Ok(Page { items, next_cursor })
        })
        .await?;
    Ok(web::Json(page))
}
