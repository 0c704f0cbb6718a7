//! Paper: letters that must be printed are queued (status SENDT_PRINT) and gathered into print
//! batches; a batch is rendered and handed to the print provider, then its letters are PRINTET.
//!
//! Never twice, never lost: a letter joins exactly one batch (assigned in one transaction); a
//! batch is written under its own id, atomically, and only then marked delivered; a worker that
//! dies mid-batch leaves the batch open, and the next run writes the same batch again.

use super::{ArchiveRef, DocumentMeta, PRINT_IF_UNREAD, PRINT_LETTER};
use crate::jobs::{Job, JobError};
use crate::ports::{Blobs, Clock, IdGenerator, Store, StoreError};
use crate::usecases::run_jobs::JobHandler;
use jiff::Timestamp;
use std::sync::Arc;

/// Gathers queued letters into batches and hands them to the print provider.
pub const PRINT_BATCH: &str = "print_batch";

/// Name and postal address on the cover page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostalAddress {
    pub name: String,
    pub street: String,
    pub postcode: String,
    pub city: String,
}

/// One letter in a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintItem {
    /// Position in the batch, from 1.
    pub sequence: i64,
    pub letter_id: i64,
    pub public_id: String,
    pub title: String,
    pub sender_unit: String,
    pub body: Option<String>,
    pub created_at: Timestamp,
    pub archive_ref: Option<ArchiveRef>,
    pub recipient: PostalAddress,
    /// The printable documents (PDF, not excluded from print), in order.
    pub documents: Vec<DocumentMeta>,
}

/// A batch as stored: its letters are fixed once it exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintBatch {
    pub id: i64,
    pub public_id: String,
    pub created_at: Timestamp,
    pub items: Vec<PrintItem>,
}

/// A sender's document to print after a letter's cover page.
#[derive(Debug, Clone)]
pub struct PrintDocument {
    pub sequence: i64,
    pub position: i64,
    pub bytes: Vec<u8>,
}

/// Why the print provider did not take a batch.
#[derive(Debug, thiserror::Error)]
#[error("print provider: {0}")]
pub struct PrintError(pub String);

/// The print provider: a directory of batches by default. Delivering the same batch again must
/// be harmless (the provider keeps the first copy).
#[async_trait::async_trait]
pub trait Printer: Send + Sync {
    async fn deliver(
        &self,
        batch: &PrintBatch,
        documents: &[PrintDocument],
    ) -> Result<(), PrintError>;
}

/// Runs `print_letter` (print now) and `print_if_unread` (the deadline: print unless read).
pub struct QueueForPrintHandler {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub kind: &'static str,
    /// How long a batch waits for more letters.
    pub batch_delay: jiff::SignedDuration,
}

#[async_trait::async_trait]
impl JobHandler for QueueForPrintHandler {
    fn kind(&self) -> &'static str {
        self.kind
    }

    async fn run(&self, job: &Job) -> Result<(), JobError> {
        let mut outcomes = self.run_all(std::slice::from_ref(job)).await;
        outcomes.pop().unwrap_or(Ok(()))
    }

    /// A claim's letters are queued together: one read of the letters, one transaction queueing
    /// them all.
    async fn run_all(&self, jobs: &[Job]) -> Vec<Result<(), JobError>> {
        let every = |e: StoreError| -> Vec<Result<(), JobError>> {
            let e = JobError::Retry(e.to_string());
            jobs.iter().map(|_| Err(e.clone())).collect()
        };
        let ids: Vec<Result<String, JobError>> = jobs
            .iter()
            .map(|j| super::notify::letter_id(&j.payload))
            .collect();
        let wanted: Vec<&str> = ids.iter().filter_map(|r| r.as_deref().ok()).collect();
        let letters = match self.store.letters_for_delivery(&wanted).await {
            Ok(letters) => letters,
            Err(e) => return every(e),
        };
        let outcomes: Vec<Result<(), JobError>> = ids
            .iter()
            .map(|id| match id {
                Ok(id) if letters.iter().any(|l| l.public_id == *id) => Ok(()),
                Ok(id) => Err(JobError::Permanent(format!("no letter {id}"))),
                Err(e) => Err(e.clone()),
            })
            .collect();
        let letter_ids: Vec<i64> = letters.iter().map(|l| l.id).collect();
        let now = self.clock.now();
        let reason = if self.kind == PRINT_LETTER {
            "no_digital_channel"
        } else {
            "unread_at_deadline"
        };
        match self
            .store
            .queue_for_print(
                &letter_ids,
                self.kind == PRINT_IF_UNREAD,
                reason,
                now,
                now.checked_add(self.batch_delay).unwrap_or(now),
            )
            .await
        {
            Ok(_) => outcomes,
            Err(e) => {
                let e = JobError::Retry(e.to_string());
                outcomes
                    .into_iter()
                    .map(|o| o.and_then(|()| Err(e.clone())))
                    .collect()
            }
        }
    }
}

/// Runs `print_batch`: builds and delivers batches until the queue is empty.
pub struct PrintBatchHandler {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub blobs: Arc<dyn Blobs>,
    pub ids: Arc<dyn IdGenerator>,
    pub printer: Arc<dyn Printer>,
    pub batch_size: i64,
    /// A batch left open this long is taken over by another worker (its first one died).
    pub lease: jiff::SignedDuration,
}

#[async_trait::async_trait]
impl JobHandler for PrintBatchHandler {
    fn kind(&self) -> &'static str {
        PRINT_BATCH
    }

    async fn run(&self, _job: &Job) -> Result<(), JobError> {
        let store_err = |e: StoreError| JobError::Retry(e.to_string());
        loop {
            let now = self.clock.now();
            let lease_until = now.checked_add(self.lease).unwrap_or(now);
            let Some(batch) = self
                .store
                .claim_print_batch(&self.ids.uuid(now), self.batch_size, now, lease_until)
                .await
                .map_err(store_err)?
            else {
                return Ok(());
            };
            let mut documents = Vec::new();
            for item in &batch.items {
                for d in &item.documents {
                    let bytes =
                        self.blobs.get(&d.blob_key).await.map_err(|e| {
                            JobError::Retry(format!("document {}: {e}", d.blob_key))
                        })?;
                    documents.push(PrintDocument {
                        sequence: item.sequence,
                        position: d.position,
                        bytes,
                    });
                }
            }
            self.printer
                .deliver(&batch, &documents)
                .await
                .map_err(|e| JobError::Retry(e.to_string()))?;
            self.store
                .complete_print_batch(batch.id, self.clock.now())
                .await
                .map_err(store_err)?;
        }
    }
}
