//! Document storage in a directory (the embedded default). Keys are relative paths of
//! `[a-z0-9-/]`; writes go to a temporary file renamed into place, so readers never see half a
//! document. Production can use object storage behind the same port.

use minside_core::ports::{BlobError, Blobs};
use std::path::{Path, PathBuf};

/// Blobs under one directory.
#[derive(Debug, Clone)]
pub struct DirBlobs {
    root: PathBuf,
}

impl DirBlobs {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn path(&self, key: &str) -> Result<PathBuf, BlobError> {
        let ok = !key.is_empty()
            && !key.starts_with('/')
            && !key.contains("..")
            && key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'/');
        if ok {
            Ok(self.root.join(key))
        } else {
            Err(BlobError::Io(format!("invalid blob key {key:?}")))
        }
    }
}

#[async_trait::async_trait]
impl Blobs for DirBlobs {
    async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), BlobError> {
        let path = self.path(key)?;
        let root = self.root.clone();
        let bytes = bytes.to_vec();
        // One trip to the blocking pool for the whole write (each `tokio::fs` call is a trip of
        // its own, and the waking of a pool thread cost more than the copy of the document).
        tokio::task::spawn_blocking(move || write_atomically(&root, &path, &bytes))
            .await
            .map_err(|e| BlobError::Io(e.to_string()))?
            .map_err(|e| BlobError::Io(e.to_string()))
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, BlobError> {
        match tokio::fs::read(self.path(key)?).await {
            Ok(b) => Ok(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(BlobError::NotFound),
            Err(e) => Err(BlobError::Io(e.to_string())),
        }
    }
}

/// Writes to a temporary file next to `path`, flushed to the disk, and renames it into place,
/// then flushes the directory (`durable.rs`: the letter's transaction commits after this); the
/// directory is made only when it is missing (usually it is there: keys share their
/// directories), and then the directories above it up to `root` are flushed as well.
fn write_atomically(root: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!(
        "tmp-{}",
        minside_web::security::random_token()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(8)
            .collect::<String>()
    ));
    let dir = path.parent().unwrap_or(root);
    // Whether the directory had to be made: then the directories above it are flushed too.
    let written = match crate::durable::write_file(&tmp, bytes) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::create_dir_all(dir)
            .and_then(|()| crate::durable::write_file(&tmp, bytes))
            .map(|()| true),
        other => other.map(|()| false),
    }
    .and_then(|created| {
        std::fs::rename(&tmp, path)?;
        if created {
            crate::durable::sync_dirs_up_to(root, dir)
        } else {
            crate::durable::sync_dir(dir)
        }
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn documents_round_trip_and_keys_cannot_escape_the_directory() {
        let dir = std::env::temp_dir().join(format!("minside-blobs-{}", std::process::id()));
        let blobs = DirBlobs::new(&dir);
        blobs.put("letters/abc-1/0", b"%PDF-1.4").await.unwrap();
        assert_eq!(blobs.get("letters/abc-1/0").await.unwrap(), b"%PDF-1.4");
        assert!(matches!(
            blobs.get("letters/abc-1/9").await,
            Err(BlobError::NotFound)
        ));
        for bad in ["../etc/passwd", "/etc/passwd", "Letters/X", ""] {
            assert!(blobs.put(bad, b"x").await.is_err(), "{bad}");
        }
    }

    /// The shared directory is made by the first document in it; later ones go straight in, a
    /// document written again replaces the old one whole, and no temporary file is left over.
    #[tokio::test]
    async fn documents_share_their_directory_and_leave_no_temporary_files() {
        let dir = std::env::temp_dir().join(format!("minside-blobs-shared-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let blobs = DirBlobs::new(&dir);
        let first = minside_core::ports::document_key("letters", "1-ab", 0);
        let second = minside_core::ports::document_key("letters", "2-ab", 0);
        blobs.put(&first, b"one").await.unwrap();
        blobs.put(&second, b"two").await.unwrap();
        blobs.put(&first, b"one, again").await.unwrap();
        assert_eq!(blobs.get(&first).await.unwrap(), b"one, again");
        assert_eq!(blobs.get(&second).await.unwrap(), b"two");
        let mut names: Vec<String> = std::fs::read_dir(dir.join("letters/ab"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["1-ab-0", "2-ab-0"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
