//! The print provider as a directory (the embedded default): one folder per batch, written under a
//! temporary name and renamed into place, so the provider never sees half a batch, and a batch
//! delivered twice is kept once.
//!
//! A batch folder holds `batch.pdf` (PDF/A-1b: per letter an address cover page and the letter's
//! text), the senders' printable PDF documents as `<sequence>-<position>.pdf`, and
//! `manifest.json`, which says which pages and documents make up each envelope.

use minside_core::letters::print::{PrintBatch, PrintDocument, PrintError, Printer};
use minside_pdf::{render_batch, Sender};
use std::path::PathBuf;

/// Batches in a directory.
#[derive(Debug, Clone)]
pub struct DirPrinter {
    root: PathBuf,
    sender: Sender,
}

impl DirPrinter {
    pub fn new(
        root: impl Into<PathBuf>,
        municipality: &str,
        portal_url: &str,
        timezone: jiff::tz::TimeZone,
    ) -> Self {
        Self {
            root: root.into(),
            sender: Sender {
                municipality: municipality.to_owned(),
                portal_url: portal_url.to_owned(),
                timezone,
            },
        }
    }
}

fn manifest(batch: &PrintBatch, pages: &[(usize, usize)]) -> serde_json::Value {
    let letters: Vec<serde_json::Value> = batch
        .items
        .iter()
        .zip(pages)
        .map(|(item, (first, last))| {
            serde_json::json!({
                "sequence": item.sequence,
                "letter": item.public_id,
                "recipient": {
                    "name": item.recipient.name,
                    "street": item.recipient.street,
                    "postcode": item.recipient.postcode,
                    "city": item.recipient.city,
                },
                "pages": {"file": "batch.pdf", "first": first, "last": last},
                "documents": item.documents.iter()
                    .map(|d| format!("{:05}-{}.pdf", item.sequence, d.position))
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::json!({
        "batch": batch.public_id,
        "created": batch.created_at.to_string(),
        "letter_count": batch.items.len(),
        "letters": letters,
    })
}

fn write_batch(
    root: &std::path::Path,
    sender: &Sender,
    batch: &PrintBatch,
    documents: &[PrintDocument],
) -> std::io::Result<()> {
    let target = root.join(&batch.public_id);
    if target.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(root)?;
    let tmp = root.join(format!(
        ".{}.partial-{}",
        batch.public_id,
        minside_web::security::random_token()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(8)
            .collect::<String>()
    ));
    std::fs::create_dir(&tmp)?;
    let rendered = render_batch(sender, batch);
    // Each file flushed, then the batch's directory and, after the rename, the root: the
    // letters are marked as handed over once this returns (`durable.rs`).
    crate::durable::write_file(&tmp.join("batch.pdf"), &rendered.pdf)?;
    for d in documents {
        crate::durable::write_file(
            &tmp.join(format!("{:05}-{}.pdf", d.sequence, d.position)),
            &d.bytes,
        )?;
    }
    let manifest = serde_json::to_vec_pretty(&manifest(batch, &rendered.pages))
        .map_err(std::io::Error::other)?;
    crate::durable::write_file(&tmp.join("manifest.json"), &manifest)?;
    crate::durable::sync_dir(&tmp)?;
    match std::fs::rename(&tmp, &target) {
        Ok(()) => crate::durable::sync_dir(root),
        // Another worker delivered the same batch first: keep its copy.
        Err(_) if target.exists() => std::fs::remove_dir_all(&tmp),
        Err(e) => Err(e),
    }
}

#[async_trait::async_trait]
impl Printer for DirPrinter {
    async fn deliver(
        &self,
        batch: &PrintBatch,
        documents: &[PrintDocument],
    ) -> Result<(), PrintError> {
        let (root, sender, batch, documents) = (
            self.root.clone(),
            self.sender.clone(),
            batch.clone(),
            documents.to_vec(),
        );
        tokio::task::spawn_blocking(move || write_batch(&root, &sender, &batch, &documents))
            .await
            .map_err(|e| PrintError(e.to_string()))?
            .map_err(|e| PrintError(format!("cannot write the batch: {e}")))
    }
}
