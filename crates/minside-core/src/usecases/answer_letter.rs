//! The resident answers a letter ("Ta imot plassen"): one of its options, once, before the deadline.

use crate::auth::{citizen_may_view, Citizen, StepUpRequired};
use crate::letters::LetterView;
use crate::ports::{Clock, Store, StoreError};

/// Why an answer was not taken.
#[derive(Debug, thiserror::Error)]
pub enum AnswerLetterError {
    #[error("no such letter")]
    NotFound,
    #[error(transparent)]
    StepUp(#[from] StepUpRequired),
    #[error("the letter has no such option")]
    NoSuchOption,
    #[error("the letter was already answered")]
    AlreadyAnswered,
    #[error("the deadline has passed")]
    DeadlinePassed,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks everything an answer must satisfy and returns the letter and the option's label.
pub async fn prepare_answer(
    store: &dyn Store,
    clock: &dyn Clock,
    citizen: &Citizen,
    public_id: &str,
    option: &str,
) -> Result<(LetterView, String), AnswerLetterError> {
    let letter = store
        .letter_for_recipient(&citizen.fnr, public_id)
        .await?
        .ok_or(AnswerLetterError::NotFound)?;
    citizen_may_view(citizen, letter.required_loa)?;
    if letter.answer.is_some() {
        return Err(AnswerLetterError::AlreadyAnswered);
    }
    if letter.response_deadline.is_some_and(|d| clock.now() > d) {
        return Err(AnswerLetterError::DeadlinePassed);
    }
    let label = letter
        .response_options
        .iter()
        .find(|o| o.code == option)
        .map(|o| o.label.clone())
        .ok_or(AnswerLetterError::NoSuchOption)?;
    Ok((letter, label))
}

/// Stores the answer (after the resident confirmed it); its `answered` event reaches the sender
/// through the status endpoint and the sender's webhook.
pub async fn answer_letter(
    store: &dyn Store,
    clock: &dyn Clock,
    citizen: &Citizen,
    public_id: &str,
    option: &str,
) -> Result<(), AnswerLetterError> {
    let (letter, _) = prepare_answer(store, clock, citizen, public_id, option).await?;
    let now = clock.now();
    if store
        .answer_letter(letter.id, option, &citizen.fnr, now, &[])
        .await?
    {
        Ok(())
    } else {
        Err(AnswerLetterError::AlreadyAnswered)
    }
}
