//! The OpenAPI 3.1 document of `/api/v1`. Written as data next to the handlers it describes; a
//! test fails when a route exists that the document does not list.

use crate::AppState;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

fn problem_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}})
}

/// `GET /api/v1/openapi.json`.
pub async fn openapi_document(State(state): State<AppState>) -> Json<Value> {
    let svarut = json!([{"url": format!("{}/svarut/api", state.config.public_url),
        "description": "SvarUt-compatible endpoints (NORWAY.md §4): point a SvarUt client's base URL at <portal>/svarut"}]);
    let svarut_send = |kind: &str| {
        json!({
            "servers": svarut,
            "post": {
                "operationId": format!("svarUtSend{kind}"),
                "summary": "SvarUt v3 send: multipart with a `forsendelse` JSON part (SvarUt's PersonForsendelse/OrganisasjonForsendelse) followed by one part per document; the same request twice is one letter; needs minside:letters.write",
                "parameters": [{"name": "kontoId", "in": "path", "required": true, "schema": {"type": "string"}, "description": "Accepted and not used"}],
                "requestBody": {"required": true, "content": {"multipart/form-data": {"schema": {"type": "object", "required": ["forsendelse"],
                    "properties": {"forsendelse": {"type": "string", "description": "JSON: tittel, mottaker{digitalId}, dokumenter[]{filnavn, mimeType, skalEkskluderesFraUtskrift}, kunDigitalLevering, sikkerhetsniva, svarSendesTil{navn}, metadataFraAvleverendeSystem{saksaar, sakssekvensnummer, journalpostnummer}"}},
                    "additionalProperties": {"type": "string", "format": "binary"}}}}},
                "responses": {
                    "200": {"description": "Accepted", "content": {"application/json": {"schema": {"type": "object", "properties": {"id": {"type": "string", "format": "uuid"}}}}}},
                    "400": problem_response("Not multipart, or no forsendelse part"),
                    "401": problem_response("Missing or invalid token"),
                    "403": problem_response("The token lacks minside:letters.write"),
                    "422": problem_response("Invalid fields, named as in SvarUt (tittel, mottaker.digitalId, dokumenter[i].…)")
                }
            }
        })
    };
    let svarut_status = |version: &str, body: Value| {
        json!({
            "servers": svarut,
            "post": {
                "operationId": format!("svarUtStatusSearch{version}"),
                "summary": "SvarUt status search: status names AKSEPTERT, VARSLET, LEST, SENDT_PRINT, PRINTET, MANUELT_HANDTERT, IKKE_LEVERT; needs minside:letters.read",
                "parameters": [{"name": "kontoId", "in": "path", "required": true, "schema": {"type": "string"}}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": body}}},
                "responses": {
                    "200": {"description": "Statuses of the client's letters among the ids", "content": {"application/json": {"schema": {"type": "object",
                        "properties": {"statuser": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "string"}, "status": {"type": "string"}, "sisteStatusEndring": {"type": "string", "format": "date-time"}}}}}}}}},
                    "401": problem_response("Missing or invalid token"),
                    "403": problem_response("The token lacks minside:letters.read")
                }
            }
        })
    };
    Json(json!({
        "openapi": "3.1.0",
        "info": {
            "title": "minside back-office API",
            "version": "1",
            "description": "For case/archive, ERP and fee systems. Authenticate with a Maskinporten-style \
                JWT bearer token signed with the client's registered RSA key (RS256): iss = client id, \
                aud = the portal's API audience, scope = space-separated scopes, iat/exp (at most 600 s). \
                Errors are RFC 9457 problem+json."
        },
        "servers": [{"url": format!("{}/api/v1", state.config.public_url)}],
        "security": [{"bearer": []}],
        "paths": {
            "/letters": {
                "post": {
                    "operationId": "sendLetter",
                    "summary": "Send a letter (forsendelse) to a resident or an organisation; needs minside:letters.write",
                    "description": "Idempotent on sender_ref: the same sender_ref with the same content returns the first \
                        answer (200); with other content it is a 409. Documents are base64; only PDF is printable, \
                        other types need exclude_from_print unless digital_only. Types are sniffed from the content. \
                        Instead of base64, send multipart/form-data: a `letter` part with the JSON (documents without \
                        content_base64), then one part per document (matched by file name, else in order).",
                    "requestBody": {"required": true, "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/LetterRequest"}},
                        "multipart/form-data": {"schema": {"type": "object", "required": ["letter"],
                            "properties": {"letter": {"$ref": "#/components/schemas/LetterRequest"}},
                            "additionalProperties": {"type": "string", "format": "binary"}}}}},
                    "responses": {
                        "201": {"description": "Accepted", "headers": {"Location": {"schema": {"type": "string"}}},
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LetterReceipt"}}}},
                        "200": {"description": "A retry of an accepted letter: the same answer", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LetterReceipt"}}}},
                        "400": problem_response("The body is not JSON of the expected shape"),
                        "401": problem_response("Missing or invalid token"),
                        "403": problem_response("The token lacks minside:letters.write"),
                        "409": problem_response("sender_ref was used for a different letter"),
                        "422": problem_response("Invalid fields, all listed in errors[]")
                    }
                }
            },
            "/letters/{id}/status": {
                "get": {
                    "operationId": "getLetterStatus",
                    "summary": "Status (SvarUt names) and events of one of the client's letters; needs minside:letters.read",
                    "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}],
                    "responses": {
                        "200": {"description": "Status and events", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LetterStatus"}}}},
                        "401": problem_response("Missing or invalid token"),
                        "403": problem_response("The token lacks minside:letters.read"),
                        "404": problem_response("No letter with this id from this client")
                    }
                }
            },
            "/letters/{id}/replies/{reply}/attachments/{position}": {
                "get": {
                    "operationId": "getReplyAttachment",
                    "summary": "An attachment of a resident's reply (announced by a `replied` event); PDF, JPEG or PNG by its sniffed content; needs minside:letters.read",
                    "parameters": [
                        {"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}},
                        {"name": "reply", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}},
                        {"name": "position", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 0}}
                    ],
                    "responses": {
                        "200": {"description": "The file", "content": {"application/pdf": {}, "image/jpeg": {}, "image/png": {}}},
                        "401": problem_response("Missing or invalid token"),
                        "403": problem_response("The token lacks minside:letters.read"),
                        "404": problem_response("No such attachment on a reply to this client's letter")
                    }
                }
            },
            "/v3/kontoer/{kontoId}/forsendelser/person": svarut_send("Person"),
            "/v3/kontoer/{kontoId}/forsendelser/organisasjon": svarut_send("Organisation"),
            "/v3/kontoer/{kontoId}/forsendelser/status/sok": svarut_status("V3", json!({"type": "object", "properties": {"id": {"type": "array", "items": {"type": "string"}}}})),
            "/v2/kontoer/{kontoId}/forsendelser/status-sok": svarut_status("V2", json!({"type": "object", "properties": {"forsendelseIds": {"type": "array", "items": {"type": "string"}}}})),
            "/v2/forsendelser/{id}/hendelser": {
                "servers": svarut,
                "get": {
                    "operationId": "svarUtEvents",
                    "summary": "SvarUt event log of one of the client's letters: {hendelser: [{tidspunkt, hendelse}]}; needs minside:letters.read",
                    "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}],
                    "responses": {
                        "200": {"description": "Events, oldest first", "content": {"application/json": {"schema": {"type": "object"}}}},
                        "401": problem_response("Missing or invalid token"),
                        "403": problem_response("The token lacks minside:letters.read"),
                        "404": problem_response("No letter with this id from this client")
                    }
                }
            },
            "/statistics/letters": {
                "get": {
                    "operationId": "getLetterStatistics",
                    "summary": "Letters per month and sender unit: sent, read digitally, printed, answered, median minutes to read, money saved; needs minside:statistics.read. Aggregates only.",
                    "parameters": [
                        {"name": "from", "in": "query", "required": false, "schema": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"}, "description": "First month (default: eleven months before `to`)"},
                        {"name": "to", "in": "query", "required": false, "schema": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"}, "description": "Last month (default: this month)"}
                    ],
                    "responses": {
                        "200": {"description": "The statistics", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LetterStatistics"}}}},
                        "401": problem_response("Missing or invalid token"),
                        "403": problem_response("The token lacks minside:statistics.read"),
                        "422": problem_response("The period is not two months in order, at most 36 apart")
                    }
                }
            },
            "/persons/lookup": {
                "post": {
                    "operationId": "lookUpPerson",
                    "summary": "Read a resident's register data (access-logged; needs minside:persons.read)",
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PersonLookupRequest"}}}},
                    "responses": {
                        "200": {"description": "The resident", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Person"}}}},
                        "400": problem_response("The body is not JSON of the expected shape"),
                        "401": problem_response("Missing or invalid token"),
                        "403": problem_response("The token lacks minside:persons.read"),
                        "404": problem_response("No resident with that number"),
                        "422": problem_response("Invalid fields, all listed in errors[]")
                    }
                }
            }
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": {
                "LetterStatistics": {
                    "type": "object", "required": ["from", "to", "saving_per_letter_nok", "rows", "totals"],
                    "properties": {
                        "from": {"type": "string"}, "to": {"type": "string"},
                        "saving_per_letter_nok": {"type": "integer"},
                        "rows": {"type": "array", "items": {"type": "object", "properties": {
                            "month": {"type": "string"}, "sender_unit": {"type": "string"},
                            "sent": {"type": "integer"}, "read_digitally": {"type": "integer", "description": "Opened in the portal and never sent to print"},
                            "printed": {"type": "integer"}, "answered": {"type": "integer"},
                            "median_minutes_to_read": {"type": ["integer", "null"]}, "money_saved_nok": {"type": "integer"}}}},
                        "totals": {"type": "object"}
                    }
                },
                "PersonLookupRequest": {
                    "type": "object", "required": ["fodselsnummer", "purpose"],
                    "properties": {
                        "fodselsnummer": {"type": "string", "pattern": "^[0-9]{11}$", "description": "Fødselsnummer or D-nummer"},
                        "purpose": {"type": "string", "minLength": 1, "maxLength": 200, "description": "Why; shown to the resident"}
                    }
                },
                "Person": {
                    "type": "object",
                    "required": ["fodselsnummer", "given_name", "family_name", "birth_date", "address", "kommunenummer"],
                    "properties": {
                        "fodselsnummer": {"type": "string"},
                        "given_name": {"type": "string"},
                        "family_name": {"type": "string"},
                        "birth_date": {"type": "string", "format": "date"},
                        "address": {"type": "object", "properties": {"street": {"type": "string"}, "postcode": {"type": "string"}, "city": {"type": "string"}}},
                        "kommunenummer": {"type": "string", "pattern": "^[0-9]{4}$"}
                    }
                },
                "LetterRequest": {
                    "type": "object", "required": ["sender_ref", "recipient", "title", "sender_unit"],
                    "properties": {
                        "sender_ref": {"type": "string", "maxLength": 200, "description": "The sender's own id (idempotency key)"},
                        "recipient": {"type": "object", "properties": {
                            "fodselsnummer": {"type": "string"}, "organisasjonsnummer": {"type": "string"}},
                            "description": "Exactly one of the two"},
                        "title": {"type": "string", "minLength": 1, "maxLength": 1000},
                        "sender_unit": {"type": "string", "maxLength": 200},
                        "body": {"type": "string"},
                        "documents": {"type": "array", "items": {"type": "object", "required": ["filename", "mime_type", "content_base64"],
                            "properties": {"filename": {"type": "string", "maxLength": 226}, "mime_type": {"type": "string"},
                                "content_base64": {"type": "string"}, "exclude_from_print": {"type": "boolean"}}}},
                        "archive_ref": {"type": "object", "properties": {"saksaar": {"type": "integer"}, "sekvensnummer": {"type": "integer"}, "journalpostnummer": {"type": "integer"}}},
                        "service_notice": {"type": "boolean", "description": "A service message allowed despite reservation"},
                        "sensitive": {"type": "boolean", "description": "Needs idporten-loa-high to open"},
                        "digital_only": {"type": "boolean"},
                        "reply_allowed": {"type": "boolean"},
                        "response_options": {"type": "array", "items": {"type": "object", "properties": {"code": {"type": "string"}, "label": {"type": "string"}}}},
                        "response_deadline": {"type": "string", "format": "date-time"}
                    }
                },
                "LetterReceipt": {
                    "type": "object", "required": ["id", "sender_ref", "status"],
                    "properties": {"id": {"type": "string", "format": "uuid"}, "sender_ref": {"type": "string"}, "status": {"$ref": "#/components/schemas/Status"}}
                },
                "LetterStatus": {
                    "type": "object", "required": ["id", "status", "events"],
                    "properties": {"id": {"type": "string"}, "status": {"$ref": "#/components/schemas/Status"},
                        "events": {"type": "array", "items": {"type": "object", "properties": {
                            "event": {"type": "string", "enum": ["created", "notified", "read", "answered", "printed", "failed"]},
                            "at": {"type": "string", "format": "date-time"}, "detail": {"type": "object"}}}}}
                },
                "Status": {"type": "string", "enum": ["AKSEPTERT", "VARSLET", "LEST", "SENDT_PRINT", "PRINTET", "MANUELT_HANDTERT", "IKKE_LEVERT"]},
                "Problem": {
                    "type": "object", "required": ["type", "title", "status"],
                    "properties": {
                        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "errors": {"type": "array", "items": {"type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}}
                    }
                }
            }
        }
    }))
}
