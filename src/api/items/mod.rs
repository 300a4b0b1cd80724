//! The item registry: register (one or a batch), read, list.

mod csv_format;
mod dto;
pub mod import;
mod replacement;

pub use dto::*;

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use utoipa_actix_web::service_config::ServiceConfig;

use super::audit::record_read;
use super::auth::Caller;
use super::batch::{check_size, name_rejected_entries, parse_entries, sent_tracking_numbers, BatchResponse, EntryResult, EntryStatus};
use super::extract::ValidJson;
use super::pagination::{take_page, Listing, Page, PageParams};
use super::problem::{ApiError, Problem};
use super::AppState;
use crate::app::registration::{self, EntryOutcome, Registration};
use crate::app::Actor;
use crate::db::DbConn;
use crate::domain::exposure::{exposure, Exposure};
use crate::domain::ReadAction;
use crate::store::items::{Item, ItemFilter};
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

/// Renders items with their organizations' codes (one query for the page),
/// each with the personal fields its reader may see (`domain::exposure`).
pub(crate) fn views(conn: &mut DbConn, reader: &Caller, rows: Vec<Item>) -> Result<Vec<ItemView>, ApiError> {
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
    rows.into_iter()
        .map(|item| {
            let shown = exposure(reader.reader_of(&item));
            view(item, shown, &orgs, &numbers)
        })
        .collect()
}

/// Renders one item.
pub(crate) fn one_view(conn: &mut DbConn, reader: &Caller, item: Item) -> Result<ItemView, ApiError> {
    views(conn, reader, vec![item])?.pop().ok_or_else(|| ApiError::internal("one view per row"))
}

