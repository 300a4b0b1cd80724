//! Makes the framework's own errors speak problem+json: body parsing, query
//! strings, unknown routes and wrong methods, and (as a last net) any other
//! error response that is not a problem document yet.

use actix_router::ResourceDef;
use actix_web::body::{to_bytes, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::error::{JsonPayloadError, QueryPayloadError};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{web, HttpRequest, HttpResponse};

use super::problem::{ApiError, Problem, PROBLEM_JSON};

/// Largest JSON body accepted: a full batch of 1000 items with room to spare.
pub const JSON_LIMIT: usize = 4 * 1024 * 1024;

pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default().limit(JSON_LIMIT).error_handler(|err, _req| {
        let api_error = match &err {
            JsonPayloadError::ContentType => {
                ApiError::UnsupportedMediaType("send the body as JSON with Content-Type: application/json".into())
            }
            JsonPayloadError::Overflow { limit } | JsonPayloadError::OverflowKnownLength { limit, .. } => {
                ApiError::PayloadTooLarge(format!("the body is larger than the limit of {limit} bytes"))
            }
            JsonPayloadError::Deserialize(e) => ApiError::BadRequest(format!("the body is not valid JSON: {e}")),
            other => ApiError::BadRequest(format!("the body could not be read: {other}")),
        };
        api_error.into()
    })
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req| {
        let detail = match &err {
            QueryPayloadError::Deserialize(e) => format!("the query string is invalid: {e}"),
            other => format!("the query string is invalid: {other}"),
        };
        ApiError::BadRequest(detail).into()
    })
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, _req| ApiError::BadRequest(format!("the path is invalid: {err}")).into())
}

/// The routes the API serves, taken from its OpenAPI document, so that a
/// known path with the wrong method is told 405 and which methods it takes.
pub struct KnownRoutes(Vec<(ResourceDef, Vec<Method>)>);

impl KnownRoutes {
    pub fn from_openapi(api: &utoipa::openapi::OpenApi) -> Self {
        let routes = api
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    (Method::GET, item.get.is_some()),
                    (Method::POST, item.post.is_some()),
                    (Method::PUT, item.put.is_some()),
                    (Method::PATCH, item.patch.is_some()),
                    (Method::DELETE, item.delete.is_some()),
                ]
                .into_iter()
                .filter_map(|(m, present)| present.then_some(m))
                .collect();
                (ResourceDef::new(path.as_str()), methods)
            })
            .collect();
        KnownRoutes(routes)
    }

    fn methods_for(&self, path: &str) -> Option<Vec<Method>> {
        let matching: Vec<&(ResourceDef, Vec<Method>)> = self.0.iter().filter(|(def, _)| def.is_match(path)).collect();
        // A fixed path (`/items/batch`) is its own resource, not a value of a
        // parameter beside it (`/items/{tracking_number}`): only its methods count.
        let is_fixed = |def: &ResourceDef| def.pattern_iter().all(|segment| !segment.contains('{'));
        let fixed: Vec<&(ResourceDef, Vec<Method>)> = matching.iter().copied().filter(|(def, _)| is_fixed(def)).collect();
        let chosen = if fixed.is_empty() { matching } else { fixed };
        let methods: Vec<Method> = chosen.iter().flat_map(|(_, m)| m.iter().cloned()).collect();
        (!methods.is_empty()).then_some(methods)
    }
}

/// The default service: 405 for a known path, 404 otherwise.
pub async fn no_route(req: HttpRequest, routes: web::Data<KnownRoutes>) -> HttpResponse {
    use actix_web::ResponseError;
    if let Some(methods) = routes.methods_for(req.path()) {
        let allow = methods.iter().map(Method::as_str).collect::<Vec<_>>().join(", ");
        let problem = Problem {
            kind: "/problems/method-not-allowed".into(),
            title: "Method not allowed".into(),
            status: 405,
            detail: format!("{} is not allowed on {}; allowed: {allow}", req.method(), req.path()),
            errors: vec![],
            existing_id: None,
        };
        return HttpResponse::MethodNotAllowed()
            .insert_header((header::ALLOW, allow))
            .content_type(PROBLEM_JSON)
            .json(problem);
    }
    ApiError::NotFound(format!("no route {} {}", req.method(), req.path())).error_response()
}

/// Rewrites any error response that is not yet a problem document.
pub fn problem_for_plain_errors<B: MessageBody + 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler(|res: ServiceResponse<B>| {
        let is_problem = res
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
        if is_problem {
            return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
        }
        Ok(ErrorHandlerResponse::Future(Box::pin(async move {
            let (req, original) = res.into_parts();
            let status = original.status();
            let headers = original.headers().clone();
            let text = to_bytes(original.into_body()).await.ok().and_then(|b| String::from_utf8(b.to_vec()).ok());
            let reason = status.canonical_reason().unwrap_or("Error");
            let problem = Problem {
                kind: format!("/problems/http-{}", status.as_u16()),
                title: reason.into(),
                status: status.as_u16(),
                detail: text.filter(|t| !t.is_empty() && t.len() < 500).unwrap_or_else(|| reason.into()),
                errors: vec![],
                existing_id: None,
            };
            let mut response = HttpResponse::build(status);
            for (name, value) in headers.iter() {
                if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                    response.append_header((name.clone(), value.clone()));
                }
            }
            let response = response
                .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)))
                .body(serde_json::to_string(&problem).expect("problem serializes"));
            Ok(ServiceResponse::new(req, response).map_into_right_body())
        })))
    })
}
