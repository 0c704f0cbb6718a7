//! Staff or a back-office system looks up a resident; every read is access-logged.

use crate::access_log::{Access, Actor, Purpose};
use crate::auth::{
    staff_may_open, system_may, Forbidden, MissingScope, Scope, Staff, StaffArea, SystemClient,
};
use crate::ident::Fodselsnummer;
use crate::person::Person;
use crate::ports::{Clock, Store, StoreError};

/// Why a look-up did not return a person.
#[derive(Debug, thiserror::Error)]
pub enum LookUpPersonError {
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    #[error(transparent)]
    MissingScope(#[from] MissingScope),
    #[error("no resident with that number")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A caseworker or privacy officer reads a resident's register data.
pub async fn look_up_person(
    store: &dyn Store,
    clock: &dyn Clock,
    staff: &Staff,
    fnr: &Fodselsnummer,
    purpose: Purpose,
) -> Result<Person, LookUpPersonError> {
    staff_may_open(staff, StaffArea::PersonLookup)?;
    let actor = Actor::Staff {
        subject: staff.subject.clone(),
        name: staff.name.clone(),
    };
    read_register_data(store, clock, actor, fnr, purpose).await
}

/// A back-office system reads a resident's register data; needs `minside:persons.read`.
pub async fn look_up_person_for_system(
    store: &dyn Store,
    clock: &dyn Clock,
    client: &SystemClient,
    fnr: &Fodselsnummer,
    purpose: Purpose,
) -> Result<Person, LookUpPersonError> {
    system_may(client, Scope::PersonsRead)?;
    let actor = Actor::System {
        client_id: client.client_id.clone(),
    };
    read_register_data(store, clock, actor, fnr, purpose).await
}

/// The read itself, after authorization: person and access-log entry in one transaction.
async fn read_register_data(
    store: &dyn Store,
    clock: &dyn Clock,
    actor: Actor,
    fnr: &Fodselsnummer,
    purpose: Purpose,
) -> Result<Person, LookUpPersonError> {
    let access = Access {
        actor,
        purpose,
        what: "person.register_data",
        at: clock.now(),
    };
    store
        .read_person_logged(fnr, &access)
        .await?
        .ok_or(LookUpPersonError::NotFound)
}
