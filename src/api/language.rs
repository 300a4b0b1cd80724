//! Problems in the reader's language: a request that prefers Vietnamese
//! (`Accept-Language: vi`, as the console sends) gets problem documents
//! with Vietnamese titles and reasons; field names stay the API's, so a
//! program can still match them. The public endpoints translate their own.

use actix_web::body::{to_bytes, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse};
use serde_json::Value;

use super::problem::{Problem, PROBLEM_JSON};
use crate::domain::vi;

/// Whether the request's first language is Vietnamese.
fn prefers_vietnamese(req: &ServiceRequest) -> bool {
    let accept = req.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let first = accept.split(',').next().unwrap_or("").trim().to_ascii_lowercase();
    first == "vi" || first.starts_with("vi-") || first.starts_with("vi;")
}

pub async fn problems_in_language(req: ServiceRequest, next: Next<impl MessageBody + 'static>) -> Result<ServiceResponse<BoxBody>, Error> {
    let vietnamese = prefers_vietnamese(&req) && !req.path().starts_with("/api/v1/public/");
    let response = next.call(req).await?.map_into_boxed_body();
    let is_problem = response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if !vietnamese || !is_problem {
        return Ok(response);
    }
    let (req, original) = response.into_parts();
    let status = original.status();
    let headers = original.headers().clone();
    // Problems are small; a body that cannot be read is passed on as empty JSON rather than lost in a panic.
    let bytes = to_bytes(original.into_body()).await.unwrap_or_default();
    let body = match serde_json::from_slice::<Value>(&bytes) {
        Ok(mut problem) => {
            translate(&mut problem);
            serde_json::to_vec(&problem).unwrap_or_else(|_| bytes.to_vec())
        }
        Err(_) => bytes.to_vec(),
    };
    let mut translated = HttpResponse::build(status);
    for (name, value) in headers.iter() {
        if name != header::CONTENT_LENGTH {
            translated.append_header((name.clone(), value.clone()));
        }
    }
    translated.insert_header((header::CONTENT_LANGUAGE, HeaderValue::from_static("vi")));
    translated.append_header((header::VARY, HeaderValue::from_static("Accept-Language")));
    Ok(ServiceResponse::new(req, translated.body(body)))
}

/// Translates a problem document in place: the title by its type, each
/// field's reason, and the detail where a translation is known.
pub fn translate(problem: &mut Value) {
    let Some(fields) = problem.as_object_mut() else { return };
    let kind = fields.get("type").and_then(Value::as_str).unwrap_or("").to_string();
    if let Some(title) = vi::problem_title(&kind) {
        fields.insert("title".into(), title.into());
    }
    let mut named = Vec::new();
    if let Some(errors) = fields.get_mut("errors").and_then(Value::as_array_mut) {
        for error in errors.iter_mut() {
            let Some(entry) = error.as_object_mut() else { continue };
            let reason = entry.get("reason").and_then(Value::as_str).unwrap_or("").to_string();
            let reason = vi::reason(&reason).unwrap_or(reason);
            let field = entry.get("field").and_then(Value::as_str).unwrap_or("").to_string();
            entry.insert("reason".into(), reason.clone().into());
            named.push((field, reason));
        }
    }
    let detail = fields.get("detail").and_then(Value::as_str).unwrap_or("").to_string();
    fields.insert("detail".into(), vietnamese_detail(detail, &named).into());
}

/// A problem document in Vietnamese (an import row's, for a Vietnamese sheet).
pub fn problem_in_vietnamese(mut problem: Problem) -> Problem {
    if let Some(title) = vi::problem_title(&problem.kind) {
        problem.title = title.into();
    }
    for error in &mut problem.errors {
        if let Some(reason) = vi::reason(&error.reason) {
            error.reason = reason;
        }
    }
    let named: Vec<(String, String)> = problem.errors.iter().map(|e| (e.field.clone(), e.reason.clone())).collect();
    problem.detail = vietnamese_detail(std::mem::take(&mut problem.detail), &named);
    problem
}

/// The detail: each field by its Vietnamese name with its (translated) reason.
fn vietnamese_detail(detail: String, named: &[(String, String)]) -> String {
    let line = |(field, reason): &(String, String)| format!("{}: {reason}", vi::field_label(field).unwrap_or(field));
    match named {
        [] => vi::reason(&detail).unwrap_or(detail),
        [one] => line(one),
        many => format!("{} trường chưa hợp lệ: {}", many.len(), many.iter().map(line).collect::<Vec<_>>().join("; ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_reasons_and_details_turn_vietnamese() {
        let mut problem = serde_json::json!({
            "type": "/problems/validation", "title": "Request breaks a rule", "status": 422, "detail": "2 fields are invalid",
            "errors": [{"field": "email", "reason": "must be an e-mail address such as name@example.vn"}, {"field": "password", "reason": "must be at least 10 characters"}],
        });
        translate(&mut problem);
        assert_eq!(problem["title"], "Dữ liệu chưa hợp lệ");
        assert_eq!(problem["errors"][1]["reason"], "tối thiểu 10 ký tự");
        assert_eq!(problem["errors"][0]["field"], "email");
        assert!(problem["detail"].as_str().unwrap().starts_with("2 trường chưa hợp lệ: E-mail: phải là địa chỉ thư điện tử"), "{}", problem["detail"]);
        assert!(problem["detail"].as_str().unwrap().ends_with("Mật khẩu: tối thiểu 10 ký tự"), "{}", problem["detail"]);
    }

    #[test]
    fn unknown_text_stays_as_it_was() {
        let mut problem = serde_json::json!({"type": "/problems/whatever", "title": "Odd", "status": 400, "detail": "something new"});
        translate(&mut problem);
        assert_eq!(problem["title"], "Odd");
        assert_eq!(problem["detail"], "something new");
        let mut not_an_object = serde_json::json!([1, 2]);
        translate(&mut not_an_object);
        assert_eq!(not_an_object, serde_json::json!([1, 2]));
    }
}
