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
