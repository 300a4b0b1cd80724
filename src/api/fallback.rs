//! Makes the framework's own errors speak problem+json: body parsing, query
//! strings, unknown routes and wrong methods, and (as a last net) any other
//! error response that is not a problem document yet.

use actix_router::ResourceDef;
use actix_web::body::{to_bytes, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
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
        self.fixed_path_methods(path).or_else(|| {
            let methods: Vec<Method> =
                self.0.iter().filter(|(def, _)| def.is_match(path)).flat_map(|(_, m)| m.iter().cloned()).collect();
            (!methods.is_empty()).then_some(methods)
        })
    }

    /// The API's path template a request is served by: a fixed path first
    /// (`/items/import` is never `/items/{tracking_number}`), then the
    /// template that takes the method.
    pub fn template_for(&self, method: &Method, path: &str) -> Option<String> {
        let is_fixed = |def: &ResourceDef| def.pattern_iter().all(|segment| !segment.contains('{'));
        let matching = || self.0.iter().filter(|(def, _)| def.is_match(path));
        matching()
            .find(|(def, _)| is_fixed(def))
            .or_else(|| matching().find(|(_, methods)| methods.contains(method)))
            .or_else(|| matching().next())
            .and_then(|(def, _)| def.pattern().map(str::to_string))
    }

    /// The methods of a fixed path (`/items/batch`): it is its own resource,
    /// never a value of a parameter beside it (`/items/{tracking_number}`).
    fn fixed_path_methods(&self, path: &str) -> Option<Vec<Method>> {
        let is_fixed = |def: &ResourceDef| def.pattern_iter().all(|segment| !segment.contains('{'));
        let methods: Vec<Method> = self
            .0
            .iter()
            .filter(|(def, _)| is_fixed(def) && def.is_match(path))
            .flat_map(|(_, m)| m.iter().cloned())
            .collect();
        (!methods.is_empty()).then_some(methods)
    }
}

fn method_not_allowed(req: &HttpRequest, methods: &[Method]) -> HttpResponse {
    let allow = methods.iter().map(Method::as_str).collect::<Vec<_>>().join(", ");
    let problem = Problem {
        kind: "/problems/method-not-allowed".into(),
        title: "Method not allowed".into(),
        status: 405,
        detail: format!("{} is not allowed on {}; allowed: {allow}", req.method(), req.path()),
        errors: vec![],
        existing_id: None,
    };
    HttpResponse::MethodNotAllowed().insert_header((header::ALLOW, allow)).content_type(PROBLEM_JSON).json(problem)
}

/// Answers 405 for a wrong method on a fixed path before routing, which would
/// otherwise hand `GET /items/batch` to the lookup of item number "batch".
pub async fn fixed_paths_first(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let refused = req
        .app_data::<web::Data<KnownRoutes>>()
        .and_then(|routes| routes.fixed_path_methods(req.path()))
        .filter(|methods| !methods.contains(req.method()));
    if let Some(methods) = refused {
        let (http_req, _) = req.into_parts();
        let response = method_not_allowed(&http_req, &methods);
        return Ok(ServiceResponse::new(http_req, response).map_into_right_body());
    }
    next.call(req).await.map(ServiceResponse::map_into_left_body)
}

/// The default service: 405 for a known path, 404 otherwise.
pub async fn no_route(req: HttpRequest, routes: web::Data<KnownRoutes>) -> HttpResponse {
    use actix_web::ResponseError;
    if let Some(methods) = routes.methods_for(req.path()) {
        return method_not_allowed(&req, &methods);
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
