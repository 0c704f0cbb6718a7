//! Norwegian identifiers as parsed domain types: build them only through `parse`.
//!
//! Check-digit rules and vectors: shared/norway/05-identifiers.md. Every type keeps its
//! canonical digits privately, so a value that exists has passed its checks.

mod fodselsnummer;
mod kid;
mod kommunenummer;
mod kontonummer;
mod matrikkel;
mod mod11;
mod orgnr;

pub use fodselsnummer::{Fodselsnummer, FodselsnummerError, NumberKind};
pub use kid::{Kid, KidAlgorithm, KidError};
pub use kommunenummer::{Kommunenummer, KommunenummerError};
pub use kontonummer::{Kontonummer, KontonummerError};
pub use matrikkel::{MatrikkelError, MatrikkelId};
pub use orgnr::{Organisasjonsnummer, OrgnrError};
