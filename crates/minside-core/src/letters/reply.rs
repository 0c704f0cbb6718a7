//! A resident's reply to a letter that allows one: text plus attachments (PDF, JPEG, PNG; the
//! type sniffed from the bytes, never trusted from the name), delivered to the sender as a
//! `replied` event and shown in the letter's thread.

use super::DocumentType;

/// Longest reply text, in characters.
pub const MAX_REPLY_CHARS: usize = 5000;
/// Most attachments on one reply.
pub const MAX_REPLY_ATTACHMENTS: usize = 5;
/// Largest attachment (bytes).
pub const MAX_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;

/// A file as the resident uploaded it.
#[derive(Debug, Clone)]
pub struct AttachmentInput {
    pub filename: String,
    pub bytes: Vec<u8>,
}

/// What is wrong with a reply, for a message in the resident's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyProblem {
    EmptyText,
    TextTooLong,
    TooManyAttachments,
    /// Not PDF, JPEG or PNG by its content.
    UnsupportedType(String),
    TooLarge(String),
}

/// A checked attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttachment {
    pub filename: String,
    pub doc_type: DocumentType,
    pub content: Vec<u8>,
}

/// A checked reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyDraft {
    pub text: String,
    pub attachments: Vec<NewAttachment>,
}

/// A file name safe to show and to put in a header: the last path segment, control and quote
/// characters replaced, at most 100 characters.
fn clean_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '"' | '*' | ':' | '<' | '>' | '|' | '?') {
                '_'
            } else {
                c
            }
        })
        .take(100)
        .collect();
    if cleaned.trim().is_empty() {
        "vedlegg".into()
    } else {
        cleaned
    }
}

/// Checks every rule at once.
pub fn parse_reply(
    text: &str,
    files: Vec<AttachmentInput>,
) -> Result<ReplyDraft, Vec<ReplyProblem>> {
    let mut problems = Vec::new();
    let text = text.trim().replace("\r\n", "\n");
    if text.is_empty() {
        problems.push(ReplyProblem::EmptyText);
    } else if text.chars().count() > MAX_REPLY_CHARS {
        problems.push(ReplyProblem::TextTooLong);
    }
    // A file field left empty arrives as a nameless, empty part.
    let files: Vec<AttachmentInput> = files
        .into_iter()
        .filter(|f| !(f.filename.is_empty() && f.bytes.is_empty()))
        .collect();
    if files.len() > MAX_REPLY_ATTACHMENTS {
        problems.push(ReplyProblem::TooManyAttachments);
    }
    let mut attachments = Vec::new();
    for f in files {
        let filename = clean_name(&f.filename);
        let doc_type = DocumentType::sniff(&f.bytes, "");
        if f.bytes.len() > MAX_ATTACHMENT_BYTES {
            problems.push(ReplyProblem::TooLarge(filename));
        } else if matches!(doc_type, DocumentType::Other(_)) {
            problems.push(ReplyProblem::UnsupportedType(filename));
        } else {
            attachments.push(NewAttachment {
                filename,
                doc_type,
                content: f.bytes,
            });
        }
    }
    if problems.is_empty() {
        Ok(ReplyDraft { text, attachments })
    } else {
        Err(problems)
    }
}

/// An attachment as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentMeta {
    pub position: i64,
    pub filename: String,
    pub mime_type: String,
    pub size_bytes: i64,
    pub blob_key: String,
}

/// A reply in the letter's thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyView {
    pub public_id: String,
    pub text: String,
    pub created_at: jiff::Timestamp,
    pub attachments: Vec<AttachmentMeta>,
}

/// A reply ready to store (attachments already in blob storage under `blob_key`).
#[derive(Debug, Clone)]
pub struct NewReply {
    pub public_id: String,
    pub text: String,
    pub attachments: Vec<AttachmentMeta>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, bytes: &[u8]) -> AttachmentInput {
        AttachmentInput {
            filename: name.into(),
            bytes: bytes.to_vec(),
        }
    }

    #[test]
    fn the_type_comes_from_the_bytes_not_the_name() {
        let png = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0];
        let ok = parse_reply(
            "Hei",
            vec![file("bilde.pdf", &png), file("brev.txt", b"%PDF-1.7 ...")],
        )
        .unwrap();
        assert_eq!(ok.attachments[0].doc_type, DocumentType::Png);
        assert_eq!(ok.attachments[1].doc_type, DocumentType::Pdf);
        let bad =
            parse_reply("Hei", vec![file("vedtak.pdf", b"MZ\x90\x00 not a pdf")]).unwrap_err();
        assert_eq!(
            bad,
            vec![ReplyProblem::UnsupportedType("vedtak.pdf".into())]
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let big = vec![b'%'; MAX_ATTACHMENT_BYTES + 1];
        let many: Vec<AttachmentInput> = (0..6)
            .map(|i| file(&format!("{i}.pdf"), b"%PDF-1.4"))
            .collect();
        assert_eq!(
            parse_reply("   ", many).unwrap_err(),
            vec![ReplyProblem::EmptyText, ReplyProblem::TooManyAttachments]
        );
        assert_eq!(
            parse_reply(
                &"x".repeat(MAX_REPLY_CHARS + 1),
                vec![file("stor.pdf", &big)]
            )
            .unwrap_err(),
            vec![
                ReplyProblem::TextTooLong,
                ReplyProblem::TooLarge("stor.pdf".into())
            ]
        );
    }

    #[test]
    fn empty_file_fields_are_ignored_and_names_are_cleaned() {
        let r = parse_reply(
            "Takk",
            vec![
                file("", b""),
                file("C:\\Users\\kari\\\"skjema\".pdf", b"%PDF-1.4"),
            ],
        )
        .unwrap();
        assert_eq!(r.attachments.len(), 1);
        assert_eq!(r.attachments[0].filename, "_skjema_.pdf");
    }
}
