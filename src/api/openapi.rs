//! Completes the generated OpenAPI document so that it says what the server
//! really answers. Handlers document their own outcomes; the answers that come
//! from shared machinery (the bearer check, the JSON and query extractors, the
//! body limit, the database pool, the lookup limiter) are added here from the
//! shape of each operation, so a new operation gets them without anyone
//! remembering to. Likewise the formats of fields that mean the same thing
//! everywhere (tracking numbers, seasons, organization codes, contacts, times)
//! are stated once, by field name, on every request schema and parameter.

use std::collections::{BTreeSet, VecDeque};

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{ArrayItems, KnownFormat, Object, Schema, SchemaFormat, SchemaType, Type};
use utoipa::openapi::{ContentBuilder, Header, Ref, RefOr, ResponseBuilder};

use super::problem::PROBLEM_JSON;

/// Answers the shared machinery gives: status, name under `components.responses`,
/// description, and the condition under which an operation can receive it.
const STANDARD_RESPONSES: &[(&str, &str, &str, When)] = &[
    ("400", "MalformedRequest", "Malformed request: the body is not JSON of the expected shape, or the query string or path has unknown or unreadable parts", When::TakesInput),
    ("401", "Unauthorized", "No access token, or an invalid, expired or revoked one", When::NeedsToken),
    ("404", "NotFound", "No such resource, or one outside your scope", When::NamesResource),
    ("413", "PayloadTooLarge", "The body is larger than the server accepts", When::HasBody),
    ("415", "UnsupportedMediaType", "The body is not in the content type the operation takes", When::HasBody),
    ("422", "ValidationFailed", "A field breaks a rule; `errors` names each field and why", When::TakesInput),
    ("429", "TooManyRequests", "Too many requests; retry after `Retry-After` seconds", When::RateLimited),
    ("503", "Unavailable", "The database is unavailable; retry after `Retry-After` seconds", When::UsesDatabase),
];

#[derive(Clone, Copy)]
enum When {
    /// A request body, or query or path parameters, that extractors parse and handlers check.
    TakesInput,
    /// Bearer security.
    NeedsToken,
    /// A path parameter that names a resource.
    NamesResource,
    HasBody,
    /// Behind the public lookup limiter (`/api/v1/public`).
    RateLimited,
    /// Everything under `/api/`: each handler reads or writes through the pool.
    UsesDatabase,
}

impl When {
    fn applies(self, path: &str, operation: &Operation) -> bool {
        let parameters = operation.parameters.as_deref().unwrap_or_default();
        match self {
            When::TakesInput => operation.request_body.is_some() || !parameters.is_empty(),
            When::NeedsToken => operation.security.as_ref().is_some_and(|s| !s.is_empty()),
            When::NamesResource => parameters.iter().any(|p| matches!(p.parameter_in, ParameterIn::Path)),
            When::HasBody => operation.request_body.is_some(),
            When::RateLimited => path.starts_with("/api/v1/public/"),
            When::UsesDatabase => path.starts_with("/api/"),
        }
    }
}

/// A constraint every string field of a given name carries in requests.
struct FieldFormat {
    names: &'static [&'static str],
    format: Option<KnownOrCustom>,
    pattern: Option<&'static str>,
    /// The accepted values, where they are a short closed list.
    values: Option<fn() -> Vec<&'static str>>,
}

