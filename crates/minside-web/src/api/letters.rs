//! `POST /api/v1/letters` and `GET /api/v1/letters/{id}/status`.

use super::auth::ApiClient;
use super::problem::{FieldProblem, Problem};
use crate::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use minside_core::letters::{DocumentInput, LetterDraft, LetterInput, ResponseOptionInput};
use minside_core::usecases::send_letter::{self, LetterPorts, LetterStatusError, SendLetterError};
use serde::{Deserialize, Serialize};

/// The recipient: exactly one of the two.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct RecipientRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fodselsnummer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    organisasjonsnummer: Option<String>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct DocumentRequest {
    #[serde(default)]
    filename: String,
    #[serde(default)]
    mime_type: String,
    #[serde(default)]
    content_base64: String,
    #[serde(default)]
    exclude_from_print: bool,
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct ArchiveRefRequest {
    saksaar: Option<i64>,
    sekvensnummer: Option<i64>,
    journalpostnummer: Option<i64>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct ResponseOptionRequest {
    #[serde(default)]
    code: String,
    #[serde(default)]
    label: String,
}

/// The letter request. Serialising it again gives the canonical form whose hash tells a retry
/// from a different letter that reuses `sender_ref`.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct LetterRequest {
    #[serde(default)]
    sender_ref: String,
    #[serde(default)]
    recipient: RecipientRequest,
    #[serde(default)]
    title: String,
    #[serde(default)]
    sender_unit: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    documents: Vec<DocumentRequest>,
    #[serde(default)]
    archive_ref: Option<ArchiveRefRequest>,
    #[serde(default)]
    service_notice: bool,
    #[serde(default)]
    sensitive: bool,
    #[serde(default)]
    digital_only: bool,
    #[serde(default)]
    reply_allowed: bool,
    #[serde(default)]
    response_options: Vec<ResponseOptionRequest>,
    #[serde(default)]
    response_deadline: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    print_after_working_hours: Option<i64>,
}

impl LetterRequest {
    fn into_input(self) -> LetterInput {
        let archive = self.archive_ref.unwrap_or_default();
        LetterInput {
            sender_ref: self.sender_ref,
            recipient_fodselsnummer: self.recipient.fodselsnummer,
            recipient_organisasjonsnummer: self.recipient.organisasjonsnummer,
            title: self.title,
            sender_unit: self.sender_unit,
            body: self.body,
            documents: self
                .documents
                .into_iter()
                .map(|d| DocumentInput {
                    filename: d.filename,
                    mime_type: d.mime_type,
                    content: STANDARD.decode(d.content_base64.trim()).ok(),
                    exclude_from_print: d.exclude_from_print,
                })
                .collect(),
            saksaar: archive.saksaar,
            sekvensnummer: archive.sekvensnummer,
            journalpostnummer: archive.journalpostnummer,
            service_notice: self.service_notice,
            sensitive: self.sensitive,
            digital_only: self.digital_only,
            reply_allowed: self.reply_allowed,
            response_options: self
                .response_options
                .into_iter()
                .map(|o| ResponseOptionInput {
                    code: o.code,
                    label: o.label,
                })
                .collect(),
            response_deadline: self.response_deadline,
            print_after_working_hours: self.print_after_working_hours,
        }
    }
}

/// The answer to a letter request (the same for the first call and every retry).
#[derive(Debug, Serialize)]
pub struct LetterResponse {
    id: String,
    sender_ref: String,
    status: &'static str,
}

use super::problem::logged_internal as internal;

/// The letter from a multipart body: a `letter` part with the JSON (documents without
/// `content_base64`), then one part per document, matched by file name, else in order.
async fn from_multipart(mut multipart: axum::extract::Multipart) -> Result<LetterRequest, Problem> {
    let bad = |e: axum::extract::multipart::MultipartError| Problem::bad_request(e.body_text());
    let mut letter: Option<LetterRequest> = None;
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_owned();
        let filename = field.file_name().map(str::to_owned);
        let bytes = field.bytes().await.map_err(bad)?;
        if name == "letter" && letter.is_none() {
            letter = Some(
                serde_json::from_slice(&bytes)
                    .map_err(|e| Problem::bad_request(format!("letter part: {e}")))?,
            );
        } else {
            files.push((filename.unwrap_or(name), bytes.to_vec()));
        }
    }
    let mut letter = letter.ok_or_else(|| {
        Problem::bad_request("no part named letter (the letter's JSON) in the multipart body")
    })?;
    for d in &mut letter.documents {
        if !d.content_base64.is_empty() {
            continue;
        }
        let at = files
            .iter()
            .position(|(n, _)| *n == d.filename)
            .or((!files.is_empty()).then_some(0));
        if let Some(i) = at {
            d.content_base64 = STANDARD.encode(files.remove(i).1);
        }
    }
    Ok(letter)
}

