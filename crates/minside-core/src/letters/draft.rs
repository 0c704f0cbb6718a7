//! Parsing a letter request into a `LetterDraft`: every rule, every field error at once.

use crate::auth::Loa;
use crate::delivery::LetterKind;
use crate::ident::{Fodselsnummer, Organisasjonsnummer};
use jiff::Timestamp;

/// Largest document accepted (bytes).
pub const MAX_DOCUMENT_BYTES: usize = 20 * 1024 * 1024;

/// Who receives the letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    Person(Fodselsnummer),
    Organisation(Organisasjonsnummer),
}

/// Document types recognised from their bytes (never from the file name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentType {
    Pdf,
    Jpeg,
    Png,
    /// Anything else, with the MIME type the sender declared. Never printable.
    Other(String),
}

impl DocumentType {
    /// Sniffs the type from the first bytes.
    pub fn sniff(bytes: &[u8], declared: &str) -> Self {
        if bytes.starts_with(b"%PDF-") {
            Self::Pdf
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Self::Jpeg
        } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
            Self::Png
        } else {
            Self::Other(declared.to_owned())
        }
    }

    pub fn mime(&self) -> &str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Other(m) => m,
        }
    }
}

/// A checked document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDocument {
    pub filename: String,
    pub doc_type: DocumentType,
    pub content: Vec<u8>,
    pub exclude_from_print: bool,
}

/// One answer the resident can give ("Ta imot plassen").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseOption {
    pub code: String,
    pub label: String,
}

/// Noark reference of the record the letter comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveRef {
    pub saksaar: i64,
    pub sekvensnummer: i64,
    pub journalpostnummer: Option<i64>,
}

impl std::fmt::Display for ArchiveRef {
    /// `2024/1234` or `2024/1234-5`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.saksaar, self.sekvensnummer)?;
        match self.journalpostnummer {
            Some(j) => write!(f, "-{j}"),
            None => Ok(()),
        }
    }
}

/// A valid letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LetterDraft {
    pub sender_ref: String,
    pub recipient: Recipient,
    pub title: String,
    pub sender_unit: String,
    pub body: Option<String>,
    pub documents: Vec<NewDocument>,
    pub archive_ref: Option<ArchiveRef>,
    pub kind: LetterKind,
    pub required_loa: Loa,
    pub digital_only: bool,
    pub reply_allowed: bool,
    pub response_options: Vec<ResponseOption>,
    pub response_deadline: Option<Timestamp>,
    /// Overrides the municipality's print deadline for this letter (working hours).
    pub print_after_working_hours: Option<i64>,
}

/// One document as it arrives (content already decoded from base64 or multipart).
#[derive(Debug, Clone, Default)]
pub struct DocumentInput {
    pub filename: String,
    pub mime_type: String,
    /// `None` when the content could not be decoded.
    pub content: Option<Vec<u8>>,
    pub exclude_from_print: bool,
}

/// One response option as it arrives.
#[derive(Debug, Clone, Default)]
pub struct ResponseOptionInput {
    pub code: String,
    pub label: String,
}

/// A letter request as it arrives, before any rule is applied.
#[derive(Debug, Clone, Default)]
pub struct LetterInput {
    pub sender_ref: String,
    pub recipient_fodselsnummer: Option<String>,
    pub recipient_organisasjonsnummer: Option<String>,
    pub title: String,
    pub sender_unit: String,
    pub body: Option<String>,
    pub documents: Vec<DocumentInput>,
    pub saksaar: Option<i64>,
    pub sekvensnummer: Option<i64>,
    pub journalpostnummer: Option<i64>,
    /// Formal letters follow KRR fully; service notices may reach the reserved.
    pub service_notice: bool,
    /// Sensitive letters need idporten-loa-high to open.
    pub sensitive: bool,
    pub digital_only: bool,
    pub reply_allowed: bool,
    pub response_options: Vec<ResponseOptionInput>,
    pub response_deadline: Option<String>,
    pub print_after_working_hours: Option<i64>,
}

/// A field that breaks a rule, named as in the request (`documents[1].filename`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

