//! The item registry: register (one or a batch), read, list.

mod csv_format;
mod dto;
pub mod import;
mod replacement;
mod validate;

pub use dto::*;

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{get, post, web, HttpResponse};
use diesel::Connection;
use chrono::{DateTime, Utc};
use utoipa_actix_web::service_config::ServiceConfig;

use super::auth::Caller;
use super::batch::{check_size, name_rejected_entries, parse_entries, sent_tracking_numbers, BatchResponse, EntryResult, EntryStatus};
use super::extract::ValidJson;
use super::pagination::{take_page, Listing, Page, PageParams};
use super::problem::{ApiError, Problem};
use super::AppState;
use crate::db::DbConn;
use crate::domain::{fields, province, s10, FieldErrors, ItemKind, ItemStatus, Priority, Role};
use crate::store::items::{Item, ItemFilter, ItemScope, NewItem, Registered};
use crate::store::organizations::Organization;
use crate::store::{self};

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(create_item)
        .service(create_items_batch)
        .service(list_items)
        .service(find_item)
        .service(replacement::create_replacement)
        .service(import_items);
}

/// The items a caller may see.
pub fn scope_of(caller: &Caller) -> ItemScope {
    match caller.role {
        Role::Admin => ItemScope::All,
        Role::Education => ItemScope::SenderOrRecipient(caller.org_id.clone()),
        Role::Carrier => ItemScope::Carrier(caller.org_id.clone()),
        Role::Overseer => ItemScope::Province(caller.province.clone()),
    }
}

/// Loads the caller's organization and every organization the requests name.
fn load_orgs(
    conn: &mut DbConn,
    caller: &Caller,
    requests: &[&NewItemRequest],
) -> Result<(Organization, HashMap<String, Organization>), ApiError> {
    let own = store::organizations::find(conn, &caller.org_id)?
        .ok_or_else(|| ApiError::Unauthorized("your client's organization no longer exists".into()))?;
    let mut codes: Vec<String> = requests.iter().flat_map(|r| validate::referenced_codes(r)).collect();
    codes.sort();
    codes.dedup();
    Ok((own, store::organizations::by_codes(conn, &codes)?))
}

/// Checks a registration as of `now` and builds the row to store.
pub fn prepare_item(conn: &mut DbConn, caller: &Caller, request: &NewItemRequest, now: DateTime<Utc>) -> Result<NewItem, ApiError> {
    let (own, orgs) = load_orgs(conn, caller, &[request])?;
    let ctx = validate::Context { caller, caller_org: &own, orgs: &orgs, now };
    validate::new_item(request, &ctx).map_err(ApiError::Validation)
}

/// Checks many registrations, loading the organizations they name once.
pub fn prepare_items(
    conn: &mut DbConn,
    caller: &Caller,
    requests: &[&NewItemRequest],
    now: DateTime<Utc>,
) -> Result<Vec<Result<NewItem, Vec<crate::domain::FieldError>>>, ApiError> {
    let (own, orgs) = load_orgs(conn, caller, requests)?;
    let ctx = validate::Context { caller, caller_org: &own, orgs: &orgs, now };
    Ok(requests.iter().map(|request| validate::new_item(request, &ctx)).collect())
}

/// Renders items with their organizations' codes (one query for the page).
pub(crate) fn views(conn: &mut DbConn, rows: Vec<Item>) -> Result<Vec<ItemView>, ApiError> {
    let mut ids: Vec<String> = rows
        .iter()
        .flat_map(|i| [Some(i.sender_org_id.clone()), Some(i.carrier_org_id.clone()), i.recipient_org_id.clone()])
        .flatten()
        .collect();
    ids.sort();
    ids.dedup();
    let orgs = store::organizations::by_ids(conn, &ids)?;
    let linked: Vec<i64> = rows.iter().flat_map(|i| [i.replaces_item_id, i.replaced_by_item_id]).flatten().collect();
    let numbers = if linked.is_empty() { HashMap::new() } else { store::items::tracking_numbers(conn, &linked)? };
    rows.into_iter().map(|item| view(item, &orgs, &numbers)).collect()
}