/// `POST /api/v1/letters`: JSON with base64 documents, or multipart (`letter` + files).
pub async fn send_letter(
    State(state): State<AppState>,
    ApiClient(client): ApiClient,
    request: axum::extract::Request,
) -> Result<Response, Problem> {
    use axum::extract::FromRequest;
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let req = if multipart {
        let m = axum::extract::Multipart::from_request(request, &state)
            .await
            .map_err(|e| Problem::bad_request(e.body_text()))?;
        from_multipart(m).await?
    } else {
        let body: Result<Json<LetterRequest>, JsonRejection> =
            Json::from_request(request, &state).await;
        body.map_err(|e| Problem::bad_request(e.body_text()))?.0
    };
    let request_hash = crate::security::sha256_hex_of_json(&req).map_err(|e| internal(&e))?;
    let draft = LetterDraft::parse(req.into_input(), state.clock.now()).map_err(|errors| {
        Problem::invalid(
            errors
                .into_iter()
                .map(|e| FieldProblem {
                    field: e.field,
                    message: e.message,
                })
                .collect(),
        )
    })?;
    let sender_ref = draft.sender_ref.clone();
    let ports = LetterPorts {
        store: state.store.as_ref(),
        blobs: state.blobs.as_ref(),
        clock: state.clock.as_ref(),
        ids: state.ids.as_ref(),
        delivery: &state.config.delivery,
    };
    match send_letter::send_letter(&ports, &client, draft, request_hash).await {
        Ok(sent) => {
            let body = LetterResponse {
                id: sent.receipt.public_id.clone(),
                sender_ref,
                status: sent.receipt.status.code(),
            };
            let status = if sent.created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            let location = format!("/api/v1/letters/{}/status", sent.receipt.public_id);
            Ok((status, [(header::LOCATION, location)], Json(body)).into_response())
        }
        Err(SendLetterError::MissingScope(s)) => Err(Problem::insufficient_scope(s.0)),
        Err(SendLetterError::Conflict(r)) => Err(Problem::conflict(format!(
            "sender_ref {r} was already used for a different letter"
        ))),
        Err(SendLetterError::Store(e)) => Err(internal(&e)),
        Err(SendLetterError::Blob(e)) => Err(internal(&e)),
    }
}

#[derive(Debug, Serialize)]
pub struct EventResponse {
    event: String,
    at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<serde_json::Value>,
}

#[derive(Debug, Serialize)]
pub struct StatusResponse {
    id: String,
    status: &'static str,
    events: Vec<EventResponse>,
}

pub async fn get_letter_status(
    State(state): State<AppState>,
    ApiClient(client): ApiClient,
    Path(id): Path<String>,
) -> Result<Json<StatusResponse>, Problem> {
    match send_letter::letter_status(state.store.as_ref(), &client, &id).await {
        Ok(v) => Ok(Json(StatusResponse {
            id: v.public_id,
            status: v.status.code(),
            events: v
                .events
                .into_iter()
                .map(|e| EventResponse {
                    event: e.event,
                    at: e.at.to_string(),
                    detail: e.detail.and_then(|d| serde_json::from_str(&d).ok()),
                })
                .collect(),
        })),
        Err(LetterStatusError::MissingScope(s)) => Err(Problem::insufficient_scope(s.0)),
        Err(LetterStatusError::NotFound) => Err(Problem::not_found_detail(
            "no letter with this id from this client",
        )),
        Err(LetterStatusError::Store(e)) => Err(internal(&e)),
    }
}

/// `GET /api/v1/letters/{id}/replies/{reply}/attachments/{position}`: an attachment of the
/// resident's reply to one of the client's letters (type sniffed when it was uploaded).
pub async fn get_reply_attachment(
    State(state): State<AppState>,
    ApiClient(client): ApiClient,
    Path((id, reply, position)): Path<(String, String, i64)>,
) -> Result<Response, Problem> {
    use minside_core::usecases::reply_to_letter::{
        reply_attachment_for_sender, SenderAttachmentError,
    };
    match reply_attachment_for_sender(
        state.store.as_ref(),
        state.blobs.as_ref(),
        &client,
        &id,
        &reply,
        position,
    )
    .await
    {
        Ok((meta, bytes)) => Ok(crate::pages::letters::download(
            &meta.filename,
            meta.mime_type,
            bytes,
        )),
        Err(SenderAttachmentError::MissingScope(s)) => Err(Problem::insufficient_scope(s.0)),
        Err(SenderAttachmentError::NotFound) => Err(Problem::not_found_detail(
            "no such attachment on a reply to this client's letter",
        )),
        Err(SenderAttachmentError::Store(e)) => Err(internal(&e)),
        Err(SenderAttachmentError::Blob(e)) => Err(internal(&e)),
    }
}
