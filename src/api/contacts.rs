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
use crate::domain::cases::{CaseKind, TOP_LEVEL};
use crate::domain::{fields, FieldErrors, Role};
use crate::store::contacts::ContactPoint;
use crate::store::{self, now_utc};

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
}

fn contact_view(c: ContactPoint, org_code: &str) -> ContactView {
    ContactView {
        id: c.id,
        organization: org_code.to_string(),
        name: c.name,
        position: c.position,
        phone: c.phone,
        email: c.email,
        case_kinds: c.case_kinds.split(',').filter_map(CaseKind::parse).collect(),
        levels: c.levels.split(',').filter_map(|l| l.parse().ok()).collect(),
        lang: c.lang,
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
    let contacts = state
        .db(move |conn| {
            let org = match code {
                Some(code) => {
                    let code = code.trim().to_uppercase();
                    store::organizations::find_by_code(conn, &code)?.ok_or_else(|| ApiError::field("organization", format!("no organization with code {code}")))?
                }
                None => store::organizations::find(conn, &caller.org_id)?.ok_or_else(|| ApiError::Unauthorized("your organization no longer exists".into()))?,
            };
            Ok(store::contacts::for_org(conn, &org.id)?.into_iter().map(|c| contact_view(c, &org.code)).collect())
        })
        .await?;
    Ok(web::Json(contacts))
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
    let mut errors = FieldErrors::default();
    let name = errors.check("name", fields::text(&request.name, 200));
    let position = errors.check("position", fields::optional_text(request.position.as_deref(), 200));
    let phone = errors.check("phone", request.phone.as_deref().filter(|p| !p.trim().is_empty()).map(fields::phone).transpose());
    let email = errors.check("email", request.email.as_deref().filter(|e| !e.trim().is_empty()).map(fields::email).transpose());
    if matches!((&phone, &email), (Some(None), Some(None))) {
        errors.push("phone", "a contact needs a phone number or an e-mail address");
    }
    if let Some(bad) = request.levels.iter().find(|l| !(1..=TOP_LEVEL).contains(l)) {
        errors.push("levels", format!("{bad} is not a level; levels are 1, 2 and 3"));
    }
    let lang = request.lang.clone().unwrap_or_else(|| "vi".into());
    if lang != "vi" && lang != "en" {
        errors.push("lang", "must be vi or en");
    }
    if request.organization.is_some() && caller.role != Role::Admin {
        errors.push("organization", "only admins add contacts to another organization");
    }
    let (Some(name), Some(position), Some(phone), Some(email), true) = (name, position, phone, email, errors.is_empty()) else {
        return Err(ApiError::Validation(errors.0));
    };
    let kinds: Vec<&str> = request.case_kinds.iter().map(|k| k.as_str()).collect();
    let levels: Vec<String> = request.levels.iter().map(|l| l.to_string()).collect();
    let target = request.organization.clone();
    let view = state
        .db(move |conn| {
            let org = match target {
                Some(code) => {
                    let code = code.trim().to_uppercase();
                    store::organizations::find_by_code(conn, &code)?.ok_or_else(|| ApiError::field("organization", format!("no organization with code {code}")))?
                }
                None => store::organizations::find(conn, &caller.org_id)?.ok_or_else(|| ApiError::Unauthorized("your organization no longer exists".into()))?,
            };
            let contact = ContactPoint {
                id: uuid::Uuid::now_v7().to_string(),
                organization_id: org.id.clone(),
                name,
                position,
                phone,
                email,
                case_kinds: kinds.join(","),
                levels: levels.join(","),
                lang,
                created_at: now_utc(),
            };
            store::contacts::create(conn, &contact)?;
            Ok(contact_view(contact, &org.code))
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
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
    state
        .db(move |conn| {
            let contact = store::contacts::find(conn, &id)?.filter(|c| caller.role == Role::Admin || c.organization_id == caller.org_id);
            let contact = contact.ok_or_else(|| ApiError::NotFound(format!("no contact {id} of your organization")))?;
            store::contacts::delete(conn, &contact.id)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
