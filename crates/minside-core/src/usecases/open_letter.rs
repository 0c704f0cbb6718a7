//! The resident's inbox and letters: list, open (read receipt once), documents, archive, unread.

use crate::auth::{citizen_may_view, Citizen, StepUpRequired};
use crate::letters::{DocumentMeta, InboxPage, InboxQuery, LetterView};
use crate::ports::{BlobError, Blobs, Clock, Store, StoreError};

/// Why a letter cannot be shown.
#[derive(Debug, thiserror::Error)]
pub enum OpenLetterError {
    /// No such letter for this resident (another person's letter looks the same: not found).
    #[error("no such letter")]
    NotFound,
    /// The letter is sensitive and the session's level is too low.
    #[error(transparent)]
    StepUp(#[from] StepUpRequired),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Blob(#[from] BlobError),
}

/// One page of the resident's own inbox (their own data: not access-logged).
pub async fn show_inbox(
    store: &dyn Store,
    citizen: &Citizen,
    query: &InboxQuery,
) -> Result<InboxPage, StoreError> {
    store.inbox(&citizen.fnr, query).await
}

/// Loads a letter the resident may see at this level.
pub(crate) async fn load(
    store: &dyn Store,
    citizen: &Citizen,
    public_id: &str,
) -> Result<LetterView, OpenLetterError> {
    let letter = store
        .letter_for_recipient(&citizen.fnr, public_id)
        .await?
        .ok_or(OpenLetterError::NotFound)?;
    citizen_may_view(citizen, letter.required_loa)?;
    Ok(letter)
}

/// Opens a letter: the first opening records that it was read.
pub async fn open_letter(
    store: &dyn Store,
    clock: &dyn Clock,
    citizen: &Citizen,
    public_id: &str,
) -> Result<LetterView, OpenLetterError> {
    let mut letter = load(store, citizen, public_id).await?;
    if letter.read_at.is_none() || letter.marked_unread {
        let now = clock.now();
        store.mark_letter_read(letter.id, now).await?;
        letter.read_at = letter.read_at.or(Some(now));
        letter.marked_unread = false;
    }
    Ok(letter)
}

/// A document of a letter the resident may open, with its bytes.
pub async fn letter_document(
    store: &dyn Store,
    blobs: &dyn Blobs,
    citizen: &Citizen,
    public_id: &str,
    position: i64,
) -> Result<(DocumentMeta, Vec<u8>), OpenLetterError> {
    let letter = load(store, citizen, public_id).await?;
    let meta = letter
        .documents
        .into_iter()
        .find(|d| d.position == position)
        .ok_or(OpenLetterError::NotFound)?;
    let bytes = blobs.get(&meta.blob_key).await?;
    Ok((meta, bytes))
}

/// What the resident does with a letter from its page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LetterAction {
    Archive,
    Unarchive,
    MarkUnread,
}

/// Archives, un-archives or marks unread one of the resident's letters.
pub async fn act_on_letter(
    store: &dyn Store,
    clock: &dyn Clock,
    citizen: &Citizen,
    public_id: &str,
    action: LetterAction,
) -> Result<(), OpenLetterError> {
    let letter = load(store, citizen, public_id).await?;
    match action {
        LetterAction::Archive => {
            store
                .set_letter_archived(letter.id, true, clock.now())
                .await?
        }
        LetterAction::Unarchive => {
            store
                .set_letter_archived(letter.id, false, clock.now())
                .await?
        }
        LetterAction::MarkUnread => store.mark_letter_unread(letter.id).await?,
    }
    Ok(())
}
