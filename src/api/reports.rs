//! Reports: the summary for departments, carriers and overseers, and the
//! steering committee's daily report as JSON, CSV or a printable page.

use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::auth::Caller;
use super::problem::{ApiError, Problem};
use super::AppState;
use crate::app::reports::{self as service, ReportQuery};
use crate::csv_out;
use crate::domain::cases::{CaseKind, CaseState, Severity};
use crate::domain::report::Totals;

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(summary_report).service(steering_report).service(send_steering_report);
}

/// What a report covers.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    /// Season, e.g. `2026-THPT`; default the current one (the open season that closes first).
    pub season: Option<String>,
    /// First day of the period (`YYYY-MM-DD`, Vietnam), by registration.
    pub from: Option<String>,
    /// Last day of the period (`YYYY-MM-DD`, Vietnam), included.
    pub to: Option<String>,
    /// Items leaving from or going to this province (overseers: their own, the default).
    pub province: Option<String>,
    /// Sender organization code.
    pub sender: Option<String>,
    /// Carrier organization code.
    pub carrier: Option<String>,
    /// Steering report only: `json` (default), `csv` or `html`.
    #[param(pattern = "^(json|csv|html)$")]
    pub format: Option<String>,
}

/// Open cases of one kind at one level.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CaseCount {
    pub kind: CaseKind,
    pub level: i32,
    pub count: u64,
}

/// One active case, as a report lists it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CaseLine {
    pub case_id: String,
    pub tracking_number: String,
    pub kind: CaseKind,
    pub severity: Severity,
    pub level: i32,
    pub state: CaseState,
    /// Owner organization code.
    pub owner_org: String,
    pub opened_at: chrono::DateTime<chrono::Utc>,
    pub response_due_at: chrono::DateTime<chrono::Utc>,
}

/// The summary of a season.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SummaryReport {
    pub season: String,
    pub province: Option<String>,
    pub generated_at: chrono::DateTime<chrono::Utc>,
    pub totals: Totals,
    pub open_cases: Vec<CaseCount>,
    /// The ten oldest active cases.
    pub oldest_open_cases: Vec<CaseLine>,
}

/// A contact point in the steering report's table.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ContactLine {
    pub organization: String,
    pub name: String,
    pub position: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub case_kinds: String,
    pub levels: String,
    /// The plan's task, the unit's part in it (`lead`, `coordinating`) and an exam site.
    pub task: Option<String>,
    pub plan_role: Option<crate::domain::PlanRole>,
    pub exam_site: Option<String>,
}

/// The steering committee's daily report.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SteeringReport {
    #[serde(flatten)]
    pub summary: SummaryReport,
    /// Every active critical case (tampering, loss, not accepted, critical severity) at any level, oldest first.
    pub critical_cases: Vec<CaseLine>,
    /// Every active case at level 2 or 3, oldest first.
    pub escalated_cases: Vec<CaseLine>,
    pub contacts: Vec<ContactLine>,
    /// Area incidents (floods, storms...) and how many items each delays.
    pub incidents: Vec<super::incidents::IncidentView>,
    /// The event chain's signed daily roots for the week up to the report's
    /// last day: keep them to detect a later rewrite of scan history.
    pub chain_roots: Vec<ChainRootLine>,
}

/// A day's signed root of the event chain, as the report publishes it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChainRootLine {
    pub day: chrono::NaiveDate,
    /// Items whose chains grew that day.
    pub leaves: i64,
    /// The Merkle root, hex.
    pub root: String,
    /// Ed25519 over `exampost-chain-root/v1\n{day}\n{leaves}\n{root}`, base64.
    pub signature: String,
    /// The service's key, base64.
    pub public_key: String,
}

impl From<ReportParams> for ReportQuery {
    fn from(params: ReportParams) -> Self {
        ReportQuery {
            season: params.season,
            from: params.from,
            to: params.to,
            province: params.province,
            sender: params.sender,
            carrier: params.carrier,
            format: params.format,
        }
    }
}

impl From<service::CaseCount> for CaseCount {
    fn from(c: service::CaseCount) -> Self {
        CaseCount { kind: c.kind, level: c.level, count: c.count }
    }
}

impl From<service::CaseLine> for CaseLine {
    fn from(c: service::CaseLine) -> Self {
        CaseLine {
            case_id: c.case_id,
            tracking_number: c.tracking_number,
            kind: c.kind,
            severity: c.severity,
            level: c.level,
            state: c.state,
            owner_org: c.owner_org,
            opened_at: c.opened_at,
            response_due_at: c.response_due_at,
        }
    }
}