#[derive(Clone, Copy)]
enum KnownOrCustom {
    Date,
    DateTime,
    Custom(&'static str),
}

/// Tracking numbers: the S10 shape, with the service letters this service
/// takes. The mod-11 check digit and the country list are beyond a pattern, so
/// the custom `s10` format names the whole rule (`.ci/schemathesis_hooks.py`
/// teaches the contract test to generate such numbers).
const S10_PATTERN: &str = "^[RECLVABDNPZ][A-Z][0-9]{9}[A-Z]{2}$";

const FIELD_FORMATS: &[FieldFormat] = &[
    FieldFormat { names: &["tracking_number"], format: Some(KnownOrCustom::Custom("s10")), pattern: Some(S10_PATTERN), values: None },
    FieldFormat { names: &["season"], format: None, pattern: Some("^[0-9]{4}-[A-Za-z0-9]{2,15}$"), values: None },
    FieldFormat { names: &["candidate_number"], format: None, pattern: Some("^[A-Za-z0-9]{4,20}$"), values: None },
    FieldFormat {
        names: &["code", "carrier_org", "sender_org", "organization", "carrier", "sender"],
        format: None,
        pattern: Some("^[A-Za-z0-9_-]{2,32}$"),
        values: None,
    },
    FieldFormat { names: &["phone"], format: None, pattern: Some(r"^(0|\+84)[0-9]{9,10}$"), values: None },
    FieldFormat { names: &["email"], format: Some(KnownOrCustom::Custom("email")), pattern: None, values: None },
    FieldFormat { names: &["date_of_birth"], format: Some(KnownOrCustom::Date), pattern: None, values: None },
    FieldFormat {
        names: &["occurred_at", "expected_at", "created_since", "updated_since"],
        format: Some(KnownOrCustom::DateTime),
        pattern: None,
        values: None,
    },
    // Opaque: a value the API returned as `next_cursor` (base64url).
    FieldFormat { names: &["cursor"], format: Some(KnownOrCustom::Custom("cursor")), pattern: Some("^[A-Za-z0-9_-]+$"), values: None },
    FieldFormat { names: &["url"], format: Some(KnownOrCustom::Custom("uri")), pattern: Some("^https?://"), values: None },
    FieldFormat { names: &["province"], format: None, pattern: None, values: Some(province_spellings) },
    FieldFormat { names: &["topics"], format: None, pattern: None, values: Some(webhook_topics) },
];

/// Required free texts: the server trims them and refuses what is left empty or too long.
const REQUIRED_TEXTS: &[(&str, usize)] = &[
    ("name", 200),
    ("full_name", 200),
    ("ward", 200),
    ("address_line", 500),
    ("plan", 2000),
    ("note", 2000),
    ("client_event_id", 100),
    ("office_code", 32),
    ("recipient_name", 200),
];

/// Codes, official names and former names: the spellings the API documents.
/// (It also takes them without diacritics or with a "Tỉnh"/"Thành phố" prefix.)
fn province_spellings() -> Vec<&'static str> {
    crate::domain::province::PROVINCES
        .iter()
        .flat_map(|p| [p.code, p.name].into_iter().chain(p.former.iter().copied()))
        .collect()
}

fn webhook_topics() -> Vec<&'static str> {
    crate::notify::TOPICS.to_vec()
}

/// Completes `api` in place; see the module comment.
pub fn complete(api: &mut utoipa::openapi::OpenApi) {
    add_standard_responses(api);
    add_field_formats(api);
    describe_batches(api);
    close_tagged_unions(api);
    document_export_formats(api);
}

/// An operation whose `format` parameter offers `csv` or `html` answers
/// `text/csv` or `text/html` with them: its 200 says so, beside the JSON.
fn document_export_formats(api: &mut utoipa::openapi::OpenApi) {
    for (_, operation) in operations_mut(api) {
        let formats: Vec<String> = operation
            .parameters
            .iter()
            .flatten()
            .filter(|p| p.name == "format" && matches!(p.parameter_in, ParameterIn::Query))
            .filter_map(|p| match &p.schema {
                Some(RefOr::T(Schema::Object(o))) => o.pattern.clone(),
                _ => None,
            })
            .flat_map(|pattern| {
                let choices = pattern.trim_start_matches("^(").trim_end_matches(")$").to_string();
                choices.split('|').map(str::to_string).collect::<Vec<_>>()
            })
            .filter(|format| format != "json")
            .collect();
        let Some(RefOr::T(ok)) = operation.responses.responses.get_mut("200") else { continue };
        for format in formats {
            let text = ContentBuilder::new().schema(Some(Object::with_type(Type::String))).build();
            ok.content.entry(format!("text/{format}")).or_insert(text);
        }
    }
}

/// An internally tagged enum (`{"type": "candidate", ...}`) is generated as
/// `allOf: [variant, {type}]`; when the variant refuses unknown fields
/// (`additionalProperties: false`), it refuses the tag too, and no value
/// satisfies the branch. The server strips the tag before reading the
/// variant, so the branch is really one closed object: the variant's fields
/// plus the tag.
fn close_tagged_unions(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::schema::AdditionalProperties;
    let Some(components) = api.components.as_mut() else { return };
    let closed: std::collections::BTreeMap<String, Object> = components
        .schemas
        .iter()
        .filter_map(|(name, schema)| match schema {
            RefOr::T(Schema::Object(o)) if matches!(o.additional_properties.as_deref(), Some(AdditionalProperties::FreeForm(false))) => {
                Some((format!("#/components/schemas/{name}"), o.clone()))
            }
            _ => None,
        })
        .collect();
    for schema in components.schemas.values_mut() {
        let RefOr::T(Schema::OneOf(union)) = schema else { continue };
        for branch in union.items.iter_mut() {
            let RefOr::T(Schema::AllOf(parts)) = branch else { continue };
            let [RefOr::Ref(variant), RefOr::T(Schema::Object(tag))] = parts.items.as_slice() else { continue };
            let Some(variant_schema) = closed.get(&variant.ref_location) else { continue };
            let mut merged = variant_schema.clone();
            for (name, property) in &tag.properties {
                merged.properties.insert(name.clone(), property.clone());
            }
            merged.required.extend(tag.required.iter().cloned());
            if merged.description.is_none() {
                merged.description = parts.description.clone();
            }
            *branch = RefOr::T(Schema::Object(merged));
        }
    }
}

