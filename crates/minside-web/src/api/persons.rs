//! `POST /api/v1/persons/lookup`: a back-office system reads a resident's register data. The
//! number travels in the body, never in the URL; every read is access-logged with the system as
//! the actor and the stated purpose, and the resident sees it on their privacy page.

use super::auth::ApiClient;
use super::problem::{FieldProblem, Problem};
use crate::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::Json;
use minside_core::access_log::{Purpose, PurposeError};
use minside_core::ident::{Fodselsnummer, FodselsnummerError};
use minside_core::person::Person;
use minside_core::usecases::look_up_person::{look_up_person_for_system, LookUpPersonError};
use serde::{Deserialize, Serialize};

/// Request body.
#[derive(Debug, Deserialize)]
pub struct PersonLookupRequest {
    #[serde(default)]
    fodselsnummer: String,
    #[serde(default)]
    purpose: String,
}

#[derive(Debug, Serialize)]
pub struct AddressResponse {
    street: String,
    postcode: String,
    city: String,
}

/// Response body.
#[derive(Debug, Serialize)]
pub struct PersonResponse {
    fodselsnummer: String,
    given_name: String,
    family_name: String,
    birth_date: String,
    address: AddressResponse,
    kommunenummer: String,
}

impl From<Person> for PersonResponse {
    fn from(p: Person) -> Self {
        Self {
            fodselsnummer: p.fnr.to_string(),
            given_name: p.given_name,
            family_name: p.family_name,
            birth_date: p.birth_date.to_string(),
            address: AddressResponse {
                street: p.address.street,
                postcode: p.address.postcode,
                city: p.address.city,
            },
            kommunenummer: p.kommunenummer.to_string(),
        }
    }
}

fn field(field: &str, message: &str) -> FieldProblem {
    FieldProblem {
        field: field.into(),
        message: message.into(),
    }
}

pub async fn look_up_person(
    State(state): State<AppState>,
    ApiClient(client): ApiClient,
    body: Result<Json<PersonLookupRequest>, JsonRejection>,
) -> Result<Json<PersonResponse>, Problem> {
    let Json(req) = body.map_err(|e| Problem::bad_request(e.body_text()))?;
    let fnr = Fodselsnummer::parse(&req.fodselsnummer).map_err(|e| match e {
        FodselsnummerError::Format => field("fodselsnummer", "must be 11 digits"),
        FodselsnummerError::Date => {
            field("fodselsnummer", "the first six digits are not a valid date")
        }
        FodselsnummerError::Checksum => field("fodselsnummer", "the check digits do not match"),
    });
    let purpose = Purpose::parse(&req.purpose).map_err(|e| match e {
        PurposeError::Missing => field("purpose", "state why the person is looked up"),
        PurposeError::TooLong => field("purpose", "at most 200 characters"),
    });
    let (fnr, purpose) = match (fnr, purpose) {
        (Ok(f), Ok(p)) => (f, p),
        (f, p) => {
            return Err(Problem::invalid(
                f.err().into_iter().chain(p.err()).collect(),
            ))
        }
    };
    match look_up_person_for_system(
        state.store.as_ref(),
        state.clock.as_ref(),
        &client,
        &fnr,
        purpose,
    )
    .await
    {
        Ok(person) => Ok(Json(person.into())),
        Err(LookUpPersonError::NotFound) => {
            Err(Problem::not_found_detail("no resident with that number"))
        }
        Err(LookUpPersonError::MissingScope(s)) => Err(Problem::insufficient_scope(s.0)),
        Err(LookUpPersonError::Forbidden(_)) => {
            Err(Problem::insufficient_scope("minside:persons.read"))
        }
        Err(LookUpPersonError::Store(e)) => {
            let id = crate::security::random_token()[..10].to_owned();
            tracing::error!(operation_id = %id, error = %e, "person look-up failed");
            Err(Problem::internal(&id))
        }
    }
}
