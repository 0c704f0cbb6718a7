//! The embedded default for notices: each e-mail or SMS is written as a text file to a directory
//! (the demo's `<data>/outbox`), so a tester can see exactly what a resident would receive.
//! Production sends through SMTP and an SMS provider behind the same `Notifier` port.

use minside_core::ports::{Notifier, NotifyError};
use std::path::PathBuf;

/// Notices as files.
#[derive(Debug, Clone)]
pub struct FileOutbox {
    dir: PathBuf,
}

impl FileOutbox {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    async fn write(&self, kind: &str, text: String) -> Result<(), NotifyError> {
        let io = |e: std::io::Error| NotifyError::Temporary(e.to_string());
        tokio::fs::create_dir_all(&self.dir).await.map_err(io)?;
        let name: String = minside_web::security::random_token()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(12)
            .collect();
        tokio::fs::write(self.dir.join(format!("{kind}-{name}.txt")), text)
            .await
            .map_err(io)
    }
}

#[async_trait::async_trait]
impl Notifier for FileOutbox {
    async fn send_email(&self, to: &str, subject: &str, body: &str) -> Result<(), NotifyError> {
        self.write("email", format!("To: {to}\nSubject: {subject}\n\n{body}\n"))
            .await
    }

    async fn send_sms(&self, to: &str, text: &str) -> Result<(), NotifyError> {
        self.write("sms", format!("To: {to}\n\n{text}\n")).await
    }
}