/// Batch requests: schema and field holding the entries.
const BATCHES: &[(&str, &str)] = &[("ItemBatchRequest", "items"), ("EventBatchRequest", "events")];

/// A batch takes 1 to `MAX_BATCH` entries, and any entry at all: each is
/// checked on its own and a bad one is reported in the results, never
/// refusing the batch. The entry schema stays as documentation of what is
/// accepted, beside an empty schema for what is answered `rejected`.
fn describe_batches(api: &mut utoipa::openapi::OpenApi) {
    let Some(components) = api.components.as_mut() else { return };
    for (schema_name, field) in BATCHES {
        let Some(RefOr::T(Schema::Object(batch))) = components.schemas.get_mut(*schema_name) else { continue };
        let Some(RefOr::T(Schema::Array(entries))) = batch.properties.get_mut(*field) else { continue };
        entries.min_items = Some(1);
        entries.max_items = Some(super::batch::MAX_BATCH);
        if let ArrayItems::RefOrSchema(entry) = &mut entries.items {
            let documented = std::mem::replace(entry.as_mut(), RefOr::T(Schema::default()));
            let any_entry = utoipa::openapi::schema::AnyOfBuilder::new()
                .item(documented)
                .item(Schema::Object(Object::with_type(SchemaType::AnyValue)))
                .build();
            **entry = RefOr::T(Schema::AnyOf(any_entry));
        }
    }
}

fn problem_response(description: &str, status: &str) -> utoipa::openapi::Response {
    let mut response = ResponseBuilder::new()
        .description(description)
        .content(PROBLEM_JSON, ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build());
    if status == "429" || status == "503" {
        response = response.header("Retry-After", Header::new(Object::with_type(Type::Integer)));
    }
    if status == "401" {
        response = response.header("WWW-Authenticate", Header::new(Object::with_type(Type::String)));
    }
    response.build()
}

fn operations_mut(api: &mut utoipa::openapi::OpenApi) -> impl Iterator<Item = (&String, &mut Operation)> {
    api.paths.paths.iter_mut().flat_map(|(path, item)| {
        [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch]
            .into_iter()
            .flatten()
            .map(move |operation| (path, operation))
    })
}

fn add_standard_responses(api: &mut utoipa::openapi::OpenApi) {
    let components = api.components.get_or_insert_with(Default::default);
    for (status, name, description, _) in STANDARD_RESPONSES {
        components.responses.insert((*name).to_string(), RefOr::T(problem_response(description, status)));
    }
    for (path, operation) in operations_mut(api) {
        for (status, name, _, when) in STANDARD_RESPONSES {
            if when.applies(path, operation) {
                // A handler's own description of the same status is more precise: keep it.
                operation
                    .responses
                    .responses
                    .entry((*status).to_string())
                    .or_insert_with(|| RefOr::Ref(Ref::new(format!("#/components/responses/{name}"))));
            }
        }
    }
}

fn add_field_formats(api: &mut utoipa::openapi::OpenApi) {
    for (_, operation) in operations_mut(api) {
        for parameter in operation.parameters.iter_mut().flatten() {
            if let Some(RefOr::T(schema)) = parameter.schema.as_mut() {
                constrain(&parameter.name, schema);
            }
        }
    }
    let request_schemas = request_schema_names(api);
    let Some(components) = api.components.as_mut() else { return };
    for name in request_schemas {
        if let Some(RefOr::T(schema)) = components.schemas.get_mut(&name) {
            constrain_properties(schema);
        }
    }
}

