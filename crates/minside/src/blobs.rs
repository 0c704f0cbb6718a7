//! Document storage in a directory (the embedded default). Keys are relative paths of
//! `[a-z0-9-/]`; writes go to a temporary file renamed into place, so readers never see half a
//! document. Production can use object storage behind the same port.

use minside_core::ports::{BlobError, Blobs};
use std::path::PathBuf;

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
        let io = |e: std::io::Error| BlobError::Io(e.to_string());
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(io)?;
        }
        let tmp = path.with_extension(format!(
            "tmp-{}",
            minside_web::security::random_token()
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(8)
                .collect::<String>()
        ));
        tokio::fs::write(&tmp, bytes).await.map_err(io)?;
        tokio::fs::rename(&tmp, &path).await.map_err(io)
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, BlobError> {
        match tokio::fs::read(self.path(key)?).await {
            Ok(b) => Ok(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(BlobError::NotFound),
            Err(e) => Err(BlobError::Io(e.to_string())),
        }
    }
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
}
