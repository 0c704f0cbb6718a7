//! Residents' replies to letters, with attachments and the `replied` event.

use crate::codec::{ts, Cols};
use crate::db;
use crate::fast::{Arg, Reader};
use minside_core::letters::reply::{AttachmentMeta, NewReply, ReplyView};
use minside_core::ports::StoreError;
use sqlx::AnyPool;

fn attachment(r: &dyn Cols) -> Result<AttachmentMeta, StoreError> {
    Ok(AttachmentMeta {
        position: r.int("position")?,
        filename: r.text("filename")?,
        mime_type: r.text("mime_type")?,
        size_bytes: r.int("size_bytes")?,
        blob_key: r.text("blob_key")?,
    })
}

/// A letter's replies, oldest first, with their attachments (two reads whatever the count).
pub(crate) async fn for_letter(
    reader: Reader<'_>,
    letter_id: i64,
) -> Result<Vec<ReplyView>, StoreError> {
    let args = [Arg::Int(letter_id)];
    let mut replies = reader
        .all(
            "select id, public_id, body, created_at from letter_replies where letter_id = $1 order by id",
            &args,
            |r| {
                Ok((
                    r.int("id")?,
                    ReplyView {
                        public_id: r.text("public_id")?,
                        text: r.text("body")?,
                        created_at: r.time("created_at")?,
                        attachments: Vec::new(),
                    },
                ))
            },
        )
        .await?;
    if replies.is_empty() {
        return Ok(Vec::new());
    }
    let attachments = reader
        .all(
            "select a.reply_id, a.position, a.filename, a.mime_type, a.size_bytes, a.blob_key \
             from reply_attachments a join letter_replies r on r.id = a.reply_id \
             where r.letter_id = $1 order by a.reply_id, a.position",
            &args,
            |r| Ok((r.int("reply_id")?, attachment(r)?)),
        )
        .await?;
    for (reply_id, meta) in attachments {
        if let Some((_, reply)) = replies.iter_mut().find(|(id, _)| *id == reply_id) {
            reply.attachments.push(meta);
        }
    }
    Ok(replies.into_iter().map(|(_, r)| r).collect())
}

pub(crate) async fn add_in(
    tx: &mut impl crate::write::Tx,
    letter_id: i64,
    reply: &NewReply,
    now: jiff::Timestamp,
) -> Result<(), StoreError> {
    let id = tx
        .rows(
            "insert into letter_replies (public_id, letter_id, body, created_at) values ($1, $2, $3, $4) returning id",
            &[
                Arg::Text(reply.public_id.as_str()),
                Arg::Int(letter_id),
                Arg::Text(reply.text.as_str()),
                Arg::Int(ts(now)),
            ],
            |r| r.int("id"),
        )
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| StoreError::Database("insert into letter_replies returned no id".into()))?;
    for a in &reply.attachments {
        tx.exec(
            "insert into reply_attachments (reply_id, position, filename, mime_type, size_bytes, blob_key) \
             values ($1, $2, $3, $4, $5, $6)",
            &[
                Arg::Int(id),
                Arg::Int(a.position),
                Arg::Text(a.filename.as_str()),
                Arg::Text(a.mime_type.as_str()),
                Arg::Int(a.size_bytes),
                Arg::Text(a.blob_key.as_str()),
            ],
        )
        .await?;
    }
    // The sender's system gets the text and where to fetch each attachment.
    let detail = serde_json::json!({
        "reply": reply.public_id,
        "text": reply.text,
        "attachments": reply.attachments.iter().map(|a| serde_json::json!({
            "position": a.position, "filename": a.filename, "mime_type": a.mime_type, "size_bytes": a.size_bytes,
        })).collect::<Vec<_>>(),
    })
    .to_string();
    crate::letters::insert_event(tx, letter_id, "replied", Some(&detail), now).await
}

pub(crate) async fn attachment_for_sender(
    pool: &AnyPool,
    client_id: &str,
    letter_public_id: &str,
    reply_public_id: &str,
    position: i64,
) -> Result<Option<AttachmentMeta>, StoreError> {
    sqlx::query(
        "select a.position, a.filename, a.mime_type, a.size_bytes, a.blob_key from reply_attachments a \
         join letter_replies r on r.id = a.reply_id join letters l on l.id = r.letter_id \
         where l.client_id = $1 and l.public_id = $2 and r.public_id = $3 and a.position = $4",
    )
    .bind(client_id)
    .bind(letter_public_id)
    .bind(reply_public_id)
    .bind(position)
    .fetch_optional(pool)
    .await
    .map_err(db)?
    .as_ref()
    .map(|r| attachment(r))
    .transpose()
}