/// Names of the component schemas a request body can contain, directly or nested.
fn request_schema_names(api: &utoipa::openapi::OpenApi) -> BTreeSet<String> {
    let mut pending: VecDeque<String> = VecDeque::new();
    for item in api.paths.paths.values() {
        for operation in [&item.get, &item.put, &item.post, &item.delete, &item.patch].into_iter().flatten() {
            for content in operation.request_body.iter().flat_map(|body| body.content.values()) {
                if let Some(schema) = &content.schema {
                    pending.extend(references(&serde_json::to_value(schema).unwrap_or_default()));
                }
            }
        }
    }
    let mut seen = BTreeSet::new();
    let schemas = api.components.as_ref().map(|c| &c.schemas);
    while let Some(name) = pending.pop_front() {
        if seen.insert(name.clone()) {
            if let Some(schema) = schemas.and_then(|s| s.get(&name)) {
                pending.extend(references(&serde_json::to_value(schema).unwrap_or_default()));
            }
        }
    }
    seen
}

fn references(value: &serde_json::Value) -> Vec<String> {
    match value {
        serde_json::Value::Object(map) => map
            .iter()
            .flat_map(|(key, v)| match (key.as_str(), v.as_str()) {
                ("$ref", Some(target)) => target.strip_prefix("#/components/schemas/").map(str::to_string).into_iter().collect(),
                _ => references(v),
            })
            .collect(),
        serde_json::Value::Array(values) => values.iter().flat_map(references).collect(),
        _ => vec![],
    }
}

fn constrain_properties(schema: &mut Schema) {
    match schema {
        Schema::Object(object) => {
            let required = object.required.clone();
            for (name, property) in object.properties.iter_mut() {
                if let RefOr::T(property) = property {
                    constrain(name, property);
                    if required.contains(name) {
                        constrain_required_text(name, property);
                    }
                    constrain_properties(property);
                }
            }
        }
        Schema::OneOf(one_of) => one_of.items.iter_mut().for_each(constrain_inline),
        Schema::AllOf(all_of) => all_of.items.iter_mut().for_each(constrain_inline),
        Schema::AnyOf(any_of) => any_of.items.iter_mut().for_each(constrain_inline),
        _ => {}
    }
}

fn constrain_inline(schema: &mut RefOr<Schema>) {
    if let RefOr::T(schema) = schema {
        constrain_properties(schema);
    }
}

fn is_string(object: &Object) -> bool {
    match &object.schema_type {
        SchemaType::Type(t) => *t == Type::String,
        SchemaType::Array(types) => types.contains(&Type::String),
        SchemaType::AnyValue => false,
    }
}

/// The string schema a field's value (or each of its values, for an array) must match.
fn string_schema(schema: &mut Schema) -> Option<&mut Object> {
    match schema {
        Schema::Object(object) if is_string(object) => Some(object),
        Schema::Array(array) => match &mut array.items {
            ArrayItems::RefOrSchema(items) => match items.as_mut() {
                RefOr::T(Schema::Object(object)) if is_string(object) => Some(object),
                _ => None,
            },
            ArrayItems::False => None,
        },
        _ => None,
    }
}

/// Gives a string field of a well-known name its format, pattern or values.
fn constrain(name: &str, schema: &mut Schema) {
    let Some(rule) = FIELD_FORMATS.iter().find(|rule| rule.names.contains(&name)) else { return };
    let Some(object) = string_schema(schema) else { return };
    if let Some(format) = rule.format {
        object.format = Some(match format {
            KnownOrCustom::Date => SchemaFormat::KnownFormat(KnownFormat::Date),
            KnownOrCustom::DateTime => SchemaFormat::KnownFormat(KnownFormat::DateTime),
            KnownOrCustom::Custom(custom) => SchemaFormat::Custom(custom.into()),
        });
    }
    if let Some(pattern) = rule.pattern {
        object.pattern = Some(pattern.into());
    }
    if let Some(values) = rule.values {
        let mut values: Vec<serde_json::Value> = values().into_iter().map(Into::into).collect();
        // A nullable field keeps null among its values.
        if matches!(&object.schema_type, SchemaType::Array(types) if types.contains(&Type::Null)) {
            values.push(serde_json::Value::Null);
        }
        object.enum_values = Some(values);
    }
}

fn constrain_required_text(name: &str, schema: &mut Schema) {
    let Some((_, max_chars)) = REQUIRED_TEXTS.iter().find(|(text, _)| *text == name) else { return };
    let Schema::Object(object) = schema else { return };
    if is_string(object) && object.pattern.is_none() {
        object.pattern = Some(r"\S".into());
        object.max_length = Some(*max_chars);
    }
}
