//! The resident writes back on a letter that allows it; the sender fetches the attachments.

use super::open_letter::{load, OpenLetterError};
use crate::auth::{system_may, Citizen, MissingScope, Scope, StepUpRequired, SystemClient};
use crate::letters::reply::{parse_reply, AttachmentInput, AttachmentMeta, NewReply, ReplyProblem};
use crate::ports::{BlobError, Blobs, Clock, IdGenerator, Store, StoreError};

/// Why a reply was not stored.
#[derive(Debug, thiserror::Error)]
pub enum ReplyToLetterError {
    #[error("no such letter")]
    NotFound,
    #[error(transparent)]
    StepUp(#[from] StepUpRequired),
    #[error("this letter does not take replies")]
    NotAllowed,
    #[error("the reply breaks {} rule(s)", .0.len())]
    Invalid(Vec<ReplyProblem>),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Blob(#[from] BlobError),
}

impl From<OpenLetterError> for ReplyToLetterError {
    fn from(e: OpenLetterError) -> Self {
        match e {
            OpenLetterError::NotFound => Self::NotFound,
            OpenLetterError::StepUp(s) => Self::StepUp(s),
            OpenLetterError::Store(s) => Self::Store(s),
            OpenLetterError::Blob(b) => Self::Blob(b),
        }
    }
}

/// The ports a reply needs.
pub struct ReplyPorts<'a> {
    pub store: &'a dyn Store,
    pub blobs: &'a dyn Blobs,
    pub clock: &'a dyn Clock,
    pub ids: &'a dyn IdGenerator,
}

/// Checks and stores a reply. Attachments are written to blob storage first (a crash in between
/// leaves an unreferenced file, never a reply without its attachment).
pub async fn reply_to_letter(
    ports: &ReplyPorts<'_>,
    citizen: &Citizen,
    public_id: &str,
    text: &str,
    files: Vec<AttachmentInput>,
) -> Result<(), ReplyToLetterError> {
    let letter = load(ports.store, citizen, public_id).await?;
    if !letter.reply_allowed {
        return Err(ReplyToLetterError::NotAllowed);
    }
    let draft = parse_reply(text, files).map_err(ReplyToLetterError::Invalid)?;
    let reply_id = ports.ids.uuid(ports.clock.now());
    let mut attachments = Vec::with_capacity(draft.attachments.len());
    for (i, a) in draft.attachments.into_iter().enumerate() {
        let key = crate::ports::document_key("replies", &reply_id, i);
        ports.blobs.put(&key, &a.content).await?;
        attachments.push(AttachmentMeta {
            position: i as i64,
            filename: a.filename,
            mime_type: a.doc_type.mime().to_owned(),
            size_bytes: a.content.len() as i64,
            blob_key: key,
        });
    }
    let reply = NewReply {
        public_id: reply_id,
        text: draft.text,
        attachments,
    };
    ports
        .store
        .add_reply(letter.id, &reply, ports.clock.now())
        .await?;
    Ok(())
}

/// An attachment of the resident's own reply.
pub async fn reply_attachment(
    store: &dyn Store,
    blobs: &dyn Blobs,
    citizen: &Citizen,
    public_id: &str,
    reply_id: &str,
    position: i64,
) -> Result<(AttachmentMeta, Vec<u8>), OpenLetterError> {
    let letter = load(store, citizen, public_id).await?;
    let meta = letter
        .replies
        .into_iter()
        .find(|r| r.public_id == reply_id)
        .and_then(|r| r.attachments.into_iter().find(|a| a.position == position))
        .ok_or(OpenLetterError::NotFound)?;
    let bytes = blobs.get(&meta.blob_key).await?;
    Ok((meta, bytes))
}

/// Why the sender cannot have an attachment.
#[derive(Debug, thiserror::Error)]
pub enum SenderAttachmentError {
    #[error(transparent)]
    MissingScope(#[from] MissingScope),
    #[error("no such attachment")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Blob(#[from] BlobError),
}

/// An attachment of a reply to one of the client's letters.
pub async fn reply_attachment_for_sender(
    store: &dyn Store,
    blobs: &dyn Blobs,
    client: &SystemClient,
    letter_id: &str,
    reply_id: &str,
    position: i64,
) -> Result<(AttachmentMeta, Vec<u8>), SenderAttachmentError> {
    system_may(client, Scope::LettersRead)?;
    let meta = store
        .reply_attachment_for_sender(&client.client_id, letter_id, reply_id, position)
        .await?
        .ok_or(SenderAttachmentError::NotFound)?;
    let bytes = blobs.get(&meta.blob_key).await?;
    Ok((meta, bytes))
}
