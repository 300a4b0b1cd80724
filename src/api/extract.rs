//! Request extractors: JSON bodies whose field errors name the field.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use utoipa::IntoParams;

use super::problem::ApiError;
use crate::domain::FieldError;

/// Selects one season's item when a number was used in several seasons.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SeasonParam {
    /// Season; default: the newest item with this number you can see.
    pub season: Option<String>,
}

/// Deserializes a JSON value, naming the offending field on failure
/// (`recipient.date_of_birth`, `items[2].kind`).
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, FieldError> {
    serde_path_to_error::deserialize(&value).map_err(|err| {
        let path = err.path().to_string();
        let message = err.inner().to_string();
        // serde reports a missing field at its parent; point at the field itself.
        let (field, reason) = match message.strip_prefix("missing field `").and_then(|m| m.strip_suffix('`')) {
            Some(name) if path == "." => (name.to_string(), "is required".to_string()),
            Some(name) => (format!("{path}.{name}"), "is required".to_string()),
            // Fields of a flattened, internally tagged enum (an event's
            // `type` and its own fields) are read from a buffer that loses
            // their path: serde reports a bad value at the root.
            None if path == "." && message.starts_with("unknown variant") => (field_holding_variant(&value, &message), message),
            None if path == "." => ("body".to_string(), message),
            None => (path, message),
        };
        // serde quotes the offending value; FieldError::new bounds the quote.
        FieldError::new(field, reason)
    })
}

/// The top-level field whose value serde named in an "unknown variant `x`"
/// error: `type` when the tag itself is unknown, else the field of the
/// variant that holds `x` (`identity_check`, `reason`, `action`).
fn field_holding_variant(value: &serde_json::Value, message: &str) -> String {
    let unknown = message.split('`').nth(1).unwrap_or_default();
    let holds = |v: &serde_json::Value| v.as_str() == Some(unknown);
    let Some(object) = value.as_object() else { return "body".into() };
    if object.get("type").is_some_and(holds) {
        return "type".into();
    }
    object.iter().find(|(_, v)| holds(v)).map_or_else(|| "type".into(), |(name, _)| name.clone())
}

/// A JSON body: malformed JSON is 400, JSON that does not fit `T` is 422
/// with the field and the reason.
pub struct ValidJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ValidJson<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = web::Json::<serde_json::Value>::from_request(req, payload);
        Box::pin(async move {
            let web::Json(value) = json.await?;
            from_value(value).map(ValidJson).map_err(|e| ApiError::Validation(vec![e]).into())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        day: chrono::NaiveDate,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        inner: Inner,
    }

    #[test]
    fn names_missing_and_malformed_fields() {
        let err = from_value::<Outer>(json!({"inner": {"day": "2026-01-01"}})).unwrap_err();
        assert_eq!(err.field, "name");
        let err = from_value::<Outer>(json!({"name": "x", "inner": {}})).unwrap_err();
        assert_eq!(err.field, "inner.day");
        let err = from_value::<Outer>(json!({"name": "x", "inner": {"day": "01/01/2026"}})).unwrap_err();
        assert_eq!(err.field, "inner.day");
        let err = from_value::<Outer>(json!("not an object")).unwrap_err();
        assert_eq!(err.field, "body");
    }

    #[derive(Debug, Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    #[allow(dead_code)]
    enum Detail {
        Delivered { check: Option<Check> },
        Failed { reason: Check, action: Check },
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Check {
        Card,
        Face,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Scan {
        id: String,
        #[serde(flatten)]
        detail: Detail,
    }

    #[test]
    fn names_the_field_of_a_bad_value_inside_a_flattened_tagged_enum() {
        let err = from_value::<Scan>(json!({"id": "a", "type": "delivered", "check": "handshake"})).unwrap_err();
        assert_eq!(err.field, "check");
        assert!(err.reason.contains("`card`"), "{}", err.reason);
        let err = from_value::<Scan>(json!({"id": "a", "type": "failed", "reason": "card", "action": "shrug"})).unwrap_err();
        assert_eq!(err.field, "action");
        let err = from_value::<Scan>(json!({"id": "a", "type": "teleported"})).unwrap_err();
        assert_eq!(err.field, "type");
        let err = from_value::<Scan>(json!({"id": "teleported", "type": "teleported"})).unwrap_err();
        assert_eq!(err.field, "type", "the tag wins when another field holds the same text");
    }
}
