//! Scan events: ingest one or a batch (idempotent, any order), void a wrong
//! scan, read an item's timeline. The workflows are `app::scans`; here they
//! meet HTTP.

mod dto;

pub use dto::*;

use actix_web::{get, post, web, HttpResponse};
use utoipa_actix_web::service_config::ServiceConfig;

use super::auth::Caller;
use super::batch::{check_size, name_rejected_entries, parse_entries, sent_tracking_number, sent_tracking_numbers, BatchResponse, EntryResult, EntryStatus};
use super::extract::{SeasonParam, ValidJson};
use super::pagination::{take_page, Listing, Page, PageParams};
use super::problem::{ApiError, Problem};
use super::AppState;
use crate::app::scans::{self, ItemRef, RecordScan};
use crate::clock::Clock;
use crate::db::DbConn;
use crate::domain::Role;
use crate::store::events::Event;
use crate::store::{self};
use super::timeline::{event_view, timeline, EventView};

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(create_event).service(create_events_batch).service(void_event).service(list_item_events);
}

/// One event as its item's timeline shows it now, with the item's status.
fn recorded_view(conn: &mut DbConn, event: &Event) -> Result<RecordedEventView, ApiError> {
    let item = store::items::find(conn, event.item_id)?;
    let view = timeline(conn, &item)?
        .into_iter()
        .find(|v| v.id == event.public_id)
        .ok_or_else(|| ApiError::internal("recorded event missing from its timeline"))?;
    Ok(RecordedEventView { event: view, item_status: item.status })
}

/// What happened to one entry of a batch, as the API reports it.
enum Outcome {
    Created(Event),
    Replayed(Event),
    Rejected(Problem),
}

/// Records the entries of a batch (already parsed, or the problem parsing
/// them met): one outcome per entry, in order, with the number it is
/// reported under.
fn record_entries(
    conn: &mut DbConn,
    clock: &dyn Clock,
    caller: &Caller,
    entries: Vec<Result<BatchEventEntry, Problem>>,
) -> Result<Vec<(Outcome, Option<String>)>, ApiError> {
    let mut sent = Vec::with_capacity(entries.len());
    let mut scans: Vec<RecordScan> = Vec::new();
    let mut parsed = Vec::with_capacity(entries.len());
    for entry in entries {
        match entry {
            Ok(entry) => {
                sent.push(sent_tracking_number(&entry.tracking_number));
                scans.push(entry.into());
                parsed.push(Ok(()));
            }
            Err(problem) => {
                sent.push(None);
                parsed.push(Err(problem));
            }
        }
    }
    let mut recorded = scans::record_batch(conn, clock, caller, &scans)?.into_iter();
    parsed
        .into_iter()
        .zip(sent)
        .map(|(parsed, sent)| match parsed {
            Err(problem) => Ok((Outcome::Rejected(problem), None)),
            Ok(()) => {
                let scan = recorded.next().ok_or_else(|| ApiError::internal("a scan was left without an outcome"))?;
                Ok(match scan.outcome {
                    scans::Outcome::Created(scanned) => (Outcome::Created(scanned.event), scan.tracking_number),
                    scans::Outcome::Replayed(event) => (Outcome::Replayed(event), scan.tracking_number),
                    scans::Outcome::Rejected(error) => (Outcome::Rejected(ApiError::from(error).problem()), scan.tracking_number.or(sent)),
                })
            }
        })
        .collect()
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
    let scan = request.scan_of(tracking_number.into_inner(), query.into_inner().season);
    match state.scans.record(caller, scan).await? {
        scans::Outcome::Created(scanned) => Ok(HttpResponse::Created().json(RecordedEventView {
            event: event_view(&scanned.event, None, scanned.anomaly),
            item_status: scanned.item_status,
        })),
        // A retry: the scan may have been voided or flagged since; its timeline tells.
        scans::Outcome::Replayed(event) => Ok(HttpResponse::Ok().json(state.db(move |conn| recorded_view(conn, &event)).await?)),
        scans::Outcome::Rejected(error) => Err(error.into()),
    }
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
    let clock = state.clock.clone();
    let outcomes = state.db(move |conn| record_entries(conn, clock.as_ref(), &caller, entries)).await?;
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
    let command = request.command(id.into_inner());
    let clock = state.clock.clone();
    let view = state
        .db(move |conn| {
            let event = scans::void(conn, clock.as_ref(), &caller, command)?;
            recorded_view(conn, &event)
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
    let params = query.into_inner();
    let item = ItemRef::parse(&tracking_number, params.season.as_deref())?;
    let page = PageParams { limit: params.limit, cursor: params.cursor };
    let limit = page.limit()?;
    let after = page.position(Listing::Events)?;
    let page = state
        .db(move |conn| {
            let mut events = super::timeline::views(&scans::item_timeline(conn, &caller, &item)?);
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