fn view(item: Item, shown: Exposure, orgs: &HashMap<String, Organization>, numbers: &HashMap<i64, String>) -> Result<ItemView, ApiError> {
    let code = |id: &str| orgs.get(id).map(|o| o.code.clone()).ok_or_else(|| ApiError::internal(format!("organization {id} missing")));
    let bad = |what: &str| ApiError::internal(format!("item {} has a bad stored {what}", item.public_id));
    let candidate = match (&item.candidate_number, &item.candidate_name, item.candidate_dob) {
        (Some(number), Some(name), Some(dob)) => Some(CandidateView {
            candidate_number: shown.candidate_number.then(|| number.clone()),
            full_name: shown.name.then(|| name.clone()),
            date_of_birth: shown.date_of_birth.then_some(dob),
            phone: item.candidate_phone.clone().filter(|_| shown.phone),
            email: item.candidate_email.clone().filter(|_| shown.email),
        }),
        _ => None,
    };
    // An institution's address is not personal; a candidate's is.
    let address_line = (item.recipient_org_id.is_some() || shown.address_line).then(|| item.dest_address.clone());
    let (recipient, candidate) = match &item.recipient_org_id {
        Some(org_id) => (
            RecipientView::Organization { organization: code(org_id)?, attention: item.recipient_attention.clone() },
            candidate,
        ),
        // A candidate whose season was purged (`app::retention`) is known by nothing any more.
        None if item.content_hash == crate::store::retention::PURGED => (RecipientView::Candidate(candidate.unwrap_or_default()), None),
        None => (RecipientView::Candidate(candidate.ok_or_else(|| bad("candidate"))?), None),
    };
    Ok(ItemView {
        kind: item.kind,
        priority: item.priority,
        status: item.status,
        sender_org: code(&item.sender_org_id)?,
        carrier_org: code(&item.carrier_org_id)?,
        recipient,
        candidate,
        destination: DestinationView { province: item.dest_province, ward: item.dest_ward, address_line },
        id: item.public_id,
        tracking_number: item.tracking_number,
        season: item.season,
        seal_number: item.seal_number,
        confidential: item.confidential,
        sent_by_candidate: item.sent_by_candidate,
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
    let clock = state.clock.clone();
    let (created, view) = state
        .db(move |conn| {
            let (created, item) = match registration::register(conn, &*clock, &caller, request.into())? {
                Registration::Created(item) => (true, item),
                Registration::Replayed(item) => (false, item),
            };
            Ok((created, one_view(conn, &caller, item)?))
        })
        .await?;
    let location = format!("/api/v1/items/{}?season={}", view.tracking_number, view.season);
    let mut response = if created { HttpResponse::Created() } else { HttpResponse::Ok() };
    Ok(response.insert_header((header::LOCATION, location)).json(view))
}

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
    registration::authorize(&caller)?;
    check_size(batch.items.len(), "items")?;
    let clock = state.clock.clone();
    let sent = sent_tracking_numbers(&batch.items);
    let mut results = state
        .db(move |conn| {
            let parsed = parse_entries::<NewItemRequest>(batch.items);
            let mut refused = Vec::with_capacity(parsed.len());
            let mut commands = Vec::with_capacity(parsed.len());
            for entry in parsed {
                match entry {
                    Ok(request) => {
                        commands.push(request.into());
                        refused.push(None);
                    }
                    Err(problem) => refused.push(Some(problem)),
                }
            }
            let mut outcomes = registration::register_batch(conn, &*clock, &caller, commands)?.into_iter();
            let results = refused
                .into_iter()
                .enumerate()
                .map(|(index, problem)| match problem {
                    Some(problem) => EntryResult::rejected(index, None, problem),
                    None => entry_result(index, outcomes.next().expect("one outcome per command")),
                })
                .collect::<Vec<_>>();
            Ok(results)
        })
        .await?;
    name_rejected_entries(&mut results, &sent);
    Ok(web::Json(BatchResponse::new(results)))
}

/// The result of one entry as the batch answer shows it.
fn entry_result(index: usize, outcome: EntryOutcome) -> EntryResult {
    let stored = |status, item: Item| EntryResult { index, status, id: Some(item.public_id), tracking_number: Some(item.tracking_number), error: None };
    match outcome {
        EntryOutcome::Created(item) => stored(EntryStatus::Created, item),
        EntryOutcome::Duplicate(item) => stored(EntryStatus::Duplicate, item),
        EntryOutcome::Rejected { tracking_number, error } => EntryResult::rejected(index, tracking_number, ApiError::from(error).problem()),
    }
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
    req: HttpRequest,
    caller: Caller,
    tracking_number: web::Path<String>,
    query: web::Query<SeasonParam>,
) -> Result<web::Json<ItemDetail>, ApiError> {
    let (tracking_number, season) = (tracking_number.into_inner(), query.into_inner().season);
    let reader = caller.clone();
    let (item, view) = state
        .db(move |conn| {
            let item = registration::find_item(conn, &reader, &tracking_number, season.as_deref())?;
            let timeline = super::timeline::timeline(conn, &item)?;
            Ok((item.clone(), ItemDetail { item: one_view(conn, &reader, item)?, timeline }))
        })
        .await?;
    record_read(&state, &req, &caller, ReadAction::View, &[item])?;
    Ok(web::Json(view))
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
pub async fn list_items(state: web::Data<AppState>, req: HttpRequest, caller: Caller, query: web::Query<ItemListParams>) -> Result<HttpResponse, ApiError> {
    let params = query.into_inner();
    let page = PageParams { limit: params.limit.clone(), cursor: params.cursor.clone() };
    let limit = page.limit()?;
    let before_id = page.id_position(Listing::Items)?;
    let clock = state.clock.clone();
    let csv = matches!(params.format.as_deref(), Some("csv" | "xlsx"));
    let xlsx = params.format.as_deref() == Some("xlsx");
    let lang = match params.lang.as_deref() {
        None | Some("en") => crate::notify::templates::Lang::En,
        Some("vi") => crate::notify::templates::Lang::Vi,
        Some(_) => return Err(ApiError::field("lang", "must be en or vi")),
    };
    let actor = caller.clone();
    let (filter, page) = state
        .db_read(move |conn| {
            let filter = registration::item_filter(conn, clock.now(), &params.filters())?;
            if csv {
                return Ok((filter, None));
            }
            let rows = registration::list_items(conn, &actor, &filter, before_id, limit + 1)?;
            let (rows, next_cursor) = take_page(rows, limit, Listing::Items, |item| item.id.to_string());
            Ok((filter, Some((rows.clone(), Page { items: views(conn, &actor, rows)?, next_cursor }))))
        })
        .await?;
    match page {
        Some((rows, page)) => {
            record_read(&state, &req, &caller, ReadAction::List, &rows)?;
            Ok(HttpResponse::Ok().json(page))
        }
        None if xlsx => xlsx_export(state, req, caller, filter, lang).await,
        None => Ok(csv_export(state, req, caller, filter, lang)),
    }
}

/// The most rows an `.xlsx` export holds (a workbook is built in memory;
/// CSV streams any number).
const XLSX_MAX_ROWS: usize = 100_000;

/// Every matching item as an `.xlsx` workbook: every cell text, so that
/// phone numbers keep their leading zero and numbers their digits.
async fn xlsx_export(state: web::Data<AppState>, req: HttpRequest, actor: Actor, filter: ItemFilter, lang: crate::notify::templates::Lang) -> Result<HttpResponse, ApiError> {
    const CHUNK: i64 = 1000;
    let mut lines: Vec<Vec<String>> = Vec::new();
    let mut before = None;
    loop {
        let (reader, filter2) = (actor.clone(), filter.clone());
        let (rows, views) = state
            .db(move |conn| {
                let rows = registration::export_items(conn, &reader, &filter2, before, CHUNK)?;
                let views = views(conn, &reader, rows.clone())?;
                Ok((rows, views))
            })
            .await?;
        record_read(&state, &req, &actor, ReadAction::Export, &rows)?;
        lines.extend(views.iter().map(|view| csv_format::row(view, lang)));
        if lines.len() > XLSX_MAX_ROWS {
            return Err(ApiError::field("format", format!("an .xlsx export holds at most {XLSX_MAX_ROWS} rows; narrow the filters or use format=csv")));
        }
        if (rows.len() as i64) < CHUNK {
            break;
        }
        before = rows.last().map(|r| r.id);
    }
    let workbook = web::block(move || csv_format::workbook(&lines, lang)).await.map_err(ApiError::internal)?.map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().content_type(XLSX).insert_header(("content-disposition", "attachment; filename=\"items.xlsx\"")).body(workbook))
}

/// Streams every matching item as CSV, a thousand rows per database read,
/// so an export of millions of rows never sits in memory. Each thousand is
/// on the read audit before it is sent.
fn csv_export(state: web::Data<AppState>, req: HttpRequest, actor: Actor, filter: ItemFilter, lang: crate::notify::templates::Lang) -> HttpResponse {
    /// Where the export stands between two reads.
    struct Step {
        state: web::Data<AppState>,
        req: HttpRequest,
        actor: Actor,
        filter: ItemFilter,
        /// The last item written: the next read continues after it.
        before: Option<i64>,
        first: bool,
    }
    const CHUNK: i64 = 1000;
    let start = Step { state, req, actor, filter, before: None, first: true };
    let body = futures_util::stream::unfold(Some(start), move |step| async move {
        let Step { state, req, actor, filter, before, first } = step?;
        let (actor2, filter2) = (actor.clone(), filter.clone());
        let read = state
            .db(move |conn| {
                let rows = registration::export_items(conn, &actor2, &filter2, before, CHUNK)?;
                let last = rows.last().map(|r| r.id);
                let full = rows.len() as i64 == CHUNK;
                let lines: Vec<Vec<String>> = views(conn, &actor2, rows.clone())?.iter().map(|view| csv_format::row(view, lang)).collect();
                Ok((csv_format::write_rows(&lines, first, lang).map_err(ApiError::internal)?, rows, last, full))
            })
            .await;
        let read = match read {
            Ok((bytes, rows, last, full)) => record_read(&state, &req, &actor, ReadAction::Export, &rows).map(|()| (bytes, last, full)),
            Err(e) => Err(e),
        };
        match read {
            Ok((bytes, last, full)) => {
                let next = full.then_some(Step { state, req, actor, filter, before: last, first: false });
                Some((Ok::<_, actix_web::Error>(web::Bytes::from(bytes)), next))
            }
            Err(e) => {
                tracing::error!(error = %e, "CSV export stopped");
                Some((Err(actix_web::error::ErrorInternalServerError("export failed")), None))
            }
        }
    });
    HttpResponse::Ok()
        .content_type(crate::csv_out::CONTENT_TYPE)
        .insert_header(("content-disposition", "attachment; filename=\"items.csv\""))
        .streaming(body)
}

/// The content types spreadsheet programs and browsers send a CSV file with.
const SPREADSHEET_TYPES: &[&str] = &[
    "text/csv",
    "application/csv",
    "text/comma-separated-values",
    "application/vnd.ms-excel",
    "text/plain",
    "text/tab-separated-values",
    XLSX,
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/octet-stream",
    "multipart/form-data",
];

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Register items from a spreadsheet (CSV), as clerks have them.
///
/// Encodings: UTF-8 with or without BOM, UTF-16 (Excel's "Unicode text")
/// and Windows-1258; cells separated by commas, semicolons or tabs (told
/// from the header row). Headers in English (the export's) or Vietnamese,
/// with or without diacritics: `tracking_number` (số hiệu, mã bưu gửi),
/// `season` (kỳ thi), `kind` (loại; a code or its Vietnamese name, e.g.
/// "Giấy báo dự thi"), `priority` (ưu tiên, độ khẩn: hỏa tốc, khẩn,
/// thường), `carrier_org`, `sender_org`, `recipient_organization` (đơn vị
/// nhận) and `attention`, `candidate_number` (số báo danh, SBD),
/// `full_name` (họ tên thí sinh), `date_of_birth` (ngày tháng năm sinh,
/// `dd/mm/yyyy` or `YYYY-MM-DD`), `phone`, `email`, `province` (tỉnh, with
/// or without "Tỉnh"), `ward` (phường/xã), `address_line` (địa chỉ),
/// `seal_number`, `must_arrive_by` (hạn phát), `reference` (ghi chú).
/// Other columns (STT and the like) are ignored and listed as ignored.
/// Rows are stored 500 at a time, each on its own: a bad row is reported
/// with its line and tracking number and never stops the others; a number
/// repeated in the file names its first line; importing the same file
/// again creates nothing twice.
#[utoipa::path(
    tag = "items",
    params(import::ImportParams),
    request_body(content = String, content_type = "text/csv", description = "The spreadsheet: CSV in any of the encodings above, or an .xlsx/.xls workbook (an .ods is refused: save it as .xlsx)"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Counts, and a line for every row not created (with `rejected=csv`: the refused rows as a CSV to fix and import again, the counts in `X-Import-*` headers)", body = import::ImportReport),
        (status = 411, description = "No Content-Length: the size must be known before the first row is read", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than `EXAMPOST_IMPORT_MAX_BYTES` (64 MiB by default)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not a CSV content type", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing columns, or no readable header", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/items/import")]
pub async fn import_items(
    state: web::Data<AppState>,
    caller: Caller,
    req: actix_web::HttpRequest,
    query: web::Query<import::ImportParams>,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let rejected_sheet = match query.rejected.as_deref() {
        None => false,
        Some("csv") => true,
        Some(_) => return Err(ApiError::field("rejected", "must be csv")),
    };
    use futures_util::StreamExt;
    registration::authorize(&caller)?;
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !SPREADSHEET_TYPES.iter().any(|t| content_type.to_ascii_lowercase().starts_with(t)) {
        return Err(ApiError::UnsupportedMediaType(format!("send the spreadsheet as CSV, with Content-Type one of {}", SPREADSHEET_TYPES.join(", "))));
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
    let clock = state.clock.clone();
    let work = state.db(move |conn| {
        Ok(registration::import(conn, &*clock, &caller, import::ChannelReader::new(receiver), &mut |_| {})?)
    });
    let form = content_type.to_ascii_lowercase().starts_with("multipart/form-data").then(|| req.headers().clone());
    let pump = async move {
        let interrupted = |e: &dyn std::fmt::Display| ApiError::BadRequest(format!("the upload was interrupted: {e}"));
        let Some(headers) = form else {
            while let Some(chunk) = payload.next().await {
                if sender.send(chunk.map_err(|e| interrupted(&e))?).await.is_err() {
                    break;
                }
            }
            return Ok::<(), ApiError>(());
        };
        // A browser's form: the first field that carries a file is the spreadsheet.
        let mut form = actix_multipart::Multipart::new(&headers, payload);
        while let Some(field) = form.next().await {
            let mut field = field.map_err(|e| interrupted(&e))?;
            let is_file = field.content_disposition().is_some_and(|d| d.get_filename().is_some());
            while let Some(chunk) = field.next().await {
                let chunk = chunk.map_err(|e| interrupted(&e))?;
                if is_file && sender.send(chunk).await.is_err() {
                    break;
                }
            }
            if is_file {
                break;
            }
        }
        Ok(())
    };
    let (report, pumped) = futures_util::join!(work, pump);
    pumped?;
    let report = report?;
    if rejected_sheet {
        return import::rejected_sheet(&report);
    }
    Ok(HttpResponse::Ok().json(import::ImportReport::from(report)))
}
