//! A back-office system sends a letter. Idempotent on the sender's own id: the same id with the
//! same content returns the first result; the same id with other content is a conflict.

use crate::auth::{system_may, MissingScope, Scope, SystemClient};
use crate::letters::{
    plan_delivery, DeliveryPolicy, LetterDraft, LetterReceipt, LetterStatus, LetterStatusView,
    NewLetter, Recipient,
};
use crate::ports::{BlobError, Blobs, Clock, IdGenerator, Store, StoreError};

/// Why a letter was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum SendLetterError {
    #[error(transparent)]
    MissingScope(#[from] MissingScope),
    #[error("sender_ref {0} was already used for a different letter")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Blob(#[from] BlobError),
}

/// The outcome: the receipt, and whether this call created the letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub receipt: LetterReceipt,
    pub created: bool,
}

/// Ports the use case needs besides the store.
pub struct LetterPorts<'a> {
    pub store: &'a dyn Store,
    pub blobs: &'a dyn Blobs,
    pub clock: &'a dyn Clock,
    pub ids: &'a dyn IdGenerator,
    pub delivery: &'a DeliveryPolicy,
}

/// Stores documents, then the letter with its event and its delivery jobs (decided from the
/// contact register now) in one transaction. `request_hash` is a
/// hash of the canonical request, to tell a retry from a different letter with a reused id.
pub async fn send_letter(
    p: &LetterPorts<'_>,
    client: &SystemClient,
    draft: LetterDraft,
    request_hash: String,
) -> Result<Sent, SendLetterError> {
    system_may(client, Scope::LettersWrite)?;
    if let Some(existing) = p
        .store
        .letter_receipt(&client.client_id, &draft.sender_ref)
        .await?
    {
        return same_or_conflict(existing, &request_hash, &draft.sender_ref);
    }
    let now = p.clock.now();
    let public_id = p.ids.uuid(now);
    let mut blob_keys = Vec::with_capacity(draft.documents.len());
    for (i, d) in draft.documents.iter().enumerate() {
        // Documents are written before the transaction; a crash in between leaves an unreferenced
        // file, never a letter without its document.
        let key = crate::ports::document_key("letters", &public_id, i);
        p.blobs.put(&key, &d.content).await?;
        blob_keys.push(key);
    }
    let sender_ref = draft.sender_ref.clone();
    let contact = match &draft.recipient {
        Recipient::Person(fnr) => p.store.contact_record(fnr).await?,
        Recipient::Organisation(_) => None,
    };
    let jobs = plan_delivery(&public_id, &draft, contact.as_ref(), p.delivery, now);
    let letter = NewLetter {
        public_id: public_id.clone(),
        client_id: client.client_id.clone(),
        request_hash: request_hash.clone(),
        draft,
        blob_keys,
        created_at: now,
    };
    match p.store.create_letter(&letter, &jobs).await {
        Ok(()) => Ok(Sent {
            receipt: LetterReceipt {
                public_id,
                status: LetterStatus::Akseptert,
                request_hash,
            },
            created: true,
        }),
        // Two identical requests at once: the other one won; answer as a retry would be answered.
        Err(StoreError::Conflict(_)) => match p
            .store
            .letter_receipt(&client.client_id, &sender_ref)
            .await?
        {
            Some(existing) => same_or_conflict(existing, &request_hash, &sender_ref),
            None => Err(SendLetterError::Conflict(sender_ref)),
        },
        Err(e) => Err(e.into()),
    }
}

fn same_or_conflict(
    existing: LetterReceipt,
    request_hash: &str,
    sender_ref: &str,
) -> Result<Sent, SendLetterError> {
    if existing.request_hash == request_hash {
        Ok(Sent {
            receipt: existing,
            created: false,
        })
    } else {
        Err(SendLetterError::Conflict(sender_ref.to_owned()))
    }
}

/// Why a status could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum LetterStatusError {
    #[error(transparent)]
    MissingScope(#[from] MissingScope),
    #[error("no such letter from this client")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The status and events of one of the client's own letters.
pub async fn letter_status(
    store: &dyn Store,
    client: &SystemClient,
    public_id: &str,
) -> Result<LetterStatusView, LetterStatusError> {
    system_may(client, Scope::LettersRead)?;
    store
        .letter_status(&client.client_id, public_id)
        .await?
        .ok_or(LetterStatusError::NotFound)
}
