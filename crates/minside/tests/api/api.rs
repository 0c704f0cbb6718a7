//! The back-office API: Maskinporten-style tokens, problem+json, access-logged reads, OpenAPI.

use crate::helpers::TestApp;
use minside_core::person::CandidateGroup;
use minside_core::ports::Store;
use serde_json::{json, Value};

async fn lookup(app: &TestApp, token: Option<&str>, body: Value) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .post(app.url("/api/v1/persons/lookup"))
        .json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

async fn problem(res: reqwest::Response, status: u16) -> Value {
    assert_eq!(res.status(), status);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], status);
    assert!(body["type"]
        .as_str()
        .unwrap()
        .starts_with("urn:minside:problem:"));
    body
}

#[tokio::test]
async fn a_system_reads_a_resident_and_the_read_is_access_logged_as_that_system() {
    let app = TestApp::spawn().await;
    let person = app.first_candidate(CandidateGroup::Owner).await;
    let token = app.api_token("minside:persons.read");
    let res = lookup(
        &app,
        Some(&token),
        json!({"fodselsnummer": person.fnr.as_str(), "purpose": "Gebyrberegning"}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["fodselsnummer"], person.fnr.as_str());
    assert_eq!(
        format!(
            "{} {}",
            body["given_name"].as_str().unwrap(),
            body["family_name"].as_str().unwrap()
        ),
        person.name
    );
    let id = app
        .store
        .person_by_fnr(&person.fnr)
        .await
        .unwrap()
        .unwrap()
        .id;
    let log = app.store.access_log(id).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (
            log[0].actor_kind.as_str(),
            log[0].actor_name.as_str(),
            log[0].purpose.as_str()
        ),
        ("system", "test-sak-arkiv", "Gebyrberegning")
    );
}

#[tokio::test]
async fn a_missing_forged_or_expired_token_gets_401_problem_json() {
    let app = TestApp::spawn().await;
    let body = json!({"fodselsnummer": "20914695016", "purpose": "x"});
    let p = problem(lookup(&app, None, body.clone()).await, 401).await;
    assert_eq!(p["detail"], "no bearer token");
    let res = lookup(&app, Some("not-a-jwt"), body.clone()).await;
    assert!(res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer error=\"invalid_token\""));
    problem(res, 401).await;
    let token = app.api_token("minside:persons.read");
    app.clock.advance(jiff::SignedDuration::from_mins(11));
    let p = problem(lookup(&app, Some(&token), body).await, 401).await;
    assert_eq!(p["detail"], "the token has expired");
}

#[tokio::test]
async fn a_token_without_the_scope_gets_403() {
    let app = TestApp::spawn().await;
    let person = app.first_candidate(CandidateGroup::Owner).await;
    let token = app.api_token("");
    let res = lookup(
        &app,
        Some(&token),
        json!({"fodselsnummer": person.fnr.as_str(), "purpose": "x"}),
    )
    .await;
    assert!(res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("insufficient_scope"));
    problem(res, 403).await;
    let id = app
        .store
        .person_by_fnr(&person.fnr)
        .await
        .unwrap()
        .unwrap()
        .id;
    assert!(
        app.store.access_log(id).await.unwrap().is_empty(),
        "a refused read is not a read"
    );
}

#[tokio::test]
async fn every_invalid_field_is_listed_and_bad_json_is_a_400() {
    let app = TestApp::spawn().await;
    let token = app.api_token("minside:persons.read");
    let p = problem(
        lookup(
            &app,
            Some(&token),
            json!({"fodselsnummer": "13097248032", "purpose": ""}),
        )
        .await,
        422,
    )
    .await;
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["fodselsnummer", "purpose"]);
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/persons/lookup"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    problem(res, 400).await;
    let p = problem(
        lookup(
            &app,
            Some(&token),
            json!({"fodselsnummer": "20914695016", "purpose": "x"}),
        )
        .await,
        404,
    )
    .await;
    assert_eq!(p["detail"], "no resident with that number");
}

#[tokio::test]
async fn the_openapi_document_describes_every_api_route() {
    let app = TestApp::spawn().await;
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"][0]["url"], app.url("/api/v1"));
    let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
    assert_eq!(
        paths,
        vec![
            "/letters",
            "/letters/{id}/replies/{reply}/attachments/{position}",
            "/letters/{id}/status",
            "/persons/lookup",
            "/statistics/letters",
            "/v2/forsendelser/{id}/hendelser",
            "/v2/kontoer/{kontoId}/forsendelser/status-sok",
            "/v3/kontoer/{kontoId}/forsendelser/organisasjon",
            "/v3/kontoer/{kontoId}/forsendelser/person",
            "/v3/kontoer/{kontoId}/forsendelser/status/sok"
        ],
        "update this test and the document together when routes are added"
    );
    for status in ["200", "401", "403", "404", "422"] {
        assert!(
            doc["paths"]["/persons/lookup"]["post"]["responses"]
                .get(status)
                .is_some(),
            "{status}"
        );
    }
    problem(app.get("/api/v1/no-such-thing").await, 404).await;
}

/// The OpenAPI document is a published contract: a change to it shows up in review as a change to
/// docs/openapi.json. `MINSIDE_UPDATE_SNAPSHOTS=1 cargo test` rewrites the file.
#[tokio::test]
async fn the_openapi_document_matches_its_snapshot() {
    let app = TestApp::spawn().await;
    let mut doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    doc["servers"][0]["url"] = json!("https://minside.example.no/api/v1");
    for (_, item) in doc["paths"].as_object_mut().unwrap().iter_mut() {
        if item.get("servers").is_some() {
            item["servers"][0]["url"] = json!("https://minside.example.no/svarut/api");
        }
    }
    let text = serde_json::to_string_pretty(&doc).unwrap() + "\n";
    let path = std::path::PathBuf::from(crate::helpers::env("CARGO_MANIFEST_DIR").unwrap())
        .join("../../docs/openapi.json");
    if crate::helpers::env("MINSIDE_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let snapshot = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        snapshot == text,
        "docs/openapi.json differs from the served document; review and run with MINSIDE_UPDATE_SNAPSHOTS=1"
    );
}