fn view(item: Item, orgs: &HashMap<String, Organization>, numbers: &HashMap<i64, String>) -> Result<ItemView, ApiError> {
    let code = |id: &str| orgs.get(id).map(|o| o.code.clone()).ok_or_else(|| ApiError::internal(format!("organization {id} missing")));
    let bad = |what: &str| ApiError::internal(format!("item {} has a bad stored {what}", item.public_id));
    let candidate = match (&item.candidate_number, &item.candidate_name, item.candidate_dob) {
        (Some(number), Some(name), Some(dob)) => Some(CandidateView {
            candidate_number: number.clone(),
            full_name: name.clone(),
            date_of_birth: dob,
            phone: item.candidate_phone.clone(),
            email: item.candidate_email.clone(),
        }),
        _ => None,
    };
    let (recipient, candidate) = match &item.recipient_org_id {
        Some(org_id) => (
            RecipientView::Organization { organization: code(org_id)?, attention: item.recipient_attention.clone() },
            candidate,
        ),
        None => (RecipientView::Candidate(candidate.ok_or_else(|| bad("candidate"))?), None),
    };
    Ok(ItemView {
        kind: ItemKind::parse(&item.kind).ok_or_else(|| bad("kind"))?,
        priority: Priority::parse(&item.priority).ok_or_else(|| bad("priority"))?,
        status: ItemStatus::parse(&item.status).ok_or_else(|| bad("status"))?,
        sender_org: code(&item.sender_org_id)?,
        carrier_org: code(&item.carrier_org_id)?,
        recipient,
        candidate,
        destination: DestinationView { province: item.dest_province, ward: item.dest_ward, address_line: item.dest_address },
        id: item.public_id,
        tracking_number: item.tracking_number,
        season: item.season,
        seal_number: item.seal_number,
        must_arrive_by: item.must_arrive_by.map(|t| t.and_utc()),
        reference: item.reference,
        created_at: item.created_at.and_utc(),
        updated_at: item.updated_at.and_utc(),
        last_event_at: item.last_event_at.map(|t| t.and_utc()),
        last_office_code: item.last_office_code,
        has_anomaly: item.has_anomaly,
        due_at: item.due_at.map(|t| t.and_utc()),
        replaces: item.replaces_item_id.and_then(|id| numbers.get(&id).cloned()),
        replaced_by: item.replaced_by_item_id.and_then(|id| numbers.get(&id).cloned()),
    })
}

/// A number taken this season by a different item. Its id and the fact that
/// its content differs are told only to those who may read it: to anyone
/// else the id would reveal another organization's item and, being a
/// UUIDv7, when it was registered.
pub(crate) fn conflict(existing: &Item, scope: &ItemScope) -> ApiError {
    if !scope.includes(existing) {
        return ApiError::Conflict {
            detail: format!("{} is already registered for season {}", existing.tracking_number, existing.season),
            existing_id: None,
        };
    }
    ApiError::Conflict {
        detail: format!(
            "{} is already registered for season {} with different content",
            existing.tracking_number, existing.season
        ),
        existing_id: Some(existing.public_id.clone()),
    }
}

/// Register one item.
///
/// Idempotent on tracking number + season: repeating the same registration
/// returns the stored item with 200; the same number with different content
/// is a 409 naming the existing item.
#[utoipa::path(
    tag = "items",
    request_body = NewItemRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Registered", body = ItemView),
        (status = 200, description = "Already registered with the same content", body = ItemView),
        (status = 403, description = "Overseers cannot register items", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Number taken this season by a different item; `existing_id` names it", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/items")]
