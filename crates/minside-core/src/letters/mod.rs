//! Letters (forsendelser) from the municipality's back-office systems to residents and
//! organisations: the validated draft, statuses with SvarUt's names, and the parse rules.

mod delivery_plan;
mod draft;
pub mod notify;
pub mod print;
pub mod reply;
pub mod webhook;

pub use delivery_plan::{
    plan_delivery, sms_window, DeliveryPolicy, NOTIFY_EMAIL, NOTIFY_SMS, PRINT_IF_UNREAD,
    PRINT_LETTER, REMIND_ANSWER,
};
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

/// A letter with what already happened to it, for bulk-loading a synthetic municipality's history
/// (benchmark and demo databases). Stored with its status, times and the matching events.
#[derive(Debug, Clone)]
pub struct HistoricLetter {
    pub letter: NewLetter,
    pub status: LetterStatus,
    pub notified_at: Option<jiff::Timestamp>,
    pub read_at: Option<jiff::Timestamp>,
    /// The option chosen and when.
    pub answer: Option<(String, jiff::Timestamp)>,
    /// Queued for print and printed (the print fallback or a reserved resident).
    pub printed_at: Option<jiff::Timestamp>,
    pub archived_at: Option<jiff::Timestamp>,
}

/// Which letters the inbox lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InboxFilter {
    /// Everything not archived.
    #[default]
    All,
    Unread,
    /// Has response options, not answered, deadline not passed.
    NeedsAnswer,
    Archived,
}

impl InboxFilter {
    pub const ALL: [InboxFilter; 4] = [Self::All, Self::Unread, Self::NeedsAnswer, Self::Archived];

    pub fn code(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Unread => "unread",
            Self::NeedsAnswer => "needs-answer",
            Self::Archived => "archived",
        }
    }

    pub fn from_code(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.code() == s)
    }
}

/// Position in the inbox for keyset pagination: the last letter shown (created_at, id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboxCursor {
    pub created_at: jiff::Timestamp,
    pub id: i64,
}

impl InboxCursor {
    /// `<microseconds>.<id>`, opaque to users.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.created_at.as_microsecond(), self.id)
    }

    pub fn decode(s: &str) -> Option<Self> {
        let (t, id) = s.split_once('.')?;
        Some(Self {
            created_at: jiff::Timestamp::from_microsecond(t.parse().ok()?).ok()?,
            id: id.parse().ok()?,
        })
    }
}

/// Letters on a page of the inbox. On PostgreSQL the store keeps each resident's first page (this
/// many and one more) with them; a larger page is listed from the letters instead.
pub const INBOX_PAGE_SIZE: i64 = 20;

/// A query for one page of the inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxQuery {
    pub filter: InboxFilter,
    /// Words that must appear in the title (case-insensitive), if any.
    pub search: Option<String>,
    pub after: Option<InboxCursor>,
    pub limit: i64,
    pub now: jiff::Timestamp,
}

/// One line of the inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxItem {
    pub public_id: String,
    pub title: String,
    pub sender_unit: String,
    pub created_at: jiff::Timestamp,
    pub read: bool,
    pub response_deadline: Option<jiff::Timestamp>,
    pub answered: bool,
    /// The answers offered (empty when none).
    pub options: Vec<ResponseOption>,
}

/// A resident's letter counts, kept current by the store in the transactions that change them
/// (the dashboard reads them instead of counting).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InboxCounts {
    /// Letters not archived.
    pub letters: i64,
    /// Of those, not read yet or marked unread again.
    pub unread: i64,
    /// Of those, with response options and no answer yet (deadline not considered).
    pub to_answer: i64,
    /// The latest answer deadline among those (none when there are none, or none has one).
    pub answer_by: Option<jiff::Timestamp>,
}

/// One page of the inbox and where the next starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxPage {
    pub items: Vec<InboxItem>,
    pub next: Option<InboxCursor>,
}

/// A document's metadata (the bytes are in blob storage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentMeta {
    pub position: i64,
    pub filename: String,
    pub mime_type: String,
    pub size_bytes: i64,
    pub blob_key: String,
}

/// A letter as its recipient sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LetterView {
    pub id: i64,
    pub public_id: String,
    pub title: String,
    pub sender_unit: String,
    pub body: Option<String>,
    pub created_at: jiff::Timestamp,
    pub read_at: Option<jiff::Timestamp>,
    /// The resident marked it unread after opening it.
    pub marked_unread: bool,
    pub archived: bool,
    pub required_loa: crate::auth::Loa,
    pub archive_ref: Option<ArchiveRef>,
    pub response_options: Vec<ResponseOption>,
    pub response_deadline: Option<jiff::Timestamp>,
    /// The resident's answer, once given: which option and when.
    pub answer: Option<(String, jiff::Timestamp)>,
    pub documents: Vec<DocumentMeta>,
    /// May the resident write back?
    pub reply_allowed: bool,
    /// The resident's replies, oldest first.
    pub replies: Vec<reply::ReplyView>,
}

/// A letter as the delivery jobs see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryView {
    pub id: i64,
    pub public_id: String,
    pub recipient: Option<crate::ident::Fodselsnummer>,
    pub kind: crate::delivery::LetterKind,
    pub status: LetterStatus,
    pub read: bool,
    /// Channels already notified (`email`, `sms`).
    pub notified: Vec<String>,
    pub response_deadline: Option<jiff::Timestamp>,
    pub answered: bool,
}
