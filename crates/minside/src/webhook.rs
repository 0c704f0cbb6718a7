//! Webhook calls over HTTP(S) (reqwest): a 2xx answer is delivery; anything else is retried.

use minside_core::letters::webhook::{WebhookError, WebhookSender, SIGNATURE_HEADER};

/// Posts signed JSON bodies.
#[derive(Debug, Clone)]
pub struct HttpWebhooks {
    http: reqwest::Client,
}

impl HttpWebhooks {
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()?,
        })
    }
}

#[async_trait::async_trait]
impl WebhookSender for HttpWebhooks {
    async fn post(&self, url: &str, signature: &str, body: &[u8]) -> Result<(), WebhookError> {
        let response = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, signature)
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| WebhookError(format!("cannot reach {url}: {e}")))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(WebhookError(format!(
                "{url} answered {}",
                response.status()
            )))
        }
    }
}