fn err(field: impl Into<String>, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

const FORBIDDEN_IN_FILENAMES: &[char] = &['*', ':', '"', '\\', '/', '<', '>', '|', '?'];

impl LetterDraft {
    /// Applies every rule; returns all field errors together, or the draft.
    pub fn parse(input: LetterInput, now: Timestamp) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let sender_ref = input.sender_ref.trim().to_owned();
        if sender_ref.is_empty() || sender_ref.chars().count() > 200 {
            errors.push(err(
                "sender_ref",
                "the sender's own id is required (at most 200 characters)",
            ));
        }
        let recipient = match (
            input.recipient_fodselsnummer.as_deref(),
            input.recipient_organisasjonsnummer.as_deref(),
        ) {
            (Some(f), None) => Fodselsnummer::parse(f)
                .map(Recipient::Person)
                .map_err(|e| errors.push(err("recipient.fodselsnummer", e.to_string())))
                .ok(),
            (None, Some(o)) => Organisasjonsnummer::parse(o)
                .map(Recipient::Organisation)
                .map_err(|e| errors.push(err("recipient.organisasjonsnummer", e.to_string())))
                .ok(),
            _ => {
                errors.push(err(
                    "recipient",
                    "give exactly one of fodselsnummer and organisasjonsnummer",
                ));
                None
            }
        };
        let title = input.title.trim().to_owned();
        if title.is_empty() || title.chars().count() > 1000 {
            errors.push(err("title", "a title of 1 to 1000 characters is required"));
        }
        let sender_unit = input.sender_unit.trim().to_owned();
        if sender_unit.is_empty() || sender_unit.chars().count() > 200 {
            errors.push(err(
                "sender_unit",
                "the sending unit is required (at most 200 characters)",
            ));
        }
        let body = input
            .body
            .map(|b| b.trim().to_owned())
            .filter(|b| !b.is_empty());
        if body.is_none() && input.documents.is_empty() {
            errors.push(err(
                "body",
                "a letter needs a body text or at least one document",
            ));
        }
        let mut documents = Vec::new();
        let mut filenames: Vec<String> = Vec::new();
        let not_printable =
            "only PDF can be printed: mark this document excluded from print, or send digital-only";
        for (i, d) in input.documents.into_iter().enumerate() {
            let f = |name: &str| format!("documents[{i}].{name}");
            let filename = d.filename.trim().to_owned();
            if filename.is_empty()
                || filename.chars().count() > 226
                || filename.contains(FORBIDDEN_IN_FILENAMES)
            {
                errors.push(err(
                    f("filename"),
                    "1 to 226 characters, none of * : \" \\ / < > | ?",
                ));
            } else if filenames.contains(&filename) {
                errors.push(err(
                    f("filename"),
                    "file names must be unique within a letter",
                ));
            }
            filenames.push(filename.clone());
            let Some(content) = d.content else {
                errors.push(err(f("content"), "not valid base64"));
                continue;
            };
            if content.is_empty() || content.len() > MAX_DOCUMENT_BYTES {
                errors.push(err(
                    f("content"),
                    format!("1 byte to {} MB", MAX_DOCUMENT_BYTES / 1024 / 1024),
                ));
                continue;
            }
            let declared = d.mime_type.trim();
            let doc_type = DocumentType::sniff(&content, declared);
            let printable_or_exempt =
                matches!(doc_type, DocumentType::Pdf) || d.exclude_from_print || input.digital_only;
            match &doc_type {
                DocumentType::Other(_)
                    if matches!(declared, "application/pdf" | "image/jpeg" | "image/png") =>
                {
                    errors.push(err(
                        f("mime_type"),
                        format!("the content is not {declared}"),
                    ));
                }
                DocumentType::Other(_) if declared.is_empty() => {
                    errors.push(err(f("mime_type"), "declare the MIME type"))
                }
                t if !matches!(t, DocumentType::Other(_))
                    && !declared.is_empty()
                    && t.mime() != declared =>
                {
                    errors.push(err(
                        f("mime_type"),
                        format!("declared {declared}, but the content is {}", t.mime()),
                    ));
                }
                _ if !printable_or_exempt => {
                    errors.push(err(f("exclude_from_print"), not_printable))
                }
                _ => {}
            }
            documents.push(NewDocument {
                filename,
                doc_type,
                content,
                exclude_from_print: d.exclude_from_print,
            });
        }
        let archive_ref = match (input.saksaar, input.sekvensnummer) {
            (None, None) if input.journalpostnummer.is_none() => None,
            (Some(y), Some(s))
                if (1900..=2200).contains(&y)
                    && s >= 1
                    && input.journalpostnummer.is_none_or(|j| j >= 1) =>
            {
                Some(ArchiveRef {
                    saksaar: y,
                    sekvensnummer: s,
                    journalpostnummer: input.journalpostnummer,
                })
            }
            _ => {
                errors.push(err("archive_ref", "saksaar (1900–2200) and sekvensnummer (≥ 1) go together; journalpostnummer ≥ 1"));
                None
            }
        };
        let mut response_options: Vec<ResponseOption> = Vec::new();
        for (i, o) in input.response_options.into_iter().enumerate() {
            let code = o.code.trim().to_owned();
            let label = o.label.trim().to_owned();
            let code_ok = !code.is_empty()
                && code.len() <= 50
                && code.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
                });
            if !code_ok || response_options.iter().any(|x| x.code == code) {
                errors.push(err(
                    format!("response_options[{i}].code"),
                    "unique, 1 to 50 of a-z 0-9 _ -",
                ));
            }
            if label.is_empty() || label.chars().count() > 100 {
                errors.push(err(
                    format!("response_options[{i}].label"),
                    "1 to 100 characters",
                ));
            }
            response_options.push(ResponseOption { code, label });
        }
        let response_deadline = match input
            .response_deadline
            .as_deref()
            .map(str::parse::<Timestamp>)
        {
            None => None,
            Some(Ok(t)) if t > now => Some(t),
            Some(Ok(_)) => {
                errors.push(err("response_deadline", "must be in the future"));
                None
            }
            Some(Err(_)) => {
                errors.push(err(
                    "response_deadline",
                    "an RFC 3339 time, e.g. 2026-12-01T12:00:00+01:00",
                ));
                None
            }
        };
        if !response_options.is_empty()
            && response_deadline.is_none()
            && !errors.iter().any(|e| e.field == "response_deadline")
        {
            errors.push(err(
                "response_deadline",
                "letters with response options need a deadline",
            ));
        }
        if response_options.is_empty() && response_deadline.is_some() {
            errors.push(err("response_options", "a deadline needs response options"));
        }
        if input
            .print_after_working_hours
            .is_some_and(|h| !(1..=720).contains(&h))
        {
            errors.push(err("print_after_working_hours", "1 to 720 working hours"));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let Some(recipient) = recipient else {
            return Err(vec![err("recipient", "missing")]);
        };
        Ok(Self {
            sender_ref,
            recipient,
            title,
            sender_unit,
            body,
            documents,
            archive_ref,
            kind: if input.service_notice {
                LetterKind::ServiceNotice
            } else {
                LetterKind::Formal
            },
            required_loa: if input.sensitive {
                Loa::High
            } else {
                Loa::Substantial
            },
            digital_only: input.digital_only,
            reply_allowed: input.reply_allowed,
            response_options,
            response_deadline,
            print_after_working_hours: input.print_after_working_hours,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-11-22T10:00:00Z".parse().unwrap()
    }

    fn pdf() -> Vec<u8> {
        b"%PDF-1.4\n%test\n".to_vec()
    }

    fn valid() -> LetterInput {
        LetterInput {
            sender_ref: "2026/1234-5".into(),
            recipient_fodselsnummer: Some("20914695016".into()),
            title: "Vedtak om tildeling av barnehageplass".into(),
            sender_unit: "Barnehageetaten".into(),
            documents: vec![DocumentInput {
                filename: "vedtak.pdf".into(),
                mime_type: "application/pdf".into(),
                content: Some(pdf()),
                exclude_from_print: false,
            }],
            saksaar: Some(2026),
            sekvensnummer: Some(1234),
            journalpostnummer: Some(5),
            response_options: vec![
                ResponseOptionInput {
                    code: "accept".into(),
                    label: "Ta imot plassen".into(),
                },
                ResponseOptionInput {
                    code: "decline".into(),
                    label: "Takk nei".into(),
                },
            ],
            response_deadline: Some("2026-12-01T12:00:00+01:00".into()),
            ..LetterInput::default()
        }
    }

    fn fields(r: Result<LetterDraft, Vec<FieldError>>) -> Vec<String> {
        r.unwrap_err().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_kindergarten_offer_parses() {
        let d = LetterDraft::parse(valid(), now()).unwrap();
        assert_eq!(d.archive_ref.unwrap().to_string(), "2026/1234-5");
        assert_eq!(d.response_options.len(), 2);
        assert_eq!(d.kind, LetterKind::Formal);
        assert_eq!(d.required_loa, Loa::Substantial);
        assert_eq!(d.documents[0].doc_type, DocumentType::Pdf);
    }

    #[test]
    fn every_broken_field_is_reported_at_once() {
        let input = LetterInput {
            sender_ref: " ".into(),
            recipient_fodselsnummer: Some("13097248032".into()),
            title: String::new(),
            sender_unit: String::new(),
            response_deadline: Some("2020-01-01T00:00:00Z".into()),
            saksaar: Some(2026),
            ..valid()
        };
        let mut input = input;
        input.sekvensnummer = None;
        assert_eq!(
            fields(LetterDraft::parse(input, now())),
            vec![
                "sender_ref",
                "recipient.fodselsnummer",
                "title",
                "sender_unit",
                "archive_ref",
                "response_deadline"
            ]
        );
    }

    #[test]
    fn exactly_one_recipient_is_required() {
        let both = LetterInput {
            recipient_organisasjonsnummer: Some("974760673".into()),
            ..valid()
        };
        assert_eq!(fields(LetterDraft::parse(both, now())), vec!["recipient"]);
        let org = LetterInput {
            recipient_fodselsnummer: None,
            recipient_organisasjonsnummer: Some("974760673".into()),
            ..valid()
        };
        assert!(matches!(
            LetterDraft::parse(org, now()).unwrap().recipient,
            Recipient::Organisation(_)
        ));
    }

    #[test]
    fn types_are_sniffed_not_trusted_and_only_pdf_is_printable() {
        let mut fake = valid();
        fake.documents[0].content = Some(b"MZ not a pdf".to_vec());
        assert_eq!(
            fields(LetterDraft::parse(fake, now())),
            vec!["documents[0].mime_type"]
        );

        let mut sheet = valid();
        sheet.documents.push(DocumentInput {
            filename: "vedlegg.xlsx".into(),
            mime_type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".into(),
            content: Some(b"PK\x03\x04 spreadsheet".to_vec()),
            exclude_from_print: false,
        });
        assert_eq!(
            fields(LetterDraft::parse(sheet.clone(), now())),
            vec!["documents[1].exclude_from_print"]
        );
        sheet.documents[1].exclude_from_print = true;
        assert!(LetterDraft::parse(sheet.clone(), now()).is_ok());
        sheet.documents[1].exclude_from_print = false;
        sheet.digital_only = true;
        assert!(
            LetterDraft::parse(sheet, now()).is_ok(),
            "digital-only letters are never printed"
        );

        let mut png = valid();
        png.documents[0] = DocumentInput {
            filename: "kart.png".into(),
            mime_type: "image/png".into(),
            content: Some(b"\x89PNG\r\n\x1a\nrest".to_vec()),
            exclude_from_print: false,
        };
        assert_eq!(
            fields(LetterDraft::parse(png, now())),
            vec!["documents[0].exclude_from_print"]
        );
    }

    #[test]
    fn file_names_follow_svarut_rules_and_are_unique() {
        let mut bad = valid();
        bad.documents[0].filename = "vedtak:1.pdf".into();
        bad.documents.push(DocumentInput {
            filename: "a.pdf".into(),
            mime_type: "application/pdf".into(),
            content: None,
            exclude_from_print: false,
        });
        bad.documents.push(DocumentInput {
            filename: "a.pdf".into(),
            mime_type: "application/pdf".into(),
            content: Some(pdf()),
            exclude_from_print: false,
        });
        assert_eq!(
            fields(LetterDraft::parse(bad, now())),
            vec![
                "documents[0].filename",
                "documents[1].content",
                "documents[2].filename"
            ]
        );
    }

    #[test]
    fn response_options_need_a_deadline_and_valid_codes() {
        let mut no_deadline = valid();
        no_deadline.response_deadline = None;
        assert_eq!(
            fields(LetterDraft::parse(no_deadline, now())),
            vec!["response_deadline"]
        );
        let mut dup = valid();
        dup.response_options[1].code = "accept".into();
        assert_eq!(
            fields(LetterDraft::parse(dup, now())),
            vec!["response_options[1].code"]
        );
        let mut only_deadline = valid();
        only_deadline.response_options.clear();
        assert_eq!(
            fields(LetterDraft::parse(only_deadline, now())),
            vec!["response_options"]
        );
    }

    #[test]
    fn sensitive_letters_need_a_high_level_and_service_notices_are_their_own_kind() {
        let d = LetterDraft::parse(
            LetterInput {
                sensitive: true,
                service_notice: true,
                ..valid()
            },
            now(),
        )
        .unwrap();
        assert_eq!(d.required_loa, Loa::High);
        assert_eq!(d.kind, LetterKind::ServiceNotice);
    }

    #[test]
    fn a_letter_needs_a_body_or_a_document() {
        let empty = LetterInput {
            documents: vec![],
            body: Some("  ".into()),
            ..valid()
        };
        assert_eq!(fields(LetterDraft::parse(empty, now())), vec!["body"]);
    }
}