impl From<service::Summary> for SummaryReport {
    fn from(s: service::Summary) -> Self {
        SummaryReport {
            season: s.season,
            province: s.province,
            generated_at: s.generated_at,
            totals: s.totals,
            open_cases: s.open_cases.into_iter().map(CaseCount::from).collect(),
            oldest_open_cases: s.oldest_open_cases.into_iter().map(CaseLine::from).collect(),
        }
    }
}

impl From<service::ContactLine> for ContactLine {
    fn from(c: service::ContactLine) -> Self {
        ContactLine {
            organization: c.organization,
            name: c.name,
            position: c.position,
            phone: c.phone,
            email: c.email,
            case_kinds: c.case_kinds,
            levels: c.levels,
            task: c.task,
            plan_role: c.plan_role,
            exam_site: c.exam_site,
        }
    }
}

impl From<service::Steering> for SteeringReport {
    fn from(s: service::Steering) -> Self {
        SteeringReport {
            summary: s.summary.into(),
            critical_cases: s.critical_cases.into_iter().map(CaseLine::from).collect(),
            escalated_cases: s.escalated_cases.into_iter().map(CaseLine::from).collect(),
            contacts: s.contacts.into_iter().map(ContactLine::from).collect(),
            incidents: s.incidents.into_iter().map(super::incidents::view).collect(),
            chain_roots: s
                .chain_roots
                .into_iter()
                .map(|r| {
                    let b64 = |bytes: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes);
                    ChainRootLine { day: r.day, leaves: r.leaves, root: hex::encode(&r.root), signature: b64(&r.signature), public_key: b64(&r.public_key) }
                })
                .collect(),
        }
    }
}

/// Items by kind and status, on-time rate and median delivery time by
/// priority and by carrier, overdue counts, open cases by kind and level,
/// and the oldest open cases, for the items you can see.
#[utoipa::path(
    tag = "reports",
    params(ReportParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = SummaryReport),
        (status = 403, description = "An overseer asking for another province", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/summary")]
pub async fn summary_report(state: web::Data<AppState>, caller: Caller, query: web::Query<ReportParams>) -> Result<web::Json<SummaryReport>, ApiError> {
    let clock = state.clock.clone();
    let query = ReportQuery::from(query.into_inner());
    let summary = state.db_read(move |conn| Ok(service::summary(conn, &*clock, &caller, &query)?)).await?;
    Ok(web::Json(summary.into()))
}

/// The steering committee's daily report: the summary (items by kind and
/// status, on-time rate and median delivery time by priority and by
/// carrier, by day), every critical case at any level, every case at level
/// 2 or 3, the area incidents and the contact table. `season` defaults to
/// the current one; `from`/`to` narrow it to items registered in a period.
/// `format=csv` gives every section as CSV (UTF-8 with BOM); `format=html` a
/// printable page with the formal header of a provincial document.
#[utoipa::path(
    tag = "reports",
    params(ReportParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = SteeringReport, description = "JSON; or text/csv, or text/html, by `format`"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/steering")]
pub async fn steering_report(state: web::Data<AppState>, caller: Caller, query: web::Query<ReportParams>) -> Result<HttpResponse, ApiError> {
    let clock = state.clock.clone();
    let query = ReportQuery::from(query.into_inner());
    // Checked by the service with the other fields.
    let format = query.format.clone().unwrap_or_else(|| "json".into());
    let steering = state.db_read(move |conn| Ok(service::steering(conn, &*clock, &caller, &query)?)).await?;
    Ok(match format.as_str() {
        "csv" => HttpResponse::Ok()
            .content_type(csv_out::CONTENT_TYPE)
            .insert_header(("content-disposition", format!("attachment; filename=\"steering-{}.csv\"", steering.summary.season)))
            .body(service::printable::csv(&steering).map_err(ApiError::internal)?),
        "html" => HttpResponse::Ok().content_type("text/html; charset=utf-8").body(service::printable::html(&steering)),
        _ => HttpResponse::Ok().json(SteeringReport::from(steering)),
    })
}

/// How many reports were sent.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReportsSent {
    pub sent: usize,
}

/// Send the steering report now (ad hoc) to the subscribers of your province
/// (contacts with `daily_report`; admins: all), as the printable page by e-mail.
///
/// The steering committee, the province's Department of Education or an
/// admin. The daily report still goes out at its time.
#[utoipa::path(
    tag = "reports",
    security(("bearer" = [])),
    responses(
        (status = 200, body = ReportsSent),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No season is open", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/reports/steering/send")]
pub async fn send_steering_report(state: web::Data<AppState>, caller: Caller) -> Result<web::Json<ReportsSent>, ApiError> {
    let clock = state.clock.clone();
    let sent = state.db(move |conn| Ok(service::scheduled::send_now(conn, clock.as_ref(), &caller)?)).await?;
    Ok(web::Json(ReportsSent { sent }))
}
