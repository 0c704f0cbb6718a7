//! Letters (forsendelser) from the municipality's back-office systems to residents and
//! organisations: the validated draft, statuses with SvarUt's names, and the parse rules.

mod draft;

pub use draft::{
    ArchiveRef, DocumentInput, DocumentType, FieldError, LetterDraft, LetterInput, NewDocument,
    Recipient, ResponseOption, ResponseOptionInput, MAX_DOCUMENT_BYTES,
};

/// Where a letter is, named as SvarUt names it (NORWAY.md §4) so that case systems can map it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LetterStatus {
    /// Received and stored.
    Akseptert,
    /// The recipient was notified (e-mail/SMS).
    Varslet,
    /// Opened in the portal.
    Lest,
    /// Handed to print.
    SendtPrint,
    /// Printed (batch confirmed).
    Printet,
    /// Stopped by an operator.
    ManueltHandtert,
    /// Could not be delivered.
    IkkeLevert,
}

impl LetterStatus {
    pub const ALL: [LetterStatus; 7] = [
        Self::Akseptert,
        Self::Varslet,
        Self::Lest,
        Self::SendtPrint,
        Self::Printet,
        Self::ManueltHandtert,
        Self::IkkeLevert,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Akseptert => "AKSEPTERT",
            Self::Varslet => "VARSLET",
            Self::Lest => "LEST",
            Self::SendtPrint => "SENDT_PRINT",
            Self::Printet => "PRINTET",
            Self::ManueltHandtert => "MANUELT_HANDTERT",
            Self::IkkeLevert => "IKKE_LEVERT",
        }
    }

    pub fn from_code(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.code() == s)
    }
}

/// A letter event as the sender sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LetterEvent {
    /// `created`, `notified`, `read`, `answered`, `printed`, `failed`.
    pub event: String,
    pub at: jiff::Timestamp,
    /// JSON with the event's details (channel, option, batch id, reason).
    pub detail: Option<String>,
}

/// A stored letter's identity and status, as the API answers about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LetterReceipt {
    pub public_id: String,
    pub status: LetterStatus,
    pub request_hash: String,
}

/// The status and event log of one letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LetterStatusView {
    pub public_id: String,
    pub status: LetterStatus,
    pub events: Vec<LetterEvent>,
}

/// A letter ready to store: the draft plus what the use case decided.
#[derive(Debug, Clone)]
pub struct NewLetter {
    pub public_id: String,
    pub client_id: String,
    pub request_hash: String,
    pub draft: LetterDraft,
    /// Blob keys of the documents, in the draft's order.
    pub blob_keys: Vec<String>,
    pub created_at: jiff::Timestamp,
}
