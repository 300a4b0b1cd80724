//! Contact points: who answers for which cases, at which level, and how to
//! reach them (the task table at the end of every provincial plan).

use actix_web::{delete, get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::auth::Caller;
use super::extract::ValidJson;
use super::problem::{ApiError, Problem};
use super::AppState;
use crate::app::administration::{self, AddContact, OrgContact};
use crate::domain::cases::CaseKind;
use crate::domain::PlanRole;

pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(list_contacts).service(create_contact).service(delete_contact);
}

/// A contact point to add to your organization.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Nguyễn Văn Hùng", "position": "Trưởng phòng Khai thác", "phone": "0210 3846 123",
    "email": "hung.nv@vnpost.vn", "case_kinds": ["overdue", "suspected_loss", "lost"], "levels": [1, 2], "lang": "vi"}))]
pub struct NewContactRequest {
    pub name: String,
    pub position: Option<String>,
    /// At least one of phone and email.
    pub phone: Option<String>,
    pub email: Option<String>,
    /// Case kinds this contact answers for; empty or absent: all.
    #[serde(default)]
    pub case_kinds: Vec<CaseKind>,
    /// Levels (1-3) this contact answers for; empty or absent: all.
    #[serde(default)]
    pub levels: Vec<i32>,
    /// Language of the e-mails: `vi` (default) or `en`.
    #[serde(default)]
    pub lang: Option<String>,
    /// Minutes between digests: non-critical case news (new, risen, settled)
    /// then come as one mail per period. 0 or absent: every news at once.
    /// Critical news (tampering, a loss, level 3, a direction) is always sent at once.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1440)]
    pub digest_minutes: Option<i32>,
    /// The provincial plan's task this contact answers for, e.g. "Vận chuyển, bảo quản đề thi".
    #[serde(default)]
    pub task: Option<String>,
    /// Whether the unit leads the task (`lead`, chủ trì) or coordinates (`coordinating`, phối hợp).
    #[serde(default)]
    pub plan_role: Option<PlanRole>,
    /// The exam site the contact is posted at ("Điểm thi/Địa điểm"), if any.
    #[serde(default)]
    pub exam_site: Option<String>,
    /// Send this contact the steering report every morning (at `EXAMPOST_REPORT_TIME`, 07:00 Vietnam by default).
    #[serde(default)]
    pub daily_report: bool,
    /// Show this contact to candidates on the lookup page ("what to do now"):
    /// meant for a hotline or help desk, not a person's own phone. A public
    /// contact takes no case mail.
    #[serde(default)]
    pub public: bool,
    /// Admins may add contacts to another organization (by code).
    #[serde(default)]
    pub organization: Option<String>,
}

/// A contact point.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ContactView {
    pub id: String,
    /// Organization code.
    pub organization: String,
    pub name: String,
    pub position: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub case_kinds: Vec<CaseKind>,
    pub levels: Vec<i32>,
    pub lang: String,
    /// 0: at once; otherwise the digest period in minutes.
    pub digest_minutes: i32,
    pub task: Option<String>,
    pub plan_role: Option<PlanRole>,
    pub exam_site: Option<String>,
    pub daily_report: bool,
    pub public: bool,
}

impl From<NewContactRequest> for AddContact {
    fn from(r: NewContactRequest) -> Self {
        AddContact {
            name: r.name,
            position: r.position,
            phone: r.phone,
            email: r.email,
            case_kinds: r.case_kinds,
            levels: r.levels,
            lang: r.lang,
            digest_minutes: r.digest_minutes,
            task: r.task,
            plan_role: r.plan_role,
            exam_site: r.exam_site,
            daily_report: r.daily_report,
            public: r.public,
            organization: r.organization,
        }
    }
}

fn contact_view(OrgContact { contact: c, organization_code }: OrgContact) -> ContactView {
    ContactView {
        id: c.id,
        organization: organization_code,
        name: c.name,
        position: c.position,
        phone: c.phone,
        email: c.email,
        case_kinds: c.case_kinds.into_vec(),
        levels: c.levels.into_vec(),
        lang: c.lang,
        digest_minutes: c.digest_minutes,
        task: c.task,
        plan_role: c.plan_role,
        exam_site: c.exam_site,
        daily_report: c.daily_report,
        public: c.public,
    }
}

/// Which organization's contacts.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ContactQuery {
    /// Organization code (default: your own). Any client may read any
    /// organization's contact table: it is how they reach each other.
    pub organization: Option<String>,
}

/// List an organization's contact points.
#[utoipa::path(
    tag = "contacts",
    params(ContactQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<ContactView>), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[get("/contacts")]
pub async fn list_contacts(state: web::Data<AppState>, caller: Caller, query: web::Query<ContactQuery>) -> Result<web::Json<Vec<ContactView>>, ApiError> {
    let code = query.into_inner().organization;
    let contacts = state.db(move |conn| Ok(administration::list_contacts(conn, &caller, code.as_deref())?)).await?;
    Ok(web::Json(contacts.into_iter().map(contact_view).collect()))
}

/// Add a contact point to your organization (admins: to any).
#[utoipa::path(
    tag = "contacts",
    request_body = NewContactRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, body = ContactView),
        (status = 422, description = "No way to reach the contact, or invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/contacts")]
pub async fn create_contact(state: web::Data<AppState>, caller: Caller, ValidJson(request): ValidJson<NewContactRequest>) -> Result<HttpResponse, ApiError> {
    let clock = state.clock.clone();
    let command = AddContact::from(request);
    let added = state.db(move |conn| Ok(administration::add_contact(conn, &*clock, &caller, command)?)).await?;
    Ok(HttpResponse::Created().json(contact_view(added)))
}

/// Remove one of your organization's contact points.
#[utoipa::path(
    tag = "contacts",
    params(("id" = String, Path, description = "Contact id")),
    security(("bearer" = [])),
    responses((status = 204, description = "Removed"), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[delete("/contacts/{id}")]
pub async fn delete_contact(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    state.db(move |conn| Ok(administration::delete_contact(conn, &caller, &id)?)).await?;
    Ok(HttpResponse::NoContent().finish())
}
