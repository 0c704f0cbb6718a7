//! Notices by SMTP (lettre) and by an SMS provider's HTTP API, and the composite that routes
//! e-mail and SMS to their adapters.

use anyhow::Context;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use minside_core::ports::{Notifier, NotifyError};
use std::sync::Arc;

/// E-mail through an SMTP server.
pub struct SmtpNotifier {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpNotifier {
    pub fn new(c: &crate::config::SmtpConfig) -> anyhow::Result<Self> {
        let builder = if c.starttls {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&c.host).context("SMTP host")?
        } else {
            // Plain SMTP: only for a relay on the same host or network segment (and tests).
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&c.host)
        };
        let mut builder = builder
            .port(c.port)
            .timeout(Some(std::time::Duration::from_secs(30)));
        if !c.username.is_empty() {
            builder =
                builder.credentials(Credentials::new(c.username.clone(), c.password.0.clone()));
        }
        let from = c
            .from
            .parse()
            .with_context(|| format!("smtp.from {:?} is not an address", c.from))?;
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }
}

#[async_trait::async_trait]
impl Notifier for SmtpNotifier {
    async fn send_email(&self, to: &str, subject: &str, body: &str) -> Result<(), NotifyError> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| NotifyError::Permanent(format!("bad address: {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_owned())
            .map_err(|e| NotifyError::Permanent(e.to_string()))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(NotifyError::Permanent(e.to_string())),
            Err(e) => Err(NotifyError::Temporary(e.to_string())),
        }
    }

    async fn send_sms(&self, _to: &str, _text: &str) -> Result<(), NotifyError> {
        Err(NotifyError::Permanent("SMS does not go over SMTP".into()))
    }
}

/// SMS through a provider's HTTP API: POST `{"from", "to", "text"}` with a bearer token.
pub struct HttpSms {
    http: reqwest::Client,
    url: String,
    token: String,
    sender: String,
}

impl HttpSms {
    pub fn new(c: &crate::config::SmsConfig) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(20))
            .build()?;
        Ok(Self {
            http,
            url: c.url.clone(),
            token: c.token.0.clone(),
            sender: c.sender.clone(),
        })
    }
}

#[async_trait::async_trait]
impl Notifier for HttpSms {
    async fn send_email(&self, _to: &str, _subject: &str, _body: &str) -> Result<(), NotifyError> {
        Err(NotifyError::Permanent(
            "e-mail does not go through the SMS provider".into(),
        ))
    }

    async fn send_sms(&self, to: &str, text: &str) -> Result<(), NotifyError> {
        let mut req = self
            .http
            .post(&self.url)
            .json(&serde_json::json!({"from": self.sender, "to": to, "text": text}));
        if !self.token.is_empty() {
            req = req.bearer_auth(&self.token);
        }
        match req.send().await {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) if r.status().is_client_error() && r.status().as_u16() != 429 => Err(
                NotifyError::Permanent(format!("the SMS provider refused: {}", r.status())),
            ),
            Ok(r) => Err(NotifyError::Temporary(format!(
                "the SMS provider answered {}",
                r.status()
            ))),
            Err(e) => Err(NotifyError::Temporary(e.to_string())),
        }
    }
}

/// Routes e-mail and SMS notices to their own adapters.
pub struct RoutedNotifier {
    pub email: Arc<dyn Notifier>,
    pub sms: Arc<dyn Notifier>,
}

#[async_trait::async_trait]
impl Notifier for RoutedNotifier {
    async fn send_email(&self, to: &str, subject: &str, body: &str) -> Result<(), NotifyError> {
        self.email.send_email(to, subject, body).await
    }

    async fn send_sms(&self, to: &str, text: &str) -> Result<(), NotifyError> {
        self.sms.send_sms(to, text).await
    }
}

/// The notifier the config asks for: SMTP for e-mail when `smtp.host` is set, else the outbox.
pub fn notifier(config: &crate::config::Config) -> anyhow::Result<Arc<dyn Notifier>> {
    let outbox: Arc<dyn Notifier> =
        Arc::new(crate::outbox::FileOutbox::new(&config.notify_outbox_dir));
    let email: Arc<dyn Notifier> = if config.smtp.host.is_empty() {
        outbox.clone()
    } else {
        Arc::new(SmtpNotifier::new(&config.smtp)?)
    };
    let sms: Arc<dyn Notifier> = if config.sms.url.is_empty() {
        outbox
    } else {
        Arc::new(HttpSms::new(&config.sms)?)
    };
    Ok(Arc::new(RoutedNotifier { email, sms }))
}
