//! The read audit over HTTP: recording the reads handlers make, and
//! `GET /audit` for admins and overseers.

use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::auth::Caller;
use super::client_addr::client_addr;
use super::pagination::{take_page, Listing, Page, PageParams};
use super::problem::{ApiError, Problem};
use super::AppState;
use crate::app::audit::{self, AuditQuery, Reading};
use crate::domain::exposure::PersonalField;
use crate::domain::{ReadAction, Role};
use crate::store::audit::AuditEntry;
use crate::store::items::Item;

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(list_audit);
}

/// Query parameters a read's audit entry keeps: the filters, not the paging,
/// and never a candidate's number (the entry would hold the personal value
/// it records a search for).
fn recorded_query(req: &HttpRequest) -> Option<String> {
    let kept: Vec<(String, String)> = form_urlencoded::parse(req.query_string().as_bytes())
        .filter(|(name, _)| name != "cursor" && name != "limit")
        .map(|(name, value)| {
            let value = if name == "candidate_number" { "*".to_string() } else { value.into_owned() };
            (name.into_owned(), value)
        })
        .collect();
    (!kept.is_empty()).then(|| form_urlencoded::Serializer::new(String::new()).extend_pairs(kept).finish())
}

/// Records that `caller` read `items` through `req`: call it before
/// sending anything the read showed (an error means: do not send it).
pub(crate) fn record_read(state: &AppState, req: &HttpRequest, caller: &Caller, action: ReadAction, items: &[Item]) -> Result<(), ApiError> {
    let query = if action == ReadAction::View { None } else { recorded_query(req) };
    let reading = Reading { actor: caller, address: Some(client_addr(req).to_string()), action, query };
    Ok(state.reads.record(state.clock.as_ref(), &reading, items)?)
}

/// One read of personal data.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryView {
    pub at: DateTime<Utc>,
    /// The API client that read.
    pub client_id: String,
    /// The client's organization.
    pub organization_id: String,
    pub role: Role,
    /// The reader's address (the client behind trusted proxies).
    pub address: Option<String>,
    pub action: ReadAction,
    /// The items read, by number (views, and list pages of up to 100 items).
    pub tracking_numbers: Vec<String>,
    /// The list's or export's filters, as sent (a candidate number shows as `*`).
    pub query: Option<String>,
    pub item_count: i64,
    /// The personal fields the answer showed.
    pub fields: Vec<PersonalField>,
    /// The destination provinces of the items read.
    pub provinces: Vec<String>,
}

impl From<AuditEntry> for AuditEntryView {
    fn from(entry: AuditEntry) -> Self {
        let list = |text: &str| text.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect::<Vec<_>>();
        AuditEntryView {
            at: entry.at.and_utc(),
            client_id: entry.client_id,
            organization_id: entry.org_id,
            role: entry.role,
            address: entry.address,
            action: entry.action,
            tracking_numbers: entry.tracking_numbers.as_deref().map(list).unwrap_or_default(),
            query: entry.query,
            item_count: entry.item_count,
            fields: entry.fields.into_vec(),
            provinces: list(&entry.provinces),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct AuditParams {
    /// The first day, in Vietnam (`YYYY-MM-DD` or `dd/mm/yyyy`).
    pub from: Option<String>,
    /// The last day, in Vietnam.
    pub to: Option<String>,
    /// Reads by this API client.
    pub client_id: Option<String>,
    /// Reads by this organization's clients (its code).
    pub organization: Option<String>,
    /// `view`, `list` or `export`.
    pub action: Option<String>,
    /// Reads that named this item.
    pub tracking_number: Option<String>,
    /// `csv` for a spreadsheet of every matching entry (up to 100,000).
    pub format: Option<String>,
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

/// The most entries one CSV holds; narrow the period for more.
const CSV_MAX: i64 = 100_000;

/// Read the audit of staff reads of candidates' personal data, newest first.
///
/// Admins read every entry; an overseer reads the reads of its province's
/// candidates. Each entry says who read, when, from which address, which
/// items (or the query and the count) and which fields the answer showed.
/// With `format=csv`, every matching entry (up to 100,000) as a spreadsheet.
#[utoipa::path(
    tag = "audit",
    params(AuditParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of entries (or text/csv with format=csv)", body = Page<AuditEntryView>),
        (status = 403, description = "Neither an admin nor an overseer", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filter", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/audit")]
pub async fn list_audit(state: web::Data<AppState>, caller: Caller, params: web::Query<AuditParams>) -> Result<HttpResponse, ApiError> {
    let params = params.into_inner();
    let csv = match params.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(ApiError::field("format", "must be json or csv")),
    };
    let page = PageParams { limit: params.limit.clone(), cursor: params.cursor.clone() };
    let (limit, before_id) = if csv { (CSV_MAX, None) } else { (page.limit()?, page.id_position(Listing::Audit)?) };
    let query = AuditQuery {
        from: params.from,
        to: params.to,
        client_id: params.client_id,
        organization: params.organization,
        action: params.action,
        tracking_number: params.tracking_number,
    };
    // Every read answered before this request is in what it reads.
    state.reads.flush().await?;
    let rows = state.db(move |conn| Ok(audit::list(conn, &caller, &query, before_id, if csv { limit } else { limit + 1 })?)).await?;
    if csv {
        return csv_file(rows);
    }
    let (rows, next_cursor) = take_page(rows, limit, Listing::Audit, |entry| entry.id.to_string());
    Ok(HttpResponse::Ok().json(Page { items: rows.into_iter().map(AuditEntryView::from).collect::<Vec<_>>(), next_cursor }))
}

fn csv_file(rows: Vec<AuditEntry>) -> Result<HttpResponse, ApiError> {
    const HEADER: [&str; 11] =
        ["at", "client_id", "organization_id", "role", "address", "action", "tracking_numbers", "query", "item_count", "fields", "provinces"];
    let lines = rows.into_iter().map(AuditEntryView::from).map(|e| {
        let fields: Vec<&str> = e.fields.iter().map(|f| f.as_str()).collect();
        vec![
            e.at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            e.client_id,
            e.organization_id,
            e.role.to_string(),
            e.address.unwrap_or_default(),
            e.action.to_string(),
            e.tracking_numbers.join(" "),
            e.query.unwrap_or_default(),
            e.item_count.to_string(),
            fields.join(" "),
            e.provinces.join(" "),
        ]
    });
    let body = crate::csv_out::file(HEADER, lines).map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type(crate::csv_out::CONTENT_TYPE)
        .insert_header(("content-disposition", "attachment; filename=\"audit.csv\""))
        .body(body))
}