pub async fn create_item(
    state: web::Data<AppState>,
    caller: Caller,
    ValidJson(request): ValidJson<NewItemRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Education, Role::Carrier, Role::Admin])?;
    let scope = scope_of(&caller);
    let now = state.clock.now();
    let (outcome, view) = state
        .db(move |conn| {
            let new = prepare_item(conn, &caller, &request, now)?;
            let outcome = conn.write_transaction(|conn| store::items::register(conn, &new))?;
            let item = match outcome {
                Registered::Created(item) => (true, item),
                Registered::Replayed(item) => (false, item),
                Registered::Conflict(existing) => return Err(conflict(&existing, &scope)),
            };
            let view = views(conn, vec![item.1])?.pop().expect("one view per row");
            Ok((item.0, view))
        })
        .await?;
    let location = format!("/api/v1/items/{}?season={}", view.tracking_number, view.season);
    let mut response = if outcome { HttpResponse::Created() } else { HttpResponse::Ok() };
    Ok(response.insert_header((header::LOCATION, location)).json(view))
}

/// One checked batch entry: its index and either the row to store or the problem.
pub(crate) type Checked = (usize, Result<NewItem, Problem>);

/// Register up to 1000 items in one request.
///
/// Each entry is validated and stored on its own (atomically): a bad entry
/// is reported in its result and never blocks the others.
#[utoipa::path(
    tag = "items",
    request_body = ItemBatchRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One result per entry", body = BatchResponse),
        (status = 413, description = "More than 1000 entries", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a batch (no `items` array, or empty)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/items/batch")]
pub async fn create_items_batch(
    state: web::Data<AppState>,
    caller: Caller,
    ValidJson(batch): ValidJson<ItemBatchRequest>,
) -> Result<web::Json<BatchResponse>, ApiError> {
    caller.require(&[Role::Education, Role::Carrier, Role::Admin])?;
    check_size(batch.items.len(), "items")?;
    let now = state.clock.now();
    let sent = sent_tracking_numbers(&batch.items);
    let mut results = state
        .db(move |conn| {
            let parsed = parse_entries::<NewItemRequest>(batch.items);
            let valid: Vec<&NewItemRequest> = parsed.iter().filter_map(|p| p.as_ref().ok()).collect();
            let mut prepared = prepare_items(conn, &caller, &valid, now)?.into_iter();
            let checked: Vec<Checked> = parsed
                .iter()
                .enumerate()
                .map(|(index, p)| {
                    let new = match p {
                        Ok(_) => prepared.next().expect("one per valid entry").map_err(|errors| ApiError::Validation(errors).problem()),
                        Err(problem) => Err(problem.clone()),
                    };
                    (index, new)
                })
                .collect();
            store_batch(conn, &scope_of(&caller), checked)
        })
        .await?;
    name_rejected_entries(&mut results, &sent);
    Ok(web::Json(BatchResponse::new(results)))
}

/// Stores the valid entries in one transaction, each in its own savepoint.
/// Results come in the order of `checked`.
pub(crate) fn store_batch(conn: &mut DbConn, scope: &ItemScope, checked: Vec<Checked>) -> Result<Vec<EntryResult>, ApiError> {
    let mut results: Vec<Option<EntryResult>> = Vec::with_capacity(checked.len());
    let mut valid: Vec<(usize, usize, NewItem)> = Vec::with_capacity(checked.len());
    for (position, (index, entry)) in checked.into_iter().enumerate() {
        match entry {
            Ok(new) => {
                valid.push((position, index, new));
                results.push(None);
            }
            Err(problem) => results.push(Some(EntryResult::rejected(index, None, problem))),
        }
    }
    // Two uploads registering the same new numbers each wait on the other's
    // uncommitted rows; in different orders, each would hold a number the
    // other waits for (a deadlock on PostgreSQL). In key order the later one
    // just waits for the earlier.
    valid.sort_by(|(_, _, a), (_, _, b)| (&a.season, &a.tracking_number).cmp(&(&b.season, &b.tracking_number)));
    let stored = conn.write_transaction_retrying(|conn| {
        valid
            .iter()
            .map(|(_, index, new)| {
                let outcome = conn.transaction(|conn| store::items::register(conn, new))?;
                let (status, item, error) = match outcome {
                    Registered::Created(item) => (EntryStatus::Created, item, None),
                    Registered::Replayed(item) => (EntryStatus::Duplicate, item, None),
                    Registered::Conflict(item) => (EntryStatus::Rejected, item.clone(), Some(conflict(&item, scope).problem())),
                };
                let id = error.is_none().then(|| item.public_id.clone());
                Ok(EntryResult { index: *index, status, id, tracking_number: Some(item.tracking_number), error })
            })
            .collect::<Result<Vec<_>, ApiError>>()
    })?;
    for ((position, _, _), result) in valid.iter().zip(stored) {
        results[*position] = Some(result);
    }
    Ok(results.into_iter().flatten().collect())
}

/// Read an item by tracking number, with its timeline.
///
/// Items outside your scope are reported as not found.
#[utoipa::path(
    tag = "items",
    params(("tracking_number" = String, Path, description = "UPU S10 number"), SeasonParam),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ItemDetail),
        (status = 404, description = "Unknown, or outside your scope", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not an S10 number", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/items/{tracking_number}")]
