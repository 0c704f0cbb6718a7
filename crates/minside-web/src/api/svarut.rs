//! SvarUt compatibility (NORWAY.md §4): a case/archive system that sends through SvarUt can point
//! its SvarUt base URL at `<minside>/svarut` and keep its code. Letters arrive as SvarUt v3
//! person/organisation sends (multipart: a `forsendelse` JSON part, then the files), are mapped
//! onto the same letter as `POST /api/v1/letters`, and report statuses with SvarUt's names
//! through the status search (v2 and v3) and the event log.
//!
//! Authentication is minside's own (a Maskinporten-style bearer token with
//! `minside:letters.write` / `minside:letters.read`); the `kontoId` in the path and Fiks'
//! `IntegrasjonId`/`IntegrasjonPassord` headers are accepted and not used.

use super::auth::ApiClient;
use super::problem::{FieldProblem, Problem};
use crate::AppState;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use minside_core::letters::{DocumentInput, FieldError, LetterDraft, LetterInput};
use minside_core::usecases::send_letter::{self, LetterPorts, LetterStatusError, SendLetterError};
use serde::Deserialize;
use serde_json::{json, Value};

/// Largest SvarUt request (all files together).
const MAX_REQUEST_BYTES: usize = 100 * 1024 * 1024;

/// Routes under `/svarut/api`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v3/kontoer/{konto}/forsendelser/person",
            post(send_person).layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES)),
        )
        .route(
            "/v3/kontoer/{konto}/forsendelser/organisasjon",
            post(send_organisation).layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES)),
        )
        .route(
            "/v3/kontoer/{konto}/forsendelser/status/sok",
            post(status_v3),
        )
        .route(
            "/v2/kontoer/{konto}/forsendelser/status-sok",
            post(status_v2),
        )
        .route("/v2/forsendelser/{id}/hendelser", get(events))
        .fallback(super::problem::not_found)
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Forsendelse {
    tittel: String,
    mottaker: Mottaker,
    dokumenter: Vec<Dokument>,
    kun_digital_levering: bool,
    sikkerhetsniva: Option<String>,
    kryptert: bool,
    svar_sendes_til: Option<SvarSendesTil>,
    avgivende_system: Option<String>,
    metadata_fra_avleverende_system: Option<Noark>,
    metadata_for_import: Option<Noark>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Mottaker {
    digital_id: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Dokument {
    filnavn: String,
    mime_type: String,
    skal_ekskluderes_fra_utskrift: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct SvarSendesTil {
    navn: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Noark {
    saksaar: Option<i64>,
    sakssekvensnummer: Option<i64>,
    journalpostnummer: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Person,
    Organisation,
}

/// Our field names in SvarUt's terms, so that the case system's log makes sense.
fn svarut_field(field: &str) -> String {
    let mapped = [
        ("recipient", "mottaker.digitalId"),
        ("title", "tittel"),
        ("sender_unit", "svarSendesTil.navn"),
        ("digital_only", "kunDigitalLevering"),
    ]
    .iter()
    .find(|(ours, _)| field.starts_with(ours))
    .map(|(_, theirs)| (*theirs).to_owned());
    if let Some(m) = mapped {
        return m;
    }
    if let Some(rest) = field.strip_prefix("documents") {
        return format!(
            "dokumenter{}",
            rest.replace(".filename", ".filnavn")
                .replace(".mime_type", ".mimeType")
                .replace(".exclude_from_print", ".skalEkskluderesFraUtskrift")
                .replace(".content", "")
        );
    }
    field.to_owned()
}

fn invalid(errors: Vec<FieldError>) -> Problem {
    Problem::invalid(
        errors
            .into_iter()
            .map(|e| FieldProblem {
                field: svarut_field(&e.field),
                message: e.message,
            })
            .collect(),
    )
}

use super::problem::logged_internal as internal;

/// Reads the multipart body: the `forsendelse` JSON and the files (name, bytes) in order.
async fn read_parts(mut multipart: Multipart) -> Result<(String, Vec<(String, Vec<u8>)>), Problem> {
    let bad = |e: axum::extract::multipart::MultipartError| Problem::bad_request(e.body_text());
    let mut forsendelse = None;
    let mut files = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_owned();
        let filename = field.file_name().map(str::to_owned);
        let bytes = field.bytes().await.map_err(bad)?;
        if name == "forsendelse" && forsendelse.is_none() {
            forsendelse = Some(
                String::from_utf8(bytes.to_vec())
                    .map_err(|_| Problem::bad_request("the forsendelse part is not UTF-8 JSON"))?,
            );
        } else {
            files.push((filename.unwrap_or(name), bytes.to_vec()));
        }
    }
    let json = forsendelse.ok_or_else(|| {
        Problem::bad_request("no part named forsendelse (the letter's JSON) in the multipart body")
    })?;
    Ok((json, files))
}

fn to_input(
    f: Forsendelse,
    kind: Kind,
    files: &mut Vec<(String, Vec<u8>)>,
    sender_ref: String,
    client_id: &str,
) -> Result<LetterInput, Vec<FieldError>> {
    let mut errors = Vec::new();
    if f.kryptert {
        errors.push(FieldError {
            field: "kryptert".into(),
            message: "encrypted documents are not supported: send them unencrypted (the connection is TLS)".into(),
        });
    }
    let mut documents = Vec::new();
    for (i, d) in f.dokumenter.iter().enumerate() {
        // The file part with the document's name, else the next one in order (as the Java client sends).
        let at = files
            .iter()
            .position(|(n, _)| *n == d.filnavn)
            .or((!files.is_empty()).then_some(0));
        let content = at.map(|i| files.remove(i).1);
        if content.is_none() {
            errors.push(FieldError {
                field: format!("documents[{i}].filename"),
                message: "no file part for this document".into(),
            });
        }
        documents.push(DocumentInput {
            filename: d.filnavn.clone(),
            mime_type: d.mime_type.clone(),
            content,
            exclude_from_print: d.skal_ekskluderes_fra_utskrift,
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let noark = f
        .metadata_fra_avleverende_system
        .or(f.metadata_for_import)
        .unwrap_or_default();
    let id = f.mottaker.digital_id.trim().to_owned();
    let sender_unit = f
        .svar_sendes_til
        .map(|s| s.navn)
        .filter(|n| !n.trim().is_empty())
        .or(f.avgivende_system)
        .unwrap_or_else(|| client_id.to_owned());
    Ok(LetterInput {
        sender_ref,
        recipient_fodselsnummer: (kind == Kind::Person).then(|| id.clone()),
        recipient_organisasjonsnummer: (kind == Kind::Organisation).then_some(id),
        title: f.tittel,
        sender_unit,
        body: None,
        documents,
        saksaar: noark.saksaar,
        sekvensnummer: noark.sakssekvensnummer,
        journalpostnummer: noark.journalpostnummer,
        service_notice: false,
        sensitive: f.sikkerhetsniva.as_deref() == Some("HOYESTE"),
        digital_only: f.kun_digital_levering,
        reply_allowed: false,
        response_options: Vec::new(),
        response_deadline: None,
        print_after_working_hours: None,
    })
}

async fn send(
    state: AppState,
    client: minside_core::auth::SystemClient,
    multipart: Multipart,
    kind: Kind,
) -> Result<Json<Value>, Problem> {
    let (json, mut files) = read_parts(multipart).await?;
    let f: Forsendelse = serde_json::from_str(&json)
        .map_err(|e| Problem::bad_request(format!("forsendelse: {e}")))?;
    // SvarUt has no idempotency key: the same request (JSON and files) twice is the same letter.
    let mut fingerprint = json.clone();
    for (name, bytes) in &files {
        fingerprint.push_str(&format!(
            "\n{name}:{}",
            crate::security::sha256_hex_bytes(bytes)
        ));
    }
    let request_hash = crate::security::sha256_hex(&fingerprint);
    let sender_ref = format!("svarut-{}", &request_hash[..32]);
    let input = to_input(f, kind, &mut files, sender_ref, &client.client_id).map_err(invalid)?;
    let draft = LetterDraft::parse(input, state.clock.now()).map_err(invalid)?;
    let ports = LetterPorts {
        store: state.store.as_ref(),
        blobs: state.blobs.as_ref(),
        clock: state.clock.as_ref(),
        ids: state.ids.as_ref(),
        delivery: &state.config.delivery,
    };
    match send_letter::send_letter(&ports, &client, draft, request_hash).await {
        Ok(sent) => Ok(Json(json!({ "id": sent.receipt.public_id }))),
        Err(SendLetterError::MissingScope(s)) => Err(Problem::insufficient_scope(s.0)),
        Err(SendLetterError::Conflict(r)) => {
            Err(Problem::conflict(format!("{r} was already used")))
        }
        Err(SendLetterError::Store(e)) => Err(internal(&e)),
        Err(SendLetterError::Blob(e)) => Err(internal(&e)),
    }
}

/// `POST /svarut/api/v3/kontoer/{kontoId}/forsendelser/person`.
async fn send_person(
    State(state): State<AppState>,
    ApiClient(client): ApiClient,
    Path(_konto): Path<String>,
    multipart: Multipart,
) -> Result<Json<Value>, Problem> {
    send(state, client, multipart, Kind::Person).await
}

/// `POST /svarut/api/v3/kontoer/{kontoId}/forsendelser/organisasjon`.
async fn send_organisation(
    State(state): State<AppState>,
    ApiClient(client): ApiClient,
    Path(_konto): Path<String>,
    multipart: Multipart,
) -> Result<Json<Value>, Problem> {
    send(state, client, multipart, Kind::Organisation).await
}

async fn statuses(
    state: &AppState,
    client: &minside_core::auth::SystemClient,
    ids: &[String],
) -> Result<Json<Value>, Problem> {
    let mut out = Vec::new();
    for id in ids.iter().take(1000) {
        match send_letter::letter_status(state.store.as_ref(), client, id).await {
            Ok(v) => out.push(json!({
                "id": v.public_id,
                "status": v.status.code(),
                "sisteStatusEndring": v.events.last().map(|e| e.at.to_string()),
            })),
            Err(LetterStatusError::NotFound) => {}
            Err(LetterStatusError::MissingScope(s)) => {
                return Err(Problem::insufficient_scope(s.0))
            }
            Err(LetterStatusError::Store(e)) => return Err(internal(&e)),
        }
    }
    Ok(Json(json!({ "statuser": out })))
}

#[derive(Debug, Deserialize)]
struct StatusSearchV3 {
    #[serde(default)]
    id: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatusSearchV2 {
    #[serde(default)]
    forsendelse_ids: Vec<String>,
}

/// `POST /svarut/api/v3/kontoer/{kontoId}/forsendelser/status/sok` `{"id": [...]}`.
async fn status_v3(
    State(state): State<AppState>,
    ApiClient(client): ApiClient,
    Path(_konto): Path<String>,
    body: Result<Json<StatusSearchV3>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, Problem> {
    let Json(q) = body.map_err(|e| Problem::bad_request(e.body_text()))?;
    statuses(&state, &client, &q.id).await
}

/// `POST /svarut/api/v2/kontoer/{kontoId}/forsendelser/status-sok` `{"forsendelseIds": [...]}`.
async fn status_v2(
    State(state): State<AppState>,
    ApiClient(client): ApiClient,
    Path(_konto): Path<String>,
    body: Result<Json<StatusSearchV2>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, Problem> {
    let Json(q) = body.map_err(|e| Problem::bad_request(e.body_text()))?;
    statuses(&state, &client, &q.forsendelse_ids).await
}

/// SvarUt-style event texts.
fn event_text(event: &str, detail: Option<&Value>) -> String {
    let d = |k: &str| {
        detail
            .and_then(|d| d.get(k))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    match event {
        "created" => "Forsendelse mottatt".into(),
        "notified" => format!(
            "Varsel sendt ({})",
            if d("channel") == "sms" {
                "SMS"
            } else {
                "e-post"
            }
        ),
        "read" => "Forsendelse lest".into(),
        "answered" => format!("Svar mottatt: {}", d("option")),
        "reminded" => "Påminnelse sendt".into(),
        "sent_to_print" => "Sendt til print".into(),
        "printed" => format!("Printet (utskriftsbunke {})", d("batch")),
        "failed" => format!("Ikke levert: {}", d("reason")),
        other => other.to_owned(),
    }
}

/// `GET /svarut/api/v2/forsendelser/{id}/hendelser`.
async fn events(
    State(state): State<AppState>,
    ApiClient(client): ApiClient,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    match send_letter::letter_status(state.store.as_ref(), &client, &id).await {
        Ok(v) => {
            let hendelser: Vec<Value> = v
                .events
                .iter()
                .map(|e| {
                    let detail = e.detail.as_deref().and_then(|d| serde_json::from_str::<Value>(d).ok());
                    json!({"tidspunkt": e.at.to_string(), "hendelse": event_text(&e.event, detail.as_ref())})
                })
                .collect();
            Ok(Json(json!({ "hendelser": hendelser })))
        }
        Err(LetterStatusError::NotFound) => Err(Problem::not_found_detail(
            "no forsendelse with this id from this client",
        )),
        Err(LetterStatusError::MissingScope(s)) => Err(Problem::insufficient_scope(s.0)),
        Err(LetterStatusError::Store(e)) => Err(internal(&e)),
    }
}
