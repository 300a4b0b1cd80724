use crate::util::TestApp;

#[actix_web::test]
async fn health_and_readiness() {
    let app = TestApp::new().await;
    let health = app.get("/healthz", None).await;
    assert_eq!((health.status, health.body["status"].as_str()), (200, Some("ok")));
    let ready = app.get("/readyz", None).await;
    assert_eq!((ready.status, ready.body["status"].as_str()), (200, Some("ok")));
}

#[actix_web::test]
async fn serves_the_spec_and_an_offline_docs_page() {
    let app = TestApp::new().await;
    let spec = app.get("/openapi.json", None).await;
    assert_eq!(spec.status, 200);
    assert_eq!(spec.body["openapi"], "3.1.0");
    assert!(spec.body["paths"]["/api/v1/items"]["post"].is_object());
    let docs = app.get("/docs/", None).await;
    assert_eq!(docs.status, 200);
    assert!(docs.text.contains("swagger-ui"), "docs page: {}", &docs.text[..docs.text.len().min(300)]);
    // The UI's script is served by ExamPost itself, not a CDN.
    let script = app.get("/docs/swagger-ui-bundle.js", None).await;
    assert_eq!(script.status, 200);
    assert!(script.text.len() > 100_000);
}

#[test]
fn committed_spec_matches_the_code() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json")).unwrap();
    let generated = exampost::api::openapi_json();
    assert!(
        committed == generated,
        "openapi/openapi.json is out of date: run `cargo run -- openapi > openapi/openapi.json`"
    );
}

#[test]
fn spec_documents_security_and_examples() {
    let spec: serde_json::Value = serde_json::from_str(&exampost::api::openapi_json()).unwrap();
    assert_eq!(spec["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    let create = &spec["paths"]["/api/v1/items"]["post"];
    assert!(create["summary"].as_str().unwrap().contains("Register one item"));
    assert!(create["security"].is_array());
    assert!(spec["components"]["schemas"]["NewItemRequest"]["example"].is_object());
    assert!(spec["components"]["schemas"]["Problem"]["example"].is_object());
    // Every event type is documented with its UPU code.
    let event_types = spec["components"]["schemas"]["EventType"]["description"].as_str().unwrap();
    for event_type in exampost::domain::events::EventType::ALL {
        let code = event_type.upu_code(None).unwrap_or("no UPU code");
        assert!(event_types.contains(event_type.as_str()) && event_types.contains(code), "{event_type} {code}");
    }
    // Health, token and docs need no token.
    assert!(spec["paths"]["/healthz"]["get"]["security"].is_null());
    assert!(spec["paths"]["/api/v1/auth/token"]["post"]["security"].is_null());
}

#[test]
fn both_backends_have_the_same_migrations() {
    let names = |backend: &str| {
        let dir = format!("{}/migrations/{backend}", env!("CARGO_MANIFEST_DIR"));
        let mut names: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        names
    };
    let sqlite = names("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, names("postgres"));
    for name in &sqlite {
        for backend in ["sqlite", "postgres"] {
            for file in ["up.sql", "down.sql"] {
                let path = format!("{}/migrations/{backend}/{name}/{file}", env!("CARGO_MANIFEST_DIR"));
                assert!(std::path::Path::new(&path).exists(), "{path} is missing");
            }
        }
    }
}