pub async fn find_item(
    state: web::Data<AppState>,
    caller: Caller,
    tracking_number: web::Path<String>,
    query: web::Query<SeasonParam>,
) -> Result<web::Json<ItemDetail>, ApiError> {
    let number = s10::normalize(&tracking_number).map_err(|e| ApiError::field("tracking_number", e.to_string()))?;
    let season = query.into_inner().season.map(|s| fields::season(&s)).transpose().map_err(|r| ApiError::field("season", r))?;
    let scope = scope_of(&caller);
    let view = state
        .db(move |conn| {
            let item = store::items::find_visible(conn, &scope, &number, season.as_deref())?
                .ok_or_else(|| ApiError::NotFound(format!("no item {number} that you can see")))?;
            let timeline = super::events::timeline(conn, &item)?;
            Ok(ItemDetail { item: views(conn, vec![item])?.pop().expect("one view per row"), timeline })
        })
        .await?;
    Ok(web::Json(view))
}

/// Parses the list filters, collecting every bad one.
fn parse_filter(conn: &mut DbConn, params: &ItemListParams, now: DateTime<Utc>) -> Result<ItemFilter, ApiError> {
    let mut errors = FieldErrors::default();
    let mut org_id = |errors: &mut FieldErrors, name: &str, code: &Option<String>| -> Result<Option<String>, ApiError> {
        let Some(code) = code.as_ref().map(|c| c.trim().to_uppercase()) else { return Ok(None) };
        let found = store::organizations::find_by_code(conn, &code)?;
        Ok(errors.check(name, found.map(|o| o.id).ok_or_else(|| format!("no organization with code {code}"))))
    };
    let carrier_org_id = org_id(&mut errors, "carrier", &params.carrier)?;
    let sender_org_id = org_id(&mut errors, "sender", &params.sender)?;
    let recipient_org_id = org_id(&mut errors, "recipient", &params.recipient)?;
    let flag = |errors: &mut FieldErrors, name: &str, value: &Option<String>| {
        value.as_deref().and_then(|v| errors.check(name, v.parse::<bool>().map_err(|_| "must be true or false".to_string())))
    };
    let overdue = flag(&mut errors, "overdue", &params.overdue);
    let has_open_case = flag(&mut errors, "has_open_case", &params.has_open_case);
    if let Some(format) = &params.format {
        if format != "json" && format != "csv" {
            errors.push("format", "must be json or csv");
        }
    }
    let since = |errors: &mut FieldErrors, name: &str, value: &Option<String>| {
        value.as_deref().and_then(|v| errors.check(name, fields::timestamp(v).map(|t| t.naive_utc())))
    };
    let filter = ItemFilter {
        kind: params.kind.as_deref().and_then(|v| errors.check("kind", v.parse::<ItemKind>())).map(|v| v.as_str().into()),
        priority: params.priority.as_deref().and_then(|v| errors.check("priority", v.parse::<Priority>())).map(|v| v.as_str().into()),
        status: params.status.as_deref().and_then(|v| errors.check("status", v.parse::<ItemStatus>())).map(|v| v.as_str().into()),
        carrier_org_id,
        sender_org_id,
        dest_province: params.province.as_deref().and_then(|p| {
            let found = province::resolve(p).map(|p| p.code.to_string());
            errors.check("province", found.ok_or_else(|| "is not one of Vietnam's 34 provinces".to_string()))
        }),
        season: params.season.as_deref().and_then(|s| errors.check("season", fields::season(s))),
        created_since: since(&mut errors, "created_since", &params.created_since),
        updated_since: since(&mut errors, "updated_since", &params.updated_since),
        overdue_at: overdue.filter(|o| *o).map(|_| now.naive_utc()),
        has_open_case,
        recipient_org_id,
        dest_ward: params.destination_ward.as_deref().and_then(|w| errors.check("destination_ward", fields::text(w, 200))),
        candidate_number: params.candidate_number.as_deref().and_then(|c| errors.check("candidate_number", fields::candidate_number(c))),
    };
    if errors.is_empty() {
        Ok(filter)
    } else {
        Err(ApiError::Validation(errors.0))
    }
}

