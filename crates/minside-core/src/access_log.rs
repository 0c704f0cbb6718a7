//! The access log: every read of a person's data by staff or by a system is recorded.
//!
//! One mechanism for all modules: a use case that reads a person's data on behalf of staff or a
//! system builds an [`Access`] and calls a Store method that writes the entry in the same
//! transaction as the read. Citizens see the entries on their privacy page.

use jiff::Timestamp;

/// Who read the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// An employee, by the staff IdP's subject and display name.
    Staff { subject: String, name: String },
    /// A back-office system, by its client id.
    System { client_id: String },
}

impl Actor {
    /// `staff` or `system`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Staff { .. } => "staff",
            Self::System { .. } => "system",
        }
    }

    /// Stable id of the actor.
    pub fn id(&self) -> &str {
        match self {
            Self::Staff { subject, .. } => subject,
            Self::System { client_id } => client_id,
        }
    }

    /// Name shown to the citizen.
    pub fn display_name(&self) -> &str {
        match self {
            Self::Staff { name, .. } => name,
            Self::System { client_id } => client_id,
        }
    }
}

/// Why the data was read: required, stated by the reader, shown to the citizen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purpose(String);

/// A purpose must be given and be short enough to show in a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PurposeError {
    #[error("state why you look up this person")]
    Missing,
    #[error("the purpose can be at most 200 characters")]
    TooLong,
}

impl Purpose {
    pub fn parse(input: &str) -> Result<Self, PurposeError> {
        let s = input.trim();
        if s.is_empty() {
            Err(PurposeError::Missing)
        } else if s.chars().count() > 200 {
            Err(PurposeError::TooLong)
        } else {
            Ok(Self(s.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A read about to happen: who, why, what, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub actor: Actor,
    pub purpose: Purpose,
    /// What was read, e.g. `person.register_data`.
    pub what: &'static str,
    pub at: Timestamp,
}

/// A stored access log entry as the citizen sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessLogEntry {
    pub actor_kind: String,
    pub actor_name: String,
    pub purpose: String,
    pub what: String,
    pub at: Timestamp,
}