/// List the items you can see, newest first (or export them all as CSV).
///
/// Pages are stable under concurrent registrations: a cursor continues
/// exactly after the last item of the previous page. With `format=csv`
/// every matching item is streamed as `text/csv` (UTF-8 with BOM), in the
/// columns `POST /items/import` reads.
#[utoipa::path(
    tag = "items",
    params(ItemListParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of items (or text/csv with format=csv)", body = Page<ItemView>),
        (status = 422, description = "Invalid filter", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/items")]
pub async fn list_items(state: web::Data<AppState>, caller: Caller, query: web::Query<ItemListParams>) -> Result<HttpResponse, ApiError> {
    let params = query.into_inner();
    let page = PageParams { limit: params.limit.clone(), cursor: params.cursor.clone() };
    let limit = page.limit()?;
    let before_id = page.id_position(Listing::Items)?;
    let scope = scope_of(&caller);
    let now = state.clock.now();
    let csv = params.format.as_deref() == Some("csv");
    let (filter, page) = state
        .db(move |conn| {
            let filter = parse_filter(conn, &params, now)?;
            if csv {
                return Ok((filter, None));
            }
            let rows = store::items::list_visible(conn, &scope, &filter, before_id, limit + 1)?;
            let (rows, next_cursor) = take_page(rows, limit, Listing::Items, |item| item.id.to_string());
            Ok((filter, Some(Page { items: views(conn, rows)?, next_cursor })))
        })
        .await?;
    match page {
        Some(page) => Ok(HttpResponse::Ok().json(page)),
        None => Ok(csv_export(state, scope_of(&caller), filter)),
    }
}

/// Streams every matching item as CSV, a thousand rows per database read,
/// so an export of millions of rows never sits in memory.
fn csv_export(state: web::Data<AppState>, scope: ItemScope, filter: ItemFilter) -> HttpResponse {
    const CHUNK: i64 = 1000;
    let start = (state, scope, filter, None::<i64>, true);
    let body = futures_util::stream::unfold(Some(start), |step| async move {
        let (state, scope, filter, before, first) = step?;
        let (scope2, filter2) = (scope.clone(), filter.clone());
        let read = state
            .db(move |conn| {
                let rows = store::items::list_visible(conn, &scope2, &filter2, before, CHUNK)?;
                let last = rows.last().map(|r| r.id);
                let full = rows.len() as i64 == CHUNK;
                let lines: Vec<Vec<String>> = views(conn, rows)?.iter().map(csv_format::row).collect();
                Ok((csv_format::write_rows(&lines, first).map_err(ApiError::internal)?, last, full))
            })
            .await;
        match read {
            Ok((bytes, last, full)) => {
                let next = if full { Some((state, scope, filter, last, false)) } else { None };
                Some((Ok::<_, actix_web::Error>(web::Bytes::from(bytes)), next))
            }
            Err(e) => {
                tracing::error!(error = %e, "CSV export stopped");
                Some((Err(actix_web::error::ErrorInternalServerError("export failed")), None))
            }
        }
    });
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("content-disposition", "attachment; filename=\"items.csv\""))
        .streaming(body)
}

/// Register items from a spreadsheet (CSV, UTF-8 with or without BOM).
///
/// Columns (English or Vietnamese headers): `tracking_number` (số hiệu),
/// `season` (kỳ thi), `kind` (loại), `priority` (ưu tiên), `carrier_org`
/// (doanh nghiệp bưu chính), `sender_org` (đơn vị gửi; admins and carriers),
/// `recipient_organization` (đơn vị nhận; empty for a candidate),
/// `candidate_number` (số báo danh), `full_name` (họ và tên),
/// `date_of_birth` (ngày sinh, `YYYY-MM-DD` or `dd/mm/yyyy`), `phone`,
/// `email`, `province` (tỉnh), `ward` (phường/xã), `address_line` (địa chỉ),
/// `seal_number`, `must_arrive_by` (hạn phát), `reference` (ghi chú) — the
/// columns the CSV export writes. Rows are stored 500 at a time, each on
/// its own: a bad row is reported with its line and never stops the
/// others, and importing the same file again creates nothing twice.
#[utoipa::path(
    tag = "items",
    request_body(content = String, content_type = "text/csv", description = "The spreadsheet as CSV"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Counts, and a line for every row not created", body = import::ImportReport),
        (status = 411, description = "No Content-Length: the size must be known before the first row is read", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than `EXAMPOST_IMPORT_MAX_BYTES` (64 MiB by default)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not text/csv", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown or missing columns, or not UTF-8", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/items/import")]
pub async fn import_items(
    state: web::Data<AppState>,
    caller: Caller,
    req: actix_web::HttpRequest,
    mut payload: web::Payload,
) -> Result<web::Json<import::ImportReport>, ApiError> {
    use futures_util::StreamExt;
    caller.require(&[Role::Education, Role::Carrier, Role::Admin])?;
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !(content_type.starts_with("text/csv") || content_type.starts_with("application/csv")) {
        return Err(ApiError::UnsupportedMediaType("send the spreadsheet as Content-Type: text/csv".into()));
    }
    // Rows are committed 500 at a time as they arrive, so a file must be
    // judged by its declared size before the first row is read: cutting an
    // oversized upload half-way would leave half of it registered.
    let limit = state.import_max_bytes;
    let length = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .ok_or_else(|| ApiError::LengthRequired("send the spreadsheet with a Content-Length header".into()))?;
    if length > limit {
        return Err(ApiError::PayloadTooLarge(format!("the spreadsheet is {length} bytes; the limit is {limit} bytes (split the file)")));
    }
    let (sender, receiver) = tokio::sync::mpsc::channel::<web::Bytes>(16);
    let now = state.clock.now();
    let work = state.db(move |conn| import::import_csv(conn, &caller, import::ChannelReader::new(receiver), now, &mut |_| {}));
    let pump = async move {
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("the upload was interrupted: {e}")))?;
            if sender.send(chunk).await.is_err() {
                break;
            }
        }
        Ok::<(), ApiError>(())
    };
    let (report, pumped) = futures_util::join!(work, pump);
    pumped?;
    Ok(web::Json(report?))
}
